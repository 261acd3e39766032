"""Unchanged BleakClient code against a GATT peripheral built from the JZT-B2 profile."""

from __future__ import annotations

import asyncio

import pytest
from bleak import BleakClient
from bleak.exc import BleakDeviceNotFoundError, BleakError

from hub.profiles.runtime import GattWrite
from integrations.ble.virtual import (
    BleakConnectTimeout,
    GattProfileDevice,
    VirtualAir,
    VirtualRadio,
)

from .conftest import CONTROL, JZT_B2, STATUS

ADDRESS = "A4:C1:38:00:00:02"


@pytest.fixture
async def cooktop(air: VirtualAir) -> GattProfileDevice:
    device = GattProfileDevice.from_profile(JZT_B2, address=ADDRESS, local_name="ZS-RQZ-0002")
    await air.add(device)
    return device


def test_frames_match_the_profiles_own_fixtures() -> None:
    device = GattProfileDevice.from_profile(JZT_B2, address=ADDRESS)
    device.set_frame("status", bytes.fromhex("0105000a0000005801"))
    state = device.state()
    assert state["burner_left/timer/remaining_s"] == 600
    assert state["main/appliance_link/linked"] is True
    again = GattProfileDevice.from_profile(JZT_B2, address=ADDRESS)
    asyncio.run(again.set_state(state, notify=False))
    assert again.frame_bytes("status").hex() == "0105000a0000005801"


async def test_read_notify_and_write(cooktop: GattProfileDevice, radio: VirtualRadio) -> None:
    await cooktop.set_state(
        {
            "burner_left/burner/ignited": True,
            "burner_left/burner/firepower": 5,
            "main/battery/percent": 88,
        }
    )
    frames: asyncio.Queue[bytes] = asyncio.Queue()
    async with BleakClient(ADDRESS, backend=radio.client_backend) as client:
        assert client.is_connected
        assert client.mtu_size == 247
        service = client.services.get_service("5a530001-0000-1000-8000-00805f9b34fb")
        assert service is not None
        status = service.get_characteristic(STATUS)
        control = service.get_characteristic(CONTROL)
        assert status is not None and set(status.properties) == {"read", "notify"}
        assert control is not None and {"write", "write-without-response"} <= set(
            control.properties
        )
        assert (await client.read_gatt_char(STATUS)).hex() == "010500000000005800"

        await client.start_notify(STATUS, lambda _c, data: frames.put_nowait(bytes(data)))
        await cooktop.flame_out("burner_left")
        frame = await asyncio.wait_for(frames.get(), 5)
        decoded = cooktop.runtime.decode_frame("status", frame).states
        assert decoded["burner_left/burner/ignited"] is False
        assert decoded["burner_left/burner/flame_protection"] == "tripped"

        # The hub's own encoder makes the bytes; the peripheral applies them.
        write = cooktop.runtime.encode_command("burner_right/timer.start", {"duration_s": 1800})
        assert isinstance(write, GattWrite)
        await client.write_gatt_char(write.characteristic, write.data, response=True)
        frame = await asyncio.wait_for(frames.get(), 5)
        assert (
            cooktop.runtime.decode_frame("status", frame).states["burner_right/timer/remaining_s"]
            == 1800
        )
        cancel = cooktop.runtime.encode_command("burner_right/timer.cancel")
        assert isinstance(cancel, GattWrite)
        await client.write_gatt_char(cancel.characteristic, cancel.data, response=False)
        frame = await asyncio.wait_for(frames.get(), 5)
        assert (
            cooktop.runtime.decode_frame("status", frame).states["burner_right/timer/remaining_s"]
            == 0
        )
        await client.stop_notify(STATUS)
    assert cooktop.commands == [
        ("burner_right/timer.start", {"duration_s": 1800}),
        ("burner_right/timer.cancel", {}),
    ]
    assert cooktop.writes == [
        bytes.fromhex("01011e00"),  # timer start, right burner, 30 min
        bytes.fromhex("0201"),
    ]


async def test_unexplained_writes_are_recorded_and_change_nothing(
    cooktop: GattProfileDevice, radio: VirtualRadio
) -> None:
    async with BleakClient(ADDRESS, backend=radio.client_backend) as client:
        await client.write_gatt_char(CONTROL, b"\xee\xff", response=True)
    assert cooktop.writes == [b"\xee\xff"]
    assert cooktop.commands == []


async def test_peripheral_disconnect_calls_back_and_reconnect_works(
    cooktop: GattProfileDevice, radio: VirtualRadio
) -> None:
    dropped = asyncio.Event()
    client = BleakClient(ADDRESS, lambda _c: dropped.set(), backend=radio.client_backend)
    await client.connect()
    await cooktop.drop_connections()
    await asyncio.wait_for(dropped.wait(), 5)
    assert not client.is_connected
    with pytest.raises(BleakError, match="Not connected|Service Discovery"):
        await client.read_gatt_char(STATUS)
    await client.connect()
    assert (await client.read_gatt_char(STATUS)) == bytearray(cooktop.frame_bytes("status"))
    dropped.clear()
    await client.disconnect()  # our own disconnect is not "unsolicited"
    assert not client.is_connected and not dropped.is_set()


async def test_device_leaving_the_air(
    cooktop: GattProfileDevice, radio: VirtualRadio, air: VirtualAir
) -> None:
    dropped = asyncio.Event()
    client = BleakClient(ADDRESS, lambda _c: dropped.set(), backend=radio.client_backend)
    await client.connect()
    await air.remove(cooktop)
    await asyncio.wait_for(dropped.wait(), 5)
    radio.seen.clear()
    with pytest.raises(BleakDeviceNotFoundError):
        await BleakClient(ADDRESS, backend=radio.client_backend, timeout=0.5).connect()


async def test_silent_device_is_not_found(cooktop: GattProfileDevice, radio: VirtualRadio) -> None:
    await cooktop.go_silent()
    with pytest.raises(BleakDeviceNotFoundError):
        await BleakClient(ADDRESS, backend=radio.client_backend, timeout=0.5).connect()


async def test_not_connectable_times_out_as_bleak_error(
    air: VirtualAir, radio: VirtualRadio
) -> None:
    device = GattProfileDevice.from_profile(JZT_B2, address="A4:C1:38:00:00:09", connectable=False)
    await air.add(device)
    with pytest.raises(BleakConnectTimeout) as caught:
        await BleakClient(device.address, backend=radio.client_backend, timeout=1).connect()
    assert isinstance(caught.value, BleakError) and isinstance(caught.value, TimeoutError)


async def test_notifications_can_go_silent(cooktop: GattProfileDevice, radio: VirtualRadio) -> None:
    frames: asyncio.Queue[bytes] = asyncio.Queue()
    async with BleakClient(ADDRESS, backend=radio.client_backend) as client:
        await client.start_notify(STATUS, lambda _c, data: frames.put_nowait(bytes(data)))
        cooktop.silent_notifications = True
        await cooktop.set_state({"main/battery/percent": 50})
        cooktop.silent_notifications = False
        await cooktop.set_state({"main/battery/percent": 40})
        frame = await asyncio.wait_for(frames.get(), 5)
    assert cooktop.runtime.decode_frame("status", frame).states["main/battery/percent"] == 40
    assert frames.empty()


async def test_bad_state_is_refused_and_nothing_changes(cooktop: GattProfileDevice) -> None:
    before = dict(cooktop.fields)
    with pytest.raises(ValueError, match="does not fit|no raw value"):
        await cooktop.set_state({"main/battery/percent": 70, "status.left_level": 300})
    with pytest.raises(ValueError, match="not a property"):
        await cooktop.set_state({"main/nope/x": 1})
    assert cooktop.fields == before
