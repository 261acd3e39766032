"""Device and room registry: names (zh/en), rooms, profile, transport identity, availability.

Mutations are synchronous and loop-safe; persistence is handed to a :class:`RegistryStore` that
queues the write (the storage layer's writer thread), so nothing here blocks the loop.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from time import time as _now
from typing import Any, Protocol

from hub.core.bus import EventBus
from hub.core.context import Context
from hub.core.events import EventType

__all__ = [
    "AVAILABILITY_CHANGED",
    "DEVICE_ADDED",
    "DEVICE_REMOVED",
    "DEVICE_UPDATED",
    "ROOM_CHANGED",
    "Availability",
    "AvailabilityChange",
    "Device",
    "DeviceRegistry",
    "RegistryError",
    "RegistryStore",
    "Room",
    "slugify",
]


class Availability(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    UNKNOWN = "unknown"


@dataclass(slots=True)
class Room:
    id: str
    name_zh: str
    name_en: str
    order: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": {"zh": self.name_zh, "en": self.name_en},
            "order": self.order,
        }


@dataclass(slots=True)
class Device:
    id: str
    name_zh: str
    name_en: str
    profile_id: str | None
    integration: str
    transport: str
    identity: dict[str, Any] = field(default_factory=dict)
    room_id: str | None = None
    address: str | None = None
    availability: Availability = Availability.UNKNOWN
    last_seen: float | None = None
    added_at: float = field(default_factory=_now)
    config: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": {"zh": self.name_zh, "en": self.name_en},
            "profile_id": self.profile_id,
            "integration": self.integration,
            "transport": self.transport,
            "identity": dict(self.identity),
            "room_id": self.room_id,
            "address": self.address,
            "availability": self.availability.value,
            "last_seen": self.last_seen,
            "added_at": self.added_at,
        }


@dataclass(slots=True, frozen=True)
class AvailabilityChange:
    device_id: str
    old: Availability
    new: Availability
    last_seen: float | None


DEVICE_ADDED: EventType[Device] = EventType("device_added")
DEVICE_UPDATED: EventType[Device] = EventType("device_updated")
DEVICE_REMOVED: EventType[Device] = EventType("device_removed")
ROOM_CHANGED: EventType[Room] = EventType("room_changed")
AVAILABILITY_CHANGED: EventType[AvailabilityChange] = EventType("availability_changed")

_SLUG_RE = re.compile(r"[^a-z0-9]+")
DEVICE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def slugify(text: str) -> str:
    return _SLUG_RE.sub("-", text.lower()).strip("-") or "device"


class RegistryError(ValueError):
    """Unknown ids, duplicate ids or invalid names."""


class RegistryStore(Protocol):
    """Persistence for the registry; each method queues the write and returns at once."""

    def save_device(self, device: Device) -> None: ...
    def delete_device(self, device_id: str) -> None: ...
    def save_room(self, room: Room) -> None: ...
    def delete_room(self, room_id: str) -> None: ...


class _NoStore:
    def save_device(self, device: Device) -> None:
        pass

    def delete_device(self, device_id: str) -> None:
        pass

    def save_room(self, room: Room) -> None:
        pass

    def delete_room(self, room_id: str) -> None:
        pass


class DeviceRegistry:
    def __init__(self, bus: EventBus, store: RegistryStore | None = None) -> None:
        self._bus = bus
        self._store: RegistryStore = store or _NoStore()
        self._devices: dict[str, Device] = {}
        self._rooms: dict[str, Room] = {}
        # (integration, identity key) -> {value: device id}; built on first use, dropped on any
        # change of the device set. Integrations look devices up by transport identity on every
        # announcement, which scanned the registry (quadratic in a 1,000-device home).
        self._by_identity: dict[tuple[str, str], dict[Any, str]] = {}

    def attach_store(self, store: RegistryStore) -> None:
        self._store = store

    def restore(self, rooms: Iterable[Room], devices: Iterable[Device]) -> None:
        """Load the persisted registry at start; availability starts unknown until proven."""
        for room in rooms:
            self._rooms[room.id] = room
        for device in devices:
            device.availability = Availability.UNKNOWN
            self._devices[device.id] = device
        self._by_identity.clear()

    # -- rooms ---------------------------------------------------------------------------------
    def rooms(self) -> list[Room]:
        return sorted(self._rooms.values(), key=lambda r: (r.order, r.id))

    def room(self, room_id: str) -> Room:
        try:
            return self._rooms[room_id]
        except KeyError:
            raise RegistryError(f"unknown room {room_id!r}") from None

    def upsert_room(self, room: Room, context: Context | None = None) -> Room:
        if not DEVICE_ID_RE.match(room.id):
            raise RegistryError(f"room id {room.id!r} must be lowercase letters, digits, - or _")
        if not room.name_zh.strip() or not room.name_en.strip():
            raise RegistryError("a room needs a Chinese and an English name")
        self._rooms[room.id] = room
        self._store.save_room(room)
        self._bus.fire(ROOM_CHANGED, room, context)
        return room

    def remove_room(self, room_id: str, context: Context | None = None) -> None:
        room = self.room(room_id)
        for device in self._devices.values():
            if device.room_id == room_id:
                self.update(device.id, context, room_id=None)
        del self._rooms[room_id]
        self._store.delete_room(room_id)
        self._bus.fire(ROOM_CHANGED, room, context)

    # -- devices -------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Device]:
        return iter(list(self._devices.values()))

    def __len__(self) -> int:
        return len(self._devices)

    def __contains__(self, device_id: object) -> bool:
        return device_id in self._devices

    def get(self, device_id: str) -> Device | None:
        return self._devices.get(device_id)

    def device(self, device_id: str) -> Device:
        try:
            return self._devices[device_id]
        except KeyError:
            raise RegistryError(f"unknown device {device_id!r}") from None

    def in_room(self, room_id: str) -> list[Device]:
        return [d for d in self._devices.values() if d.room_id == room_id]

    def find_by_identity(self, integration: str, key: str, value: Any) -> Device | None:
        try:
            hash(value)
        except TypeError:  # an unhashable identity value: look it up the slow way
            return next(
                (
                    d
                    for d in self._devices.values()
                    if d.integration == integration and d.identity.get(key) == value
                ),
                None,
            )
        index = self._by_identity.get((integration, key))
        if index is None:
            index = {}
            for device in self._devices.values():
                found = device.identity.get(key) if device.integration == integration else None
                if found is not None:
                    with contextlib.suppress(TypeError):
                        index.setdefault(found, device.id)  # the first, as the scan found it
            self._by_identity[(integration, key)] = index
        device_id = index.get(value)
        return self._devices.get(device_id) if device_id is not None else None

    def new_id(self, base: str) -> str:
        stem = slugify(base)[:56]
        candidate, n = stem, 2
        while candidate in self._devices:
            candidate, n = f"{stem}-{n}", n + 1
        return candidate

    def add(self, device: Device, context: Context | None = None) -> Device:
        if device.id in self._devices:
            raise RegistryError(f"device {device.id!r} already exists")
        if not DEVICE_ID_RE.match(device.id):
            raise RegistryError(
                f"device id {device.id!r} must be lowercase letters, digits, - or _"
            )
        if device.room_id is not None and device.room_id not in self._rooms:
            raise RegistryError(f"unknown room {device.room_id!r}")
        self._devices[device.id] = device
        self._by_identity.clear()
        self._store.save_device(device)
        self._bus.fire(DEVICE_ADDED, device, context)
        return device

    def update(self, device_id: str, context: Context | None = None, **changes: Any) -> Device:
        device = self.device(device_id)
        allowed = {"name_zh", "name_en", "room_id", "address", "profile_id", "config", "identity"}
        unknown = set(changes) - allowed
        if unknown:
            raise RegistryError(f"cannot change {', '.join(sorted(unknown))}")
        room_id = changes.get("room_id")
        if room_id is not None and room_id not in self._rooms:
            raise RegistryError(f"unknown room {room_id!r}")
        for key in ("name_zh", "name_en"):
            if key in changes and not str(changes[key]).strip():
                raise RegistryError("a device name cannot be empty")
        updated = replace(device, **changes)
        self._devices[device_id] = updated
        self._by_identity.clear()
        self._store.save_device(updated)
        self._bus.fire(DEVICE_UPDATED, updated, context)
        return updated

    def remove(self, device_id: str, context: Context | None = None) -> Device:
        device = self.device(device_id)
        del self._devices[device_id]
        self._by_identity.clear()
        self._store.delete_device(device_id)
        self._bus.fire(DEVICE_REMOVED, device, context)
        return device

    # -- availability --------------------------------------------------------------------------
    def seen(self, device_id: str, now: float | None = None) -> None:
        """A frame arrived from the device: refresh last_seen and mark it online."""
        device = self._devices.get(device_id)
        if device is None:
            return
        device.last_seen = _now() if now is None else now
        if device.availability is not Availability.ONLINE:
            self.set_availability(device_id, Availability.ONLINE)

    def set_availability(
        self, device_id: str, availability: Availability, context: Context | None = None
    ) -> None:
        device = self._devices.get(device_id)
        if device is None or device.availability is availability:
            return
        old = device.availability
        device.availability = availability
        if availability is Availability.ONLINE and device.last_seen is None:
            device.last_seen = _now()
        self._store.save_device(device)
        self._bus.fire(
            AVAILABILITY_CHANGED,
            AvailabilityChange(device_id, old, availability, device.last_seen),
            context,
        )
