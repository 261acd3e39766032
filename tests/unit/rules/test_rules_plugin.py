"""The rules plug-in inside a real Hub: real storage, real profiles (role and component lookup
through the hub's profile runtimes), user rule files from the data folder, problems reported."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from hub.app import Hub
from hub.config import HubConfig
from hub.core import Device, DeviceEvent, Room
from rules.plugin import RulesPlugin, setup

GAS = "cn.zs.demo-safety.jt-rq-v1"
HOOD = "cn.zs.demo-kitchen.cxw-t9"

RULES = """\
schema: zshub.rules/1
rules:
  - id: started
    name: {zh: 启动, en: Started}
    triggers: [{hub_start: {}}]
    actions: [{notify: {text: {zh: 中枢已启动, en: Hub started}}}]
  - id: close_valve
    name: {zh: 关阀, en: Close valve}
    triggers: [{event: {target: role:gas_detector, path: gas_detector/gas_alarm}}]
    actions:
      - command: {target: role:gas_shutoff, room: same, do: valve.close}
      - command: {target: role:gas_shutoff, room: same, do: valve.open}
"""


async def until(check: Callable[[], bool]) -> None:
    for _ in range(200):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


def test_factory_carries_its_kind() -> None:
    # The hub sorts entry-point factories by kind before calling them: rules start first.
    assert setup.kind == "rules"


async def test_plugin_in_a_real_hub(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "home.yaml").write_text(RULES, encoding="utf-8")
    broken = tmp_path / "rules" / "zz_broken.yaml"
    broken.write_text(RULES.replace("id: started", "id: [started"), encoding="utf-8")
    hub = Hub(HubConfig.load(tmp_path, port=0, plugins=()), extra_plugins=[setup])
    await hub.start()
    try:
        (plugin,) = hub.plugins
        assert isinstance(plugin, RulesPlugin) and plugin.kind == "rules"
        engine, notifications = plugin.engine, plugin.notifications
        assert engine is not None and notifications is not None
        assert any(p.startswith(f"{broken}:4:") for p in hub.problems), hub.problems
        # The built-in packs load too (origin "pack"); the home's own file rules:
        assert [r.id for r in engine.rules() if r.origin == "file"] == ["close_valve", "started"]
        # HUB_STARTED reached the hub_start trigger.
        await until(lambda: bool(engine.traces("started")))
        await until(lambda: engine.traces("started")[0]["status"] == "finished")
        assert notifications.recent()[0].text_en == "Hub started"

        hub.registry.upsert_room(Room("kitchen", "厨房", "Kitchen"))
        for device_id, profile in (("gas-1", GAS), ("hood-1", HOOD)):
            hub.registry.add(
                Device(device_id, "设备", "Device", profile, "none", "mdns", {}, "kitchen")
            )
        hub.fire_device_event(DeviceEvent("gas-1", "detector/gas_detector/gas_alarm", {}))
        await until(lambda: bool(engine.traces("close_valve")))
        await until(lambda: engine.traces("close_valve")[0]["status"] == "finished")
        steps = engine.traces("close_valve")[0]["steps"]
        close, reopen = (s["result"]["devices"][0] for s in steps)
        # The role and the "valve" component came from the real profile; there is no transport
        # here, so the close passed the arbiter and then found no link.
        assert (close["target"], close["code"]) == ("valve/valve.close", "device_offline")
        assert reopen["status"] == "refused"  # a rule never reopens a gas valve
        assert plugin.scenes is not None
        assert [s for s in plugin.scenes.scenes() if s.origin != "pack"] == []
    finally:
        await hub.stop()

    hub = Hub(HubConfig.load(tmp_path, port=0, plugins=()), extra_plugins=[setup])
    await hub.start()
    try:
        (plugin,) = hub.plugins
        assert isinstance(plugin, RulesPlugin) and plugin.engine is not None
        assert plugin.engine.get("close_valve").origin == "file"
    finally:
        await hub.stop()
