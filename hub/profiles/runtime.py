"""Run-time bindings: what integrations call to decode device reports and encode commands.

Everything here is built once when a profile loads (:mod:`hub.profiles.compiled`): codecs,
expressions, address tables and event rules. :meth:`RuntimeBinding.decode` is called for every
device report, so it is a dict lookup per reported address plus the precompiled codec stages.

Addresses per transport:

* ``zsdp``/``tuya_lan``/``tuya_ble``: DP id (``int``);
* ``matter``: ``(endpoint, cluster, attribute)`` ints (:func:`parse_matter_address` reads
  ``"1/0x0300/0x0007"``); native events are keyed ``(endpoint, cluster, event)``;
* ``ble_gatt``: ``"frame.field"`` (:meth:`GattRuntime.decode_frame` takes the frame bytes);
* ``bthome``: object id (``int``), with the value as the BTHome object defines it (factor applied).

Derived events (§4.3) compare the *observed* value: the raw value, or the rule's own codec output
(``bit``, ``map`` …) when the rule has codec keys. ``previous`` is the last raw report the driver
knows; without it there is no edge. ``rising``/``falling``/``change``/``transition`` need a
previous value; ``nonzero`` fires when the value is non-zero and differs from the previous one (or
none is known); ``when`` fires on every matching report of an address no property is bound to
(report-only DPs such as "unlocked by user N"), and only when the value starts to match on an
address that carries state. A rule without a condition fires on every report of its address.
Emitted fields: literals, ``$raw``, ``$value`` (the rule's codec output, else the decoded property
at the same address), ``$bits`` (set codes) and ``current(path)`` (this report first, then the
hub's state); a ``map`` whose values are mappings supplies fields directly.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from hub.capabilities.catalogue import check_value
from hub.capabilities.codecs import Codec, CodecError, StructLayout
from hub.capabilities.model import CommandDef, PropertyDef
from hub.profiles.expressions import Expression, ExpressionError

__all__ = [
    "MISSING",
    "BindingError",
    "BthomeRuntime",
    "CommandEncoder",
    "CommandPayload",
    "DecodeResult",
    "DpCommand",
    "DpRuntime",
    "DpWrites",
    "DriverOp",
    "DriverOpCommand",
    "EmitSpec",
    "EventRule",
    "FireFn",
    "GattRuntime",
    "GattWrite",
    "GattWriteCommand",
    "MatterInvoke",
    "MatterInvokeCommand",
    "MatterRuntime",
    "MatterWrite",
    "MatterWriteCommand",
    "PropertyDecoder",
    "PropertyWriter",
    "RuntimeBinding",
    "StateLookup",
    "coerce_dp_raw",
    "format_matter_address",
    "parse_matter_address",
    "same_raw",
]

StateLookup = Callable[[str], Any]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()  # "no previous value known" (distinct from a None raw value)


class BindingError(ValueError):
    """A command or write that this binding cannot encode (unknown path, bad arguments …)."""


# --------------------------------------------------------------------------- payloads

DpWrites = list[tuple[int, Any]]


@dataclass(frozen=True, slots=True)
class MatterInvoke:
    endpoint: int
    cluster: int
    command: int
    fields: dict[str, Any]
    timed_ms: int | None = None


@dataclass(frozen=True, slots=True)
class MatterWrite:
    endpoint: int
    cluster: int
    attribute: int
    value: Any
    timed_ms: int | None = None


@dataclass(frozen=True, slots=True)
class GattWrite:
    characteristic: str
    data: bytes


@dataclass(frozen=True, slots=True)
class DriverOp:
    """An operation the driver implements itself (session crypto, challenge-response)."""

    op: str
    args: dict[str, Any]


CommandPayload = DpWrites | MatterInvoke | MatterWrite | GattWrite | DriverOp


@dataclass(slots=True)
class DecodeResult:
    """States (path -> canonical value), derived events (path, fields) and per-value errors."""

    states: dict[str, Any] = field(default_factory=dict)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- helpers


def parse_matter_address(text: str) -> tuple[int, int, int]:
    """``"1/0x0300/0x0007"`` -> ``(1, 0x0300, 0x0007)``; ValueError when malformed."""
    parts = text.split("/")
    if len(parts) != 3:
        raise ValueError(f"{text!r} is not endpoint/cluster/attribute")
    try:
        ep, cluster, attr = (int(p.strip(), 0) for p in parts)
    except ValueError:
        raise ValueError(f"{text!r} is not endpoint/cluster/attribute (numbers)") from None
    return ep, cluster, attr


def format_matter_address(address: tuple[int, int, int]) -> str:
    ep, cluster, attr = address
    return f"{ep}/0x{cluster:04X}/0x{attr:04X}"


def _address_text(address: Hashable) -> str:
    if isinstance(address, tuple) and len(address) == 3:
        return format_matter_address(address)
    return str(address)


def same_raw(a: Any, b: Any) -> bool:
    """Raw equality as profiles mean it: booleans only equal booleans, ``"0"`` equals ``0``."""
    if type(a) is bool or type(b) is bool:
        return a is b
    if a == b:
        return True
    if type(a) in (int, str) and type(b) in (int, str):
        return str(a) == str(b)
    return False


def coerce_dp_raw(raw_type: str | None, value: Any) -> Any:
    """Give a value written to a DP the DP's wire type (``value`` -> int, ``enum`` -> str …)."""
    if raw_type is None:
        return value
    if raw_type == "bool":
        if value is True or value is False:
            return value
        if type(value) is int and value in (0, 1):
            return bool(value)
        raise BindingError(f"a bool DP needs true or false, got {value!r}")
    if raw_type in ("value", "bitmap"):
        if type(value) is bool or not isinstance(value, int | float) or not math.isfinite(value):
            raise BindingError(f"a {raw_type} DP needs a number, got {value!r}")
        n = math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)
        if raw_type == "bitmap" and n < 0:
            raise BindingError(f"a bitmap DP cannot be negative: {value!r}")
        return int(n)
    if raw_type in ("enum", "string"):
        if type(value) is str:
            return value
        if type(value) is int:
            return str(value)
        raise BindingError(f"a {raw_type} DP needs text, got {value!r}")
    if raw_type == "raw":
        if isinstance(value, bytes | bytearray):
            return bytes(value).hex()
        if type(value) is str:
            return value
        raise BindingError(f"a raw DP needs bytes, got {value!r}")
    return value


# --------------------------------------------------------------------------- decoding


class PropertyDecoder:
    """Raw value at one address -> one property's canonical value."""

    __slots__ = ("codec", "path", "prop")

    def __init__(self, path: str, codec: Codec, prop: PropertyDef) -> None:
        self.path = path
        self.codec = codec
        self.prop = prop

    def decode(self, raw: Any) -> Any:
        return check_value(self.prop, self.codec.decode(raw))


# An emitted event field: ("literal", v) | ("raw", None) | ("value", None) | ("bits", None) |
# ("current", path).
EmitSpec = tuple[str, Any]
FireFn = Callable[[Any, Any], bool]


class EventRule:
    """One way of deriving an event from a value at one address (§4.3)."""

    __slots__ = ("emit", "fire", "observe", "path")

    def __init__(
        self,
        path: str,
        *,
        observe: Codec | None,
        fire: FireFn,
        emit: Sequence[tuple[str, EmitSpec]],
    ) -> None:
        self.path = path
        self.observe = observe  # the rule's own codec (bit, map …); None: compare raw values
        self.fire = fire  # (observed now, observed before or MISSING) -> fires?
        self.emit = tuple(emit)

    def observed(self, raw: Any) -> Any:
        return raw if self.observe is None else self.observe.decode(raw)


def _bits_of(v: Any) -> list[Any]:
    if isinstance(v, list | tuple):
        return list(v)
    if type(v) is int and v >= 0:
        return [i for i in range(v.bit_length()) if v >> i & 1]
    return []


class RuntimeBinding:
    """The compiled binding of one profile for one transport."""

    __slots__ = (
        "_commands",
        "_decoders",
        "_rules",
        "_writers",
        "profile_id",
        "transport",
    )

    def __init__(
        self,
        transport: str,
        profile_id: str,
        *,
        decoders: Mapping[Hashable, Sequence[PropertyDecoder]],
        rules: Mapping[Hashable, Sequence[EventRule]],
        commands: Mapping[str, CommandEncoder],
        writers: Mapping[str, PropertyWriter],
    ) -> None:
        self.transport = transport
        self.profile_id = profile_id
        self._decoders: dict[Hashable, tuple[PropertyDecoder, ...]] = {
            a: tuple(d) for a, d in decoders.items()
        }
        self._rules: dict[Hashable, tuple[EventRule, ...]] = {a: tuple(r) for a, r in rules.items()}
        self._commands: dict[str, CommandEncoder] = dict(commands)
        self._writers: dict[str, PropertyWriter] = dict(writers)

    # ----------------------------------------------------------------- introspection

    def addresses(self) -> frozenset[Hashable]:
        """Every address this binding reads (properties and derived events)."""
        return frozenset(self._decoders) | frozenset(self._rules)

    def property_paths(self) -> frozenset[str]:
        return frozenset(d.path for ds in self._decoders.values() for d in ds)

    def decoders_at(self, address: Hashable) -> tuple[PropertyDecoder, ...]:
        return self._decoders.get(address, ())

    def supported_commands(self) -> frozenset[str]:
        return frozenset(self._commands)

    def writable_properties(self) -> frozenset[str]:
        return frozenset(self._writers)

    def command_encoder(self, path: str) -> CommandEncoder | None:
        return self._commands.get(path)

    # ----------------------------------------------------------------- hot path

    def decode(
        self,
        raw: Mapping[Any, Any],
        previous: Mapping[Any, Any] | None = None,
        current_state: StateLookup | None = None,
    ) -> DecodeResult:
        """Decode one report. A value that cannot be decoded is reported in ``errors``; the
        other values of the report still apply."""
        result = DecodeResult()
        states = result.states
        decoders = self._decoders
        for address, value in raw.items():
            decs = decoders.get(address)
            if decs is None:
                continue
            for dec in decs:
                try:
                    states[dec.path] = dec.decode(value)
                except (CodecError, ValueError) as err:
                    result.errors.append(
                        f"{self.transport} {_address_text(address)} -> {dec.path}: {err}"
                    )
        if self._rules:
            self._derive_events(raw, previous, current_state, result)
        return result

    def _derive_events(
        self,
        raw: Mapping[Any, Any],
        previous: Mapping[Any, Any] | None,
        current_state: StateLookup | None,
        result: DecodeResult,
    ) -> None:
        rules = self._rules
        states = result.states
        for address, value in raw.items():
            rs = rules.get(address)
            if rs is None:
                continue
            prev_raw = MISSING if previous is None else previous.get(address, MISSING)
            for rule in rs:
                try:
                    cur = rule.observed(value)
                except (CodecError, ValueError) as err:
                    result.errors.append(
                        f"{self.transport} {_address_text(address)} -> event {rule.path}: {err}"
                    )
                    continue
                prev: Any = MISSING
                if prev_raw is not MISSING:
                    try:
                        prev = rule.observed(prev_raw)
                    except (CodecError, ValueError):
                        prev = MISSING  # an undecodable earlier value is no edge reference
                if not rule.fire(cur, prev):
                    continue
                fields = self._emit(rule, address, value, cur, states, current_state)
                result.events.append((rule.path, fields))

    def _emit(
        self,
        rule: EventRule,
        address: Hashable,
        raw: Any,
        observed: Any,
        states: Mapping[str, Any],
        current_state: StateLookup | None,
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if isinstance(observed, Mapping):  # a map whose values are event fields
            fields.update(observed)
        for name, (kind, arg) in rule.emit:
            if kind == "literal":
                fields[name] = arg
            elif kind == "raw":
                fields[name] = raw
            elif kind == "value":
                fields[name] = self._value_at(rule, address, observed, states)
            elif kind == "bits":
                fields[name] = self._bits_at(rule, address, observed, raw, states)
            elif arg in states:
                fields[name] = states[arg]
            elif current_state is not None:
                fields[name] = current_state(arg)
            else:
                fields[name] = None
        return fields

    def _value_at(
        self, rule: EventRule, address: Hashable, observed: Any, states: Mapping[str, Any]
    ) -> Any:
        if rule.observe is not None:
            return observed
        for dec in self._decoders.get(address, ()):
            if dec.path in states:
                return states[dec.path]
        return observed

    def _bits_at(
        self,
        rule: EventRule,
        address: Hashable,
        observed: Any,
        raw: Any,
        states: Mapping[str, Any],
    ) -> list[Any]:
        if rule.observe is not None and isinstance(observed, list | tuple):
            return list(observed)
        for dec in self._decoders.get(address, ()):
            value = states.get(dec.path)
            if isinstance(value, list | tuple):
                return list(value)
        return _bits_of(raw)

    # ----------------------------------------------------------------- commands

    def encode_command(
        self,
        path: str,
        args: Mapping[str, Any] | None = None,
        current_state: StateLookup | None = None,
    ) -> CommandPayload:
        """``main/brightness.set_level`` + ``{"level": 50}`` -> what the driver sends."""
        encoder = self._commands.get(path)
        if encoder is None:
            raise BindingError(f"{path} is not supported over {self.transport}")
        return encoder.encode(args or {}, current_state)

    def encode_write(self, path: str, value: Any) -> CommandPayload:
        """Write an ``rw`` property through its own address and codec."""
        writer = self._writers.get(path)
        if writer is None:
            raise BindingError(f"{path} cannot be written over {self.transport}")
        return writer.encode(value)


# --------------------------------------------------------------------------- commands


class CommandEncoder(ABC):
    """Base: checks arguments against the command definition, then builds a payload."""

    __slots__ = ("command", "optional", "params", "path", "required", "reverse")

    def __init__(
        self, path: str, command: CommandDef, reverse: Mapping[str, Codec] | None = None
    ) -> None:
        self.path = path
        self.command = command
        self.params = frozenset(command.params)
        self.required = frozenset(n for n, p in command.params.items() if p.required)
        self.optional = self.params - self.required
        # param -> codec of the property it refs, for map(param)
        self.reverse: dict[str, Codec] = dict(reverse or {})

    @abstractmethod
    def encode(self, args: Mapping[str, Any], current_state: StateLookup | None) -> CommandPayload:
        """Build the transport payload for ``args``; BindingError when they do not fit."""

    def check_args(self, args: Mapping[str, Any]) -> None:
        unknown = [a for a in args if a not in self.params]
        if unknown:
            raise BindingError(f"{self.path}: unknown argument(s) {', '.join(sorted(unknown))}")
        missing = [p for p in self.required if p not in args]
        if missing:
            raise BindingError(f"{self.path}: missing argument(s) {', '.join(sorted(missing))}")

    def skip(self, expr: Expression, args: Mapping[str, Any]) -> bool:
        """An item that uses an optional parameter the caller left out is not sent."""
        return any(p in self.optional and p not in args for p in expr.params_used)

    def evaluate(
        self, expr: Expression, args: Mapping[str, Any], current_state: StateLookup | None
    ) -> Any:
        try:
            return expr.evaluate(args, current=current_state, reverse_map=self._reverse_map)
        except ExpressionError as err:
            raise BindingError(f"{self.path}: {err}") from err

    def _reverse_map(self, param: str, value: Any) -> Any:
        codec = self.reverse.get(param)
        if codec is None:
            raise CodecError(f"map({param}): no map for this parameter")
        return codec.unmap(value)


class DpCommand(CommandEncoder):
    """Raw DP writes and ``set:`` writes through property codecs."""

    __slots__ = ("sets", "writes")

    def __init__(
        self,
        path: str,
        command: CommandDef,
        *,
        writes: Sequence[tuple[int, Expression, str | None]],
        sets: Sequence[tuple[int, Expression, Codec, PropertyDef]],
        reverse: Mapping[str, Codec] | None = None,
    ) -> None:
        super().__init__(path, command, reverse)
        self.writes = tuple(writes)  # (dp, expression, DP wire type)
        self.sets = tuple(sets)  # (dp, expression, property codec, property)

    def encode(self, args: Mapping[str, Any], current_state: StateLookup | None) -> DpWrites:
        self.check_args(args)
        out: DpWrites = []
        for dp, expr, raw_type in self.writes:
            if self.skip(expr, args):
                continue
            value = self.evaluate(expr, args, current_state)
            try:
                out.append((dp, coerce_dp_raw(raw_type, value)))
            except BindingError as err:
                raise BindingError(f"{self.path}: DP {dp}: {err}") from err
        for dp, expr, codec, prop in self.sets:
            if self.skip(expr, args):
                continue
            value = self.evaluate(expr, args, current_state)
            try:
                out.append((dp, codec.encode(check_value(prop, value))))
            except (CodecError, ValueError) as err:
                raise BindingError(f"{self.path}: DP {dp}: {err}") from err
        return out


class DriverOpCommand(CommandEncoder):
    __slots__ = ("args", "op")

    def __init__(
        self,
        path: str,
        command: CommandDef,
        *,
        op: str,
        args: Mapping[str, Expression],
        reverse: Mapping[str, Codec] | None = None,
    ) -> None:
        super().__init__(path, command, reverse)
        self.op = op
        self.args = dict(args)

    def encode(self, args: Mapping[str, Any], current_state: StateLookup | None) -> DriverOp:
        self.check_args(args)
        out = {
            name: self.evaluate(expr, args, current_state)
            for name, expr in self.args.items()
            if not self.skip(expr, args)
        }
        return DriverOp(self.op, out)


class MatterInvokeCommand(CommandEncoder):
    __slots__ = ("cluster", "command_id", "endpoint", "fields", "timed_ms")

    def __init__(
        self,
        path: str,
        command: CommandDef,
        *,
        endpoint: int,
        cluster: int,
        command_id: int,
        fields: Mapping[str, Expression],
        timed_ms: int | None,
        reverse: Mapping[str, Codec] | None = None,
    ) -> None:
        super().__init__(path, command, reverse)
        self.endpoint = endpoint
        self.cluster = cluster
        self.command_id = command_id
        self.fields = dict(fields)
        self.timed_ms = timed_ms

    def encode(self, args: Mapping[str, Any], current_state: StateLookup | None) -> MatterInvoke:
        self.check_args(args)
        fields = {
            name: self.evaluate(expr, args, current_state)
            for name, expr in self.fields.items()
            if not self.skip(expr, args)
        }
        return MatterInvoke(self.endpoint, self.cluster, self.command_id, fields, self.timed_ms)


class MatterWriteCommand(CommandEncoder):
    __slots__ = ("attribute", "cluster", "endpoint", "timed_ms", "value")

    def __init__(
        self,
        path: str,
        command: CommandDef,
        *,
        endpoint: int,
        cluster: int,
        attribute: int,
        value: Expression,
        timed_ms: int | None = None,
        reverse: Mapping[str, Codec] | None = None,
    ) -> None:
        super().__init__(path, command, reverse)
        self.endpoint = endpoint
        self.cluster = cluster
        self.attribute = attribute
        self.value = value
        self.timed_ms = timed_ms

    def encode(self, args: Mapping[str, Any], current_state: StateLookup | None) -> MatterWrite:
        self.check_args(args)
        value = self.evaluate(self.value, args, current_state)
        return MatterWrite(self.endpoint, self.cluster, self.attribute, value, self.timed_ms)


class GattWriteCommand(CommandEncoder):
    __slots__ = ("characteristic", "items")

    def __init__(
        self,
        path: str,
        command: CommandDef,
        *,
        characteristic: str,
        items: Sequence[Expression],
        reverse: Mapping[str, Codec] | None = None,
    ) -> None:
        super().__init__(path, command, reverse)
        self.characteristic = characteristic
        self.items = tuple(items)

    def encode(self, args: Mapping[str, Any], current_state: StateLookup | None) -> GattWrite:
        self.check_args(args)
        data = bytearray()
        for expr in self.items:
            value = self.evaluate(expr, args, current_state)
            if isinstance(value, bytes | bytearray):
                data += value
            elif type(value) is int and 0 <= value <= 0xFF:
                data.append(value)
            else:
                raise BindingError(
                    f"{self.path}: {expr.source} gives {value!r}; a byte is 0..255 or u8()/u16le()"
                )
        return GattWrite(self.characteristic, bytes(data))


# --------------------------------------------------------------------------- property writes


class PropertyWriter:
    """Writes one ``rw`` property through its binding's codec."""

    __slots__ = ("build", "codec", "path", "prop")

    def __init__(
        self,
        path: str,
        codec: Codec,
        prop: PropertyDef,
        build: Callable[[Any], CommandPayload],
    ) -> None:
        self.path = path
        self.codec = codec
        self.prop = prop
        self.build = build  # encoded raw value -> payload

    def encode(self, value: Any) -> CommandPayload:
        try:
            raw = self.codec.encode(check_value(self.prop, value))
        except (CodecError, ValueError) as err:
            raise BindingError(f"{self.path}: {err}") from err
        return self.build(raw)


# --------------------------------------------------------------------------- per transport


class DpRuntime(RuntimeBinding):
    """zsdp / tuya_lan / tuya_ble: addresses are DP ids; commands give :data:`DpWrites` (or a
    :class:`DriverOp`)."""

    __slots__ = ("protocol",)

    def __init__(self, *args: Any, protocol: Mapping[str, str] | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.protocol: dict[str, str] = dict(protocol or {})  # e.g. tuya_lan {version: "3.4"}


class MatterRuntime(RuntimeBinding):
    """Addresses are ``(endpoint, cluster, attribute)``; native events ``(endpoint, cluster,
    event)`` through :meth:`decode_event`."""

    __slots__ = ("_native", "endpoints")

    def __init__(
        self,
        *args: Any,
        native_events: Mapping[tuple[int, int, int], Sequence[EventRule]] | None = None,
        endpoints: Mapping[str, int] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(*args, **kw)
        self._native: dict[tuple[int, int, int], tuple[EventRule, ...]] = {
            a: tuple(r) for a, r in (native_events or {}).items()
        }
        self.endpoints: dict[str, int] = dict(endpoints or {})

    def native_events(self) -> frozenset[tuple[int, int, int]]:
        return frozenset(self._native)

    def decode_event(
        self,
        address: tuple[int, int, int],
        payload: Mapping[str, Any],
        current_state: StateLookup | None = None,
    ) -> list[tuple[str, dict[str, Any]]]:
        """A native Matter event -> capability events. Without ``emit`` the payload's fields
        are passed on as they are; with ``emit``, ``$raw`` is the payload."""
        out: list[tuple[str, dict[str, Any]]] = []
        for rule in self._native.get(address, ()):
            fields = dict(payload) if not rule.emit else {}
            fields.update(self._emit(rule, address, dict(payload), None, {}, current_state))
            out.append((rule.path, fields))
        return out


class GattRuntime(RuntimeBinding):
    """Addresses are ``"frame.field"``; :meth:`decode_frame` unpacks a notified frame first."""

    __slots__ = ("_by_characteristic", "control_characteristic", "frames", "service")

    def __init__(
        self,
        *args: Any,
        service: str,
        frames: Mapping[str, tuple[str, StructLayout]],
        control_characteristic: str | None,
        **kw: Any,
    ) -> None:
        super().__init__(*args, **kw)
        self.service = service
        self.frames: dict[str, tuple[str, StructLayout]] = dict(frames)
        self.control_characteristic = control_characteristic
        self._by_characteristic = {c.lower(): name for name, (c, _l) in self.frames.items()}

    def frame_for_characteristic(self, uuid: str) -> str | None:
        return self._by_characteristic.get(uuid.lower())

    def unpack(self, frame: str, data: bytes | bytearray | memoryview) -> dict[str, int]:
        """``{"frame.field": int}`` for one frame; CodecError when the frame is too short."""
        entry = self.frames.get(frame)
        if entry is None:
            raise CodecError(f"unknown frame {frame!r}")
        return {f"{frame}.{k}": v for k, v in entry[1].decode(data).items()}

    def decode_frame(
        self,
        frame: str,
        data: bytes | bytearray | memoryview,
        previous: bytes | bytearray | memoryview | None = None,
        current_state: StateLookup | None = None,
    ) -> DecodeResult:
        try:
            raw = self.unpack(frame, data)
        except CodecError as err:
            return DecodeResult(errors=[f"{self.transport} frame {frame}: {err}"])
        prev: dict[str, int] | None = None
        if previous is not None:
            try:
                prev = self.unpack(frame, previous)
            except CodecError:
                prev = None
        return self.decode(raw, prev, current_state)


class BthomeRuntime(RuntimeBinding):
    """Addresses are BTHome object ids; broadcast only, so nothing can be written."""

    __slots__ = ("require_encryption",)

    def __init__(self, *args: Any, require_encryption: bool = True, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.require_encryption = require_encryption
