"""Malformed advertisements and GATT frames, fuzzed (seeded), are dropped; the hub runs on."""

from __future__ import annotations

import random

from ble_kit import COOKTOP_MAC, THERMO_MAC, BleRig, cooktop, until

from integrations.ble.virtual import Beacon, BthomeSensor

FCD2 = "0000fcd2-0000-1000-8000-00805f9b34fb"


async def test_fuzzed_advertisements_from_an_added_device(rig: BleRig) -> None:
    thermo = BthomeSensor(
        address=THERMO_MAC, local_name="ZS-TH-0003", objects={0x01: 80, 0x02: 20.0}
    )
    await rig.air.add(thermo)
    hub = await rig.start()
    await rig.discovered(THERMO_MAC)
    device = await hub.add_discovered(
        "ble", THERMO_MAC, secrets={}, name_zh="温度", name_en="Thermo"
    )
    path = f"{device.id}/main/temperature/celsius"
    await until(lambda: rig.state(path) == 20.0, what="first reading")
    await rig.air.remove(thermo)

    rng = random.Random(1122)
    liar = Beacon(address=THERMO_MAC, local_name="ZS-TH-0003", service_data={FCD2: b"\x40"})
    await rig.air.add(liar)
    for i in range(60):
        junk = bytes(rng.randrange(256) for _ in range(rng.randint(0, 24)))
        if i % 3 == 0:
            junk = bytes([0x44]) + junk  # v2 header with the reserved bit: object soup follows
        await liar.set_fields(
            service_data={FCD2: junk},
            manufacturer_data={rng.randrange(0x10000): rng.randbytes(rng.randint(0, 20))},
        )
    await until(lambda: rig.ble.status()["links"][device.id]["packets"] > 10, what="junk heard")
    assert rig.ble.status()["scanner"]["state"] == "scanning"
    await rig.air.remove(liar)
    await rig.air.add(thermo)
    await thermo.update({0x02: 22.5})  # the real device again: still decoded
    await until(lambda: rig.state(path) == 22.5, what="a good packet after the junk")


async def test_fuzzed_gatt_frames_are_dropped(rig: BleRig) -> None:
    stove = cooktop()
    await rig.air.add(stove)
    hub = await rig.start()
    await rig.discovered(COOKTOP_MAC)
    device = await hub.add_discovered(
        "ble", COOKTOP_MAC, secrets={}, name_zh="灶", name_en="Cooktop"
    )
    link = await until(lambda: rig.ble.link(device.id), what="link")
    await until(lambda: link.gatt_connected, what="connected")
    binding = hub.profiles.get(device.profile_id or "")
    assert binding is not None
    runtime = binding.binding("ble_gatt")
    assert runtime is not None
    uuid = runtime.frames["status"][0]

    class Char:  # what bleak hands the notification callback: something with a uuid
        def __init__(self, uuid: str) -> None:
            self.uuid = uuid

    rng = random.Random(99)
    before = link.frames_dropped
    for _ in range(500):
        data = bytearray(rng.randbytes(rng.randint(0, 16)))
        link._notified(
            Char(uuid if rng.random() < 0.9 else "0000ffff-0000-1000-8000-00805f9b34fb"), data
        )
    assert link.frames_dropped > before  # short frames and unknown characteristics
    assert link.gatt_connected
    await stove.set_state({"main/battery/percent": 42})
    await until(lambda: rig.state(f"{device.id}/main/battery/percent") == 42, what="real frame")
