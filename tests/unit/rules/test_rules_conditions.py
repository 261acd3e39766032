"""Conditions: state (is / is_not / thresholds / for / match all), time windows, and/or/not,
and the traces of runs a condition stopped."""

from __future__ import annotations

from typing import Any

import pytest
from rules_home import START, TZ, Home, make_rule, statuses

from rules.conditions import ConditionScope, check_all
from rules.targets import TargetResolver
from rules.triggers import TriggerData


def scope(home: Home, trigger_device: str | None = None) -> ConditionScope:
    trigger = None
    if trigger_device is not None:
        trigger = TriggerData(
            "state",
            home.clock.now(),
            device_id=trigger_device,
            room_id=home.registry.device(trigger_device).room_id,
        )
    return ConditionScope(
        home.kernel, TargetResolver(home.registry, home.profile_of), home.clock, TZ, trigger
    )


def conditions(text: str) -> Any:
    rule = make_rule(
        "id: c\nname: {zh: 条件, en: Cond}\ntriggers: [{hub_start: {}}]\n"
        f"conditions:\n{text}\nactions: [{{delay: 1}}]\n"
    )
    return rule.conditions


def holds(home: Home, text: str, trigger_device: str | None = None) -> bool:
    ok, _ = check_all(conditions(text), "conditions", scope(home, trigger_device))
    return ok


async def test_state_is_is_not_and_thresholds(home: Home) -> None:
    assert holds(home, "  - state: {target: kitchen-hood, path: fan/mode, is: [off, low]}")
    assert not holds(home, "  - state: {target: kitchen-hood, path: fan/mode, is_not: off}")
    home.report("kitchen-gas/main/gas_detector/concentration", 12.5)
    assert holds(
        home, "  - state: {target: kitchen-gas, path: gas_detector/concentration, above: 10}"
    )
    assert not holds(
        home,
        "  - state: {target: kitchen-gas, path: gas_detector/concentration, above: 10, below: 12}",
    )
    # true is not 1 and "off" is not false
    assert not holds(home, "  - state: {target: kitchen-hood, path: onoff/on, is: 0}")
    assert holds(home, "  - state: {target: kitchen-hood, path: onoff/on, is: false}")


async def test_state_match_any_all_and_room_same(home: Home) -> None:
    home.report("hall-pir/main/occupancy/occupied", True)
    any_pir = "  - state: {target: role:presence, path: occupancy/occupied, is: true}"
    assert holds(home, any_pir)
    assert not holds(home, any_pir.replace("is: true}", "is: true, match: all}"))
    same = "  - state: {target: role:presence, room: same, path: occupancy/occupied, is: true}"
    assert holds(home, same, trigger_device="hall-light")
    assert not holds(home, same, trigger_device="kitchen-hob")
    ok, results = check_all(conditions(same), "conditions", scope(home))
    assert not ok and results[0].notes[0]["code"] == "no_same_room"


async def test_state_for(home: Home) -> None:
    home.report("kitchen-hob/main/burner/ignited", True)
    cond = "  - state: {target: kitchen-hob, path: burner/ignited, is: true, for: 10m}"
    await home.clock.advance(599)
    assert not holds(home, cond)
    await home.clock.advance(1)
    assert holds(home, cond)


@pytest.mark.parametrize(
    ("offset_h", "window", "expected"),
    [
        (0, 'after: "07:00", before: "09:00"', True),  # 08:00
        (2, 'after: "07:00", before: "09:00"', False),  # 10:00
        (15, 'after: "22:00", before: "06:00"', True),  # 23:00, wraps midnight
        (21, 'after: "22:00", before: "06:00"', True),  # 05:00 next day
        (22, 'after: "22:00", before: "06:00"', False),  # 06:00
        (0, "weekdays: [mon]", True),
        (24, "weekdays: [mon]", False),  # Tuesday
        (24, 'weekdays: [tue], after: "08:00"', True),
    ],
)
async def test_time_windows(home: Home, offset_h: int, window: str, expected: bool) -> None:
    await home.clock.advance_to(START + offset_h * 3600)
    assert holds(home, f"  - time: {{{window}}}") is expected


async def test_and_or_not(home: Home) -> None:
    on = "{state: {target: kitchen-hood, path: onoff/on, is: true}}"
    off = "{state: {target: kitchen-hood, path: onoff/on, is: false}}"
    assert holds(home, f"  - or: [{on}, {off}]")
    assert not holds(home, f"  - and: [{on}, {off}]")
    assert holds(home, f"  - not: [{on}]")
    assert not holds(home, f"  - not: [{on}, {off}]")
    assert holds(home, f"  - and: [{{or: [{on}, {off}]}}, {{not: [{on}]}}]")


async def test_run_stopped_by_a_condition_leaves_a_full_trace(home: Home) -> None:
    engine = await home.engine(
        """
id: morning_light
name: {zh: 晨灯, en: Morning light}
triggers:
  - state: {target: hall-pir, path: occupancy/occupied, to: true}
conditions:
  - time: {after: "07:00", before: "09:00"}
  - state: {target: hall-light, path: onoff/on, is: true}
actions:
  - command: {target: hall-light, do: onoff.off}
"""
    )
    home.report("hall-pir/main/occupancy/occupied", True)
    await home.clock.advance(1)
    assert home.calls() == []
    trace = engine.traces("morning_light")[0]
    assert trace["status"] == "stopped"
    assert trace["notes"][0]["code"] == "stopped_by_condition"
    assert [(c["path"], c["kind"], c["result"]) for c in trace["conditions"]] == [
        ("conditions/0", "time", True),
        ("conditions/1", "state", False),  # every condition: the trace shows the whole picture
    ]
    assert "now Mon 08:00:00" in trace["conditions"][0]["detail"]
    assert "hall-light/main/onoff/on = False" in trace["conditions"][1]["detail"]
    assert trace["steps"] == []


async def test_outside_its_hours_the_trace_shows_the_closed_window(home: Home) -> None:
    engine = await home.engine(
        """
id: night_light
name: {zh: 夜灯, en: Night light}
triggers:
  - state: {target: hall-pir, path: occupancy/occupied, to: true}
conditions:
  - time: {after: "22:00", before: "06:00"}
  - state: {target: hall-light, path: onoff/on, is: false}
actions:
  - command: {target: hall-light, do: onoff.on}
"""
    )
    home.report("hall-pir/main/occupancy/occupied", True)
    await home.clock.advance(1)
    assert home.calls() == []
    trace = engine.traces("night_light")[0]
    assert trace["status"] == "stopped"
    assert trace["notes"][0]["code"] == "stopped_by_condition"
    # Stopped at the window: the other conditions could not change that and were not looked at.
    assert [(c["path"], c["kind"], c["result"]) for c in trace["conditions"]] == [
        ("conditions/0", "time", False),
    ]
    assert "now Mon 08:00:00" in trace["conditions"][0]["detail"]
    assert trace["steps"] == []


async def test_a_closed_time_window_stops_the_trigger_before_any_run(home: Home) -> None:
    """Outside its hours the rule ends at the trigger: its trace is final at once, no run or
    task was made (the night light watches every motion all day)."""
    engine = await home.engine(
        """
id: night_light
name: {zh: 夜灯, en: Night light}
triggers:
  - state: {target: hall-pir, path: occupancy/occupied, to: true}
conditions:
  - time: {after: "22:00", before: "06:00"}
actions:
  - command: {target: hall-light, do: onoff.on}
"""
    )
    home.report("hall-pir/main/occupancy/occupied", True)
    # No await since the report: a run would still be waiting for its task's first step.
    assert engine.running("night_light") == []
    assert [t["status"] for t in engine.traces("night_light")] == ["stopped"]
    await home.clock.advance(1)
    assert home.calls() == []
    assert [t["status"] for t in engine.traces("night_light")] == ["stopped"]


async def test_a_restart_rule_triggered_outside_its_window_still_restarts(home: Home) -> None:
    """With a run going the mode decides first, as always: the going run is cancelled, and the
    new one stops at its condition."""
    engine = await home.engine(
        """
id: morning
name: {zh: 早晨, en: Morning}
mode: restart
triggers:
  - event: {target: role:presence, path: occupancy/motion}
conditions:
  - time: {after: "07:00", before: "09:00"}
actions:
  - delay: 7200
  - command: {target: hall-light, do: onoff.on}
"""
    )
    home.event("hall-pir", "main/occupancy/motion")  # 08:00: inside
    await home.clock.settle()
    assert len(engine.running("morning")) == 1
    await home.clock.advance(65 * 60)  # 09:05: outside
    home.event("hall-pir", "main/occupancy/motion")
    await home.clock.settle()
    assert engine.running("morning") == []
    assert statuses(engine, "morning") == ["cancelled", "stopped"]
    await home.clock.advance(7200)
    assert home.calls() == []
