"""Every trigger kind, including the traces of triggers that did not fire."""

from __future__ import annotations

from typing import Any

from rules_home import START, Home, make_rule, statuses

from hub.core.events import Event
from hub.core.registry import Availability
from rules.loader import LoadedRule
from rules.notify import NOTIFICATION, Notification, NotificationCenter, Priority
from rules.triggers import HUB_STARTED_EVENT


def hall_rule(trigger: str, *, extra: str = "") -> str:
    return f"""
id: r
name: {{zh: 规则, en: Rule}}
{extra}
triggers:
  - {trigger}
actions:
  - command: {{target: hall-light, do: onoff.on}}
"""


def not_fired(engine: Any, rule_id: str = "r") -> list[dict[str, Any]]:
    return [t for t in engine.traces(rule_id) if t["status"] == "not_fired"]


async def test_state_to_and_from(home: Home) -> None:
    engine = await home.engine(
        hall_rule("state: {target: hall-pir, path: occupancy/occupied, from: false, to: true}")
    )
    home.report("kitchen-pir/main/occupancy/occupied", True)  # another device
    await home.clock.advance(1)
    assert home.calls() == []
    home.report("hall-pir/main/occupancy/occupied", True)
    await home.clock.advance(1)
    assert home.calls() == [("hall-light", "main/onoff.on", {})]
    trace = engine.traces("r")[0]
    assert trace["status"] == "finished"
    assert trace["trigger"]["path"] == "hall-pir/main/occupancy/occupied"
    assert (trace["trigger"]["old"], trace["trigger"]["new"]) == (False, True)
    # The run's Context chain: this run, caused by the device's report.
    assert [c["origin"] for c in trace["context"]] == ["rule", "device"]
    assert trace["context"][1]["actor"] == "hall-pir"


async def test_state_threshold_fires_on_crossing_and_explains_misses(home: Home) -> None:
    engine = await home.engine(
        hall_rule("state: {target: role:gas_detector, path: gas_detector/concentration, above: 10}")
    )
    path = "kitchen-gas/main/gas_detector/concentration"
    for value in (8, 12, 15):
        home.report(path, value)
        await home.clock.advance(1)
    assert len(home.calls()) == 1  # only 8 -> 12 crossed the threshold
    misses = not_fired(engine)
    assert len(misses) == 2
    texts = [m["notes"][0]["en"] for m in misses]
    assert any("changed from 0 to 8" in t and "above 10" in t for t in texts)
    assert any("already matched above 10 (12 → 15)" in t for t in texts)


async def test_for_duration_met_and_not_met(home: Home) -> None:
    engine = await home.engine(
        hall_rule("state: {target: role:gas_source, path: burner/ignited, to: true, for: 30m}")
    )
    ignited = "kitchen-hob/main/burner/ignited"
    home.report(ignited, True)
    await home.clock.advance(600)
    home.report(ignited, False)
    await home.clock.advance(3600)
    assert home.calls() == []
    # "Why didn't it fire?": the trace says how long it held and how long it needed.
    (miss,) = not_fired(engine)
    assert miss["notes"][0]["code"] == "for_not_met"
    assert "held for only 600 s; 1800 s were needed" in miss["notes"][0]["en"]
    assert miss["trigger"]["held_s"] == 600.0
    home.report(ignited, True)
    await home.clock.advance(1799)
    assert home.calls() == []
    await home.clock.advance(1)
    assert home.calls() == [("hall-light", "main/onoff.on", {})]
    assert engine.traces("r")[0]["trigger"]["held_s"] == 1800.0


async def test_role_target_limited_to_a_room(home: Home) -> None:
    await home.engine(
        hall_rule(
            "state: {target: role:presence, room: kitchen, path: occupancy/occupied, to: true}"
        )
    )
    home.report("hall-pir/main/occupancy/occupied", True)
    await home.clock.advance(1)
    assert home.calls() == []
    home.report("kitchen-pir/main/occupancy/occupied", True)
    await home.clock.advance(1)
    assert len(home.calls()) == 1


async def test_event_fields_and_count_within(home: Home) -> None:
    engine = await home.engine(
        hall_rule(
            "event: {target: role:gas_source, path: burner/flame_out, "
            "fields: {burner: left}, count: 3, within: 10m}"
        )
    )
    home.event("kitchen-hob", "main/burner/flame_out", burner="right")
    await home.clock.advance(60)
    for _ in range(2):
        home.event("kitchen-hob", "main/burner/flame_out", burner="left")
        await home.clock.advance(60)
    assert home.calls() == []
    notes = [m["notes"][0]["en"] for m in not_fired(engine)]
    assert any("burner=right (wanted left)" in n for n in notes)
    assert any("happened 2 of 3 times within 600 s" in n for n in notes)
    home.event("kitchen-hob", "main/burner/flame_out", burner="left")
    await home.clock.advance(1)
    assert len(home.calls()) == 1
    assert engine.traces("r")[0]["trigger"]["fields"] == {"burner": "left"}


async def test_event_count_window_slides(home: Home) -> None:
    await home.engine(
        hall_rule("event: {target: kitchen-hob, path: burner/flame_out, count: 2, within: 60}")
    )
    home.event("kitchen-hob", "main/burner/flame_out")
    await home.clock.advance(61)
    home.event("kitchen-hob", "main/burner/flame_out")
    await home.clock.advance(1)
    assert home.calls() == []  # the first fell out of the window
    home.event("kitchen-hob", "main/burner/flame_out")
    await home.clock.advance(1)
    assert len(home.calls()) == 1


async def test_time_trigger_with_weekdays(home: Home) -> None:
    engine = await home.engine(hall_rule('time: {at: ["08:30", "21:00"], weekdays: [mon]}'))
    await home.clock.advance(29 * 60)
    assert home.calls() == []
    await home.clock.advance(60)  # Monday 08:30
    assert len(home.calls()) == 1
    await home.clock.advance_to(START + 13 * 3600)  # Monday 21:00
    assert len(home.calls()) == 2
    await home.clock.advance_to(START + 6 * 86400)  # through Sunday: nothing
    assert len(home.calls()) == 2
    await home.clock.advance_to(START + 7 * 86400 + 1800)  # next Monday 08:30
    assert len(home.calls()) == 3
    assert engine.traces("r")[0]["trigger"]["description"] == "time Mon 08:30:00"


async def test_availability_for(home: Home) -> None:
    engine = await home.engine(
        hall_rule("availability: {target: role:gas_detector, to: offline, for: 2m}")
    )
    home.registry.set_availability("kitchen-gas", Availability.OFFLINE)
    await home.clock.advance(60)
    home.registry.set_availability("kitchen-gas", Availability.ONLINE)
    await home.clock.advance(600)
    assert home.calls() == []
    assert "held for only 60 s" in not_fired(engine)[0]["notes"][0]["en"]
    home.registry.set_availability("bath-gas", Availability.OFFLINE)
    await home.clock.advance(120)
    assert len(home.calls()) == 1
    assert engine.traces("r")[0]["trigger"]["device_id"] == "bath-gas"


async def test_hub_start(home: Home) -> None:
    engine = await home.engine(hall_rule("hub_start: {}"))
    home.bus.fire(HUB_STARTED_EVENT, None)
    await home.clock.advance(1)
    assert len(home.calls()) == 1
    assert statuses(engine, "r") == ["finished"]


async def test_safety_rules_are_dispatched_first(home: Home) -> None:
    order: list[str] = []
    home.bus.listen(NOTIFICATION, lambda e: order.append(e.data.rule_id or ""))
    user = """
id: user_rule
name: {zh: 用户, en: User}
triggers: [{event: {target: role:gas_detector, path: gas_detector/gas_alarm}}]
actions: [{notify: {text: {zh: 用户, en: user}}}]
"""
    safety = """
id: kitchen_guard
name: {zh: 安全, en: Safety}
safety: true
triggers: [{event: {target: role:gas_detector, path: gas_detector/gas_alarm}}]
actions: [{notify: {priority: critical, text: {zh: 燃气, en: gas}}}]
"""
    # The user rule subscribes first; the safety rule (added later by the owner) runs first.
    engine = await home.engine(user, origin="file")
    await engine.add(safety, by_owner=True)
    home.event("kitchen-gas", "main/gas_detector/gas_alarm")
    await home.clock.advance(1)
    assert order == ["kitchen_guard", "user_rule"]


async def test_notification_event_carries_texts(home: Home) -> None:
    seen: list[Event[Notification]] = []
    home.bus.listen(NOTIFICATION, seen.append)
    await home.engine(
        """
id: n
name: {zh: 通知, en: Notify}
triggers: [{event: {target: role:gas_detector, path: gas_detector/gas_alarm}}]
actions:
  - notify:
      priority: critical
      title: {zh: 燃气报警, en: Gas alarm}
      text: {zh: "{room}检测到燃气泄漏", en: "Gas leak in the {room}"}
"""
    )
    home.event("kitchen-gas", "main/gas_detector/gas_alarm")
    await home.clock.advance(1)
    (event,) = seen
    n = event.data
    assert n.priority.value == "critical"
    assert (n.text_zh, n.text_en) == ("厨房检测到燃气泄漏", "Gas leak in the Kitchen")
    assert (n.title_zh, n.room_id, n.rule_id) == ("燃气报警", "kitchen", "n")
    assert event.context.origin.value == "rule" and n.context_id == event.context.id


async def test_notification_center_keeps_recent_until_dismissed(home: Home) -> None:
    center = NotificationCenter(home.bus, home.clock, keep=2)
    first = center.notify("一", "one")
    second = center.notify("二", "two", priority="alert")
    third = center.notify("三", "three", priority=Priority.CRITICAL)
    assert [n.id for n in center.recent()] == [third.id, second.id]  # bounded, newest first
    assert center.dismiss(second.id) and not center.dismiss(second.id)
    assert [n.id for n in center.recent()] == [third.id]
    assert len(center.recent(include_dismissed=True)) == 2
    assert not center.dismiss(first.id)
    assert third.as_dict()["priority"] == "critical"


async def test_rules_loaded_after_start_are_attached(home: Home) -> None:
    engine = await home.engine()
    engine.load([LoadedRule(make_rule(hall_rule("hub_start: {}")), "late.yaml")], "file")
    home.bus.fire(HUB_STARTED_EVENT, None)
    await home.clock.advance(1)
    assert len(home.calls()) == 1
