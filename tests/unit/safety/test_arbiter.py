from typing import Any

from hub.capabilities.model import CommandDef, LocalText, ParamDef, ValueType
from hub.core.context import Context, Origin
from hub.safety.arbiter import Block, CommandIntent, ProfilePolicy, SafetyArbiter

T = LocalText(zh="命令", en="Command")
PLAIN = CommandDef(title=T)
UNLOCK = CommandDef(
    title=T,
    confirm=True,
    timed=True,
    params={"pin": ParamDef(type=ValueType.SECRET, required=False)},
)
SETPOINT = CommandDef(title=T, params={"setpoint": ParamDef(type=ValueType.NUMBER, ref="setpoint")})

LOCK_POLICY = ProfilePolicy.from_safety(
    {
        "restrictions": [
            {
                "target": "main/lock.unlock",
                "require": ["user_confirmation", "timed_command"],
                "scenes": "deny_by_default",
            }
        ]
    }
)
VALVE_POLICY = ProfilePolicy.from_safety(
    {
        "restrictions": [{"target": "valve/valve.open", "rule": "not_available"}],
        "fail_safe": {"valve/valve/state": "closed"},
    }
)
HEATER_POLICY = ProfilePolicy.from_safety(
    {"limits": {"main/temperature_setpoint/setpoint": {"default_max": 50, "absolute_max": 65}}},
    {"main/temperature_setpoint/setpoint": "°C"},
)


def intent(
    capability: str,
    command: str,
    *,
    component: str = "main",
    origin: Origin = Origin.USER,
    args: dict[str, Any] | None = None,
    step_up: bool = False,
    owner_confirmed: bool = False,
    opt_in: frozenset[str] = frozenset(),
    room: str | None = "kitchen",
    roles: frozenset[str] = frozenset(),
    category: str = "generic",
) -> CommandIntent:
    ctx = Context(Origin.USER, "alice")
    if origin is not Origin.USER:
        ctx = ctx.child(origin, "r1")
    return CommandIntent(
        "dev-1",
        room,
        "p",
        roles,
        category,
        component,
        capability,
        command,
        args or {},
        ctx,
        step_up,
        owner_confirmed,
        opt_in,
    )


def test_unlock_needs_step_up_from_users_and_opt_in_from_rules() -> None:
    arb = SafetyArbiter()
    v = arb.check(intent("lock", "unlock"), LOCK_POLICY, UNLOCK)
    assert not v.allowed and v.code == "step_up_required" and v.needs == "pin"
    assert "PIN" in v.message_zh and "PIN" in v.message_en
    assert arb.check(intent("lock", "unlock", step_up=True), LOCK_POLICY, UNLOCK).allowed
    v = arb.check(intent("lock", "unlock", origin=Origin.SCENE), LOCK_POLICY, UNLOCK)
    assert v.code == "automation_denied"
    v = arb.check(
        intent("lock", "unlock", origin=Origin.RULE, opt_in=frozenset({"main/lock.unlock"})),
        LOCK_POLICY,
        UNLOCK,
    )
    assert v.allowed
    # locking stays one tap
    assert arb.check(intent("lock", "lock"), LOCK_POLICY, PLAIN).allowed


def test_unlock_from_rules_refused_even_without_profile_restriction() -> None:
    v = SafetyArbiter().check(intent("lock", "unlock", origin=Origin.RULE), ProfilePolicy(), UNLOCK)
    assert v.code == "automation_denied"


def test_valve_open_not_available_and_never_by_rules() -> None:
    arb = SafetyArbiter()
    v = arb.check(intent("valve", "open", component="valve", step_up=True), VALVE_POLICY, PLAIN)
    assert v.code == "not_available"
    v = arb.check(
        intent("valve", "open", component="valve", origin=Origin.RULE), ProfilePolicy(), PLAIN
    )
    assert v.code == "automation_denied"
    assert arb.check(
        intent("valve", "close", component="valve", origin=Origin.RULE), VALVE_POLICY, PLAIN
    ).allowed


def test_setpoint_limits() -> None:
    arb = SafetyArbiter()
    assert arb.check(
        intent("temperature_setpoint", "set", args={"setpoint": 45}), HEATER_POLICY, SETPOINT
    ).allowed
    v = arb.check(
        intent("temperature_setpoint", "set", args={"setpoint": 55}), HEATER_POLICY, SETPOINT
    )
    assert v.code == "owner_confirmation_required" and v.needs == "owner_confirmation"
    assert "50°C" in v.message_zh
    assert arb.check(
        intent("temperature_setpoint", "set", args={"setpoint": 55}, owner_confirmed=True),
        HEATER_POLICY,
        SETPOINT,
    ).allowed
    v = arb.check(
        intent("temperature_setpoint", "set", args={"setpoint": 70}, owner_confirmed=True),
        HEATER_POLICY,
        SETPOINT,
    )
    assert v.code == "limit_exceeded"


def test_blocks_stop_switching_in_their_room_but_never_shutting_off() -> None:
    arb = SafetyArbiter()
    remove = arb.add_block(
        Block(
            "gas",
            "燃气泄漏",
            "Gas leak",
            room_id="kitchen",
            roles=frozenset({"ventilation"}),
            categories=("light.",),
        )
    )
    hood = {"roles": frozenset({"ventilation"})}
    v = arb.check(intent("fan", "set_mode", args={"mode": "high"}, **hood), ProfilePolicy(), PLAIN)
    assert v.code == "blocked" and "燃气泄漏" in v.message_zh and "Gas leak" in v.message_en
    assert arb.check(
        intent("fan", "set_mode", args={"mode": "off"}, **hood), ProfilePolicy(), PLAIN
    ).allowed
    assert not arb.check(
        intent("onoff", "on", category="light.ceiling"), ProfilePolicy(), PLAIN
    ).allowed
    assert arb.check(
        intent("onoff", "off", category="light.ceiling"), ProfilePolicy(), PLAIN
    ).allowed
    # another room and an unrelated device are not blocked
    assert arb.check(
        intent("onoff", "on", category="light.ceiling", room="bedroom"), ProfilePolicy(), PLAIN
    ).allowed
    assert arb.check(
        intent("program", "select", category="kitchen.rice_cooker"), ProfilePolicy(), PLAIN
    ).allowed
    remove()
    assert arb.blocks() == []
    assert arb.check(
        intent("onoff", "on", category="light.ceiling"), ProfilePolicy(), PLAIN
    ).allowed


def test_opt_in_accepts_capability_command_form() -> None:
    arb = SafetyArbiter()
    v = arb.check(
        intent("lock", "unlock", origin=Origin.RULE, opt_in=frozenset({"lock.unlock"})),
        LOCK_POLICY,
        UNLOCK,
    )
    assert v.allowed
    v = arb.check(
        intent("lock", "unlock", origin=Origin.RULE, opt_in=frozenset({"valve.open"})),
        LOCK_POLICY,
        UNLOCK,
    )
    assert v.code == "automation_denied"
