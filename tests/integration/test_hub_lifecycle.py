"""The hub end to end in one process: real storage, real profiles, a fake transport plug-in."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeIntegration

from hub.app import Hub
from hub.config import HubConfig
from hub.core import (
    DEVICE_EVENT,
    Availability,
    CommandStatus,
    Context,
    Device,
    DeviceEvent,
    DiscoveryRecord,
    Event,
    Origin,
    Room,
)
from hub.errors import HubError

LAMP = "cn.zs.demo-guzhen-lighting.xdd-cct-480"
LOCK = "cn.zs.demo-xiaolan-lock.l8-fp"
HEATER = "cn.zs.demo-heater.jsq30-16"
USER = Context(Origin.USER, "owner")


def _device(id: str, profile: str, room: str | None = "living") -> Device:
    return Device(id, "设备", "Device", profile, "fake", "mdns", {"key": id}, room)


async def _start(data: Path, fake: FakeIntegration) -> Hub:
    hub = Hub(HubConfig.load(data, port=0, plugins=()), extra_plugins=[lambda h: fake])
    await hub.start()
    return hub


@pytest.fixture
async def hub(tmp_path: Path) -> Any:
    fake = FakeIntegration()
    hub = await _start(tmp_path, fake)
    hub.registry.upsert_room(Room("living", "客厅", "Living room"))
    yield hub, fake
    await hub.stop()


async def test_start_loads_catalogue_and_profiles_without_problems(hub: Any) -> None:
    h, fake = hub
    assert fake.started
    assert h.problems == []
    assert h.catalogue is not None and "burner@1" in h.catalogue
    assert h.profiles.get(LAMP) is not None
    assert h.describe()["plugins"] == ["fake"]


async def test_command_confirmed_by_device_report_and_recorded(hub: Any) -> None:
    h, fake = hub
    fake.add(_device("lamp-1", LAMP))
    result = await h.commands.send(
        "lamp-1", "main/brightness.set_level", {"level": 37}, context=USER
    )
    assert result.status is CommandStatus.CONFIRMED, result
    assert h.states.value("lamp-1/main/brightness/level") == 37
    state = h.states.get("lamp-1/main/brightness/level")
    assert state is not None and state.context is not None and state.context.origin is Origin.DEVICE
    result = await h.commands.send("lamp-1", "main/onoff.on", context=USER)
    assert result.status is CommandStatus.CONFIRMED
    assert h.registry.device("lamp-1").availability is Availability.ONLINE
    await h.recorder.flush()
    rows = await h.storage.history("lamp-1/main/brightness/level", None, None, 10)
    assert [v for _, v in rows] == [37]


async def test_silent_device_times_out_and_refusals_are_explained(hub: Any) -> None:
    h, fake = hub
    fake.add(_device("lamp-1", LAMP))
    fake.silent = True
    result = await h.commands.send("lamp-1", "main/onoff.on", context=USER, confirm_timeout=0.2)
    assert result.status is CommandStatus.TIMEOUT and "0.2" in result.message_en
    fake.silent = False
    r = await h.commands.send("lamp-1", "main/brightness.set_level", {"level": 140}, context=USER)
    assert r.status is CommandStatus.REFUSED and r.code == "bad_argument"
    r = await h.commands.send("lamp-1", "main/brightness.set_level", {}, context=USER)
    assert r.code == "missing_argument"
    r = await h.commands.send("lamp-1", "main/brightness.ignite", context=USER)
    assert r.code == "unknown_command"
    r = await h.commands.send("nope", "main/onoff.on", context=USER)
    assert r.code == "unknown_device" and "nope" in r.message_zh
    fake.links["lamp-1"].online = False
    r = await h.commands.send("lamp-1", "main/onoff.on", context=USER)
    assert r.status is CommandStatus.FAILED and r.code == "device_offline"


async def test_unlock_needs_step_up_and_every_lock_command_is_audited(hub: Any) -> None:
    h, fake = hub
    fake.add(_device("lock-1", LOCK))
    fake.effects[LOCK] = lambda dps: {1: "unlocked" if dps.get(6) == "unlock" else "locked"}
    r = await h.commands.send("lock-1", "main/lock.unlock", {"pin": "1234"}, context=USER)
    assert r.status is CommandStatus.REFUSED and r.needs == "pin"
    assert fake.links["lock-1"].sent == []  # nothing reached the device
    r = await h.commands.send(
        "lock-1", "main/lock.unlock", {"pin": "1234"}, context=USER, step_up=True
    )
    assert r.status is CommandStatus.CONFIRMED, r
    assert h.states.value("lock-1/main/lock/lock_state") == "unlocked"
    rule = USER.child(Origin.RULE, "leave_home")
    r = await h.commands.send(
        "lock-1", "main/lock.unlock", {"pin": "1"}, context=rule, step_up=True
    )
    assert r.code == "automation_denied"
    r = await h.commands.send("lock-1", "main/lock.lock", context=rule)
    assert r.status is CommandStatus.CONFIRMED
    await h.storage.flush()
    log = await h.storage.audit_log(limit=10)
    targets = [(e["target"], e["result"], e["actor"]) for e in log]
    assert ("lock-1/main/lock.unlock", "refused", "owner") in targets
    assert ("lock-1/main/lock.unlock", "ok", "owner") in targets
    assert ("lock-1/main/lock.lock", "ok", "owner") in targets
    assert all("1234" not in str(e["detail"]) for e in log)  # PINs never stored


async def test_device_events_carry_fields(hub: Any) -> None:
    h, fake = hub
    link = fake.add(_device("lock-1", LOCK))
    events: list[Event[DeviceEvent]] = []
    h.bus.listen(DEVICE_EVENT, events.append)
    link.report({13: 3})
    assert [(e.data.path, dict(e.data.fields)) for e in events] == [
        ("main/lock/lock_operation", {"operation": "unlock", "source": "keypad", "user_index": 3})
    ]


async def test_setpoint_limit_needs_owner_confirmation(hub: Any) -> None:
    h, fake = hub
    fake.add(_device("heater-1", HEATER))
    r = await h.commands.send(
        "heater-1", "main/temperature_setpoint.set", {"setpoint": 55}, context=USER
    )
    assert r.code == "owner_confirmation_required" and "50" in r.message_zh
    r = await h.commands.send(
        "heater-1",
        "main/temperature_setpoint.set",
        {"setpoint": 55},
        context=USER,
        owner_confirmed=True,
    )
    assert r.status is CommandStatus.CONFIRMED


async def test_restart_keeps_registry_and_last_states(tmp_path: Path) -> None:
    fake = FakeIntegration()
    hub = await _start(tmp_path, fake)
    hub.registry.upsert_room(Room("kitchen", "厨房", "Kitchen"))
    fake.add(_device("lamp-1", LAMP, room="kitchen"))
    await hub.commands.send("lamp-1", "main/brightness.set_level", {"level": 55}, context=USER)
    await hub.stop()
    assert fake.stopped
    assert len(hub.tasks) == 0

    fake2 = FakeIntegration()
    hub2 = await _start(tmp_path, fake2)
    try:
        device = hub2.registry.device("lamp-1")
        assert (device.room_id, device.profile_id) == ("kitchen", LAMP)
        assert device.availability is Availability.UNKNOWN  # proven again by the device
        assert hub2.states.value("lamp-1/main/brightness/level") == 55
        assert "lamp-1" in fake2.links
    finally:
        await hub2.stop()
    with sqlite3.connect(tmp_path / "zshub.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_add_discovered_device(hub: Any) -> None:
    h, fake = hub
    record = DiscoveryRecord(
        "fake",
        "mdns",
        "abc123",
        {"service": "_zsdp._tcp", "txt": {"vid": "0x1A01", "pid": "0x0101"}},
        name="ZS lamp",
        address="127.0.0.1:5000",
    )
    h.report_discovery(record)
    [(pending, match)] = h.pending_discoveries()
    assert match is not None and match.best == LAMP
    with pytest.raises(HubError) as err:
        await h.add_discovered(
            "fake", "abc123", secrets={"pairing_code": "0"}, name_zh="灯", name_en="Lamp"
        )
    assert err.value.code == "add_failed"
    device = await h.add_discovered(
        "fake",
        "abc123",
        secrets={"pairing_code": "12345678"},
        name_zh="客厅灯",
        name_en="Living lamp",
        room_id="living",
    )
    assert (device.id, device.profile_id, device.identity["key"]) == ("living-lamp", LAMP, "abc123")
    assert h.pending_discoveries() == []
    with pytest.raises(HubError) as err:
        await h.add_discovered("fake", "abc123", secrets={}, name_zh="灯", name_en="Lamp")
    assert err.value.code == "already_added" and err.value.status == 409


async def test_broken_profile_is_set_aside_and_hub_runs(tmp_path: Path) -> None:
    extra = tmp_path / "profiles"
    extra.mkdir()
    (extra / "broken.yaml").write_text(
        "schema: zshub.profile/1\nid: cn.zs.x.broken\nname: {zh: 坏}\n"
    )
    config = HubConfig.load(tmp_path, port=0, plugins=(), profile_dirs=[str(extra)])
    hub = Hub(config)
    await hub.start()
    try:
        assert any("broken.yaml" in p for p in hub.problems)
        assert hub.profiles.get(LAMP) is not None
    finally:
        await hub.stop()


async def test_stop_cancels_every_task(tmp_path: Path) -> None:
    fake = FakeIntegration()
    hub = await _start(tmp_path, fake)

    async def forever() -> None:
        await asyncio.sleep(3600)

    hub.tasks.create(forever(), name="plugin-task")
    await hub.stop()
    assert len(hub.tasks) == 0
    assert [t for t in asyncio.all_tasks() if t.get_name() == "plugin-task"] == []
