"""Unchanged BleakScanner code against the virtual radio: advertisement fields, filters, knobs."""

from __future__ import annotations

import pytest
from bleak import BleakScanner
from bleak.exc import BleakBluetoothNotAvailableError, BleakError

from integrations.ble.virtual import (
    Beacon,
    VirtualAdvertisement,
    VirtualAir,
    VirtualRadio,
    build_advertising_data,
    parse_advertising_data,
    parse_radio_spec,
    radio_from_spec,
)

from .conftest import Heard

SERVICE = "5a530001-0000-1000-8000-00805f9b34fb"


async def test_discovery_gives_every_advertisement_field(
    air: VirtualAir, radio: VirtualRadio, heard: Heard
) -> None:
    await air.add(
        Beacon(
            address="a4:c1:38:00:00:01",
            local_name="ZS-RQZ-0001",
            manufacturer_data={0xFFFF: bytes([0x5A, 0x53, 0x02, 0x10])},
            service_uuids=[SERVICE, 0x180F],
            service_data={0xFCD2: b"\x40\x01\x5d"},
            tx_power=-4,
            rssi=-71,
        )
    )
    await air.add(
        Beacon(address="A4:C1:38:00:00:02", local_name="ZS-MC-0002", connectable=False, rssi=-88)
    )
    async with BleakScanner(heard, backend=radio.scanner_backend) as scanner:
        first = await heard.next(lambda d, a: d.address == "A4:C1:38:00:00:01")
        second = await heard.next(lambda d, a: d.address == "A4:C1:38:00:00:02")
        assert {d.address for d in scanner.discovered_devices} >= {
            "A4:C1:38:00:00:01",
            "A4:C1:38:00:00:02",
        }
    assert first.local_name == "ZS-RQZ-0001"
    assert first.manufacturer_data == {0xFFFF: bytes([0x5A, 0x53, 0x02, 0x10])}
    assert sorted(first.service_uuids) == ["0000180f-0000-1000-8000-00805f9b34fb", SERVICE]
    assert first.service_data == {"0000fcd2-0000-1000-8000-00805f9b34fb": b"\x40\x01\x5d"}
    assert first.tx_power == -4
    assert first.rssi == -71
    details = first.platform_data[0]
    assert isinstance(details, VirtualAdvertisement)
    assert details.connectable is True
    assert parse_advertising_data(details.raw).local_name == "ZS-RQZ-0001"
    assert second.rssi == -88
    assert second.platform_data[0].connectable is False
    assert second.manufacturer_data == {} and second.service_data == {} and second.tx_power is None


async def test_service_uuid_filter_and_runtime_changes(
    air: VirtualAir, radio: VirtualRadio, heard: Heard
) -> None:
    tag = Beacon(address="A4:C1:38:00:00:03", local_name="ZS-TAG", service_uuids=[SERVICE])
    other = Beacon(address="A4:C1:38:00:00:04", local_name="OTHER")
    await air.add(tag)
    await air.add(other)
    async with BleakScanner(heard, [SERVICE], backend=radio.scanner_backend):
        await heard.next(lambda d, a: d.address == tag.address)
        tag.set_rssi(-95)
        await tag.set_fields(manufacturer_data={0xFFFF: b"ZS\x02"})
        changed = await heard.next(lambda d, a: a.manufacturer_data == {0xFFFF: b"ZS\x02"})
        assert changed.rssi == -95
        await tag.go_silent()
        await tag.resume()
        await heard.next(lambda d, a: d.address == tag.address)
    assert all(d.address != other.address for d, _a in heard.items)


async def test_two_scanners_share_one_radio(air: VirtualAir, radio: VirtualRadio) -> None:
    await air.add(Beacon(address="A4:C1:38:00:00:05", local_name="ZS-A"))
    a, b = Heard(), Heard()
    async with BleakScanner(a, backend=radio.scanner_backend):
        async with BleakScanner(b, backend=radio.scanner_backend):
            await b.next(lambda d, adv: adv.local_name == "ZS-A")
        await a.next(lambda d, adv: adv.local_name == "ZS-A")


async def test_find_device_by_name_works_unchanged(air: VirtualAir, radio: VirtualRadio) -> None:
    await air.add(Beacon(address="A4:C1:38:00:00:06", local_name="ZS-FIND-ME"))
    device = await BleakScanner.find_device_by_name(
        "ZS-FIND-ME", timeout=5, backend=radio.scanner_backend
    )
    assert device is not None and device.address == "A4:C1:38:00:00:06"


async def test_relay_not_running_is_an_unavailable_adapter(unused_tcp_port: int) -> None:
    radio = radio_from_spec(f"tcp:127.0.0.1:{unused_tcp_port}")
    assert radio is not None
    with pytest.raises(BleakBluetoothNotAvailableError) as caught:
        await BleakScanner(lambda d, a: None, backend=radio.scanner_backend).start()
    assert isinstance(caught.value, BleakError)
    assert not radio.is_open
    await radio.close()


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("system", ("system", "", 0)),
        ("", ("system", "", 0)),
        ("virtual:demo", ("virtual", "demo", 0)),
        ("tcp:127.0.0.1:47110", ("tcp", "127.0.0.1", 47110)),
    ],
)
def test_radio_specs(spec: str, expected: tuple[str, str, int]) -> None:
    assert parse_radio_spec(spec) == expected


@pytest.mark.parametrize(
    "spec", ["bluetooth", "virtual:", "tcp:localhost:1", "tcp:127.0.0.1:0", "tcp:127.0.0.1:x"]
)
def test_bad_radio_specs_say_why(spec: str) -> None:
    with pytest.raises(ValueError, match="BLE radio|air's name|IP address|port"):
        parse_radio_spec(spec)


def test_system_spec_means_bleaks_own_backend() -> None:
    assert radio_from_spec("system") is None


@pytest.mark.parametrize(
    "raw",
    [
        b"\x05\x09ZS",  # length past the end
        b"\x02\xff\x01",  # manufacturer data without a company id
        b"\x03\x16\xd2",  # service data shorter than its UUID
        b"\x00\x00\x00",  # padding only
        bytes(range(256))[:62],
    ],
)
def test_malformed_advertising_data_is_dropped_not_raised(raw: bytes) -> None:
    fields = parse_advertising_data(raw)
    assert fields.manufacturer_data == {} or all(
        isinstance(v, bytes) for v in fields.manufacturer_data.values()
    )


def test_advertising_data_round_trip() -> None:
    raw = build_advertising_data(
        local_name="名字",
        manufacturer_data={0x0102: b"\x01"},
        service_uuids=[0x180F, 0x12345678, SERVICE],
        service_data={SERVICE: b"\xaa"},
        tx_power=3,
    )
    fields = parse_advertising_data(raw)
    assert fields.local_name == "名字"
    assert fields.manufacturer_data == {0x0102: b"\x01"}
    assert fields.service_uuids == (
        "0000180f-0000-1000-8000-00805f9b34fb",
        "12345678-0000-1000-8000-00805f9b34fb",
        SERVICE,
    )
    assert fields.service_data == {SERVICE: b"\xaa"}
    assert fields.tx_power == 3
