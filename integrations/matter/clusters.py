"""Matter command names and fields, as the CHIP cluster definitions the Matter server uses say.

Profiles name a command by numbers (cluster 0x0008, command 0x04) and its fields by their spec
names (``Level``, ``TransitionTime``, ``PINCode``); the server's ``device_command`` wants the
CHIP class name (``MoveToLevelWithOnOff``) and the CHIP field labels (``level``,
``transitionTime``, ``PINCode``), and silently ignores a field it does not know. So the labels are
matched here (case-insensitively), unknown ones are refused before anything is sent, and each
value is given the wire form its CHIP type needs: bytes as base64 text, whole numbers as ints.

``chip.clusters.Objects`` takes 3-5 s and ~40 MiB to import, so the hub does not: the table it
needs (every accepted command: name, whether it must be timed, field labels and wire kinds) is
generated from it into :mod:`integrations.matter.command_table` by
``python -m integrations.matter.gen_command_table``; a unit test checks the table against the
installed CHIP definitions, so a new python-matter-server cannot leave it stale unnoticed.
"""

from __future__ import annotations

import base64
import enum
import importlib
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CommandSpec",
    "FieldSpec",
    "MatterCatalogue",
    "catalogue",
    "chip_command_table",
]

DEFAULT_TIMED_MS = 10_000  # for commands Matter requires as timed when the profile gives none


@dataclass(frozen=True, slots=True)
class FieldSpec:
    label: str
    kind: str  # "int", "float", "bytes", "bool", "str", "other"


@dataclass(frozen=True, slots=True)
class CommandSpec:
    cluster_id: int
    command_id: int
    name: str
    fields: dict[str, FieldSpec]  # lower-case label -> spec
    timed: bool

    def payload(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Profile field names and values -> the server's payload; ValueError when a field is
        unknown or a value does not fit its type."""
        out: dict[str, Any] = {}
        for name, value in values.items():
            spec = self.fields.get(name.lower())
            if spec is None:
                known = ", ".join(sorted(f.label for f in self.fields.values())) or "none"
                raise ValueError(f"{self.name} has no field {name!r} (fields: {known})")
            out[spec.label] = _wire_value(spec, value)
        return out


def _wire_value(spec: FieldSpec, value: Any) -> Any:
    if value is None:
        return None
    if spec.kind == "bytes":
        if isinstance(value, str):
            value = value.encode("utf-8")
        if isinstance(value, bytes | bytearray):
            return base64.b64encode(bytes(value)).decode("ascii")
        raise ValueError(f"{spec.label} needs text or bytes, got {value!r}")
    if spec.kind == "int":
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(f"{spec.label} needs a number, got {value!r}")
            return round(value)
        if isinstance(value, int):
            return value
        raise ValueError(f"{spec.label} needs a whole number, got {value!r}")
    if spec.kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _kind(tp: Any) -> str:
    """The wire kind of a CHIP field type (``Optional``/``Nullable`` unions stripped)."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        kinds = {
            _kind(a)
            for a in typing.get_args(tp)
            if a is not type(None) and getattr(a, "__name__", "") != "Nullable"
        }
        return kinds.pop() if len(kinds) == 1 else "other"
    if not isinstance(tp, type):
        return "other"
    if issubclass(tp, bool):
        return "bool"
    if issubclass(tp, int | enum.IntEnum):
        return "int"
    if issubclass(tp, float):
        return "float"
    if issubclass(tp, bytes):
        return "bytes"
    if issubclass(tp, str):
        return "str"
    return "other"


class MatterCatalogue:
    """Command specs by (cluster id, command id), from a table
    ``{cluster: {command: (name, timed, ((label, kind), …))}}``."""

    def __init__(self, table: Mapping[int, Mapping[int, CommandRow]]) -> None:
        self._table = table
        self._cache: dict[tuple[int, int], CommandSpec | None] = {}

    def command(self, cluster_id: int, command_id: int) -> CommandSpec | None:
        key = (cluster_id, command_id)
        if key in self._cache:
            return self._cache[key]
        row = self._table.get(cluster_id, {}).get(command_id)
        spec = None
        if row is not None:
            name, timed, fields = row
            specs = {label.lower(): FieldSpec(label, kind) for label, kind in fields}
            spec = CommandSpec(cluster_id, command_id, name, specs, timed)
        self._cache[key] = spec
        return spec


# (command class name, must be a timed invoke, ((field label, wire kind), …))
CommandRow = tuple[str, bool, tuple[tuple[str, str], ...]]
_catalogue: MatterCatalogue | None = None


def catalogue() -> MatterCatalogue:
    """The catalogue from the generated table (imported on first use: ~30 KB)."""
    global _catalogue
    if _catalogue is None:
        from integrations.matter.command_table import COMMANDS

        _catalogue = MatterCatalogue(COMMANDS)
    return _catalogue


def chip_command_table() -> dict[int, dict[int, CommandRow]]:
    """The table as the installed CHIP cluster definitions say (slow: imports them)."""
    importlib.import_module("chip.clusters.Objects")  # defines and registers every cluster
    registry = importlib.import_module("chip.clusters.ClusterObjects")
    table: dict[int, dict[int, CommandRow]] = {}
    for cluster_id, commands in sorted(registry.ALL_ACCEPTED_COMMANDS.items()):
        for command_id, cls in sorted(commands.items()):
            fields = tuple((f.Label, _kind(f.Type)) for f in cls.descriptor.Fields)
            timed = bool(getattr(cls, "must_use_timed_invoke", False))
            table.setdefault(int(cluster_id), {})[int(command_id)] = (cls.__name__, timed, fields)
    return table
