"""The everyday pack (rules/packs/zhongshan_home.yaml) and its scenes (zhongshan_scenes.yaml) in
the demo home's floor plan with the shipped profiles."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from rules_pack_home import PackHome, at

from hub.core.context import Context, Origin

HOB = "kitchen-hob"
HOOD = "kitchen-hood"
LOCK = "front-door"
OPERATION = "main/lock/lock_operation"
LIGHTS = ("living-ceiling", "living-strip", "bedroom-night", "bedroom-ceiling")


@pytest.fixture
async def home() -> AsyncIterator[PackHome]:
    h = await PackHome.start()
    yield h
    await h.close()


async def evening(**kwargs: object) -> PackHome:
    return await PackHome.start(start=at("2025-03-10 19:00"), **kwargs)  # type: ignore[arg-type]


def burner(side: str, level: int) -> dict[str, object]:
    """One report of the cooktop: a burner lit at ``level`` (0: out)."""
    return {
        f"{HOB}/burner_{side}/burner/firepower": level,
        f"{HOB}/burner_{side}/burner/ignited": level > 0,
    }


async def test_pack_and_scenes_load_with_zh_and_en(home: PackHome) -> None:
    assert home.engine is not None and home.scenes is not None
    everyday = [r for r in home.engine.rules() if r.source.endswith("zhongshan_home.yaml")]
    assert sorted(r.id for r in everyday) == [
        "arrive_home",
        "auto_lock",
        "filter_reminder",
        "good_night",
        "hood_follows_cooktop",
        "leave_home",
        "night_path_light",
        "scene_report",
        "water_heater_preheat",
    ]
    for info in everyday:
        assert not info.safety
        assert info.rule.name.zh and info.rule.name.en and info.rule.description is not None
    scene_ids = [s.id for s in home.scenes.scenes()]
    assert scene_ids == ["arrive_home", "good_night", "leave_home", "movie"]
    for scene in home.scenes.scenes():
        assert scene.scene.name.zh and scene.scene.name.en
        # Roles, rooms and categories only: never a device id.
        for state in scene.scene.states:
            assert all(t.split(":")[0] in ("role", "category", "capability") for t in state.target)
    assert home.loaded.problems == []


# -- 烟灶联动 -------------------------------------------------------------------------------------


async def test_hood_follows_the_highest_burner_and_runs_on_after_the_last(home: PackHome) -> None:
    mode = f"{HOOD}/main/fan/mode"
    await home.state(burner("left", 5))
    assert home.value(mode) == "medium"
    await home.state({f"{HOB}/burner_left/burner/firepower": 8})  # 爆炒
    assert home.value(mode) == "high"
    await home.state(burner("right", 2))
    assert home.value(mode) == "high"  # the highest burner counts
    await home.state(burner("left", 0))
    assert home.value(mode) == "low"  # the right one is still on
    await home.state(burner("right", 0))
    await home.wait(179)
    assert home.value(mode) == "low"  # 延时排烟
    await home.wait(2)
    assert home.value(mode) == "off"
    assert {t for t in home.targets(HOOD)} == {"main/fan.set_mode"}


async def test_a_new_flame_during_the_run_on_cancels_it(home: PackHome) -> None:
    await home.state(burner("left", 5))
    await home.state(burner("left", 0))
    await home.wait(120)
    await home.state(burner("left", 2))
    await home.wait(600)
    assert home.value(f"{HOOD}/main/fan/mode") == "low"
    assert [a["mode"] for _, _, a in home.sent(HOOD)] == ["medium", "low"]


async def test_no_double_control_when_the_pair_links_by_itself() -> None:
    home = await PackHome.start(states={f"{HOB}/main/appliance_link/linked": True})
    try:
        await home.state(burner("left", 9))
        await home.state(burner("left", 0))
        await home.wait(600)
        assert home.sent(HOOD) == []
        runs = home.runs("hood_follows_cooktop")
        assert runs and "finished" not in runs  # stopped by the condition (or restarted)
    finally:
        await home.close()


async def test_hood_run_on_is_tunable() -> None:
    home = await PackHome.start(
        params="schema: zshub.params/1\npacks: {zhongshan.home: {hood_run_on: 30s}}\n"
    )
    try:
        await home.state(burner("left", 4))
        await home.state(burner("left", 0))
        await home.wait(31)
        assert home.value(f"{HOOD}/main/fan/mode") == "off"
    finally:
        await home.close()


# -- 离家 / 晚安 / 回家 ----------------------------------------------------------------------------


async def test_leave_home_switches_off_closes_locks_and_confirms(home: PackHome) -> None:
    await home.state({**burner("left", 3), "living-ceiling/main/onoff/on": True})
    await home.state({f"{LOCK}/main/lock/lock_state": "unlocked"})
    home.calls.clear()
    await home.event(LOCK, OPERATION, operation="lock", source="keypad")
    await home.wait(1)
    sent = [(device, target) for device, target, _ in home.sent()]
    for light in LIGHTS:
        assert (light, "main/onoff.off") in sent
    assert (HOB, "burner_left/burner.off") in sent
    assert (HOB, "burner_right/burner.off") in sent
    assert ("kitchen-gas", "valve/valve.close") in sent
    assert (LOCK, "main/lock.lock") in sent
    assert home.value(f"{LOCK}/main/lock/lock_state") == "locked"
    assert home.texts("scene_report", "zh") == [
        "离家场景已完成：灯已关、灶已关火、燃气阀已关、门已上锁。"
    ]


async def test_leave_home_reports_what_could_not_be_done(home: PackHome) -> None:
    home.links[LOCK].fail = "the door is open"
    home.links["kitchen-gas"].online = False
    await home.event(LOCK, OPERATION, operation="lock", source="keypad")
    await home.wait(1)
    (report,) = [n for n in home.notes if n.rule_id == "scene_report"]
    assert report.priority.value == "alert"
    assert report.text_zh.startswith("离家场景有 2 项未完成：")
    assert "入户门锁（" in report.text_zh and "the door is open" in report.text_zh
    assert "燃气报警器（设备 kitchen-gas 离线）" in report.text_zh
    assert "Front door lock (" in report.text_en and "Gas detector (" in report.text_en


async def test_scene_applied_from_the_ui_is_reported_too(home: PackHome) -> None:
    assert home.scenes is not None
    home.links["bedroom-night"].fail = "no reply"
    await home.state({"bedroom-night/main/onoff/on": True})
    result = await home.scenes.apply("good_night", Context(Origin.USER, "owner"))
    await home.wait(1)
    assert not result.ok
    (text,) = home.texts("scene_report", "zh")
    assert text.startswith("晚安场景有 1 项未完成：卧室小夜灯（") and "no reply" in text


async def test_leave_home_does_nothing_during_a_gas_alarm(home: PackHome) -> None:
    await home.state({"kitchen-gas/detector/gas_detector/gas_detected": True})
    await home.event(LOCK, OPERATION, operation="lock", source="keypad")
    await home.wait(1)
    assert home.sent() == []
    assert home.texts("leave_home") == [
        "A gas alarm is on, so the leave-home scene was not applied (no switching)."
    ]


async def test_other_lockings_are_not_leaving(home: PackHome) -> None:
    await home.event(LOCK, OPERATION, operation="lock", source="auto")
    await home.event(LOCK, OPERATION, operation="lock", source="manual")  # inside, 08:00
    await home.wait(1)
    assert home.sent() == []


async def test_good_night_when_locking_from_inside_at_night() -> None:
    home = await PackHome.start(start=at("2025-03-10 22:30"))
    try:
        await home.state({"living-strip/main/onoff/on": True})
        await home.event(LOCK, OPERATION, operation="lock", source="manual")
        await home.wait(1)
        assert ("living-strip", "main/onoff.off", {}) in home.sent()
        assert (HOB, "burner_right/burner.off", {}) in home.sent()
        assert ("kitchen-gas", "valve/valve.close", {}) not in home.sent()
        assert home.texts("scene_report") == []  # all done: nothing to report
    finally:
        await home.close()


async def test_arrive_home_in_the_evening_only() -> None:
    home = await evening()
    try:
        await home.event(LOCK, OPERATION, operation="unlock", source="fingerprint", user_index=1)
        await home.wait(1)
        assert home.value("living-ceiling/main/onoff/on") is True
        assert home.value("living-strip/main/onoff/on") is True
        assert home.value("bedroom-ceiling/main/onoff/on") is False
    finally:
        await home.close()


async def test_no_arrival_lights_by_day_or_from_inside(home: PackHome) -> None:
    await home.event(LOCK, OPERATION, operation="unlock", source="fingerprint", user_index=1)
    await home.wait(11 * 3600)  # 19:00 now
    await home.event(LOCK, OPERATION, operation="unlock", source="manual", user_index=0)
    await home.wait(1)
    assert [d for d, _, _ in home.sent() if d != "bath-heater"] == []  # 18:00 preheat aside


# -- 起夜 -----------------------------------------------------------------------------------------

MOTION = "bedroom-night/sensor/occupancy/occupied"


async def test_night_path_light_dims_first_and_goes_off_after_motion_stops() -> None:
    home = await PackHome.start(start=at("2025-03-10 23:30"))
    try:
        await home.state({MOTION: True})
        assert home.sent() == [
            ("bedroom-night", "main/brightness.set_level", {"level": 5}),
            ("bedroom-night", "main/onoff.on", {}),
        ]  # the ceiling lamp (not a night lamp) stays off
        await home.state({MOTION: False})
        await home.wait(60)
        await home.state({MOTION: True})  # back from the bathroom
        await home.state({MOTION: False})
        await home.wait(119)
        assert home.value("bedroom-night/main/onoff/on") is True
        await home.wait(2)
        assert home.value("bedroom-night/main/onoff/on") is False
    finally:
        await home.close()


async def test_night_light_left_alone_by_day_or_when_someone_turned_it_up() -> None:
    home = await PackHome.start(start=at("2025-03-10 21:00"))
    try:
        await home.state({MOTION: True})
        assert home.sent() == []  # not night yet
        await home.state({MOTION: False})
        await home.wait(3 * 3600)  # 00:00
        await home.state({MOTION: True})
        await home.state({"bedroom-night/main/brightness/level": 60})  # a person turned it up
        await home.state({MOTION: False})
        await home.wait(600)
        assert home.value("bedroom-night/main/onoff/on") is True
        home.calls.clear()
        await home.state({MOTION: True})  # already on: nothing to do
        assert home.sent() == []
    finally:
        await home.close()


# -- 自动上锁 -------------------------------------------------------------------------------------

UNLOCKED = {f"{LOCK}/main/lock/lock_state": "unlocked"}


async def test_auto_lock_after_three_minutes_with_the_door_closed(home: PackHome) -> None:
    await home.state(UNLOCKED)
    await home.wait(179)
    assert home.sent() == []
    await home.wait(2)
    assert home.sent() == [(LOCK, "main/lock.lock", {})]
    assert home.value(f"{LOCK}/main/lock/lock_state") == "locked"


async def test_auto_lock_waits_while_the_door_is_open(home: PackHome) -> None:
    await home.state({**UNLOCKED, f"{LOCK}/main/lock/door_state": "open"})
    await home.wait(600)
    assert home.sent() == []
    await home.state({f"{LOCK}/main/lock/door_state": "closed"})
    await home.wait(29)
    assert home.sent() == []
    await home.wait(2)
    assert home.sent() == [(LOCK, "main/lock.lock", {})]


async def test_auto_lock_trusts_no_closed_report_while_a_contact_says_open(home: PackHome) -> None:
    await home.state({**UNLOCKED, "door-contact/main/contact/open": True})
    await home.wait(600)
    assert home.sent() == []
    await home.state({"door-contact/main/contact/open": False})
    await home.wait(31)
    assert home.sent() == [(LOCK, "main/lock.lock", {})]


async def test_auto_lock_failure_is_reported(home: PackHome) -> None:
    home.links[LOCK].fail = "bolt blocked"
    await home.state(UNLOCKED)
    await home.wait(181)
    (text,) = home.texts("auto_lock", "zh")
    assert text.startswith("自动上锁未成功：入户门锁（")


# -- 滤芯提醒 / 热水预热 -------------------------------------------------------------------------


async def test_filter_reminders_name_the_filter(home: PackHome) -> None:
    await home.state({"kitchen-purifier/pp/filter_life/percent": 12})
    assert home.texts("filter_reminder") == []
    await home.state({"kitchen-purifier/pp/filter_life/percent": 9})
    await home.state({"kitchen-purifier/pp/filter_life/percent": 8})  # once, not every drop
    await home.state({"kitchen-purifier/pp/filter_life/change": "critical"})
    assert home.texts("filter_reminder", "zh") == [
        "净水器（PP棉滤芯）滤芯剩余 9%，请准备更换。",
        "净水器（PP棉滤芯）滤芯已到期，请尽快更换。",
    ]
    assert home.texts("filter_reminder")[0] == (
        "Water purifier (PP sediment filter): 9% of the filter's life left; get a replacement."
    )


async def test_water_heater_preheats_on_weekdays_before_the_usual_arrival(home: PackHome) -> None:
    await home.wait(10 * 3600 - 1)  # Monday 17:59:59
    assert home.sent() == []
    await home.wait(2)
    assert home.sent() == [("bath-heater", "main/temperature_setpoint.set", {"setpoint": 42})]
    home.calls.clear()
    await home.wait(5 * 86400)  # through to Saturday evening
    assert len(home.sent()) == 4  # Tuesday to Friday


async def test_preheat_setpoint_above_the_anti_scald_cap_is_refused() -> None:
    home = await PackHome.start(
        params="""
schema: zshub.params/1
packs:
  zhongshan.home: {preheat_setpoint: 60, preheat_at: "17:30"}
"""
    )
    try:
        (problem,) = home.loaded.problems
        assert "60 is above the maximum 50" in problem.message
        await home.wait(9.5 * 3600 + 1)
        assert home.sent() == [("bath-heater", "main/temperature_setpoint.set", {"setpoint": 42})]
    finally:
        await home.close()


# -- 观影 -----------------------------------------------------------------------------------------


async def test_movie_scene() -> None:
    home = await evening(states={"living-ceiling/main/onoff/on": True})
    try:
        assert home.scenes is not None
        result = await home.scenes.apply("movie", Context(Origin.USER, "owner"))
        assert result.ok, result.as_dict()
        assert home.value("living-ceiling/main/onoff/on") is False
        assert home.value("living-strip/main/onoff/on") is True
        assert home.value("living-strip/main/brightness/level") == 15
    finally:
        await home.close()
