"""Capability member paths (``main/brightness/level``, ``main/onoff.on``) and their resolution.

Properties and events are ``component/capability/member``, commands
``component/capability.command``; the capability is named without ``@major`` (a component holds
one major of a capability).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from hub.capabilities.catalogue import CapabilityInstance
from hub.capabilities.model import CommandDef, EventDef, PropertyDef

__all__ = [
    "CommandRef",
    "ComponentMap",
    "EventRef",
    "PathError",
    "PropertyRef",
    "parse_capability_path",
    "parse_command_path",
    "parse_member_path",
]

_COMPONENT = r"(?P<component>[a-z][a-z0-9_]*)"
_CAPABILITY = r"(?P<capability>(?:vendor\.[a-z0-9-]+\.)?[a-z][a-z0-9_]*)"
_MEMBER = r"(?P<member>[a-z][a-z0-9_]*)"
_MEMBER_PATH = re.compile(rf"^{_COMPONENT}/{_CAPABILITY}/{_MEMBER}$")
_COMMAND_PATH = re.compile(rf"^{_COMPONENT}/{_CAPABILITY}\.{_MEMBER}$")
_CAPABILITY_PATH = re.compile(rf"^{_COMPONENT}/{_CAPABILITY}$")

# Commands whose absence is a design decision worth explaining when a profile tries to bind them.
_NEVER_BURNER = frozenset({"on", "ignite", "toggle", "start"})


class PathError(ValueError):
    """A path that is malformed or does not resolve; the message is meant for profile authors."""


def parse_member_path(path: str) -> tuple[str, str, str]:
    m = _MEMBER_PATH.match(path)
    if m is None:
        raise PathError(f"{path!r} is not a path like component/capability/member")
    return m["component"], m["capability"], m["member"]


def parse_command_path(path: str) -> tuple[str, str, str]:
    m = _COMMAND_PATH.match(path)
    if m is None:
        raise PathError(f"{path!r} is not a command path like component/capability.command")
    return m["component"], m["capability"], m["member"]


def parse_capability_path(path: str) -> tuple[str, str]:
    m = _CAPABILITY_PATH.match(path)
    if m is None:
        raise PathError(f"{path!r} is not a path like component/capability")
    return m["component"], m["capability"]


@dataclass(frozen=True, slots=True)
class PropertyRef:
    path: str
    component: str
    instance: CapabilityInstance
    name: str
    prop: PropertyDef


@dataclass(frozen=True, slots=True)
class CommandRef:
    path: str
    component: str
    instance: CapabilityInstance
    name: str
    command: CommandDef


@dataclass(frozen=True, slots=True)
class EventRef:
    path: str
    component: str
    instance: CapabilityInstance
    name: str
    event: EventDef


def _names(items: Mapping[str, object]) -> str:
    return ", ".join(sorted(items)) or "none"


class ComponentMap:
    """A profile's components and their capability instances, by capability name."""

    __slots__ = ("components",)

    def __init__(self, components: Mapping[str, Mapping[str, CapabilityInstance]]) -> None:
        self.components: dict[str, dict[str, CapabilityInstance]] = {
            c: dict(caps) for c, caps in components.items()
        }

    def capability(self, component: str, capability: str) -> CapabilityInstance:
        caps = self.components.get(component)
        if caps is None:
            raise PathError(
                f"unknown component {component!r} (components: {_names(self.components)})"
            )
        inst = caps.get(capability)
        if inst is None:
            raise PathError(
                f"component {component!r} has no capability {capability!r} (it has: {_names(caps)})"
            )
        return inst

    def property(self, path: str) -> PropertyRef:
        component, capability, member = parse_member_path(path)
        inst = self.capability(component, capability)
        prop = inst.properties.get(member)
        if prop is None:
            raise PathError(
                f"{inst.key} has no property {member!r} (properties: {_names(inst.properties)})"
            )
        return PropertyRef(path, component, inst, member, prop)

    def event(self, path: str) -> EventRef:
        component, capability, member = parse_member_path(path)
        inst = self.capability(component, capability)
        event = inst.events.get(member)
        if event is None:
            raise PathError(f"{inst.key} has no event {member!r} (events: {_names(inst.events)})")
        return EventRef(path, component, inst, member, event)

    def command(self, path: str) -> CommandRef:
        component, capability, member = parse_command_path(path)
        inst = self.capability(component, capability)
        cmd = inst.commands.get(member)
        if cmd is not None:
            return CommandRef(path, component, inst, member, cmd)
        declared = inst.capdef.commands.get(member)
        if declared is not None:
            features = sorted(inst.features.intersection(declared.excluded_by))
            raise PathError(
                f"{inst.key} command {member!r} is not available: feature "
                f"{', '.join(features)} is on for {component}/{capability}"
            )
        message = f"{inst.key} has no command {member!r} (commands: {_names(inst.commands)})"
        if inst.name == "burner" and member in _NEVER_BURNER:
            message += "; remote ignition is deliberately not part of burner@1"
        raise PathError(message)

    def iter_instances(self) -> list[tuple[str, CapabilityInstance]]:
        return [(c, inst) for c, caps in self.components.items() for inst in caps.values()]
