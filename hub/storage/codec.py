"""Conversions between kernel objects and table rows (plain dicts for Core statements)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import Any

from hub.core.registry import Availability, Device, Room

__all__ = [
    "device_from_row",
    "device_to_row",
    "dumps",
    "loads",
    "room_from_row",
    "room_to_row",
]


def _default(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


# Built once: ``json.dumps`` with options builds a new encoder on every call, which is most of
# the cost of encoding a scalar, and the recorder encodes every state change.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_default)


def _c_encoder() -> Callable[[Any, int], Sequence[str]] | None:
    """json's C encoder with our options, or None where it is unavailable.

    Calling it directly skips ``JSONEncoder.encode``'s per-call set-up (4x faster for scalars).
    ``markers=None`` (no cycle check) also makes it safe to share between threads; a cyclic
    value raises RecursionError, as ``json.dumps(check_circular=False)`` would.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    try:
        encoder: Callable[[Any, int], Sequence[str]] = make(
            None, _default, json.encoder.encode_basestring, None, ":", ",", False, False, True
        )
        if "".join(encoder([1, "é", (2.5,)], 0)) != '[1,"é",[2.5]]':
            return None
    except (TypeError, ValueError):
        return None
    return encoder


_C_ENCODER = _c_encoder()


def dumps(value: Any) -> str:
    """Compact JSON; tuples become lists, sets sorted lists, enums their value."""
    if _C_ENCODER is not None:
        return "".join(_C_ENCODER(value, 0))
    return _ENCODER.encode(value)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def room_to_row(room: Room) -> dict[str, Any]:
    return {
        "id": room.id,
        "name_zh": room.name_zh,
        "name_en": room.name_en,
        "sort_order": room.order,
    }


def room_from_row(row: Mapping[Any, Any]) -> Room:
    return Room(
        id=row["id"], name_zh=row["name_zh"], name_en=row["name_en"], order=row["sort_order"]
    )


def device_to_row(device: Device) -> dict[str, Any]:
    """Taken when the save is queued, so later in-place changes cannot race the writer thread."""
    return {
        "id": device.id,
        "name_zh": device.name_zh,
        "name_en": device.name_en,
        "profile_id": device.profile_id,
        "integration": device.integration,
        "transport": device.transport,
        "identity": dumps(device.identity),
        "room_id": device.room_id,
        "address": device.address,
        "availability": Availability(device.availability).value,
        "last_seen": device.last_seen,
        "added_at": device.added_at,
        "config": dumps(device.config),
    }


def device_from_row(row: Mapping[Any, Any]) -> Device:
    try:
        availability = Availability(row["availability"])
    except ValueError:
        availability = Availability.UNKNOWN
    return Device(
        id=row["id"],
        name_zh=row["name_zh"],
        name_en=row["name_en"],
        profile_id=row["profile_id"],
        integration=row["integration"],
        transport=row["transport"],
        identity=loads(row["identity"]) or {},
        room_id=row["room_id"],
        address=row["address"],
        availability=availability,
        last_seen=row["last_seen"],
        added_at=row["added_at"],
        config=loads(row["config"]) or {},
    )
