"""A floor plan for dry runs: rooms and devices from a home file, so an integrator can try a pack
against a home before (or without) installing a hub: ``zshub rule test … --home plan.yaml``.

The file is the simulator's home format (``zshub.sim-home/1``, docs/simulator.md), so the same
plan can drive simulated devices too::

    schema: zshub.sim-home/1
    rooms:
      - {id: kitchen, name: {zh: 厨房, en: Kitchen}}
    devices:
      - key: kitchen-hood                       # the device id in the dry run
        profile: cn.zs.demo-kitchen.cxw-t9      # a profile id from the library
        room: kitchen
        name: {zh: 油烟机, en: Range hood}
        state: {main/fan/mode: "off"}           # starting values (optional)

Reading is blocking file I/O (callers use an executor).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.core.registry import Device, Room
from hub.util.yamlio import YamlError, load_yaml_file

__all__ = ["HOME_SCHEMA", "FloorPlan", "HomeFileError", "load_floor_plan"]

HOME_SCHEMA = "zshub.sim-home/1"
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class HomeFileError(ValueError):
    """A home file that cannot be used; the message names the file, line and field."""


@dataclass(slots=True)
class FloorPlan:
    rooms: list[Room] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    states: dict[str, Any] = field(default_factory=dict)  # full state path -> starting value


def _names(node: Any, where: str, fallback: str) -> tuple[str, str]:
    if node is None:
        return fallback, fallback
    if not isinstance(node, Mapping) or not all(
        isinstance(node.get(k), str) and node.get(k) for k in ("zh", "en")
    ):
        raise HomeFileError(f"{where}: name is {{zh: …, en: …}}")
    return str(node["zh"]), str(node["en"])


def load_floor_plan(path: Path) -> FloorPlan:
    try:
        data, lines = load_yaml_file(path)
    except (OSError, YamlError) as err:
        raise HomeFileError(f"{path}: {err}") from err
    if not isinstance(data, Mapping) or data.get("schema") != HOME_SCHEMA:
        raise HomeFileError(f"{path}: not a home file (schema: {HOME_SCHEMA})")
    plan = FloorPlan()
    for i, node in enumerate(data.get("rooms") or []):
        where = f"{path}:{lines.get(('rooms', i)) or '?'}: rooms.{i}"
        if not isinstance(node, Mapping) or not isinstance(node.get("id"), str):
            raise HomeFileError(f"{where}: a room is {{id: …, name: {{zh: …, en: …}}}}")
        room_id = str(node["id"])
        if not _ID_RE.match(room_id):
            raise HomeFileError(f"{where}.id: {room_id!r}: lowercase letters, digits, - and _")
        zh, en = _names(node.get("name"), where, room_id)
        plan.rooms.append(Room(room_id, zh, en, i))
    rooms = {r.id for r in plan.rooms}
    seen: set[str] = set()
    for i, node in enumerate(data.get("devices") or []):
        where = f"{path}:{lines.get(('devices', i)) or '?'}: devices.{i}"
        if not isinstance(node, Mapping):
            raise HomeFileError(f"{where}: expected a mapping")
        key, profile = node.get("key"), node.get("profile")
        if not isinstance(key, str) or not _ID_RE.match(key):
            raise HomeFileError(f"{where}.key: the device id: lowercase letters, digits, - and _")
        if key in seen:
            raise HomeFileError(f"{where}.key: {key} is used twice")
        seen.add(key)
        if not isinstance(profile, str):
            raise HomeFileError(f"{where}.profile: a profile id from the library")
        room = node.get("room")
        if room is not None and room not in rooms:
            raise HomeFileError(f"{where}.room: no room {room!r} in this file")
        zh, en = _names(node.get("name"), where, key)
        plan.devices.append(Device(key, zh, en, profile, "dry-run", "dry-run", {"key": key}, room))
        state = node.get("state") or {}
        if not isinstance(state, Mapping):
            raise HomeFileError(f"{where}.state: property path: value pairs")
        for member, value in state.items():
            plan.states[f"{key}/{member}"] = value
    return plan
