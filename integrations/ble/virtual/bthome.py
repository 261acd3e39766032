"""BTHome v2 (https://bthome.io/format/): service data 0xFCD2, plain or AES-CCM encrypted.

``encode_bthome`` builds the service data payload; :class:`BthomeSensor` advertises it and can
change its values at run time (every change gets a new packet id, as real sensors do).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from integrations.ble.virtual.advertising import AdFields
from integrations.ble.virtual.peripheral import VirtualPeripheral

__all__ = [
    "BTHOME_UUID",
    "OBJECT_FORMATS",
    "BthomeSensor",
    "ObjectFormat",
    "encode_bthome",
    "encode_objects",
]

BTHOME_UUID = "0000fcd2-0000-1000-8000-00805f9b34fb"
_UUID_WIRE = b"\xd2\xfc"  # 0xFCD2, little-endian, as it is in the nonce
_VERSION_2 = 2 << 5
_FLAG_ENCRYPTED = 0x01
_FLAG_TRIGGER_BASED = 0x04
PACKET_ID = 0x00

ObjectValue = float | int | bool | bytes | str


@dataclass(frozen=True, slots=True)
class ObjectFormat:
    length: int  # bytes; 0: length-prefixed (text, raw)
    signed: bool = False
    factor: float = 1.0


_U8 = ObjectFormat(1)
_BIN = ObjectFormat(1)  # binary sensors: 0/1

# Object id -> wire format (bthome.io/format, "sensor data" and "binary sensor data").
OBJECT_FORMATS: dict[int, ObjectFormat] = {
    0x00: _U8,  # packet id
    0x01: _U8,  # battery %
    0x02: ObjectFormat(2, True, 0.01),  # temperature °C
    0x03: ObjectFormat(2, False, 0.01),  # humidity %
    0x04: ObjectFormat(3, False, 0.01),  # pressure hPa
    0x05: ObjectFormat(3, False, 0.01),  # illuminance lux
    0x06: ObjectFormat(2, False, 0.01),  # mass kg
    0x07: ObjectFormat(2, False, 0.01),  # mass lb
    0x08: ObjectFormat(2, True, 0.01),  # dew point °C
    0x09: _U8,  # count
    0x0A: ObjectFormat(3, False, 0.001),  # energy kWh
    0x0B: ObjectFormat(3, False, 0.01),  # power W
    0x0C: ObjectFormat(2, False, 0.001),  # voltage V
    0x0D: ObjectFormat(2),  # PM2.5
    0x0E: ObjectFormat(2),  # PM10
    **{i: _BIN for i in range(0x0F, 0x12)},  # generic boolean, power, opening
    0x12: ObjectFormat(2),  # CO2 ppm
    0x13: ObjectFormat(2),  # VOC
    0x14: ObjectFormat(2, False, 0.01),  # moisture %
    **{i: _BIN for i in range(0x15, 0x2E)},  # battery low … window (0x2D)
    0x2E: _U8,  # humidity %
    0x2F: _U8,  # moisture %
    0x3A: _U8,  # button event
    0x3D: ObjectFormat(2),  # count
    0x3E: ObjectFormat(4),  # count
    0x3F: ObjectFormat(2, True, 0.1),  # rotation °
    0x40: ObjectFormat(2),  # distance mm
    0x41: ObjectFormat(2, False, 0.1),  # distance m
    0x42: ObjectFormat(3, False, 0.001),  # duration s
    0x43: ObjectFormat(2, False, 0.001),  # current A
    0x44: ObjectFormat(2, False, 0.01),  # speed m/s
    0x45: ObjectFormat(2, True, 0.1),  # temperature °C
    0x46: ObjectFormat(1, False, 0.1),  # UV index
    0x47: ObjectFormat(2, False, 0.1),  # volume L
    0x48: ObjectFormat(2),  # volume mL
    0x49: ObjectFormat(2, False, 0.001),  # flow m3/h
    0x4A: ObjectFormat(2, False, 0.1),  # voltage V
    0x4B: ObjectFormat(3, False, 0.001),  # gas m3
    0x4C: ObjectFormat(4, False, 0.001),  # gas m3
    0x4D: ObjectFormat(4, False, 0.001),  # energy kWh
    0x4E: ObjectFormat(4, False, 0.001),  # volume L
    0x4F: ObjectFormat(4, False, 0.001),  # water L
    0x50: ObjectFormat(4),  # timestamp
    0x51: ObjectFormat(2, False, 0.001),  # acceleration m/s²
    0x52: ObjectFormat(2, False, 0.001),  # gyroscope °/s
    0x53: ObjectFormat(0),  # text
    0x54: ObjectFormat(0),  # raw
    0x55: ObjectFormat(4, False, 0.001),  # volume storage L
    0x56: ObjectFormat(2),  # conductivity µS/cm
    0x57: ObjectFormat(1, True),  # temperature °C
    0x59: ObjectFormat(1, True),  # count
    0x5A: ObjectFormat(2, True),  # count
    0x5B: ObjectFormat(4, True),  # count
    0x5C: ObjectFormat(4, True, 0.01),  # power W
    0x5D: ObjectFormat(2, True, 0.001),  # current A
    0x5E: ObjectFormat(2, False, 0.01),  # direction °
    0x5F: ObjectFormat(2, False, 0.1),  # precipitation mm
    0x60: _U8,  # channel
}


def _encode_value(object_id: int, value: ObjectValue) -> bytes:
    fmt = OBJECT_FORMATS.get(object_id)
    if fmt is None:
        raise ValueError(f"BTHome object 0x{object_id:02X} is not supported")
    if fmt.length == 0:
        data = value.encode("utf-8") if isinstance(value, str) else value
        if not isinstance(data, bytes) or len(data) > 255:
            raise ValueError(f"BTHome object 0x{object_id:02X} takes text or bytes (≤255)")
        return bytes((len(data),)) + data
    if isinstance(value, bytes | str):
        raise ValueError(f"BTHome object 0x{object_id:02X} takes a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"BTHome object 0x{object_id:02X}: {value!r} is not a finite number")
    raw = round(number / fmt.factor)
    try:
        return raw.to_bytes(fmt.length, "little", signed=fmt.signed)
    except OverflowError:
        raise ValueError(
            f"BTHome object 0x{object_id:02X}: {value!r} does not fit in "
            f"{fmt.length} byte(s){' signed' if fmt.signed else ''}"
        ) from None


ObjectsIn = Mapping[int, ObjectValue | Sequence[ObjectValue]]


def encode_objects(objects: ObjectsIn, packet_id: int | None = None) -> bytes:
    """Objects in ascending id order (the spec asks for it); a list value repeats the object
    (two buttons: ``{0x3A: [1, 0]}``). ``packet_id`` comes first as object 0x00."""
    out = bytearray()
    if packet_id is not None:
        out += bytes((PACKET_ID, packet_id & 0xFF))
    for object_id in sorted(objects):
        if object_id == PACKET_ID:
            continue
        value = objects[object_id]
        values = value if isinstance(value, list | tuple) else (value,)
        for v in values:
            out.append(object_id)
            out += _encode_value(object_id, v)
    return bytes(out)


def encode_bthome(
    objects: ObjectsIn,
    *,
    packet_id: int | None = None,
    bindkey: bytes | None = None,
    mac: str | None = None,
    counter: int = 0,
    trigger_based: bool = False,
) -> bytes:
    """The service data payload (after the UUID): device info byte, objects, and when encrypted
    ciphertext + 4-byte counter + 4-byte MIC (AES-CCM, nonce = MAC, UUID, info byte, counter)."""
    info = _VERSION_2 | (_FLAG_TRIGGER_BASED if trigger_based else 0)
    body = encode_objects(objects, packet_id)
    if bindkey is None:
        return bytes((info,)) + body
    if len(bindkey) != 16:
        raise ValueError("a BTHome bind key is 16 bytes (32 hex digits)")
    if mac is None:
        raise ValueError("encryption needs the device's MAC address (it is in the nonce)")
    info |= _FLAG_ENCRYPTED
    counter_bytes = (counter & 0xFFFFFFFF).to_bytes(4, "little")
    nonce = bytes.fromhex(mac.replace(":", "")) + _UUID_WIRE + bytes((info,)) + counter_bytes
    sealed = AESCCM(bindkey, tag_length=4).encrypt(nonce, body, None)
    return bytes((info,)) + sealed[:-4] + counter_bytes + sealed[-4:]


class BthomeSensor(VirtualPeripheral):
    """A BTHome v2 sensor: broadcast only (not connectable by default)."""

    def __init__(
        self,
        *,
        address: str,
        objects: ObjectsIn,
        local_name: str | None = None,
        bindkey: bytes | None = None,
        trigger_based: bool = False,
        send_packet_id: bool = True,
        counter: int = 1,
        connectable: bool = False,
        rssi: int = -60,
        interval_ms: float = 100.0,
    ) -> None:
        super().__init__(
            address=address,
            local_name=local_name,
            connectable=connectable,
            rssi=rssi,
            interval_ms=interval_ms,
        )
        if bindkey is not None and len(bindkey) != 16:
            raise ValueError("a BTHome bind key is 16 bytes (32 hex digits)")
        self.objects: dict[int, ObjectValue | Sequence[ObjectValue]] = dict(objects)
        encode_objects(self.objects)  # bad values fail here, not on the air
        self.bindkey = bindkey
        self.trigger_based = trigger_based
        self.packet_id: int | None = 1 if send_packet_id else None
        self.counter = counter

    def service_data(self) -> bytes:
        return encode_bthome(
            self.objects,
            packet_id=self.packet_id,
            bindkey=self.bindkey,
            mac=self.address,
            counter=self.counter,
            trigger_based=self.trigger_based,
        )

    def ad_fields(self) -> AdFields:
        return AdFields(local_name=self.local_name, service_data={BTHOME_UUID: self.service_data()})

    async def update(self, objects: ObjectsIn, *, replace: bool = False) -> None:
        """New values (merged unless ``replace``); next packet id and counter; re-advertised."""
        merged = dict(objects) if replace else {**self.objects, **objects}
        encode_objects(merged)
        self.objects = merged
        if self.packet_id is not None:
            self.packet_id = (self.packet_id + 1) & 0xFF
        self.counter = (self.counter + 1) & 0xFFFFFFFF
        await self.readvertise()
