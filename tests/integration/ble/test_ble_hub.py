"""The BLE integration in a real hub, driven through bleak by the bumble-based virtual radio."""

from __future__ import annotations

import time

import pytest
from ble_kit import (
    CONTACT,
    COOKTOP,
    COOKTOP_MAC,
    DOOR_MAC,
    KEY,
    LOCK,
    LOCK_MAC,
    PLAIN,
    REPO,
    THERMO_MAC,
    BleRig,
    cooktop,
    door,
    until,
)

from hub.core.context import Context, Origin
from hub.core.integration import DEVICE_EVENT, DeviceEvent
from hub.core.registry import Availability
from hub.errors import HubError
from integrations.ble.integration import BINDKEY_SECRET
from integrations.ble.virtual import Beacon, BthomeSensor, GattProfileDevice

USER = Context(Origin.USER, "tester")


async def test_advertisements_match_profiles_and_chatter_is_not_listed(rig: BleRig) -> None:
    await rig.air.add(door())
    await rig.air.add(cooktop())
    await rig.air.add(Beacon(address="11:22:33:44:55:66", local_name="Mei's phone"))
    hub = await rig.start()
    record = await rig.discovered(DOOR_MAC)
    assert record.transport == "bthome"
    assert record.name == "ZS-MC-0001"
    assert hub.matches[("ble", DOOR_MAC)].best == CONTACT
    await rig.discovered(COOKTOP_MAC)
    match = hub.matches[("ble", COOKTOP_MAC)]
    assert match.best == COOKTOP
    assert any("manufacturer 0xFFFF" in r for r in match.candidates[0][2])
    identity = hub.discoveries[("ble", COOKTOP_MAC)].identity
    assert identity["connectable"] is True
    assert "5a530001-0000-1000-8000-00805f9b34fb" in identity["service_uuids"]
    await until(lambda: rig.ble.unmatched > 0, what="the phone heard")
    assert ("ble", "11:22:33:44:55:66") not in hub.discoveries


async def test_encrypted_bthome_wrong_key_refused_right_key_decodes(rig: BleRig) -> None:
    sensor = door()
    await rig.air.add(sensor)
    hub = await rig.start()
    await rig.discovered(DOOR_MAC)

    with pytest.raises(HubError) as missing:
        await hub.add_discovered("ble", DOOR_MAC, secrets={}, name_zh="前门", name_en="Front door")
    assert missing.value.code == "ble_bindkey_missing"
    with pytest.raises(HubError) as wrong:
        await hub.add_discovered(
            "ble",
            DOOR_MAC,
            secrets={BINDKEY_SECRET: "00" * 16},
            name_zh="前门",
            name_en="Front door",
        )
    assert wrong.value.code == "ble_bindkey_wrong"
    assert "密钥不正确" in wrong.value.zh
    with pytest.raises(HubError) as malformed:
        await hub.add_discovered(
            "ble", DOOR_MAC, secrets={BINDKEY_SECRET: "xyz"}, name_zh="前门", name_en="Front door"
        )
    assert malformed.value.code == "ble_bindkey_invalid"
    assert len(hub.registry) == 0  # nothing stored for a refused key

    device = await hub.add_discovered(
        "ble",
        DOOR_MAC,
        secrets={BINDKEY_SECRET: KEY.hex(" ")},  # spaces as printed on a label are fine
        name_zh="前门",
        name_en="Front door",
    )
    assert device.transport == "bthome"
    assert hub.storage is not None
    assert await hub.storage.get_secret(device.id, BINDKEY_SECRET) == KEY.hex()
    await until(lambda: rig.state(f"{device.id}/main/battery/percent") == 93, what="battery")
    assert rig.state(f"{device.id}/main/contact/open") is False

    events: list[DeviceEvent] = []
    hub.bus.listen(DEVICE_EVENT, lambda e: events.append(e.data))
    await sensor.update({0x2D: 1})
    await until(lambda: rig.state(f"{device.id}/main/contact/open") is True, what="open")
    await until(lambda: events, what="contact event")
    assert events[0].path == "main/contact/changed"
    assert events[0].fields == {"open": True}
    assert hub.registry.device(device.id).availability is Availability.ONLINE
    status = hub.describe()["integrations"]["ble"]["links"][device.id]
    assert status["rssi"] == -60
    assert status["bthome"]["encrypted"] is True


async def test_downgrade_and_replay_are_refused(rig: BleRig) -> None:
    sensor = door()
    await rig.air.add(sensor)
    hub = await rig.start()
    await rig.discovered(DOOR_MAC)
    device = await hub.add_discovered(
        "ble", DOOR_MAC, secrets={BINDKEY_SECRET: KEY.hex()}, name_zh="前门", name_en="Front door"
    )
    path = f"{device.id}/main/contact/open"
    await until(lambda: rig.state(path) is False, what="closed")

    sensor.bindkey = None  # someone broadcasts "open" in the clear from the same address
    await sensor.update({0x2D: 1})
    links = rig.ble.status()["links"]
    await until(
        lambda: rig.ble.status()["links"][device.id]["bthome"]["verdicts"].get("plaintext_refused"),
        what="plaintext refused",
    )
    assert rig.state(path) is False

    sensor.bindkey = KEY
    sensor.counter = 500  # behind the accepted 1000: a recorded packet played back
    await sensor.update({0x2D: 1})
    await until(
        lambda: rig.ble.status()["links"][device.id]["bthome"]["verdicts"].get("replay"),
        what="replay refused",
    )
    assert rig.state(path) is False
    assert "replayed" in (rig.ble.status()["links"][device.id]["last_problem"] or "")

    sensor.counter = 5000
    await sensor.update({0x2D: 1})
    await until(lambda: rig.state(path) is True, what="a fresh packet accepted")
    assert links  # status was readable all along


async def test_key_and_counter_survive_a_restart(rig: BleRig) -> None:
    sensor = door()
    await rig.air.add(sensor)
    hub = await rig.start()
    await rig.discovered(DOOR_MAC)
    device = await hub.add_discovered(
        "ble", DOOR_MAC, secrets={BINDKEY_SECRET: KEY.hex()}, name_zh="前门", name_en="Front door"
    )
    await sensor.update({0x2D: 1})
    await until(lambda: rig.state(f"{device.id}/main/contact/open") is True, what="open")
    await rig.stop()

    sensor.counter = 200  # replayed after the restart: the saved counter still refuses it
    await sensor.update({0x2D: 0})
    hub = await rig.start()
    await until(
        lambda: (
            rig.ble.status()["links"]
            .get(device.id, {})
            .get("bthome", {})
            .get("verdicts", {})
            .get("replay")
        ),
        what="replay refused after restart",
    )
    assert rig.state(f"{device.id}/main/contact/open") is True
    sensor.counter = 3000
    await sensor.update({0x2D: 0})
    await until(lambda: rig.state(f"{device.id}/main/contact/open") is False, what="closed")


async def test_plain_bthome_device_and_encryption_required(rig: BleRig) -> None:
    thermo = BthomeSensor(
        address=THERMO_MAC, local_name="ZS-TH-0003", objects={0x01: 80, 0x02: 21.5, 0x21: 0}
    )
    plain_door = door(bindkey=None)
    await rig.air.add(thermo)
    await rig.air.add(plain_door)
    hub = await rig.start()
    await rig.discovered(THERMO_MAC)
    await rig.discovered(DOOR_MAC)
    assert hub.matches[("ble", THERMO_MAC)].best == PLAIN
    with pytest.raises(HubError) as refused:  # the contact's profile requires encryption
        await hub.add_discovered("ble", DOOR_MAC, secrets={}, name_zh="门", name_en="Door")
    assert refused.value.code == "ble_encryption_required"

    device = await hub.add_discovered(
        "ble", THERMO_MAC, secrets={}, name_zh="温度", name_en="Thermo"
    )
    await until(lambda: rig.state(f"{device.id}/main/temperature/celsius") == 21.5, what="temp")
    await thermo.update({0x02: -3.25, 0x21: 1})
    await until(lambda: rig.state(f"{device.id}/main/occupancy/occupied") is True, what="motion")
    assert rig.state(f"{device.id}/main/temperature/celsius") == -3.25


async def test_gatt_read_notify_write_and_reconnect(rig: BleRig) -> None:
    stove = cooktop()
    await rig.air.add(stove)
    await stove.set_state({"main/battery/percent": 88, "main/appliance_link/linked": True})
    hub = await rig.start()
    await rig.discovered(COOKTOP_MAC)
    device = await hub.add_discovered(
        "ble", COOKTOP_MAC, secrets={}, name_zh="燃气灶", name_en="Cooktop"
    )
    assert device.transport == "ble_gatt"
    link = await until(lambda: rig.ble.link(device.id), what="link")
    await until(lambda: link.gatt_connected, what="connected")
    await until(
        lambda: rig.state(f"{device.id}/main/battery/percent") == 88, what="read on connect"
    )

    events: list[DeviceEvent] = []
    hub.bus.listen(DEVICE_EVENT, lambda e: events.append(e.data))
    await stove.set_state({"burner_left/burner/ignited": True, "burner_left/burner/firepower": 5})
    await until(lambda: rig.state(f"{device.id}/burner_left/burner/firepower") == 5, what="notify")
    assert rig.state(f"{device.id}/burner_left/burner/ignited") is True
    await stove.flame_out("burner_left")
    await until(
        lambda: any(e.path == "burner_left/burner/flame_out" for e in events), what="flame out"
    )
    flame = next(e for e in events if e.path == "burner_left/burner/flame_out")
    assert flame.priority == "critical"

    # timer.start's declared effect is duration_s, which this binding does not report: the
    # command service does not wait for it (SENT, at once); the device's report still arrives.
    result = await hub.commands.send(
        device.id,
        "burner_right/timer.start",
        {"duration_s": 600},
        context=USER,
        confirm_timeout=0.5,
    )
    assert result.status.value == "sent", result
    assert stove.writes[-1] == bytes.fromhex("01010a00")
    await until(
        lambda: rig.state(f"{device.id}/burner_right/timer/remaining_s") == 600, what="timer"
    )
    cancel = await hub.commands.send(device.id, "burner_right/timer.cancel", {}, context=USER)
    assert cancel.status.value == "confirmed", cancel  # remaining_s 0, reported over notify
    assert stove.writes[-1] == bytes.fromhex("0201")

    await stove.drop_connections()  # the cooktop drops the link: the hub reconnects by itself
    await until(lambda: link.connects >= 2 and link.gatt_connected, what="reconnected")
    await stove.set_state({"main/battery/percent": 70})
    await until(
        lambda: rig.state(f"{device.id}/main/battery/percent") == 70, what="after reconnect"
    )
    status = hub.describe()["integrations"]["ble"]
    assert status["links"][device.id]["gatt"]["connects"] >= 2
    assert status["connections"]["in_use"] == 1


async def test_unlock_over_gatt_needs_the_arbiters_step_up(rig: BleRig) -> None:
    lock = GattProfileDevice.from_profile(
        REPO / "tests/fixtures/ble/profiles/gatt-lock.yaml",
        address=LOCK_MAC,
        local_name="ZS-LK-0004",
    )
    await rig.air.add(lock)
    hub = await rig.start()
    await rig.discovered(LOCK_MAC)
    device = await hub.add_discovered("ble", LOCK_MAC, secrets={}, name_zh="门锁", name_en="Lock")
    assert device.profile_id == LOCK
    link = await until(lambda: rig.ble.link(device.id), what="link")
    await until(lambda: link.gatt_connected, what="connected")
    refused = await hub.commands.send(device.id, "main/lock.unlock", {}, context=USER)
    assert refused.status.value == "refused"
    assert refused.code == "step_up_required"
    assert lock.writes == []
    done = await hub.commands.send(device.id, "main/lock.unlock", {}, context=USER, step_up=True)
    assert done.status.value in ("sent", "confirmed"), done
    await until(lambda: lock.writes, what="unlock written")
    assert lock.writes == [b"\x11"]


async def test_availability_from_advertisement_gaps(rig: BleRig) -> None:
    sensor = door()
    stove = cooktop()
    await rig.air.add(sensor)
    await rig.air.add(stove)
    hub = await rig.start()
    await rig.discovered(DOOR_MAC)
    await rig.discovered(COOKTOP_MAC)
    contact = await hub.add_discovered(
        "ble", DOOR_MAC, secrets={BINDKEY_SECRET: KEY.hex()}, name_zh="前门", name_en="Front door"
    )
    cook = await hub.add_discovered("ble", COOKTOP_MAC, secrets={}, name_zh="灶", name_en="Cooktop")
    await until(
        lambda: hub.registry.device(contact.id).availability is Availability.ONLINE, what="on"
    )
    now = time.time()
    rig.ble.check_availability(now + 3600)  # within heartbeat x grace (3600 s x 1.25)
    assert hub.registry.device(contact.id).availability is Availability.ONLINE
    await sensor.go_silent()
    rig.ble.check_availability(now + 3600 * 1.25 + 60)
    # mc-b2: on_missing unknown — a silent contact is "unknown", never "closed"
    assert hub.registry.device(contact.id).availability is Availability.UNKNOWN
    link = await until(lambda: rig.ble.link(cook.id), what="link")
    await until(lambda: link.gatt_connected, what="connected")
    rig.ble.check_availability(now + 10_000)  # connected: present however long it is quiet
    assert hub.registry.device(cook.id).availability is Availability.ONLINE
    await stove.go_silent()  # drops the link and stops advertising
    await until(lambda: not link.gatt_connected, what="dropped")
    rig.ble.check_availability(time.time() + 120 * 1.25 + 5)
    assert hub.registry.device(cook.id).availability is Availability.OFFLINE  # on_missing: warn
    await sensor.resume()
    await sensor.update({0x2D: 1})
    await until(
        lambda: hub.registry.device(contact.id).availability is Availability.ONLINE, what="back"
    )
