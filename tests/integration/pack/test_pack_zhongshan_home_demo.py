"""The everyday pack and its scenes end to end: simulated devices of the demo home, the real hub,
the home's parameter file, and the Python client over the real API."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pack_demo_kit import DemoRig, PackDemo

from hub.api.server import ApiServer
from hub.auth.users import Role
from hub.client import ZshubClient

pytestmark = pytest.mark.slow

GAS = "kitchen-gas-detector"
HOB = "kitchen-cooktop"
HOOD = "kitchen-hood"
LOCK = "entrance-lock"
NIGHT_LAMP = "bedroom-night-lamp"


def all_day(*windows: str) -> str:
    """A params file opening these time windows all day (the tests run at any hour)."""
    lines = [f'    {w}_from: "00:00"\n    {w}_until: "23:59:59"' for w in windows]
    return "schema: zshub.params/1\npacks:\n  zhongshan.home:\n" + "\n".join(lines) + "\n"


async def unlink(rig: DemoRig) -> None:
    """The demo cooktop and hood link by 433 MHz out of the box; unlinked, the hub steps in."""
    for key in (HOB, HOOD):
        await rig.act(key, "set", path="main/appliance_link/linked", value=False)
        await rig.reported(key, "main/appliance_link/linked", False)


async def test_hood_follows_the_cooktop_and_runs_on(pack_demo: PackDemo) -> None:
    rig = await pack_demo()
    # Linked by themselves: the hub only watches.
    await rig.act(HOB, "ignite", burner="left", level=8)
    await rig.reported(HOB, "burner_left/burner/ignited", True)
    await asyncio.sleep(0.5)
    assert rig.commands_to(HOOD) == []
    await rig.act(HOB, "turn_off", burner="left")
    await unlink(rig)

    await rig.act(HOB, "ignite", burner="left", level=8)
    await rig.reported(HOOD, "main/fan/mode", "high")
    await rig.act(HOB, "set_level", burner="left", level=5)
    await rig.reported(HOOD, "main/fan/mode", "medium")
    await rig.act(HOB, "turn_off", burner="left")
    await rig.reported(HOB, "burner_left/burner/ignited", False)
    await asyncio.sleep(0.5)
    assert (await rig.sim_state(HOOD))["main/fan/mode"] == "medium"  # 延时排烟
    await rig.clock.jump(181)
    await rig.reported(HOOD, "main/fan/mode", "off")
    assert (await rig.sim_state(HOOD))["main/fan/mode"] == "off"


async def test_leave_home_and_its_report(pack_demo: PackDemo) -> None:
    rig = await pack_demo()
    await rig.reported("living-ceiling", "main/onoff/on", True)  # the demo home starts lit
    await rig.act(HOB, "ignite", burner="right", level=3)
    await rig.reported(HOB, "burner_right/burner/ignited", True)
    await rig.act(LOCK, "keypad_lock")  # 一键离家 on the outside keypad
    await rig.until(lambda: rig.texts("scene_report"), 15, "leave-home report")
    assert rig.texts("scene_report", "zh") == [
        "离家场景已完成：灯已关、灶已关火、燃气阀已关、门已上锁。"
    ]
    sim = rig.sim_state
    assert (await sim("living-ceiling"))["main/onoff/on"] is False
    assert (await sim(HOB))["burner_right/burner/ignited"] is False
    assert (await sim(GAS))["valve/valve/state"] == "closed"
    assert (await sim(LOCK))["main/lock/lock_state"] == "locked"


async def test_leave_home_reports_what_it_could_not_do_via_the_client(
    pack_demo: PackDemo, tmp_path: Path
) -> None:
    rig = await pack_demo()
    await rig.act(GAS, "valve_fault", fault="blocked")  # the actuator is stuck
    await rig.act(LOCK, "manual_unlock")
    await rig.act(LOCK, "open_door")  # and the door is open: the lock refuses to lock
    await rig.reported(LOCK, "main/lock/door_state", "open")
    server = ApiServer(rig.hub, "127.0.0.1", 0, ui_dir=tmp_path)
    await server.start()
    rig.hub.add_stop_hook("api", server.stop)
    assert server.auth is not None
    user = await server.auth.create_user("owner", "owner-pass-1", Role.OWNER, pin="1234")
    token, _ = await server.auth.create_token("integrator", user_id=user.id)

    async with ZshubClient(server.url, token) as hub:
        events = hub.subscribe(events=["notification"])
        stream = aiter(events)
        first = await anext(stream)
        assert first["type"] == "snapshot"
        result = await hub.run_scene("leave_home")
        by_device = {d["device"]: d for d in result["devices"]}
        assert result["ok"] is False
        assert by_device[rig.id(GAS)]["status"] == "failed"
        assert by_device[rig.id(LOCK)]["status"] == "failed"
        assert by_device[rig.id("living-ceiling")]["status"] == "ok"
        async with asyncio.timeout(10):
            while True:
                event = await anext(stream)
                if event["data"].get("rule_id") == "scene_report":
                    break
        await events.close()
    text = event["data"]["text"]
    assert text["zh"].startswith("离家场景有 2 项未完成：")
    assert "燃气报警器与切断阀（" in text["zh"] and "入户门锁（" in text["zh"]
    assert event["data"]["priority"] == "alert"


async def test_good_night_and_arrive_home(pack_demo: PackDemo) -> None:
    rig = await pack_demo(params=all_day("good_night", "dark"))
    await rig.reported("living-ceiling", "main/onoff/on", True)
    await rig.act(LOCK, "manual_lock")  # locking from inside, at night
    await rig.reported("living-ceiling", "main/onoff/on", False)
    await rig.reported("living-strip", "main/onoff/on", False)
    assert (await rig.sim_state(GAS))["valve/valve/state"] == "open"  # good night keeps the gas
    await rig.act(LOCK, "fingerprint_unlock", user=2)  # someone comes home
    await rig.reported("living-ceiling", "main/onoff/on", True)
    await rig.reported("living-strip", "main/onoff/on", True)
    assert rig.value("bedroom-ceiling", "main/onoff/on") is False
    # 观影: ceiling off, the strip low.
    scenes = rig.rules_plugin.scenes
    assert scenes is not None
    result = await scenes.apply("movie")
    assert result.ok, result.as_dict()
    assert (await rig.sim_state("living-ceiling"))["main/onoff/on"] is False
    strip = await rig.sim_state("living-strip")
    assert (strip["main/onoff/on"], strip["main/brightness/level"]) == (True, 15)


async def test_night_path_light(pack_demo: PackDemo) -> None:
    params = all_day("night") + "    night_light_off_after: 1m\n"
    rig = await pack_demo(params=params)
    await rig.act(NIGHT_LAMP, "motion")
    await rig.reported(NIGHT_LAMP, "main/onoff/on", True)
    assert rig.value(NIGHT_LAMP, "main/brightness/level") == 5
    assert rig.value("bedroom-ceiling", "main/onoff/on") is False
    await rig.act(NIGHT_LAMP, "clear")
    await rig.reported(NIGHT_LAMP, "sensor/occupancy/occupied", False)
    await rig.clock.jump(61)
    await rig.reported(NIGHT_LAMP, "main/onoff/on", False)


async def test_auto_lock_waits_for_the_door(pack_demo: PackDemo) -> None:
    rig = await pack_demo()
    # The lock's own auto-relock off: the hub's rule is the one under test.
    await rig.act(LOCK, "set", path="main/lock/auto_relock_s", value=0)
    await rig.act(LOCK, "keypad_unlock", user=1)
    await rig.act(LOCK, "open_door")
    await rig.reported(LOCK, "main/lock/door_state", "open")
    await rig.clock.jump(200)
    await asyncio.sleep(0.5)
    assert rig.value(LOCK, "main/lock/lock_state") == "unlocked"
    assert "stopped" in rig.runs("auto_lock") and rig.commands_to(LOCK) == []
    await rig.act(LOCK, "close_door")
    await rig.reported(LOCK, "main/lock/door_state", "closed")
    await rig.clock.jump(31)
    await rig.reported(LOCK, "main/lock/lock_state", "locked")
    assert (await rig.sim_state(LOCK))["main/lock/lock_state"] == "locked"


async def test_filter_reminder(pack_demo: PackDemo) -> None:
    rig = await pack_demo()
    await rig.act("kitchen-purifier", "wear", filter="pp", percent=28)
    await rig.until(lambda: rig.texts("filter_reminder"), what="filter reminder")
    (text,) = rig.texts("filter_reminder", "zh")
    assert text.startswith("净水器（PP棉滤芯）滤芯剩余 ")


async def test_water_heater_preheat(pack_demo: PackDemo) -> None:
    soon = (datetime.now() + timedelta(minutes=2)).strftime("%H:%M")
    rig = await pack_demo(
        params=(
            "schema: zshub.params/1\npacks:\n  zhongshan.home:\n"
            f'    preheat_at: "{soon}"\n'
            "    preheat_days: [mon, tue, wed, thu, fri, sat, sun]\n"
            "    preheat_setpoint: 45\n"
        )
    )
    assert rig.value("bathroom-water-heater", "main/temperature_setpoint/setpoint") == 42
    await rig.clock.jump(180)
    await rig.reported("bathroom-water-heater", "main/temperature_setpoint/setpoint", 45)
