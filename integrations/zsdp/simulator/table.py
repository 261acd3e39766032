"""A product's DP table, read from its profile's ``zsdp`` binding.

Everything the simulator knows about the wire comes from here: which DPs exist and their types,
which carry state (kept in the DP map and returned by GET), which are write-only channels
(``lock`` on DP 6, "shut off" on DP 9 …) and which values a channel accepts, which property each
DP encodes, which commands a SET corresponds to, and which raw value makes the hub derive a given
event. Nothing here is written per product: a maker's profile is enough.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.capabilities.codecs import Codec
from hub.capabilities.model import PropertyDef, ValueType
from hub.profiles.compiled import LoadedProfile
from hub.profiles.runtime import MISSING, DpCommand, DpRuntime, coerce_dp_raw, same_raw
from hub.profiles.schema import DpEventRule
from integrations.zsdp.wire import DPType, DPValue

__all__ = [
    "CommandMatch",
    "DpSpec",
    "DpTable",
    "TableError",
    "from_dp_value",
    "to_dp_value",
]

_TYPE_NAMES: dict[str, DPType] = {
    "bool": DPType.BOOL,
    "value": DPType.VALUE,
    "enum": DPType.ENUM,
    "string": DPType.STRING,
    "raw": DPType.RAW,
    "bitmap": DPType.BITMAP,
}
_PARAM_TYPES: dict[ValueType, DPType] = {
    ValueType.BOOL: DPType.BOOL,
    ValueType.INT: DPType.VALUE,
    ValueType.NUMBER: DPType.VALUE,
    ValueType.ENUM: DPType.ENUM,
    ValueType.STRING: DPType.STRING,
    ValueType.SECRET: DPType.STRING,
}
# Types a hub may reasonably pick for the same Python value (text, integers).
_COMPATIBLE: tuple[frozenset[DPType], ...] = (
    frozenset({DPType.ENUM, DPType.STRING}),
    frozenset({DPType.VALUE, DPType.BITMAP}),
)
_EDGE_TRIGGERS = frozenset({"rising", "falling", "change"})
_COMPARISON = re.compile(r"^\s*(<=|>=|==|!=|<|>)")
_ENUM_TEXT = re.compile(r"[A-Za-z0-9_.\-]{1,32}")


class TableError(ValueError):
    """The profile cannot be simulated (no ``zsdp`` binding …)."""


def from_dp_value(value: DPValue) -> Any:
    """A wire value as the binding's codecs take it (bool, int, str or bytes)."""
    return value.value


def to_dp_value(dp_type: DPType | None, raw: Any) -> DPValue:
    """A raw value as a typed DP value; an untyped channel takes its type from the value."""
    if dp_type is None:
        if raw is True or raw is False:
            dp_type = DPType.BOOL
        elif isinstance(raw, int):
            dp_type = DPType.VALUE
        elif isinstance(raw, bytes):
            dp_type = DPType.RAW
        else:
            text = str(raw)
            dp_type = DPType.ENUM if _ENUM_TEXT.fullmatch(text) else DPType.STRING
    if dp_type is DPType.RAW and isinstance(raw, str):
        return DPValue(dp_type, bytes.fromhex(raw))
    if dp_type in (DPType.ENUM, DPType.STRING) and not isinstance(raw, str):
        return DPValue(dp_type, str(raw))
    return DPValue(dp_type, raw)


def types_compatible(expected: DPType | None, got: DPType) -> bool:
    if expected is None or expected is got:
        return True
    return any(expected in group and got in group for group in _COMPATIBLE)


@dataclass(slots=True)
class DpSpec:
    """One DP of the product."""

    dp: int
    type: DPType | None  # None: a channel only ever written with values of mixed origin
    properties: list[str] = field(default_factory=list)  # property paths decoded from this DP
    primary: str | None = None  # the property whose codec encodes the DP's value
    writable: bool = False
    stateful: bool = False  # kept in the DP map and answered to GET
    # A pure channel (no property) written only with constants accepts only those.
    allowed: list[Any] | None = None
    raw_range: tuple[float, float] | None = None  # from a `linear` codec, which clamps
    events: list[str] = field(default_factory=list)  # event paths derived from this DP

    def default_raw(self) -> Any:
        match self.type:
            case DPType.BOOL:
                return False
            case DPType.VALUE | DPType.BITMAP:
                return 0
            case DPType.RAW:
                return b""
            case _:
                return ""


@dataclass(frozen=True, slots=True)
class CommandMatch:
    """A capability command recognised in a SET, with the arguments it carried."""

    path: str  # component/capability.command
    component: str
    capability: str
    command: str
    args: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _CommandShape:
    path: str
    constants: dict[int, Any]
    params: dict[int, str]  # DP -> parameter whose value the DP carries as it is


class DpTable:
    """The DP table of one profile's ``zsdp`` binding."""

    def __init__(self, profile: LoadedProfile) -> None:
        binding = profile.binding("zsdp")
        doc = profile.model.bindings.zsdp
        if binding is None or doc is None:
            raise TableError(f"{profile.id} has no zsdp binding: it cannot be simulated")
        self.profile = profile
        self.binding: DpRuntime = binding
        self.specs: dict[int, DpSpec] = {}
        # property path -> (DP, codec, property definition)
        self.properties: dict[str, tuple[int, Codec, PropertyDef]] = {}
        self._event_rules: dict[str, list[DpEventRule]] = {}
        self._shapes: list[_CommandShape] = []

        for path, entry in doc.properties.items():
            spec = self._spec(entry.dp, _TYPE_NAMES[entry.type])
            spec.stateful = True
            spec.properties.append(path)
            if entry.linear is not None and spec.raw_range is None:
                low, high = sorted(entry.linear.raw)
                spec.raw_range = (low, high)
        for address in binding.addresses():
            dp = _dp(address)
            for dec in binding.decoders_at(address):
                self.properties[dec.path] = (dp, dec.codec, dec.prop)
                spec = self.specs[dp]
                if spec.primary is None and dec.codec.invertible:
                    spec.primary = dec.path
        for path in binding.writable_properties():
            self.specs[self.properties[path][0]].writable = True
        for path, rules in doc.events.items():
            for rule in rules:
                self._event_rules.setdefault(path, []).append(rule)
                spec = self._spec(rule.dp, _TYPE_NAMES[rule.type] if rule.type else None)
                spec.events.append(path)
                if rule.transition is not None or rule.trigger in _EDGE_TRIGGERS:
                    spec.stateful = True  # the hub needs the value before the edge
        self._read_commands(profile)

    def _spec(self, dp: int, dp_type: DPType | None) -> DpSpec:
        spec = self.specs.get(dp)
        if spec is None:
            spec = self.specs[dp] = DpSpec(dp, dp_type)
        elif spec.type is None:
            spec.type = dp_type
        return spec

    def _read_commands(self, profile: LoadedProfile) -> None:
        channel_values: dict[int, list[Any]] = {}
        open_channels: set[int] = set()
        for path in sorted(self.binding.supported_commands()):
            encoder = self.binding.command_encoder(path)
            if not isinstance(encoder, DpCommand):
                continue
            command = profile.command_def(path)
            constants: dict[int, Any] = {}
            params: dict[int, str] = {}
            for dp, expr, raw_type in encoder.writes:
                if expr.is_constant:
                    value = coerce_dp_raw(raw_type, expr.constant)
                    constants[dp] = value
                    channel_values.setdefault(dp, []).append(value)
                    dp_type = _TYPE_NAMES[raw_type] if raw_type else None
                    self._spec(dp, dp_type if dp_type else to_dp_value(None, value).type)
                    continue
                open_channels.add(dp)
                param_type: DPType | None = None
                if len(expr.params_used) == 1:
                    (name,) = expr.params_used
                    if expr.source.strip() == name:
                        params[dp] = name
                    pdef = command.params.get(name) if command is not None else None
                    param_type = _PARAM_TYPES.get(pdef.type) if pdef is not None else None
                self._spec(dp, _TYPE_NAMES[raw_type] if raw_type else param_type)
            for dp, _expr, _codec, _prop in encoder.sets:
                open_channels.add(dp)
            for dp in (*(w[0] for w in encoder.writes), *(s[0] for s in encoder.sets)):
                self.specs[dp].writable = True
            if constants:
                self._shapes.append(_CommandShape(path, constants, params))
        for dp, values in channel_values.items():
            spec = self.specs[dp]
            if not spec.properties and dp not in open_channels:
                spec.allowed = values

    # ------------------------------------------------------------------ queries

    def stateful(self) -> list[DpSpec]:
        return [s for s in sorted(self.specs.values(), key=lambda s: s.dp) if s.stateful]

    def match_commands(self, raw: Mapping[int, Any]) -> list[CommandMatch]:
        """The commands whose constant writes all appear in a SET (``{6: unlock, 7: pin}`` is
        ``main/lock.unlock`` with ``pin``)."""
        out: list[CommandMatch] = []
        for shape in self._shapes:
            if all(dp in raw and same_raw(raw[dp], v) for dp, v in shape.constants.items()):
                args = {name: raw[dp] for dp, name in shape.params.items() if dp in raw}
                target, command = shape.path.rsplit(".", 1)
                component, capability = target.split("/", 1)
                out.append(CommandMatch(shape.path, component, capability, command, args))
        return out

    def event_rules(self, path: str) -> list[DpEventRule]:
        return list(self._event_rules.get(path, ()))

    def event_raw(
        self, path: str, fields: Mapping[str, Any], current: Mapping[int, Any]
    ) -> tuple[int, Any] | None:
        """The DP and raw value that make the hub derive event ``path`` with ``fields``
        (checked by decoding it through the binding, as the hub will), or None."""
        known = self.binding.decode(current).states
        for rule in self._event_rules.get(path, ()):
            prev = current.get(rule.dp, MISSING)
            for candidate in _candidates(rule, fields, prev):
                spec = self.specs[rule.dp]
                try:
                    raw = coerce_dp_raw(_type_name(spec.type), candidate)
                except ValueError:
                    continue
                previous = {} if prev is MISSING else {rule.dp: prev}
                result = self.binding.decode({rule.dp: raw}, previous, known.get)
                for event_path, got in result.events:
                    if event_path == path and all(
                        k in got and same_raw(got[k], v) for k, v in fields.items()
                    ):
                        return rule.dp, raw
        return None


def _type_name(dp_type: DPType | None) -> str | None:
    if dp_type is None:
        return None
    return next(k for k, v in _TYPE_NAMES.items() if v is dp_type)


def _dp(address: Hashable) -> int:
    if not isinstance(address, int):
        raise TableError(f"zsdp address {address!r} is not a DP number")
    return address


def _candidates(rule: DpEventRule, fields: Mapping[str, Any], prev: Any) -> Iterable[Any]:
    """Raw values that might fire ``rule`` with ``fields``; the caller checks each."""
    for name, spec in rule.emit.items():
        if spec == "$raw" and name in fields:
            yield fields[name]
    if "when" in rule.model_fields_set:
        when = rule.when
        if not (isinstance(when, str) and _COMPARISON.match(when)):
            yield when
    if rule.transition is not None:
        yield rule.transition.to
    if rule.bit is not None:
        base = prev if isinstance(prev, int) and not isinstance(prev, bool) else 0
        yield base | (1 << rule.bit)
    if rule.trigger in ("rising", "nonzero", "change"):
        yield True
        yield 1
    if rule.trigger == "falling":
        yield False
        yield 0
