"""The built-in kitchen and door guard (rules/packs/kitchen_guard.yaml) in the demo home's floor
plan, with the shipped profiles: every rule fires when it should and stays quiet when not."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from rules_pack_home import PackHome

from hub.core.commands import CommandStatus
from rules.messages import RuleError

GAS = "kitchen-gas"
HOB = "kitchen-hob"
HOOD = "kitchen-hood"
ALARM = "detector/gas_detector/gas_alarm"
CLEARED = "detector/gas_detector/gas_cleared"


@pytest.fixture
async def home() -> AsyncIterator[PackHome]:
    h = await PackHome.start()
    yield h
    await h.close()


# -- the pack itself ----------------------------------------------------------------------------


async def test_pack_rules_are_safety_rules_with_zh_and_en(home: PackHome) -> None:
    assert home.engine is not None
    guard = [r for r in home.engine.rules() if r.source.endswith("kitchen_guard.yaml")]
    assert sorted(r.id for r in guard) == [
        "flame_out_alert",
        "flame_out_repeated",
        "gas_detector_fault",
        "gas_detector_offline",
        "gas_leak_shutoff",
        "lock_alarm",
        "lock_wrong_codes",
        "unattended_cooking",
    ]
    for info in guard:
        assert info.safety and info.enabled
        rule = info.rule
        assert rule.name.zh and rule.name.en and rule.description is not None
        assert rule.description.zh and rule.description.en
        # Parameters were substituted everywhere (nothing like ${x} or $x is left).
        assert "$" not in str(info.as_dict()["rule"]), rule.id


async def test_safety_rules_cannot_be_disabled_or_edited_by_non_owners(home: PackHome) -> None:
    assert home.engine is not None
    with pytest.raises(RuleError) as err:
        await home.engine.disable("gas_leak_shutoff")
    assert err.value.code == "owner_required"
    text = "id: gas_leak_shutoff\nname: {zh: x, en: x}\ntriggers: [{hub_start: {}}]\n"
    with pytest.raises(RuleError):
        await home.engine.update("gas_leak_shutoff", text + "actions: [{delay: 1}]\n")
    assert home.engine.get("gas_leak_shutoff").enabled
    await home.engine.disable("gas_leak_shutoff", by_owner=True)
    assert not home.engine.get("gas_leak_shutoff").enabled


# -- 燃气泄漏 -------------------------------------------------------------------------------------


async def test_gas_alarm_blocks_alerts_closes_the_valve_and_reports(home: PackHome) -> None:
    await home.event(GAS, ALARM, severity="critical", concentration=12.3)
    await home.wait(1)
    assert home.sent() == [(GAS, "valve/valve.close", {})]
    assert home.value(f"{GAS}/valve/valve/state") == "closed"
    first, closed = home.texts("gas_leak_shutoff", "zh")
    assert first.startswith("厨房检测到燃气泄漏（高浓度报警，12.3%LEL）")
    assert "已关闭" in closed
    notes = [n for n in home.notes if n.rule_id == "gas_leak_shutoff"]
    assert {n.priority.value for n in notes} == {"critical"}
    assert notes[0].audience == ("homeowner", "integrator")
    # The block holds in the kitchen: the hood, its light, the cooktop, the purifier.
    assert [b["room_id"] for b in home.engine.blocks()] == ["kitchen"]  # type: ignore[union-attr]
    for device, target, args in (
        (HOOD, "light/onoff.on", {}),
        (HOOD, "main/fan.set_mode", {"mode": "high"}),
        ("kitchen-purifier", "main/vendor.demo-water.ro_flush.run", {}),
    ):
        result = await home.user(device, target, **args)
        assert (result.status, result.code) == (CommandStatus.REFUSED, "blocked"), target
    # Other rooms are not blocked; switching off stays possible (the arbiter's rule).
    assert (await home.user("living-ceiling", "main/onoff.on")).ok
    assert (await home.user(HOOD, "light/onoff.off")).ok
    assert home.runs("gas_leak_shutoff") == ["finished"]


async def test_block_lifts_ten_minutes_after_the_all_clear(home: PackHome) -> None:
    await home.event(GAS, ALARM, severity="warning", concentration=6)
    await home.wait(3600)  # no all-clear: the block stays however long it takes
    assert len(home.engine.blocks()) == 1  # type: ignore[union-attr]
    await home.event(GAS, CLEARED)
    await home.wait(599)
    assert (await home.user(HOOD, "light/onoff.on")).code == "blocked"
    await home.wait(2)
    assert home.engine.blocks() == []  # type: ignore[union-attr]
    assert (await home.user(HOOD, "light/onoff.on")).ok


async def test_gas_alarm_never_switches_the_hood_even_when_the_flame_dies() -> None:
    home = await PackHome.start()
    try:
        # One report from the cooktop: firepower and ignition together.
        await home.state(
            {f"{HOB}/burner_left/burner/firepower": 5, f"{HOB}/burner_left/burner/ignited": True}
        )
        assert home.targets(HOOD) == ["main/fan.set_mode"]  # 烟灶联动 at work
        home.calls.clear()
        await home.event(GAS, ALARM, severity="critical", concentration=20)
        await home.state({f"{GAS}/detector/gas_detector/gas_detected": True})
        # The valve closed: the flame goes out. No run-on, no switching of the running hood.
        await home.state(
            {f"{HOB}/burner_left/burner/ignited": False, f"{HOB}/burner_left/burner/firepower": 0}
        )
        await home.wait(600)
        assert home.targets(HOOD) == []
        assert home.value(f"{HOOD}/main/fan/mode") == "medium"
    finally:
        await home.close()


async def test_valve_that_does_not_close_is_retried_and_reported(home: PackHome) -> None:
    home.links[GAS].fail = "actuator stalled"
    await home.event(GAS, ALARM, severity="critical", concentration=30)
    await home.wait(60)
    assert home.targets(GAS) == ["valve/valve.close"] * 4  # the first try and 3 retries
    last = home.notes[-1]
    assert last.priority.value == "critical"
    assert "燃气报警器（" in last.text_zh and "手动关闭燃气总阀" in last.text_zh
    assert "Gas detector (" in last.text_en


async def test_tuned_hold_time_and_retries(home: PackHome) -> None:
    await home.close()
    home = await PackHome.start(
        params="""
schema: zshub.params/1
packs:
  builtin.kitchen_guard: {gas_clear_hold: 20m, valve_retries: 1}
"""
    )
    try:
        home.links[GAS].fail = "stalled"
        await home.event(GAS, ALARM, severity="critical", concentration=30)
        await home.event(GAS, CLEARED)
        await home.wait(60)
        assert len(home.targets(GAS)) == 2
        await home.wait(15 * 60)
        assert len(home.engine.blocks()) == 1  # type: ignore[union-attr]
        await home.wait(5 * 60)
        assert home.engine.blocks() == []  # type: ignore[union-attr]
    finally:
        await home.close()


# -- 探测器监护 -----------------------------------------------------------------------------------


async def test_detector_offline_alerts_and_asks_its_fail_safe_valve_to_close(
    home: PackHome,
) -> None:
    await home.availability(GAS, "offline")
    await home.wait(60)
    await home.availability(GAS, "online")  # a blip: nothing
    await home.wait(600)
    assert home.texts("gas_detector_offline") == []
    await home.availability(GAS, "offline")
    await home.wait(121)
    (text,) = home.texts("gas_detector_offline", "zh")
    assert text.startswith("厨房的燃气报警器已离线 2 分钟")
    # jt-rq-v1 declares fail_safe valve/valve/state: closed; being offline itself, the close
    # cannot reach it (the trace says so) — a separate valve would close.
    trace = home.engine.traces("gas_detector_offline")[0]  # type: ignore[union-attr]
    (close,) = trace["steps"][1]["result"]["devices"]
    assert (close["target"], close["code"]) == ("valve/valve.close", "device_offline")


async def test_detector_fault_and_end_of_life(home: PackHome) -> None:
    await home.event(GAS, "detector/gas_detector/sensor_fault")
    await home.state({f"{GAS}/detector/gas_detector/sensor_state": "end_of_life"})
    assert len(home.texts("gas_detector_fault")) == 2
    await home.state({f"{GAS}/detector/gas_detector/sensor_state": "normal"})
    assert len(home.texts("gas_detector_fault")) == 2


# -- 熄火保护 -------------------------------------------------------------------------------------


async def test_flame_out_and_dry_burn_alerts_name_the_burner(home: PackHome) -> None:
    await home.event(HOB, "burner_left/burner/flame_out")
    await home.event(HOB, "burner_right/burner/dry_burn_protect")
    await home.event("bath-heater", "main/heating/combustion_fault", code="E5")
    flame, dry, heater = home.texts("flame_out_alert", "zh")
    assert flame.startswith("燃气灶（左灶）熄火保护已动作")
    assert dry.startswith("燃气灶（右灶）防干烧")
    assert heater.startswith("燃气热水器燃烧故障（E5）")
    assert home.texts("flame_out_alert")[0].startswith("Gas cooktop (Left burner)")
    assert {n.priority.value for n in home.notes} == {"critical"}
    assert home.sent() == []  # the appliance protects itself; one flame-out closes nothing


async def test_three_flame_outs_in_ten_minutes_close_the_kitchen_valve(home: PackHome) -> None:
    for _ in range(2):
        await home.event(HOB, "burner_left/burner/flame_out")
        await home.wait(240)
    assert home.sent() == []  # two, and the first is now 8 min old
    await home.wait(180)  # the first flame-out leaves the 10-minute window
    await home.event(HOB, "burner_right/burner/flame_out")
    assert home.sent() == []
    await home.event(HOB, "burner_left/burner/flame_out")
    await home.wait(1)
    assert home.sent() == [(GAS, "valve/valve.close", {})]
    text = home.texts("flame_out_repeated", "zh")[0]
    assert text.startswith("燃气灶在 10 分钟内 3 次熄火，已关闭厨房的燃气阀")


async def test_two_flame_outs_close_the_valve_when_tuned_so() -> None:
    home = await PackHome.start(
        params="schema: zshub.params/1\npacks: {builtin.kitchen_guard: {flame_out_count: 2}}\n"
    )
    try:
        await home.event(HOB, "burner_left/burner/flame_out")
        await home.event(HOB, "burner_left/burner/flame_out")
        await home.wait(1)
        assert home.targets(GAS) == ["valve/valve.close"]
    finally:
        await home.close()


# -- 无人看管烹饪 ---------------------------------------------------------------------------------

LEFT_ON = {f"{HOB}/burner_left/burner/firepower": 3, f"{HOB}/burner_left/burner/ignited": True}


async def test_unattended_burner_alerts_then_is_switched_off(home: PackHome) -> None:
    # The demo kitchen has no presence sensor: after 30 min the hub reminds, then acts.
    await home.state(LEFT_ON)
    await home.wait(29 * 60)
    assert home.texts("unattended_cooking") == []
    await home.wait(60)
    (alert,) = home.texts("unattended_cooking", "zh")
    assert alert == "厨房的灶具已连续燃烧 30 分钟且无人看管；5 分钟后将自动关火。"
    await home.wait(299)
    assert "burner_left/burner.off" not in home.targets(HOB)
    await home.wait(2)
    assert home.targets(HOB) == ["burner_left/burner.off", "burner_right/burner.off"]
    assert home.value(f"{HOB}/burner_left/burner/ignited") is False
    assert home.texts("unattended_cooking")[-1] == (
        "The unattended burners in the Kitchen were switched off."
    )


async def test_burner_turned_off_after_the_reminder_is_left_alone(home: PackHome) -> None:
    await home.state(LEFT_ON)
    await home.wait(30 * 60 + 1)
    await home.state({f"{HOB}/burner_left/burner/ignited": False})
    await home.wait(600)
    assert home.targets(HOB) == []
    assert len(home.texts("unattended_cooking")) == 1


async def test_someone_in_the_kitchen_means_attended() -> None:
    home = await PackHome.start(
        kitchen_pir=True, states={"kitchen-pir/main/occupancy/occupied": False}
    )
    try:
        await home.state(LEFT_ON)
        await home.wait(10 * 60)
        await home.state({"kitchen-pir/main/occupancy/occupied": True})
        await home.wait(10 * 60)
        await home.state({"kitchen-pir/main/occupancy/occupied": False})  # left at minute 20
        await home.wait(10 * 60 + 1)  # burner on for 30 min, kitchen empty for only 10
        assert home.texts("unattended_cooking") == []
        await home.wait(20 * 60)  # empty for 30 min now
        assert len(home.texts("unattended_cooking")) == 1
        await home.wait(60)
        await home.state({"kitchen-pir/main/occupancy/occupied": True})  # back in time
        await home.wait(600)
        assert home.targets(HOB) == []
    finally:
        await home.close()


async def test_burner_that_cannot_be_switched_off_is_reported(home: PackHome) -> None:
    home.links[HOB].fail = "no remote shut-off"
    await home.state(LEFT_ON)
    await home.wait(35 * 60 + 1)
    last = home.notes[-1]
    assert last.priority.value == "critical"
    assert last.text_zh.startswith("厨房的灶具无法远程关火（燃气灶（")


async def test_unattended_after_is_tunable_within_bounds() -> None:
    home = await PackHome.start(
        params="""
schema: zshub.params/1
packs:
  builtin.kitchen_guard: {unattended_after: 45m, unattended_grace: 10s}
"""
    )
    try:
        # 10s is below the declared 1-minute minimum: refused, the pack's 5m stays.
        (problem,) = home.loaded.problems
        assert str(problem) == (
            "params.yaml:4: packs.builtin.kitchen_guard.unattended_grace: 10s is below the "
            "minimum 1m; " + home.loaded.rules[0].source + " uses unattended_grace = '5m'"
        )
        await home.state(LEFT_ON)
        await home.wait(44 * 60)
        assert home.texts("unattended_cooking") == []
        await home.wait(61)
        assert len(home.texts("unattended_cooking")) == 1
        await home.wait(297)
        assert home.targets(HOB) == []
        await home.wait(4)
        assert "burner_left/burner.off" in home.targets(HOB)
    finally:
        await home.close()


# -- 门锁异常 -------------------------------------------------------------------------------------


async def test_lock_alarms_alert_with_the_alarm_named(home: PackHome) -> None:
    await home.event("front-door", "main/lock/lock_alarm", code="tamper")
    await home.event("front-door", "main/lock/lock_alarm", code="jammed")
    await home.event("front-door", "main/lock/lock_alarm", code="low_battery")  # not an alarm
    assert home.texts("lock_alarm", "zh") == [
        "玄关的入户门锁报警：防撬报警。",
        "玄关的入户门锁报警：锁舌卡住。",
    ]
    assert home.texts("lock_alarm")[0] == "Front door lock in the Entrance: Tamper."
    assert {n.priority.value for n in home.notes} == {"critical"}


async def test_repeated_wrong_codes_alert_before_the_lock_locks_out(home: PackHome) -> None:
    error = "main/lock/lock_operation_error"
    await home.event("front-door", error, source="keypad", error="invalid_credential")
    await home.wait(60)
    await home.event("front-door", error, source="keypad", error="low_battery")  # not a guess
    await home.event("front-door", error, source="fingerprint", error="invalid_credential")
    assert home.texts("lock_wrong_codes") == []
    await home.wait(120)
    await home.event("front-door", error, source="card", error="invalid_credential")
    (text,) = home.texts("lock_wrong_codes", "zh")
    assert text == "玄关的入户门锁在 5 分钟内 3 次验证失败（最近一次：门卡），请留意。"
    await home.wait(600)
    await home.event("front-door", error, source="keypad", error="invalid_credential")
    assert len(home.texts("lock_wrong_codes")) == 1  # counting starts again
