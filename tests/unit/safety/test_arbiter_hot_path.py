"""The arbiter's cheaper check keeps the rules: the target is built lazily, the causal chain is
walked without a list, and CommandIntent (now a named tuple) stays an immutable record."""

import dataclasses

import pytest

from hub.capabilities.model import CommandDef, LocalText
from hub.core.context import Context, Origin
from hub.safety.arbiter import Block, CommandIntent, ProfilePolicy, SafetyArbiter

PLAIN = CommandDef(title=LocalText(zh="命令", en="Command"))
CONFIRM_POLICY = ProfilePolicy.from_safety(
    {"restrictions": [{"target": "main/door.open", "require": ["user_confirmation"]}]}
)


def make(
    capability: str = "door",
    command: str = "open",
    ctx: Context | None = None,
    **kw: object,
) -> CommandIntent:
    return CommandIntent(
        device_id="d1",
        room_id="hall",
        profile_id="p",
        roles=frozenset(),
        category="security.door",
        component="main",
        capability=capability,
        command=command,
        args={},
        context=ctx or Context(Origin.USER, "alice"),
        **kw,  # type: ignore[arg-type]
    )


def test_intent_is_an_immutable_record() -> None:
    ctx = Context(Origin.USER, "alice")
    by_name = make(ctx=ctx)
    by_position = CommandIntent(
        "d1", "hall", "p", frozenset(), "security.door", "main", "door", "open", {}, ctx
    )
    assert by_name == by_position
    assert by_name.step_up is False and by_name.opt_in == frozenset()
    assert by_name.target == "main/door.open"
    with pytest.raises(AttributeError):
        by_name.device_id = "other"  # type: ignore[misc]
    assert by_name._replace(step_up=True).step_up is True
    assert not dataclasses.is_dataclass(by_name)


def test_automated_looks_through_the_whole_chain() -> None:
    user = Context(Origin.USER, "alice")
    assert not make(ctx=user.child(Origin.DEVICE, "d")).automated
    chain = user.child(Origin.SCENE, "evening").child(Origin.API, "x").child(Origin.DEVICE, "d")
    assert make(ctx=chain).automated
    assert make(ctx=Context(Origin.RULE, "r")).automated


def test_policy_confirmation_needs_step_up_from_users_only() -> None:
    arb = SafetyArbiter()
    v = arb.check(make(), CONFIRM_POLICY, PLAIN)
    assert v.code == "step_up_required" and "main/door.open" in v.message_en
    assert arb.check(make(step_up=True), CONFIRM_POLICY, PLAIN).allowed
    # rules are not asked for a PIN (the target is not denied to automation here)
    assert arb.check(make(ctx=Context(Origin.RULE, "r")), CONFIRM_POLICY, PLAIN).allowed
    # another target of the same profile is not affected
    assert arb.check(make(command="close"), CONFIRM_POLICY, PLAIN).allowed


def test_empty_policy_allows_without_building_anything() -> None:
    assert SafetyArbiter().check(make(), ProfilePolicy(), PLAIN).allowed


def test_block_refusal_names_the_target() -> None:
    arb = SafetyArbiter()
    arb.add_block(Block("b", "停电", "Power cut", categories=("security.",)))
    v = arb.check(make(ctx=Context(Origin.RULE, "r")), ProfilePolicy(), PLAIN)
    assert v.code == "blocked" and "main/door.open" in v.message_en


def test_always_allows_agrees_with_check_for_every_intent() -> None:
    """``always_allows`` lets the command path skip the intent: wherever it says yes, ``check``
    must allow every intent for that target (no block active); each reason to say no is seen."""
    from hub.capabilities.model import ParamDef, ValueType

    level = ParamDef(type=ValueType.NUMBER, ref="level", required=False)
    commands = {
        "plain": PLAIN,
        "confirm": CommandDef(title=LocalText(zh="确认", en="Confirm"), confirm=True),
        "level": CommandDef(title=LocalText(zh="亮度", en="Level"), params={"level": level}),
    }
    policies = {
        "empty": ProfilePolicy(),
        "confirm": CONFIRM_POLICY,
        "not_available": ProfilePolicy(not_available=frozenset({"main/door.open"})),
        "denied": ProfilePolicy(automation_denied=frozenset({"main/door.open"})),
        "limited": ProfilePolicy.from_safety(
            {"limits": {"main/door/level": {"default_max": 50, "absolute_max": 80}}}
        ),
    }
    contexts = [
        Context(Origin.USER, "alice"),
        Context(Origin.RULE, "r"),
        Context(Origin.USER, "alice").child(Origin.SCENE, "s"),
    ]
    arb = SafetyArbiter()
    said_no: set[tuple[str, str, str]] = set()
    for pname, policy in policies.items():
        for cname, cmd in commands.items():
            for capability, command in (("door", "open"), ("lock", "unlock"), ("door", "close")):
                free = arb.always_allows(policy, cmd, "main", capability, command)
                verdicts = [
                    arb.check(
                        make(capability, command, ctx, step_up=step_up)._replace(args=args),
                        policy,
                        cmd,
                    ).allowed
                    for ctx in contexts
                    for step_up in (False, True)
                    for args in ({}, {"level": 10}, {"level": 60}, {"level": 99})
                ]
                if free:
                    assert all(verdicts), (pname, cname, capability, command)
                else:
                    said_no.add((pname, cname, f"{capability}.{command}"))
                    assert not all(verdicts), (pname, cname, capability, command)
    assert ("not_available", "plain", "door.open") in said_no
    assert ("denied", "plain", "door.open") in said_no
    assert ("confirm", "plain", "door.open") in said_no
    assert ("empty", "confirm", "door.close") in said_no
    assert ("empty", "plain", "lock.unlock") in said_no
    assert ("limited", "level", "door.close") in said_no
    assert ("limited", "plain", "door.close") not in said_no
    assert ("empty", "level", "door.open") not in said_no
