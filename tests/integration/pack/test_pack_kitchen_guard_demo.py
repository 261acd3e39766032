"""The kitchen and door guard end to end: simulated devices of the demo home, the real hub."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pack_demo_kit import DemoRig, PackDemo

from hub.app import Hub
from hub.config import HubConfig
from hub.core.commands import CommandStatus
from hub.core.registry import Availability
from rules.plugin import RulesPlugin
from rules.plugin import setup as rules_setup

pytestmark = pytest.mark.slow

GAS = "kitchen-gas-detector"
HOB = "kitchen-cooktop"
HOOD = "kitchen-hood"
LOCK = "entrance-lock"


async def unlink_cooktop_and_hood(rig: DemoRig) -> None:
    """The demo pair links by 433 MHz out of the box; unlinked, the hub's 烟灶联动 takes over."""
    for key in (HOB, HOOD):
        await rig.act(key, "set", path="main/appliance_link/linked", value=False)
        await rig.reported(key, "main/appliance_link/linked", False)


async def test_safety_rules_are_listening_before_any_integration_starts(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    class Probe:
        """An integration that looks, as it starts, at what the rules plug-in has running."""

        name = "probe"
        kind = "integration"

        async def async_start(self, hub: Any) -> None:
            rules = next(p for p in hub.plugins if isinstance(p, RulesPlugin))
            assert rules.engine is not None
            seen["safety"] = sorted(r.id for r in rules.engine.rules() if r.safety)

        async def async_stop(self) -> None:
            return None

    def probe(hub: Any) -> Probe:
        return Probe()

    probe.kind = "integration"  # type: ignore[attr-defined]
    # The probe is listed first; the hub still starts the rules plug-in before it.
    hub = Hub(HubConfig.load(tmp_path, port=0, plugins=()), extra_plugins=[probe, rules_setup])
    await hub.start()
    try:
        assert seen["safety"] == [
            "flame_out_alert",
            "flame_out_repeated",
            "gas_detector_fault",
            "gas_detector_offline",
            "gas_leak_shutoff",
            "lock_alarm",
            "lock_wrong_codes",
            "unattended_cooking",
        ]
    finally:
        await hub.stop()


async def test_gas_alarm_closes_the_valve_alerts_and_holds_switching(pack_demo: PackDemo) -> None:
    rig = await pack_demo()
    await rig.act(GAS, "gas_alarm", concentration=15)
    await rig.reported(GAS, "valve/valve/state", "closed")
    await rig.until(lambda: len(rig.texts("gas_leak_shutoff")) >= 2, what="alert and valve report")
    first, closed = [n for n in rig.notes if n.rule_id == "gas_leak_shutoff"][:2]
    assert first.priority.value == "critical" and first.text_zh.startswith("厨房检测到燃气泄漏")
    assert closed.text_en.startswith("The gas valves are closed")
    # The hood was never switched, and switching in the kitchen is held …
    assert rig.commands_to(HOOD) == []
    assert (await rig.sim_state(HOOD))["main/fan/mode"] == "off"
    light = await rig.user(HOOD, "light/onoff.on")
    assert (light.status, light.code) == (CommandStatus.REFUSED, "blocked")
    assert "燃气报警" in light.message_zh
    rice = await rig.user("kitchen-rice-cooker", "main/operational_state.start")
    assert rice.code == "blocked"
    # … but not in the living room.
    assert (await rig.user("living-ceiling", "main/onoff.on")).ok
    # All clear: the hold lifts ten minutes later.
    await rig.act(GAS, "gas_clear")
    await rig.until(lambda: rig.engine.blocks()[0]["phase"] == "clearing", what="all-clear")
    await rig.clock.jump(601)
    await rig.until(lambda: rig.engine.blocks() == [], what="block lifted")
    assert (await rig.user(HOOD, "light/onoff.on")).ok


async def test_three_flame_outs_close_the_gas_valve(pack_demo: PackDemo) -> None:
    rig = await pack_demo()
    for n in range(3):
        await rig.act(HOB, "ignite", burner="left", level=4)
        await rig.reported(HOB, "burner_left/burner/ignited", True)
        await rig.act(HOB, "flame_out", burner="left")
        await rig.until(lambda n=n: len(rig.texts("flame_out_alert")) == n + 1, what="alert")
    assert rig.texts("flame_out_alert", "zh")[0].startswith("燃气灶（左灶）熄火保护已动作")
    await rig.reported(GAS, "valve/valve/state", "closed")
    await rig.until(lambda: rig.texts("flame_out_repeated"), what="valve report")
    assert "3 times within 10 min" in rig.texts("flame_out_repeated")[0]
    assert (await rig.sim_state(GAS))["valve/valve/state"] == "closed"


async def test_unattended_burner_is_reported_then_switched_off(pack_demo: PackDemo) -> None:
    rig = await pack_demo()
    await rig.act(HOB, "ignite", burner="right", level=2)
    await rig.reported(HOB, "burner_right/burner/ignited", True)
    await rig.clock.jump(30 * 60 + 5)
    await rig.until(lambda: rig.texts("unattended_cooking"), what="reminder")
    assert rig.texts("unattended_cooking", "zh")[0].startswith("厨房的灶具已连续燃烧 30 分钟")
    await rig.clock.jump(5 * 60 + 1)
    await rig.reported(HOB, "burner_right/burner/ignited", False)
    assert (await rig.sim_state(HOB))["burner_right/burner/ignited"] is False
    await rig.until(lambda: len(rig.texts("unattended_cooking")) == 2, what="switched off")
    assert rig.texts("unattended_cooking")[1].startswith("The unattended burners")


async def test_detector_offline_and_faulty(pack_demo: PackDemo) -> None:
    rig = await pack_demo()
    await rig.act(GAS, "sensor_fault")
    await rig.until(lambda: rig.texts("gas_detector_fault"), what="fault alert")
    await rig.control.offline(GAS)
    gas = rig.device(GAS)
    await rig.until(lambda: gas.availability is Availability.OFFLINE, 20, "detector offline")
    await rig.clock.jump(121)
    await rig.until(lambda: rig.texts("gas_detector_offline"), what="offline alert")
    note = next(n for n in rig.notes if n.rule_id == "gas_detector_offline")
    assert note.priority.value == "critical" and "燃气泄漏保护失效" in note.text_zh
    await rig.control.online(GAS)


async def test_lock_alarms_and_wrong_codes(pack_demo: PackDemo) -> None:
    rig = await pack_demo()
    for _ in range(3):
        await rig.act(LOCK, "wrong_code", source="keypad")
    await rig.until(lambda: rig.texts("lock_wrong_codes"), what="wrong codes alert")
    assert "3 failed attempts within 5 min (last: Keypad PIN)" in rig.texts("lock_wrong_codes")[0]
    await rig.act(LOCK, "tamper")
    await rig.act(LOCK, "jam")
    await rig.until(lambda: len(rig.texts("lock_alarm")) == 2, what="lock alarms")
    assert rig.texts("lock_alarm", "zh") == [
        "玄关的入户门锁报警：防撬报警。",
        "玄关的入户门锁报警：锁舌卡住。",
    ]
    await asyncio.sleep(0.2)
    assert len(rig.texts("lock_alarm")) == 2  # one alert per alarm, not two
