"""The relay across two processes: devices in `zshub simulate-ble`, the hub's radio here."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakBluetoothNotAvailableError

from integrations.ble.virtual import AirServer, Beacon, VirtualAir, radio_from_spec
from integrations.ble.virtual.simulator import SimulatorControl, SimulatorControlError

from .conftest import KEY, STATUS, Heard

ROOT = Path(__file__).resolve().parents[3]

DEVICES = f"""
devices:
  - {{id: door, kind: bthome, address: "A4:C1:38:00:00:01", local_name: ZS-MC-0001,
     bindkey: {KEY.hex()}, objects: {{0x01: 93, 0x2D: 0}}}}
  - {{key: cooktop, kind: gatt, profile: cn.zs.demo-kitchen.jzt-b2, address: "A4:C1:38:00:00:02",
     local_name: ZS-RQZ-0002, state: {{main/battery/percent: 88}}}}
"""


@pytest.fixture
async def simulator(tmp_path: Path) -> AsyncIterator[tuple[str, SimulatorControl]]:
    devices = tmp_path / "devices.yaml"
    devices.write_text(DEVICES, encoding="utf-8")
    manifest = tmp_path / "manifest.json"
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "integrations.ble.virtual", "--devices", str(devices)),
        *("--control", "127.0.0.1:0", "--manifest", str(manifest), "--stop-on-eof"),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None and proc.stdin is not None
    info = json.loads(await asyncio.wait_for(proc.stdout.readline(), 60))
    assert await proc.stdout.readline() == b"ready\n"
    written = json.loads(manifest.read_text(encoding="utf-8"))
    assert written["relay"]["port"] == int(info["radio"].rsplit(":", 1)[1])
    door = next(d for d in written["devices"] if d["key"] == "door")
    assert door["bindkey"] == KEY.hex()
    cooktop = next(d for d in written["devices"] if d["key"] == "cooktop")
    assert cooktop["profile_id"] == "cn.zs.demo-kitchen.jzt-b2"
    try:
        yield info["radio"], SimulatorControl("127.0.0.1", written["control"]["port"])
    finally:
        proc.stdin.close()  # --stop-on-eof: the simulator ends on its own
        try:
            assert await asyncio.wait_for(proc.wait(), 20) == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


@pytest.mark.slow
async def test_hub_in_one_process_devices_in_another(
    simulator: tuple[str, SimulatorControl],
) -> None:
    spec, control = simulator
    radio = radio_from_spec(spec)
    assert radio is not None
    heard = Heard()
    try:
        async with BleakScanner(heard, backend=radio.scanner_backend):
            door = await heard.next(lambda d, a: a.local_name == "ZS-MC-0001", timeout=20)
            await control.request("update", device="door", objects={"0x2D": 1})
            changed = await heard.next(
                lambda d, a: a.local_name == "ZS-MC-0001" and a.service_data != door.service_data
            )
            assert changed.service_data != door.service_data
        frames: asyncio.Queue[bytes] = asyncio.Queue()
        dropped = asyncio.Event()
        client = BleakClient(
            "A4:C1:38:00:00:02", lambda _c: dropped.set(), backend=radio.client_backend
        )
        await client.connect()
        assert (await client.read_gatt_char(STATUS))[7] == 88
        await client.start_notify(STATUS, lambda _c, d: frames.put_nowait(bytes(d)))
        await control.request("flame_out", device="cooktop", component="burner_left")
        frame = await asyncio.wait_for(frames.get(), 10)
        assert frame[0] & 0b101 == 0b100  # not ignited, flame-out bit set
        await client.write_gatt_char(
            "5a530003-0000-1000-8000-00805f9b34fb", bytes.fromhex("01000a00"), response=True
        )
        state = await control.request("state", device="cooktop")
        assert state["state"]["burner_left/timer/remaining_s"] == 600
        assert state["writes"] == ["01000a00"]
        await control.request("disconnect", device="cooktop")
        await asyncio.wait_for(dropped.wait(), 10)
        with pytest.raises(SimulatorControlError, match="unknown device"):
            await control.request("silent", device="nope")
    finally:
        await radio.close()


@pytest.mark.slow
async def test_relay_appearing_later_and_going_away(unused_tcp_port: int) -> None:
    radio = radio_from_spec(f"tcp:127.0.0.1:{unused_tcp_port}")
    assert radio is not None
    scanner = BleakScanner(lambda d, a: None, backend=radio.scanner_backend)
    with pytest.raises(BleakBluetoothNotAvailableError):
        await scanner.start()  # no adapter yet: the hub reports it and retries later
    air = VirtualAir("relay-later")
    await air.add(Beacon(address="A4:C1:38:00:00:07", local_name="ZS-LATE"))
    server = AirServer(air)
    await server.start("127.0.0.1", unused_tcp_port)
    heard = Heard()
    try:
        scanner = BleakScanner(heard, backend=radio.scanner_backend)
        await scanner.start()
        await heard.next(lambda d, a: a.local_name == "ZS-LATE")
        lost = asyncio.Event()
        radio.add_lost_listener(object(), lost.set)
        server.drop_hubs()
        await asyncio.wait_for(lost.wait(), 10)
        assert not radio.is_open
        await scanner.stop()
    finally:
        await radio.close()
        await server.close()
        await air.close()
