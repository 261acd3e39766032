"""BTHome v2 frames from the virtual sensor, as bthome-ble (the reference parser) reads them."""

from __future__ import annotations

import time

import pytest
from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bthome_ble import BTHomeBluetoothDeviceData
from bthome_ble.const import MEAS_TYPES
from habluetooth import BluetoothServiceInfoBleak

from integrations.ble.virtual import (
    BTHOME_UUID,
    BthomeSensor,
    VirtualAir,
    VirtualRadio,
    encode_bthome,
)
from integrations.ble.virtual.bthome import OBJECT_FORMATS

from .conftest import KEY, Heard

ADDRESS = "A4:C1:38:8D:18:B2"


def service_info(device: BLEDevice, adv: AdvertisementData) -> BluetoothServiceInfoBleak:
    return BluetoothServiceInfoBleak(
        name=adv.local_name or device.address,
        address=device.address,
        rssi=adv.rssi,
        manufacturer_data=adv.manufacturer_data,
        service_data=adv.service_data,
        service_uuids=adv.service_uuids,
        source="virtual",
        device=device,
        advertisement=adv,
        connectable=False,
        time=time.monotonic(),
        tx_power=adv.tx_power,
    )


def values(parser: BTHomeBluetoothDeviceData, info: BluetoothServiceInfoBleak) -> dict[str, object]:
    update = parser.update(info)
    out: dict[str, object] = {key.key: v.native_value for key, v in update.entity_values.items()}
    out.update({key.key: v.native_value for key, v in update.binary_entity_values.items()})
    return out


@pytest.mark.parametrize("bindkey", [None, KEY], ids=["plain", "encrypted"])
async def test_sensor_frames_parse_to_the_same_values(
    air: VirtualAir, radio: VirtualRadio, heard: Heard, bindkey: bytes | None
) -> None:
    sensor = BthomeSensor(
        address=ADDRESS,
        local_name="ZS-MC-0001",
        objects={0x01: 93, 0x2D: 1, 0x2B: 0, 0x02: 23.45, 0x03: 51.2},
        bindkey=bindkey,
    )
    await air.add(sensor)
    async with BleakScanner(heard, backend=radio.scanner_backend):
        adv = await heard.next(lambda d, a: BTHOME_UUID in a.service_data)
        device = next(d for d, a in heard.items if d.address == ADDRESS)
        parser = BTHomeBluetoothDeviceData(bindkey=bindkey)
        got = values(parser, service_info(device, adv))
        assert parser.encryption_scheme.name == ("BTHOME_BINDKEY" if bindkey else "NONE")
        assert got["battery"] == 93
        assert got["window"] is True
        assert got["tamper"] is False
        assert got["temperature"] == pytest.approx(23.45)
        assert got["humidity"] == pytest.approx(51.2)

        await sensor.update({0x2D: 0, 0x01: 12})
        adv2 = await heard.next(
            lambda d, a: BTHOME_UUID in a.service_data and a.service_data != adv.service_data
        )
        got2 = values(parser, service_info(device, adv2))
        assert got2["window"] is False
        assert got2["battery"] == 12
        assert got2["packet_id"] != got["packet_id"]


async def test_wrong_bind_key_is_rejected(
    air: VirtualAir, radio: VirtualRadio, heard: Heard
) -> None:
    await air.add(BthomeSensor(address=ADDRESS, objects={0x2D: 1}, bindkey=KEY))
    async with BleakScanner(heard, backend=radio.scanner_backend):
        adv = await heard.next(lambda d, a: BTHOME_UUID in a.service_data)
    device = heard.items[-1][0]
    parser = BTHomeBluetoothDeviceData(bindkey=bytes(16))
    got = values(parser, service_info(device, adv))
    assert "window" not in got
    assert parser.bindkey_verified is False


def test_encrypted_frame_layout() -> None:
    payload = encode_bthome({0x2D: 1}, packet_id=7, bindkey=KEY, mac=ADDRESS, counter=0x11223344)
    assert payload[0] == 0x41  # version 2, encrypted
    assert payload[-8:-4] == (0x11223344).to_bytes(4, "little")
    assert len(payload) == 1 + 4 + 4 + 4  # info, ciphertext of 2 objects, counter, MIC
    plain = encode_bthome({0x2D: 1, 0x01: 50}, packet_id=7, trigger_based=True)
    assert plain == bytes([0x44, 0x00, 0x07, 0x01, 50, 0x2D, 0x01])


def test_object_table_matches_the_reference_parser() -> None:
    for object_id, fmt in OBJECT_FORMATS.items():
        if fmt.length == 0 or object_id == 0x00:
            continue
        ref = MEAS_TYPES[object_id]
        assert ref.data_length == fmt.length, hex(object_id)
        assert (ref.data_format == "signed_integer") == fmt.signed, hex(object_id)
        assert ref.factor == pytest.approx(fmt.factor), hex(object_id)


@pytest.mark.parametrize(
    ("objects", "message"),
    [
        ({0x01: 300}, "does not fit"),
        ({0x02: float("nan")}, "finite"),
        ({0x30: 1}, "not supported"),
        ({0x01: "x"}, "takes a number"),
    ],
)
def test_bad_objects_are_refused_with_the_reason(objects: dict[int, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BthomeSensor(address=ADDRESS, objects=objects)  # type: ignore[arg-type]


def test_bind_key_must_be_16_bytes() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        BthomeSensor(address=ADDRESS, objects={0x01: 1}, bindkey=b"short")
