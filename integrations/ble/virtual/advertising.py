"""Advertising data (AD structures) both ways: built for peripherals, parsed for the scanner.

Parsing drops malformed structures and keeps the well-formed ones, like a controller's host stack
would; the raw bytes travel along (``VirtualAdvertisement.raw``) for fixtures and fingerprints.
"""

from __future__ import annotations

import uuid as _uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AdFields",
    "VirtualAdvertisement",
    "build_advertising_data",
    "normalize_uuid",
    "parse_advertising_data",
]

BASE_UUID_SUFFIX = "-0000-1000-8000-00805f9b34fb"

# AD types (Bluetooth Core Supplement, part A).
AD_FLAGS = 0x01
AD_UUID16_INCOMPLETE = 0x02
AD_UUID16_COMPLETE = 0x03
AD_UUID32_INCOMPLETE = 0x04
AD_UUID32_COMPLETE = 0x05
AD_UUID128_INCOMPLETE = 0x06
AD_UUID128_COMPLETE = 0x07
AD_SHORT_NAME = 0x08
AD_COMPLETE_NAME = 0x09
AD_TX_POWER = 0x0A
AD_SERVICE_DATA_16 = 0x16
AD_SERVICE_DATA_32 = 0x20
AD_SERVICE_DATA_128 = 0x21
AD_MANUFACTURER = 0xFF

# LE General Discoverable, BR/EDR not supported.
FLAGS_GENERAL_DISCOVERABLE = 0x06


def normalize_uuid(value: str | int) -> str:
    """``0xFCD2``, ``"fcd2"``, ``"0000FCD2-…"`` -> ``"0000fcd2-0000-1000-8000-00805f9b34fb"``."""
    if isinstance(value, int):
        if not 0 <= value <= 0xFFFFFFFF:
            raise ValueError(f"UUID {value!r} is not a 16- or 32-bit number")
        return f"{value:08x}{BASE_UUID_SUFFIX}"
    text = value.strip().lower()
    if text.startswith("0x"):
        text = text[2:]
    if len(text) in (4, 8) and all(c in "0123456789abcdef" for c in text):
        return f"{int(text, 16):08x}{BASE_UUID_SUFFIX}"
    try:
        return str(_uuid.UUID(text))
    except ValueError:
        raise ValueError(f"{value!r} is not a Bluetooth UUID") from None


def _short_form(full: str) -> bytes:
    """The shortest over-the-air form of a UUID (2, 4 or 16 bytes, little-endian)."""
    if full.endswith(BASE_UUID_SUFFIX):
        n = int(full[:8], 16)
        return n.to_bytes(2 if n <= 0xFFFF else 4, "little")
    return _uuid.UUID(full).bytes[::-1]


@dataclass(frozen=True, slots=True)
class AdFields:
    """What an advertisement says, in bleak's terms."""

    local_name: str | None = None
    manufacturer_data: Mapping[int, bytes] = field(default_factory=dict)
    service_data: Mapping[str, bytes] = field(default_factory=dict)
    service_uuids: tuple[str, ...] = ()
    tx_power: int | None = None


@dataclass(frozen=True, slots=True)
class VirtualAdvertisement:
    """``AdvertisementData.platform_data[0]`` and ``BLEDevice.details`` on the virtual radio."""

    address: str
    raw: bytes
    connectable: bool
    rssi: int


def _ad(ad_type: int, payload: bytes) -> bytes:
    if len(payload) > 254:
        raise ValueError(f"AD structure 0x{ad_type:02X} is {len(payload)} bytes; at most 254")
    return bytes((len(payload) + 1, ad_type)) + payload


def build_advertising_data(
    *,
    local_name: str | None = None,
    manufacturer_data: Mapping[int, bytes] | None = None,
    service_data: Mapping[Any, bytes] | None = None,  # keys: UUID text or 16/32-bit int
    service_uuids: Iterable[str | int] = (),
    tx_power: int | None = None,
    flags: int | None = FLAGS_GENERAL_DISCOVERABLE,
) -> bytes:
    """The AD structures of one advertisement. The virtual air carries more than the 31 bytes of a
    legacy PDU (a real device would move the name to its scan response)."""
    out = bytearray()
    if flags is not None:
        out += _ad(AD_FLAGS, bytes((flags,)))
    if local_name is not None:
        out += _ad(AD_COMPLETE_NAME, local_name.encode("utf-8"))
    if tx_power is not None:
        out += _ad(AD_TX_POWER, tx_power.to_bytes(1, "little", signed=True))
    by_size: dict[int, bytearray] = {2: bytearray(), 4: bytearray(), 16: bytearray()}
    for u in service_uuids:
        short = _short_form(normalize_uuid(u))
        by_size[len(short)] += short
    for size, ad_type in (
        (2, AD_UUID16_COMPLETE),
        (4, AD_UUID32_COMPLETE),
        (16, AD_UUID128_COMPLETE),
    ):
        if by_size[size]:
            out += _ad(ad_type, bytes(by_size[size]))
    for u, data in (service_data or {}).items():
        short = _short_form(normalize_uuid(u))
        ad_type = {2: AD_SERVICE_DATA_16, 4: AD_SERVICE_DATA_32, 16: AD_SERVICE_DATA_128}[
            len(short)
        ]
        out += _ad(ad_type, short + bytes(data))
    for company, data in (manufacturer_data or {}).items():
        if not 0 <= company <= 0xFFFF:
            raise ValueError(f"company id {company!r} is not 0..0xFFFF")
        out += _ad(AD_MANUFACTURER, company.to_bytes(2, "little") + bytes(data))
    return bytes(out)


def _uuid_from_wire(data: bytes) -> str:
    if len(data) in (2, 4):
        return normalize_uuid(int.from_bytes(data, "little"))
    return str(_uuid.UUID(bytes=data[::-1]))


def parse_advertising_data(raw: bytes) -> AdFields:
    """AD structures -> fields; a structure with a bad length ends parsing, one with a bad body
    is skipped."""
    name: str | None = None
    short_name: str | None = None
    manufacturer: dict[int, bytes] = {}
    service_data: dict[str, bytes] = {}
    uuids: list[str] = []
    tx_power: int | None = None
    i = 0
    while i < len(raw):
        length = raw[i]
        if length == 0:  # padding
            break
        if i + 1 + length > len(raw):
            break
        ad_type, body = raw[i + 1], raw[i + 2 : i + 1 + length]
        i += 1 + length
        if ad_type in (AD_COMPLETE_NAME, AD_SHORT_NAME):
            text = body.decode("utf-8", errors="replace")
            if ad_type == AD_COMPLETE_NAME:
                name = text
            else:
                short_name = text
        elif ad_type in (AD_UUID16_INCOMPLETE, AD_UUID16_COMPLETE):
            uuids += [_uuid_from_wire(body[j : j + 2]) for j in range(0, len(body) - 1, 2)]
        elif ad_type in (AD_UUID32_INCOMPLETE, AD_UUID32_COMPLETE):
            uuids += [_uuid_from_wire(body[j : j + 4]) for j in range(0, len(body) - 3, 4)]
        elif ad_type in (AD_UUID128_INCOMPLETE, AD_UUID128_COMPLETE):
            uuids += [_uuid_from_wire(body[j : j + 16]) for j in range(0, len(body) - 15, 16)]
        elif ad_type == AD_SERVICE_DATA_16 and len(body) >= 2:
            service_data[_uuid_from_wire(body[:2])] = bytes(body[2:])
        elif ad_type == AD_SERVICE_DATA_32 and len(body) >= 4:
            service_data[_uuid_from_wire(body[:4])] = bytes(body[4:])
        elif ad_type == AD_SERVICE_DATA_128 and len(body) >= 16:
            service_data[_uuid_from_wire(body[:16])] = bytes(body[16:])
        elif ad_type == AD_MANUFACTURER and len(body) >= 2:
            manufacturer[int.from_bytes(body[:2], "little")] = bytes(body[2:])
        elif ad_type == AD_TX_POWER and len(body) == 1:
            tx_power = int.from_bytes(body, "little", signed=True)
    return AdFields(
        local_name=name if name is not None else short_name,
        manufacturer_data=manufacturer,
        service_data=service_data,
        service_uuids=tuple(dict.fromkeys(uuids)),
        tx_power=tx_power,
    )
