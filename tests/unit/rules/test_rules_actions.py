"""Every action kind: command (roles, rooms, refusals, retries), scene, delay, wait, choose,
notify and block (the gas-alarm block through the safety arbiter)."""

from __future__ import annotations

from typing import Any

from rules_home import Home, statuses

from hub.core.commands import CommandResult
from hub.core.context import Context, Origin
from hub.core.events import Event
from rules.blocks import BLOCK_CHANGED, BlockChange
from rules.messages import RuleError

ALARM = "{event: {target: role:gas_detector, path: gas_detector/gas_alarm}}"


def rule(actions: str, *, trigger: str = ALARM, extra: str = "") -> str:
    return f"""
id: r
name: {{zh: 规则, en: Rule}}
{extra}
triggers: [{trigger}]
actions:
{actions}
"""


def steps(engine: Any, rule_id: str = "r") -> list[dict[str, Any]]:
    return list(engine.traces(rule_id)[0]["steps"])


async def user(home: Home, device: str, target: str, **args: Any) -> CommandResult:
    return await home.commands.send(device, target, args, context=Context(Origin.USER, "alice"))


async def test_command_to_a_role_in_the_same_room(home: Home) -> None:
    engine = await home.engine(
        rule("  - command: {target: role:gas_shutoff, room: same, do: valve.close}")
    )
    home.event("kitchen-gas", "main/gas_detector/gas_alarm")
    await home.clock.advance(1)
    # The detector's own valve component, not the bathroom's valve.
    assert home.calls() == [("kitchen-gas", "valve/valve.close", {})]
    assert home.states.value("kitchen-gas/valve/valve/state") == "closed"
    trace = engine.traces("r")[0]
    (result,) = trace["steps"][0]["result"]["devices"]
    assert result["status"] == "confirmed" and result["target"] == "valve/valve.close"
    assert result["context_id"] == trace["run_id"]
    call = home.links["kitchen-gas"].calls[0]
    assert call.context.origin is Origin.RULE and call.context.actor == "r"
    assert call.context.parent is not None and call.context.parent.actor == "kitchen-gas"


async def test_unresolvable_targets_are_explained_no_ops(home: Home) -> None:
    engine = await home.engine(
        rule(
            "  - command: {target: role:ventilation, room: same, do: fan.set_mode, "
            "args: {mode: high}}\n"
            "  - command: {target: [no-such-device, hall-light], do: fan.set_mode, "
            "args: {mode: high}}\n"
            "  - command: {target: kitchen-light, do: onoff.on}"
        )
    )
    home.event("bath-gas", "main/gas_detector/gas_alarm")
    await home.clock.advance(1)
    assert home.calls() == [("kitchen-light", "main/onoff.on", {})]
    assert statuses(engine, "r") == ["finished"]
    first, second, _ = steps(engine)
    assert [n["code"] for n in first["notes"]] == ["no_role_devices", "no_targets"]
    assert first["notes"][0]["en"] == "No device has the role ventilation (bath)"
    assert second["notes"][0]["code"] == "no_such_device"
    (skipped,) = second["result"]["devices"]
    assert skipped["status"] == "skipped" and skipped["notes"][0]["code"] == "no_command"


async def test_unlock_without_opt_in_is_refused_by_the_arbiter(home: Home) -> None:
    text = rule("  - command: {target: role:entry_lock, do: lock.unlock}")
    engine = await home.engine(text)
    home.event("kitchen-gas", "main/gas_detector/gas_alarm")
    await home.clock.advance(1)
    (result,) = steps(engine)[0]["result"]["devices"]
    assert result["status"] == "refused" and result["code"] == "automation_denied"
    assert "unless the owner allowed it" in result["message"]["en"]
    assert home.calls() == []  # never reached the lock
    assert home.states.value("front-door/main/lock/lock_state") == "locked"
    # Opting in needs the owner …
    opted = text.replace("id: r", "id: r2").replace("\n\n", "\nopt_in: [unlock]\n", 1)
    try:
        await engine.add(opted)
        raise AssertionError("a non-owner could opt a rule in to unlocking")
    except RuleError as err:
        assert err.code == "owner_required_opt_in"
    # … and then the arbiter lets exactly this rule unlock.
    await engine.add(opted, by_owner=True)
    home.event("kitchen-gas", "main/gas_detector/gas_alarm")
    await home.clock.advance(1)
    assert home.calls() == [("front-door", "main/lock.unlock", {})]
    assert home.states.value("front-door/main/lock/lock_state") == "unlocked"
    assert steps(engine, "r")[0]["result"]["devices"][0]["status"] == "refused"


async def test_valve_open_needs_its_own_opt_in(home: Home) -> None:
    engine = await home.engine(
        rule(
            "  - command: {target: role:gas_shutoff, do: valve.open}",
            extra="opt_in: [unlock]",
        )
    )
    home.event("kitchen-gas", "main/gas_detector/gas_alarm")
    await home.clock.advance(1)
    results = steps(engine)[0]["result"]["devices"]
    assert {r["code"] for r in results} == {"automation_denied"}
    assert home.calls() == []


async def test_retry_on_device_failure(home: Home) -> None:
    home.links["kitchen-hood"].fail = True
    engine = await home.engine(
        rule("  - command: {target: kitchen-hood, do: onoff.on, retry: {times: 2, every: 5}}")
    )
    home.event("kitchen-gas", "main/gas_detector/gas_alarm")
    await home.clock.advance(30)
    assert len(home.calls("kitchen-hood")) == 3
    (result,) = steps(engine)[0]["result"]["devices"]
    assert (result["status"], result["attempts"]) == ("failed", 3)
    assert steps(engine)[0]["duration_s"] == 10.0


async def test_wait_for_a_trigger(home: Home) -> None:
    engine = await home.engine(
        rule(
            "  - wait:\n"
            "      trigger: {state: {target: role:presence, room: same, path: occupancy/occupied,"
            " to: true}}\n"
            "      timeout: 5m\n"
            "  - command: {target: kitchen-light, do: onoff.on}"
        )
    )
    home.event("kitchen-gas", "main/gas_detector/gas_alarm")
    await home.clock.advance(60)
    home.report("hall-pir/main/occupancy/occupied", True)  # another room: keeps waiting
    await home.clock.advance(60)
    assert home.calls() == []
    home.report("kitchen-pir/main/occupancy/occupied", True)
    await home.clock.advance(1)
    assert home.calls() == [("kitchen-light", "main/onoff.on", {})]
    wait = steps(engine)[0]
    assert wait["result"]["fired"] is True and wait["result"]["waited_s"] == 120.0
    assert wait["result"]["trigger"]["device_id"] == "kitchen-pir"


async def test_wait_timeout_continue_or_stop(home: Home) -> None:
    wait = (
        "  - wait: {trigger: {event: {target: kitchen-gas, path: gas_detector/gas_cleared}},"
        " timeout: 60, on_timeout: %s}\n"
        "  - command: {target: kitchen-light, do: onoff.on}"
    )
    engine = await home.engine(rule(wait % "stop"))
    home.event("kitchen-gas", "main/gas_detector/gas_alarm")
    await home.clock.advance(61)
    assert home.calls() == []
    trace = engine.traces("r")[0]
    assert trace["status"] == "stopped" and trace["notes"][0]["code"] == "stopped_by_wait"
    assert trace["steps"][0]["result"]["fired"] is False

    other = await home.engine(rule(wait % "continue").replace("id: r", "id: r2"))
    home.event("kitchen-gas", "main/gas_detector/gas_alarm")
    await home.clock.advance(61)
    assert home.calls() == [("kitchen-light", "main/onoff.on", {})]
    assert statuses(other, "r2") == ["finished"]


async def test_choose_branches_and_default(home: Home) -> None:
    engine = await home.engine(
        rule(
            """  - choose:
      branches:
        - conditions: [{state: {target: kitchen-pir, path: occupancy/occupied, is: true}}]
          actions: [{command: {target: kitchen-light, do: onoff.on}}]
        - conditions: [{time: {after: "07:00", before: "09:00"}}]
          actions: [{command: {target: hall-light, do: onoff.on}}]
      default:
        - command: {target: bath-light, do: onoff.on}"""
        )
    )
    home.event("kitchen-gas", "main/gas_detector/gas_alarm")
    await home.clock.advance(1)
    assert home.calls() == [("hall-light", "main/onoff.on", {})]
    choose, nested = steps(engine)
    assert choose["result"]["chosen"] == 1
    assert [b["result"] for b in choose["result"]["branches"]] == [False, True]
    assert nested["path"] == "actions/0/branches/1/actions/0"
    await home.clock.advance(3 * 3600)  # 11:00: neither branch -> default
    home.event("kitchen-gas", "main/gas_detector/gas_alarm")
    await home.clock.advance(1)
    assert home.calls()[-1] == ("bath-light", "main/onoff.on", {})
    assert steps(engine)[1]["path"] == "actions/0/default/0"


async def test_scene_action(home: Home) -> None:
    scenes = home.scenes(
        "id: lights_on\nname: {zh: 开灯, en: Lights on}\n"
        "states: [{target: category:light., room: kitchen, set: {onoff/on: true}}]\n"
    )
    engine = await home.engine(rule("  - scene: lights_on\n  - scene: nope"), scenes=scenes)
    home.event("kitchen-gas", "main/gas_detector/gas_alarm")
    await home.clock.advance(1)
    assert home.calls() == [("kitchen-light", "main/onoff.on", {})]
    applied, missing = steps(engine)
    assert applied["result"]["ok"] is True
    assert applied["result"]["devices"][0]["device"] == "kitchen-light"
    assert missing["notes"][0]["code"] == "unknown_scene"
    # The scene's commands run in a scene context whose parent is the rule run.
    ctx = home.links["kitchen-light"].calls[0].context
    assert ctx.origin is Origin.SCENE and ctx.parent is not None
    assert ctx.parent.id == engine.traces("r")[0]["run_id"]


GAS_GUARD = """
id: gas_leak
name: {zh: 燃气泄漏, en: Gas leak}
safety: true
triggers: [{event: {target: role:gas_detector, path: gas_detector/gas_alarm}}]
actions:
  - command: {target: role:gas_shutoff, room: same, do: valve.close}
  - block:
      targets: [role:gas_source, role:ventilation, "category:light."]
      room: same
      until:
        event: {target: role:gas_detector, room: same, path: gas_detector/gas_cleared}
        plus_s: 600
"""


async def test_gas_alarm_blocks_switching_in_that_room_until_after_the_all_clear(
    home: Home,
) -> None:
    changes: list[BlockChange] = []
    home.bus.listen(BLOCK_CHANGED, lambda e: changes.append(e.data))
    engine = await home.engine(GAS_GUARD)
    home.event("kitchen-gas", "main/gas_detector/gas_alarm")
    await home.clock.advance(1)
    assert home.states.value("kitchen-gas/valve/valve/state") == "closed"
    (block,) = engine.blocks()
    assert block["room_id"] == "kitchen" and block["phase"] == "alarm"

    refused = await user(home, "kitchen-hood", "main/onoff.on")
    assert refused.code == "blocked" and "燃气报警" in refused.message_zh
    assert (await user(home, "kitchen-light", "main/brightness.set_level", level=50)).code == (
        "blocked"
    )
    assert (await user(home, "kitchen-hood", "main/onoff.off")).ok  # shutting off is allowed
    assert (await user(home, "hall-light", "main/onoff.on")).ok  # another room

    home.event("bath-gas", "main/gas_detector/gas_cleared")  # another room's all-clear
    await home.clock.advance(1)
    assert engine.blocks()[0]["phase"] == "alarm"
    home.event("kitchen-gas", "main/gas_detector/gas_cleared")
    await home.clock.advance(599)
    assert engine.blocks()[0]["phase"] == "clearing"
    assert not (await user(home, "kitchen-hood", "main/onoff.on")).ok
    await home.clock.advance(1)
    assert engine.blocks() == []
    assert home.arbiter.blocks() == []
    assert (await user(home, "kitchen-hood", "main/onoff.on")).ok
    assert [c.active for c in changes] == [True, True, False]


async def test_a_new_alarm_while_clearing_renews_the_block(home: Home) -> None:
    engine = await home.engine(GAS_GUARD)
    home.event("kitchen-gas", "main/gas_detector/gas_alarm")
    await home.clock.advance(1)
    home.event("kitchen-gas", "main/gas_detector/gas_cleared")
    await home.clock.advance(300)
    home.event("kitchen-gas", "main/gas_detector/gas_alarm")
    await home.clock.advance(600)
    (block,) = engine.blocks()
    assert block["phase"] == "alarm"
    assert len(home.arbiter.blocks()) == 1


async def test_only_the_owner_lifts_a_block_early(home: Home) -> None:
    engine = await home.engine(GAS_GUARD)
    home.event("kitchen-gas", "main/gas_detector/gas_alarm")
    await home.clock.advance(1)
    block_id = engine.blocks()[0]["block_id"]
    try:
        engine.lift_block(block_id)
        raise AssertionError("a non-owner lifted a gas block")
    except RuleError as err:
        assert err.code == "owner_required"
    engine.lift_block(block_id, by_owner=True)
    assert home.arbiter.blocks() == []


async def test_block_room_same_without_a_room_blocks_the_whole_home(home: Home) -> None:
    home.add_device("loose-gas", None, "gas")
    events: list[Event[BlockChange]] = []
    home.bus.listen(BLOCK_CHANGED, events.append)
    engine = await home.engine(GAS_GUARD)
    home.event("loose-gas", "main/gas_detector/gas_alarm")
    await home.clock.advance(1)
    assert steps(engine, "gas_leak")[1]["result"]["notes"][0]["code"] == "block_whole_home"
    assert not (await user(home, "hall-light", "main/onoff.on")).ok
    assert events[0].data.room_id is None
