"""Targets: which devices a rule means, resolved when it runs (so packs work in any home).

A target is a device id, ``role:<role>`` (from the device's profile ``safety.roles``),
``room:<room id>``, ``category:<prefix>`` (``category:light.``) or ``capability:<name>`` (every
device with a component that has it), optionally narrowed to one room. Nothing here raises for a
target that matches nothing: the result carries a zh/en note that the trace shows ("no device
has the role gas_shutoff in kitchen").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from hub.capabilities.model import CommandDef
from hub.core.bus import EventBus, Unsubscribe
from hub.core.events import Event
from hub.core.registry import (
    DEVICE_ADDED,
    DEVICE_REMOVED,
    DEVICE_UPDATED,
    ROOM_CHANGED,
    Device,
    DeviceRegistry,
)
from hub.core.state import StateStore
from rules.kernel import ProfileView
from rules.messages import Note, note

__all__ = [
    "CommandRef",
    "MemberPattern",
    "Resolution",
    "ResolvedCommand",
    "Selector",
    "TargetResolver",
    "main_first",
    "scope_room",
]

SelectorKind = Literal["device", "role", "room", "category", "capability"]

# Parsed selectors, patterns and command names by their text: rules are checked on every state
# change, and their texts are few (the loaded rules'), so each is parsed once.
_PARSED: dict[tuple[str, Any], Any] = {}
_PARSED_MAX = 10_000


def _parsed(kind: str, text: Any, parse: Callable[[], Any]) -> Any:
    key = (kind, text)
    found = _PARSED.get(key)
    if found is None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        found = _PARSED[key] = parse()
    return found


@dataclass(frozen=True, slots=True)
class Selector:
    kind: SelectorKind
    value: str

    @classmethod
    def parse(cls, text: str) -> Selector:
        selector: Selector = _parsed("selector", text, lambda: cls._parse(text))
        return selector

    @classmethod
    def _parse(cls, text: str) -> Selector:
        for prefix in ("role", "room", "category", "capability"):
            if text.startswith(prefix + ":"):
                return cls(prefix, text[len(prefix) + 1 :])
        return cls("device", text)

    @classmethod
    def parse_all(cls, texts: Iterable[str]) -> tuple[Selector, ...]:
        key = tuple(texts)
        selectors: tuple[Selector, ...] = _parsed(
            "selectors", key, lambda: tuple(cls.parse(t) for t in key)
        )
        return selectors

    def __str__(self) -> str:
        return self.value if self.kind == "device" else f"{self.kind}:{self.value}"


@dataclass(frozen=True, slots=True)
class MemberPattern:
    """``[component/]capability/member``; without a component (or with ``*``) any component
    matches; ``every`` remembers a written ``*`` (a scene sets it on every component)."""

    component: str | None
    capability: str
    member: str
    every: bool = False

    @classmethod
    def parse(cls, text: str) -> MemberPattern:
        pattern: MemberPattern = _parsed("member", text, lambda: cls._parse(text))
        return pattern

    @classmethod
    def _parse(cls, text: str) -> MemberPattern:
        parts = text.split("/")
        if len(parts) == 3:
            if parts[0] == "*":
                return cls(None, parts[1], parts[2], every=True)
            return cls(parts[0], parts[1], parts[2])
        return cls(None, parts[0], parts[1])

    def matches(self, path: str) -> bool:
        """``path`` is ``component/capability/member`` (a device path without the device)."""
        component, _, rest = path.partition("/")
        capability, _, member = rest.partition("/")
        return (
            member == self.member
            and capability == self.capability
            and (self.component is None or component == self.component)
        )

    def __str__(self) -> str:
        head = "*/" if self.every else f"{self.component}/" if self.component else ""
        return f"{head}{self.capability}/{self.member}"


@dataclass(frozen=True, slots=True)
class CommandRef:
    """``[component/]capability.command``; ``*/`` (``every``): every component with it."""

    component: str | None
    capability: str
    command: str
    every: bool = False

    @classmethod
    def parse(cls, text: str) -> CommandRef:
        ref: CommandRef = _parsed("command", text, lambda: cls._parse(text))
        return ref

    @classmethod
    def _parse(cls, text: str) -> CommandRef:
        head, _, command = text.rpartition(".")
        component, _, capability = head.rpartition("/")
        if component == "*":
            return cls(None, capability, command, every=True)
        return cls(component or None, capability, command)

    def __str__(self) -> str:
        head = "*/" if self.every else f"{self.component}/" if self.component else ""
        return f"{head}{self.capability}.{self.command}"


@dataclass(slots=True)
class Resolution:
    devices: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"devices": list(self.devices), "notes": list(self.notes)}


@dataclass(frozen=True, slots=True)
class ResolvedCommand:
    device_id: str
    target: str  # component/capability.command, as CommandService.send takes it
    capability: str
    command: str
    definition: CommandDef | None  # None only in a dry run without the device's profile


class TargetResolver:
    def __init__(
        self,
        registry: DeviceRegistry,
        profile_of: Callable[[Device], ProfileView | None],
        *,
        assume_unknown: bool = False,
    ) -> None:
        self._registry = registry
        self._profile_of = profile_of
        self._assume_unknown = assume_unknown  # dry runs: unknown ids are taken as named
        # Resolutions by (selectors, room), kept while :meth:`watch` sees the registry
        # unchanged (a run's conditions and commands resolve on every run).
        self._cache: dict[tuple[tuple[Selector, ...], str | None], Resolution] | None = None
        # member_paths: (device, pattern) -> (the device's state map, its size, the paths).
        # The store only adds paths to a device's map (removing a device drops the whole map),
        # so the same map at the same size holds the same paths.
        self._members: dict[
            tuple[str, MemberPattern], tuple[Mapping[str, Any], int, list[str]]
        ] = {}

    def watch(self, bus: EventBus) -> Unsubscribe:
        """Cache resolutions until a device or room is added, changed or removed."""
        self._cache = {}
        unsubs = [
            bus.listen(event_type, self._forget)
            for event_type in (DEVICE_ADDED, DEVICE_UPDATED, DEVICE_REMOVED, ROOM_CHANGED)
        ]

        def unwatch() -> None:
            for unsub in unsubs:
                unsub()
            self._cache = None

        return unwatch

    def _forget(self, event: Event[Any]) -> None:
        if self._cache is not None:
            self._cache.clear()

    def room_of(self, device_id: str | None) -> str | None:
        if device_id is None:
            return None
        device = self._registry.get(device_id)
        return device.room_id if device is not None else None

    def _selects(self, selector: Selector, device: Device) -> bool:
        if selector.kind == "device":
            return device.id == selector.value
        if selector.kind == "room":
            return device.room_id == selector.value
        profile = self._profile_of(device)
        if profile is None:
            return False
        if selector.kind == "role":
            return selector.value in profile.roles
        if selector.kind == "capability":
            return bool(profile.components_with(selector.value))
        return profile.category.startswith(selector.value)

    def matches(
        self, selectors: Sequence[Selector], device_id: str, room: str | None = None
    ) -> bool:
        """Is this device one of the targets (cheap: used on every state change)?"""
        device = self._registry.get(device_id)
        if device is None:
            # A device the registry does not know can still be named by id (no room to check).
            return room is None and any(
                s.kind == "device" and s.value == device_id for s in selectors
            )
        if room is not None and device.room_id != room:
            return False
        return any(self._selects(s, device) for s in selectors)

    def resolve(self, targets: Sequence[Selector], room: str | None = None) -> Resolution:
        cache = self._cache
        if cache is None:
            return self._resolve(targets, room)
        key = (tuple(targets), room)
        found = cache.get(key)
        if found is None:
            if len(cache) >= _PARSED_MAX:
                cache.clear()
            found = cache[key] = self._resolve(targets, room)
        return Resolution(list(found.devices), list(found.notes))  # callers may add to it

    def _resolve(self, targets: Sequence[Selector], room: str | None) -> Resolution:
        out = Resolution()
        seen: set[str] = set()
        where = f" ({room})" if room is not None else ""
        for selector in targets:
            found: list[str] = []
            if selector.kind == "device":
                device = self._registry.get(selector.value)
                if device is None:
                    out.notes.append(note("no_such_device", device=selector.value))
                    if self._assume_unknown and room is None and selector.value not in seen:
                        seen.add(selector.value)
                        out.devices.append(selector.value)
                    continue
                if room is not None and device.room_id != room:
                    out.notes.append(note("device_not_in_room", device=device.id, room=room))
                    continue
                found.append(device.id)
            else:
                found = sorted(
                    d.id
                    for d in self._registry
                    if (room is None or d.room_id == room) and self._selects(selector, d)
                )
                if not found:
                    if selector.kind == "role":
                        out.notes.append(note("no_role_devices", role=selector.value, where=where))
                    elif selector.kind == "room":
                        out.notes.append(note("no_room_devices", room=selector.value))
                    elif selector.kind == "capability":
                        out.notes.append(
                            note("no_capability_devices", capability=selector.value, where=where)
                        )
                    else:
                        out.notes.append(
                            note("no_category_devices", category=selector.value, where=where)
                        )
            for device_id in found:
                if device_id not in seen:
                    seen.add(device_id)
                    out.devices.append(device_id)
        return out

    def command(self, device_id: str, name: str) -> ResolvedCommand | Note:
        """Where ``[component/]capability.command`` lives on this device, or why it cannot run
        (the first component for ``*/``; :meth:`commands` gives them all)."""
        found = self.commands(device_id, name)
        return found if isinstance(found, dict) else found[0]

    def commands(self, device_id: str, name: str) -> list[ResolvedCommand] | Note:
        """Every place the command runs on this device: one component, or with ``*/`` each
        component that has it (``main`` first); a note when there is none."""
        ref = CommandRef.parse(name)
        device = self._registry.get(device_id)
        profile = self._profile_of(device) if device is not None else None
        if profile is None:
            if self._assume_unknown:
                target = f"{ref.component or 'main'}/{ref.capability}.{ref.command}"
                return [ResolvedCommand(device_id, target, ref.capability, ref.command, None)]
            if device is None:
                return note("no_such_device", device=device_id)
            return note("no_profile", device=device_id)
        components = (
            [ref.component]
            if ref.component
            else main_first(profile.components_with(ref.capability))
        )
        out: list[ResolvedCommand] = []
        for component in components:
            definition = profile.commands_of(component, ref.capability).get(ref.command)
            if definition is not None:
                out.append(
                    ResolvedCommand(
                        device_id,
                        f"{component}/{ref.capability}.{ref.command}",
                        ref.capability,
                        ref.command,
                        definition,
                    )
                )
                if not ref.every:
                    break
        if not out:
            return note("no_command", device=device_id, command=str(ref))
        return out

    def member_paths(self, device_id: str, pattern: MemberPattern, states: StateStore) -> list[str]:
        """Full state paths on this device that ``pattern`` names."""
        if pattern.component is not None:
            return [f"{device_id}/{pattern}"]
        held = states.device_states(device_id)
        key = (device_id, pattern)
        cached = self._members.get(key)
        if cached is not None and cached[0] is held and cached[1] == len(held):
            return list(cached[2])  # callers may change their list
        prefix = len(device_id) + 1
        known = sorted(p for p in held if pattern.matches(p[prefix:]))
        if known:
            if len(self._members) >= _PARSED_MAX:
                self._members.clear()
            self._members[key] = (held, len(held), known)
            return list(known)
        profile = self.profile_of_id(device_id)
        if profile is None:
            return []
        return [
            f"{device_id}/{c}/{pattern.capability}/{pattern.member}"
            for c in main_first(profile.components_with(pattern.capability))
        ]

    def profile_of_id(self, device_id: str) -> ProfileView | None:
        device = self._registry.get(device_id)
        return self._profile_of(device) if device is not None else None


def main_first(components: Sequence[str]) -> list[str]:
    """Component order for a capability: ``main`` first, then by name (deterministic)."""
    return sorted(components, key=lambda c: (c != "main", c))


def scope_room(room: str | None, trigger_room: str | None) -> tuple[str | None, bool]:
    """A ``room:`` setting for this run: (room id or None for "anywhere", unresolved?).
    ``same`` is the triggering device's room; without one it cannot be resolved."""
    if room is None:
        return None, False
    if room == "same":
        return (trigger_room, False) if trigger_room is not None else (None, True)
    return room, False
