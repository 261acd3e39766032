"""BTHome v2 service data (UUID 0xFCD2): header, AES-CCM decryption and objects.

Layout (bthome.io/format): one device-information byte (bit 0 encrypted, bit 1 MAC included,
bit 2 trigger-based, bits 5-7 version = 2), the advertiser's MAC reversed when bit 1 is set, then
``id value id value …``. Encrypted packets end with a 4-byte counter and a 4-byte MIC; the
nonce is MAC (6) + UUID ``d2 fc`` + the device-information byte + counter, the key the device's
16-byte bind key. Decoded values have the object's factor applied; the first occurrence of an id
wins (a second button or temperature is kept in :attr:`BthomePacket.repeats`).

AES-CCM comes from ``cryptography``, imported at the first encrypted packet rather than with
this module (~6 MiB resident that a hub without Bluetooth never needs); :func:`preload` imports
it in a thread once a scan is running, before such packets arrive.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from hub.plugins import import_in_background
from integrations.ble.bthome_objects import OBJECTS, VARIABLE

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM

__all__ = [
    "BTHOME_UUID",
    "BthomeError",
    "BthomeKeyError",
    "BthomePacket",
    "encrypt_packet",
    "parse_bindkey",
    "parse_service_data",
    "preload",
]

BTHOME_UUID: Final = "0000fcd2-0000-1000-8000-00805f9b34fb"
_UUID_LE: Final = b"\xd2\xfc"
_ENCRYPTED: Final = 0x01
_MAC_INCLUDED: Final = 0x02
_TRIGGER: Final = 0x04
_VERSION_SHIFT: Final = 5
_TAG: Final = 4
_COUNTER: Final = 4
PACKET_ID: Final = 0x00


_CIPHER_MODULES = ("cryptography.exceptions", "cryptography.hazmat.primitives.ciphers.aead")


def preload() -> threading.Thread | None:
    """Start importing AES-CCM in a worker thread (once; None when it is imported)."""
    return import_in_background(*_CIPHER_MODULES)


def _cipher() -> tuple[type[AESCCM], type[Exception]]:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM

    return AESCCM, InvalidTag


class BthomeError(ValueError):
    """Service data that is not a readable BTHome v2 packet (logged and dropped)."""


class BthomeKeyError(BthomeError):
    """The packet is encrypted and the key is missing or does not fit (MIC check failed)."""


@dataclass(slots=True)
class BthomePacket:
    encrypted: bool
    trigger_based: bool
    mac: str | None  # from the packet when it carries one, "AA:BB:…"
    objects: dict[int, Any] = field(default_factory=dict)
    repeats: list[tuple[int, Any]] = field(default_factory=list)
    counter: int | None = None  # encrypted packets only
    truncated: str | None = None  # why parsing stopped early, when it did

    @property
    def packet_id(self) -> int | None:
        value = self.objects.get(PACKET_ID)
        return value if isinstance(value, int) else None


def parse_bindkey(text: str) -> bytes:
    """32 hex digits (spaces, colons and dashes allowed) -> 16 bytes; ValueError otherwise."""
    cleaned = "".join(ch for ch in text.strip() if ch not in " :-")
    if len(cleaned) != 32:
        raise ValueError("a BTHome bind key is 32 hexadecimal digits")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise ValueError("a BTHome bind key is 32 hexadecimal digits") from None


def _mac_bytes(address: str) -> bytes:
    parts = address.split(":")
    if len(parts) != 6:
        raise BthomeError(f"{address!r} is not a MAC address; the nonce needs one")
    try:
        return bytes(int(p, 16) for p in parts)
    except ValueError:
        raise BthomeError(f"{address!r} is not a MAC address; the nonce needs one") from None


def _mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02X}" for b in raw)


def parse_service_data(data: bytes, address: str, key: bytes | None = None) -> BthomePacket:
    """Parse (and decrypt with ``key``) one 0xFCD2 service-data value from ``address``.

    Raises :class:`BthomeKeyError` for an encrypted packet without a key or with the wrong key,
    :class:`BthomeError` for anything malformed. Objects after an unknown id or a truncated value
    are dropped (``truncated`` says why); what came before still counts.
    """
    if not data:
        raise BthomeError("empty BTHome service data")
    info = data[0]
    version = info >> _VERSION_SHIFT
    if version != 2:
        raise BthomeError(f"BTHome version {version} in the header; only version 2 is read")
    body = data[1:]
    mac: str | None = None
    if info & _MAC_INCLUDED:
        if len(body) < 6:
            raise BthomeError("the header says a MAC follows, but the packet is too short")
        mac = _mac_text(body[:6][::-1])
        body = body[6:]
    packet = BthomePacket(
        encrypted=bool(info & _ENCRYPTED), trigger_based=bool(info & _TRIGGER), mac=mac
    )
    if packet.encrypted:
        if key is None:
            raise BthomeKeyError("the packet is encrypted and no bind key is known")
        if len(body) < _COUNTER + _TAG + 1:
            raise BthomeError("encrypted BTHome packet too short for payload, counter and MIC")
        ciphertext, counter, tag = body[: -_COUNTER - _TAG], body[-8:-4], body[-4:]
        nonce = _mac_bytes(mac or address) + _UUID_LE + bytes([info]) + counter
        aesccm, invalid_tag = _cipher()
        try:
            body = aesccm(key, tag_length=_TAG).decrypt(nonce, ciphertext + tag, None)
        except invalid_tag:
            raise BthomeKeyError("wrong bind key: the packet's MIC does not check") from None
        except ValueError as err:  # key of the wrong length
            raise BthomeKeyError(f"unusable bind key: {err}") from None
        packet.counter = int.from_bytes(counter, "little")
    _parse_objects(body, packet)
    return packet


def encrypt_packet(
    objects: bytes, address: str, key: bytes, counter: int, *, trigger_based: bool = False
) -> bytes:
    """An encrypted v2 service-data value for ``objects`` (already encoded id/value bytes).

    The inverse of :func:`parse_service_data`, for fixtures and tools that record payloads."""
    info = (2 << _VERSION_SHIFT) | _ENCRYPTED | (_TRIGGER if trigger_based else 0)
    count = counter.to_bytes(_COUNTER, "little")
    nonce = _mac_bytes(address) + _UUID_LE + bytes([info]) + count
    aesccm, _ = _cipher()
    sealed = aesccm(key, tag_length=_TAG).encrypt(nonce, objects, None)
    return bytes([info]) + sealed[:-_TAG] + count + sealed[-_TAG:]


def _parse_objects(body: bytes, packet: BthomePacket) -> None:
    pos, end = 0, len(body)
    while pos < end:
        oid = body[pos]
        spec = OBJECTS.get(oid)
        if spec is None:
            packet.truncated = f"unknown object id 0x{oid:02X} at byte {pos}"
            return
        start = pos + 1
        if spec.length == VARIABLE:
            if start >= end:
                packet.truncated = f"object 0x{oid:02X} lacks its length byte"
                return
            length = (body[start] & 0x1F) + 1 if spec.kind == "command" else body[start]
            start += 1
        else:
            length = spec.length
        stop = start + length
        if stop > end:
            packet.truncated = f"object 0x{oid:02X} needs {length} byte(s), {end - start} left"
            return
        raw = body[start:stop]
        value: Any
        if spec.kind == "text":
            value = raw.decode("utf-8", "replace")
        elif spec.kind in ("raw", "command"):
            value = raw.hex()
        else:
            number = int.from_bytes(raw, "little", signed=spec.signed)
            value = number if spec.factor == 1.0 else _scaled(number, spec.factor)
        if oid in packet.objects:
            packet.repeats.append((oid, value))
        else:
            packet.objects[oid] = value
        pos = stop


def _scaled(number: int, factor: float) -> float:
    """``2587 * 0.01`` -> ``25.87`` (rounded to the factor's decimals, no float noise)."""
    digits = max(0, -math.floor(math.log10(factor)) + 2) if factor < 1 else 2
    return round(number * factor, digits)
