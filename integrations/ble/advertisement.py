"""One received advertisement, checked and normalised: :class:`Sighting`.

Whatever a bleak backend hands over is checked here before anything else sees it: a name that
is not text, a company id out of range, data that is not bytes, an address that is not
``AA:BB:CC:DD:EE:FF`` all raise :class:`AdvertisementError` (the scanner logs and drops it).
:meth:`Sighting.identity` is what profile fingerprints match on (``hub.profiles.matcher``):
``local_name``, ``manufacturer_data`` ``{company id: hex}``, ``service_uuids``, ``service_data``
``{uuid: hex}`` and ``connectable`` (None when the backend cannot tell, as BlueZ cannot).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["AdvertisementError", "Sighting", "normalize_uuid", "sighting_from_bleak"]

_MAC: Final = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")
_BASE: Final = "-0000-1000-8000-00805f9b34fb"
_UUID: Final = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MAX_NAME: Final = 248  # the longest name a controller can report
MAX_DATA: Final = 255


class AdvertisementError(ValueError):
    """An advertisement the hub cannot trust to be well formed (dropped, never matched)."""


def normalize_uuid(value: Any) -> str:
    """``"fcd2"``, ``0xFCD2`` or a 128-bit text -> the lower-case 128-bit form."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFFFFFFFF:
        return f"{value:08x}{_BASE}"
    if not isinstance(value, str):
        raise AdvertisementError(f"a UUID must be text, got {type(value).__name__}")
    text = value.strip().lower()
    if len(text) in (4, 8) and all(c in "0123456789abcdef" for c in text):
        return f"{int(text, 16):08x}{_BASE}"
    if not _UUID.match(text):
        raise AdvertisementError(f"{value[:40]!r} is not a UUID")
    return text


def _bytes(value: Any, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise AdvertisementError(f"{what} must be bytes, got {type(value).__name__}")
    data = bytes(value)
    if len(data) > MAX_DATA:
        raise AdvertisementError(f"{what} is {len(data)} bytes; an advertisement holds fewer")
    return data


@dataclass(frozen=True, slots=True)
class Sighting:
    """A checked advertisement from one address."""

    address: str
    local_name: str | None = None
    manufacturer_data: Mapping[int, bytes] = field(default_factory=dict)
    service_data: Mapping[str, bytes] = field(default_factory=dict)
    service_uuids: tuple[str, ...] = ()
    rssi: int | None = None
    tx_power: int | None = None
    connectable: bool | None = None
    seen_at: float = field(default_factory=time.time)
    raw: bytes | None = None  # the AD structures, when the backend gives them (fixtures)

    def identity(self) -> dict[str, Any]:
        """What fingerprints match on, JSON-friendly (bytes as hex)."""
        return {
            "local_name": self.local_name,
            "manufacturer_data": {
                str(cid): data.hex() for cid, data in sorted(self.manufacturer_data.items())
            },
            "service_uuids": list(self.service_uuids),
            "service_data": {uuid: data.hex() for uuid, data in sorted(self.service_data.items())},
            "connectable": self.connectable,
        }

    def same_identity(self, other: Sighting) -> bool:
        """Equal in what matching and adding look at; RSSI and time may differ."""
        return (
            self.local_name == other.local_name
            and set(self.manufacturer_data) == set(other.manufacturer_data)
            and set(self.service_data) == set(other.service_data)
            and self.service_uuids == other.service_uuids
            and self.connectable == other.connectable
        )


def check_address(value: Any) -> str:
    if not isinstance(value, str) or not _MAC.match(value.strip().upper()):
        raise AdvertisementError(f"{str(value)[:40]!r} is not a Bluetooth address")
    return value.strip().upper()


def build_sighting(
    address: Any,
    *,
    local_name: Any = None,
    manufacturer_data: Any = None,
    service_data: Any = None,
    service_uuids: Any = None,
    rssi: Any = None,
    tx_power: Any = None,
    connectable: Any = None,
    raw: Any = None,
    seen_at: float | None = None,
) -> Sighting:
    """Check every field; AdvertisementError names the first one that is wrong."""
    name: str | None = None
    if local_name is not None:
        if not isinstance(local_name, str):
            raise AdvertisementError("the local name must be text")
        if len(local_name) > MAX_NAME:
            raise AdvertisementError("the local name is longer than an advertisement allows")
        name = local_name.replace("\x00", "").strip() or None
    mdata: dict[int, bytes] = {}
    for cid, data in _mapping(manufacturer_data, "manufacturer data").items():
        if isinstance(cid, bool) or not isinstance(cid, int) or not 0 <= cid <= 0xFFFF:
            raise AdvertisementError(f"company id {cid!r} is not 0..0xFFFF")
        mdata[cid] = _bytes(data, f"manufacturer data 0x{cid:04X}")
    sdata: dict[str, bytes] = {}
    for uuid, data in _mapping(service_data, "service data").items():
        sdata[normalize_uuid(uuid)] = _bytes(data, f"service data {uuid}")
    uuids: list[str] = []
    if service_uuids is not None:
        if isinstance(service_uuids, str | bytes) or not hasattr(service_uuids, "__iter__"):
            raise AdvertisementError("service UUIDs must be a list")
        for uuid in service_uuids:
            text = normalize_uuid(uuid)
            if text not in uuids:
                uuids.append(text)
    return Sighting(
        address=check_address(address),
        local_name=name,
        manufacturer_data=mdata,
        service_data=sdata,
        service_uuids=tuple(uuids),
        rssi=_small_int(rssi, "RSSI", -127, 20),
        tx_power=_small_int(tx_power, "TX power", -127, 127),
        connectable=connectable if isinstance(connectable, bool) else None,
        seen_at=time.time() if seen_at is None else seen_at,
        raw=bytes(raw) if isinstance(raw, bytes | bytearray) else None,
    )


def _mapping(value: Any, what: str) -> Mapping[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise AdvertisementError(f"{what} must be a mapping")
    return value


def _small_int(value: Any, what: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise AdvertisementError(f"{what} {value!r} is out of range")
    return value


def sighting_from_bleak(device: Any, adv: Any) -> Sighting:
    """A bleak ``(BLEDevice, AdvertisementData)`` pair -> :class:`Sighting`.

    ``connectable`` and the raw bytes come from the backend's ``platform_data`` when it has
    them (the virtual radio does; BlueZ does not say)."""
    details = None
    platform = getattr(adv, "platform_data", None)
    if isinstance(platform, tuple) and platform:
        details = platform[0]
    try:
        return build_sighting(
            getattr(device, "address", None),
            local_name=getattr(adv, "local_name", None),
            manufacturer_data=getattr(adv, "manufacturer_data", None),
            service_data=getattr(adv, "service_data", None),
            service_uuids=getattr(adv, "service_uuids", None),
            rssi=getattr(adv, "rssi", None),
            tx_power=getattr(adv, "tx_power", None),
            connectable=getattr(details, "connectable", None),
            raw=getattr(details, "raw", None),
        )
    except AdvertisementError:
        raise
    except Exception as err:  # a backend object that misbehaves is malformed input too
        raise AdvertisementError(f"unreadable advertisement: {err!r}") from err
