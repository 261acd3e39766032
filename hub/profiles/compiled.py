"""A loaded profile: the validated document, its capability instances and compiled bindings.

:func:`compile_profile` resolves vendor capabilities and component instances against the
catalogue, then compiles every binding (codecs, expressions, event rules, address tables) into the
run-time objects of :mod:`hub.profiles.runtime`. Every reference it meets is resolved here, so a
problem in a binding is reported once, at the line of the binding entry.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Final, Literal, overload

from hub.capabilities.catalogue import (
    CapabilityInstance,
    Catalogue,
    InstanceConfigError,
    apply_instance,
    capability_problems,
    check_value,
)
from hub.capabilities.codecs import (
    Codec,
    CodecSpecError,
    StructField,
    StructLayout,
    build_codec,
    compile_struct,
)
from hub.capabilities.model import (
    CommandDef,
    EventDef,
    FieldDef,
    PropertyDef,
    ValueType,
    split_capability_key,
)
from hub.capabilities.units import UnitError, dimension
from hub.profiles.expressions import Expression, ExpressionError, compile_expression
from hub.profiles.paths import (
    CommandRef,
    ComponentMap,
    EventRef,
    PathError,
    PropertyRef,
    parse_capability_path,
    parse_member_path,
)
from hub.profiles.problems import ProblemSink
from hub.profiles.runtime import (
    MISSING,
    BindingError,
    BthomeRuntime,
    CommandEncoder,
    CommandPayload,
    DpCommand,
    DpRuntime,
    DriverOpCommand,
    EmitSpec,
    EventRule,
    FireFn,
    GattRuntime,
    GattWriteCommand,
    MatterInvokeCommand,
    MatterRuntime,
    MatterWrite,
    MatterWriteCommand,
    PropertyDecoder,
    PropertyWriter,
    RuntimeBinding,
    coerce_dp_raw,
    same_raw,
)
from hub.profiles.schema import (
    DP_TRANSPORTS,
    BthomeBinding,
    CodecFields,
    DpBinding,
    DpPropertyBinding,
    EventRuleFields,
    Fingerprint,
    GattBinding,
    MatterBinding,
    ProfileDoc,
)
from hub.util.yamlio import LineMap, is_yaml11_bool_word

__all__ = ["LoadedProfile", "capability_path_ok", "compile_profile"]

Where = tuple[Hashable, ...]

_COMPARISON = re.compile(r"^\s*(<=|>=|==|!=|<|>)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*$")
_CURRENT = re.compile(r"^current\(\s*([^)\s]+)\s*\)$")
_TRIGGER_KEYS: Final = ("trigger", "transition", "when")


# --------------------------------------------------------------------------- loaded profile


class LoadedProfile:
    """A profile ready for use: what integrations, the arbiter, the API and the UI read."""

    __slots__ = ("_bindings", "catalogue", "components", "lines", "model", "source")

    def __init__(
        self,
        *,
        model: ProfileDoc,
        source: str,
        lines: LineMap,
        catalogue: Catalogue,
        components: ComponentMap,
        bindings: Mapping[str, RuntimeBinding],
    ) -> None:
        self.model = model  # the validated document
        self.source = source  # file the profile came from
        self.lines = lines
        self.catalogue = catalogue  # the shared catalogue plus this profile's vendor capabilities
        self.components = components
        self._bindings: dict[str, RuntimeBinding] = dict(bindings)

    @property
    def id(self) -> str:
        return self.model.id

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def generic(self) -> bool:
        return self.model.generic

    @property
    def fingerprints(self) -> tuple[Fingerprint, ...]:
        return self.model.identity.fingerprints

    @property
    def transports(self) -> tuple[str, ...]:
        return tuple(self._bindings)

    @overload
    def binding(self, transport: Literal["zsdp", "tuya_lan", "tuya_ble"]) -> DpRuntime | None: ...
    @overload
    def binding(self, transport: Literal["matter"]) -> MatterRuntime | None: ...
    @overload
    def binding(self, transport: Literal["ble_gatt"]) -> GattRuntime | None: ...
    @overload
    def binding(self, transport: Literal["bthome"]) -> BthomeRuntime | None: ...
    @overload
    def binding(self, transport: str) -> RuntimeBinding | None: ...
    def binding(self, transport: str) -> RuntimeBinding | None:
        """The compiled binding for a transport, or None when the profile has none."""
        return self._bindings.get(transport)

    def capability(self, component: str, capability: str) -> CapabilityInstance | None:
        """The instance of a capability (name without ``@major``) in a component."""
        return self.components.components.get(component, {}).get(capability)

    def property_def(self, path: str) -> PropertyDef | None:
        try:
            return self.components.property(path).prop
        except PathError:
            return None

    def command_def(self, path: str) -> CommandDef | None:
        try:
            return self.components.command(path).command
        except PathError:
            return None

    def event_def(self, path: str) -> EventDef | None:
        try:
            return self.components.event(path).event
        except PathError:
            return None

    def supported_commands(self, transport: str | None = None) -> frozenset[str]:
        """Command paths bound for one transport, or for any transport."""
        if transport is not None:
            b = self._bindings.get(transport)
            return b.supported_commands() if b is not None else frozenset()
        return frozenset().union(*(b.supported_commands() for b in self._bindings.values()))

    def summary(self) -> dict[str, Any]:
        """A JSON-ready overview for the API and UI (labels in zh and en)."""
        m = self.model
        components: dict[str, Any] = {}
        for comp, caps in self.components.components.items():
            label = m.components[comp].label
            components[comp] = {
                "label": label.model_dump() if label is not None else None,
                "capabilities": {
                    name: {
                        "key": inst.key,
                        "title": inst.capdef.title.model_dump(),
                        "features": sorted(inst.features),
                    }
                    for name, inst in caps.items()
                },
            }
        return {
            "id": m.id,
            "version": m.version,
            "name": m.name.model_dump(),
            "manufacturer": {"id": m.manufacturer.id, "name": m.manufacturer.name.model_dump()},
            "model": m.model,
            "category": m.category,
            "generic": m.generic,
            "source": self.source,
            "transports": list(self.transports),
            "components": components,
            "commands": {t: sorted(b.supported_commands()) for t, b in self._bindings.items()},
            "safety": {"class": m.safety.class_, "roles": list(m.safety.roles)},
            "ui": m.ui.model_dump(exclude_none=True) if m.ui is not None else None,
        }

    def __repr__(self) -> str:
        return f"<LoadedProfile {self.id} {self.version} ({', '.join(self.transports)})>"


# --------------------------------------------------------------------------- compile


def compile_profile(
    doc: ProfileDoc, sink: ProblemSink, catalogue: Catalogue
) -> tuple[Catalogue, ComponentMap, dict[str, RuntimeBinding]]:
    """Resolve instances and compile bindings; problems go to ``sink``."""
    cat = _add_vendor_capabilities(doc, sink, catalogue)
    components = _resolve_components(doc, sink, cat)
    bindings: dict[str, RuntimeBinding] = {}
    for transport in DP_TRANSPORTS:
        dp = getattr(doc.bindings, transport)
        if dp is not None:
            bindings[transport] = _DpCompiler(doc, sink, components, transport).compile(dp)
    if doc.bindings.matter is not None:
        bindings["matter"] = _MatterCompiler(doc, sink, components, "matter").compile(
            doc.bindings.matter
        )
    if doc.bindings.ble_gatt is not None:
        bindings["ble_gatt"] = _GattCompiler(doc, sink, components, "ble_gatt").compile(
            doc.bindings.ble_gatt
        )
    if doc.bindings.bthome is not None:
        bindings["bthome"] = _BthomeCompiler(doc, sink, components, "bthome").compile(
            doc.bindings.bthome
        )
    return cat, components, bindings


def _add_vendor_capabilities(doc: ProfileDoc, sink: ProblemSink, catalogue: Catalogue) -> Catalogue:
    cat = catalogue
    for key, capdef in doc.vendor_capabilities.items():
        where: Where = ("vendor_capabilities", key)
        try:
            name, _major = split_capability_key(key)
        except ValueError as err:
            sink.add(where, str(err))
            continue
        prefix = f"vendor.{doc.manufacturer.id}."
        if not name.startswith(prefix):
            sink.add(where, f"vendor capabilities of this maker are named {prefix}<name>@<major>")
            continue
        problems = capability_problems(key, capdef)
        for path, message in problems:
            sink.add((*where, *path), message)
        if problems:
            continue
        try:
            cat = cat.add_vendor(key, capdef)
        except ValueError as err:
            sink.add(where, str(err))
    return cat


def _resolve_components(doc: ProfileDoc, sink: ProblemSink, cat: Catalogue) -> ComponentMap:
    resolved: dict[str, dict[str, CapabilityInstance]] = {}
    for comp, component in doc.components.items():
        base: Where = ("components", comp)
        if comp != "main" and component.label is None:
            sink.add(base, f"component {comp!r} needs label: {{zh: …, en: …}}")
        caps: dict[str, CapabilityInstance] = {}
        for key, config in component.capabilities.items():
            where: Where = (*base, "capabilities", key)
            if key not in cat:
                found = cat.find(key.split("@", 1)[0])
                hint = f" (the catalogue has {found[0]})" if found is not None else ""
                sink.add(where, f"unknown capability {key!r}{hint}")
                continue
            try:
                inst = apply_instance(key, cat.get(key), config)
            except InstanceConfigError as err:
                sink.add((*where, *err.field_path), err.message)
                continue
            if inst.name in caps:
                sink.add(
                    where, f"{comp} already has {caps[inst.name].key}; one major per component"
                )
                continue
            caps[inst.name] = inst
        resolved[comp] = caps
    return ComponentMap(resolved)


def _infer_value_type(spec: Mapping[str, Any]) -> ValueType:
    """The value type an event rule's own codec produces (rules have no property to go by)."""
    if "ranges" in spec:
        return ValueType.ENUM
    if "map" in spec:
        values = list(spec["map"].values())
        if values and all(v is True or v is False for v in values):
            return ValueType.BOOL
        if values and all(isinstance(v, list | tuple) for v in values):
            return ValueType.SET
        if values and all(type(v) in (int, float) for v in values):
            return ValueType.NUMBER
        return ValueType.ENUM
    if "bits" in spec:
        return ValueType.SET
    if "bit" in spec or "invert" in spec:
        return ValueType.BOOL
    return ValueType.NUMBER


def _fire_always(cur: Any, prev: Any) -> bool:
    return True


def _fire_rising(cur: Any, prev: Any) -> bool:
    return prev is not MISSING and not prev and bool(cur)


def _fire_falling(cur: Any, prev: Any) -> bool:
    return prev is not MISSING and bool(prev) and not cur


def _fire_change(cur: Any, prev: Any) -> bool:
    return prev is not MISSING and not same_raw(cur, prev)


def _fire_nonzero(cur: Any, prev: Any) -> bool:
    return bool(cur) and (prev is MISSING or not same_raw(cur, prev))


_TRIGGERS: Final = {
    "rising": _fire_rising,
    "falling": _fire_falling,
    "change": _fire_change,
    "nonzero": _fire_nonzero,
}

_COMPARE: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


class _Compiler:
    """Shared parts of the per-transport binding compilers."""

    def __init__(
        self, doc: ProfileDoc, sink: ProblemSink, components: ComponentMap, transport: str
    ) -> None:
        self.doc = doc
        self.sink = sink
        self.components = components
        self.transport = transport
        self.base: Where = ("bindings", transport)
        # property path -> (codec, property) for properties bound in this transport
        self.prop_codecs: dict[str, tuple[Codec, PropertyDef]] = {}
        self.decoders: dict[Hashable, list[PropertyDecoder]] = {}
        self.rules: dict[Hashable, list[EventRule]] = {}
        self.commands: dict[str, CommandEncoder] = {}
        self.writers: dict[str, PropertyWriter] = {}

    # ----------------------------------------------------------------- references

    def prop(self, path: str, where: Where) -> PropertyRef | None:
        try:
            return self.components.property(path)
        except PathError as err:
            self.sink.add(where, str(err))
            return None

    def event(self, path: str, where: Where) -> EventRef | None:
        try:
            return self.components.event(path)
        except PathError as err:
            self.sink.add(where, str(err))
            return None

    def command(self, path: str, where: Where) -> CommandRef | None:
        try:
            return self.components.command(path)
        except PathError as err:
            self.sink.add(where, str(err))
            return None

    # ----------------------------------------------------------------- codecs

    def property_codec(
        self, entry: CodecFields, ref: PropertyRef, raw_type: str | None, where: Where
    ) -> Codec | None:
        spec = entry.codec_spec()
        bad_units = self._unit_problems(entry, ref, where)
        bad_map = self._map_traps(spec.get("map"), raw_type, ref, where)
        if bad_units or bad_map:
            return None
        try:
            return build_codec(
                spec,
                raw_type=raw_type,
                value_type=ref.prop.type,
                unit=ref.prop.unit,
                values=ref.prop.values,
            )
        except CodecSpecError as err:
            self.sink.add((*where, err.key), f"{ref.path}: {err.message}")
            return None

    def _unit_problems(self, entry: CodecFields, ref: PropertyRef, where: Where) -> bool:
        unit, to_unit, canonical = entry.unit, entry.to_unit, ref.prop.unit
        if unit is None and to_unit is None:
            return False
        if canonical is None:
            key = "unit" if unit is not None else "to_unit"
            self.sink.add((*where, key), f"{ref.path} has no unit; remove {key}")
            return True
        if to_unit is not None and to_unit != canonical:
            self.sink.add(
                (*where, "to_unit"),
                f"{ref.path} is in {canonical!r}; to_unit must be {canonical!r}, not {to_unit!r}",
            )
            return True
        if unit is not None:
            try:
                same = dimension(unit) == dimension(canonical)
            except UnitError as err:
                self.sink.add((*where, "unit"), str(err))
                return True
            if not same:
                self.sink.add(
                    (*where, "unit"),
                    f"unit {unit!r} cannot be converted to {ref.path}'s unit {canonical!r}",
                )
                return True
        return False

    def _map_traps(
        self, table: Mapping[Any, Any] | None, raw_type: str | None, ref: PropertyRef, where: Where
    ) -> bool:
        """YAML boolean traps in a map: words that were meant as text became booleans or the
        other way round (a YAML 1.1 habit such as ``{on: high}`` or ``{0: false}``)."""
        if not table:
            return False
        found = False
        ptype = ref.prop.type
        for key, value in table.items():
            if (key is True or key is False) and raw_type not in (None, "bool"):
                self.sink.add(
                    (*where, "map", key),
                    f"map key {str(key).lower()} is a YAML boolean, but DP type is {raw_type}: "
                    f"quote it if the device sends the word",
                )
                found = True
            if (value is True or value is False) and ptype in (ValueType.ENUM, ValueType.SET):
                self.sink.add(
                    (*where, "map", key),
                    f"map value {str(value).lower()} is a YAML boolean, but {ref.path} is an "
                    f'{ptype.value}: quote the value you meant (e.g. "off")',
                )
                found = True
            if ptype is ValueType.BOOL and (
                is_yaml11_bool_word(value) or value in ("true", "false")
            ):
                self.sink.add(
                    (*where, "map", key),
                    f"map value {value!r} is text, but {ref.path} is a bool: write true or false",
                )
                found = True
        return found

    def add_property(
        self, path: str, entry: CodecFields, address: Hashable, raw_type: str | None, where: Where
    ) -> tuple[PropertyRef, Codec] | None:
        ref = self.prop(path, where)
        if ref is None:
            return None
        codec = self.property_codec(entry, ref, raw_type, where)
        if codec is None:
            return None
        self.decoders.setdefault(address, []).append(PropertyDecoder(path, codec, ref.prop))
        self.prop_codecs[path] = (codec, ref.prop)
        return ref, codec

    # ----------------------------------------------------------------- events

    def add_event_rules(
        self,
        events: Mapping[str, Sequence[Any]],
        address_of: Callable[[Any, EventRef, Where], Hashable | None],
        raw_type_of: Callable[[Any, Hashable, Where], str | None] | None = None,
    ) -> None:
        """Compile ``events:``; ``address_of(rule, ref, where)`` gives the address (or None)."""
        for path, rules in events.items():
            where: Where = (*self.base, "events", path)
            ref = self.event(path, where)
            if ref is None:
                continue
            # A single rule is read as a list of one; locate it as written.
            listed = isinstance(self.sink.node(where), list)
            entries = [(r, (*where, i) if listed else where) for i, r in enumerate(rules)]
            for rule, rwhere in entries:
                address = address_of(rule, ref, rwhere)
                if address is None:
                    continue
                raw_type = raw_type_of(rule, address, rwhere) if raw_type_of else None
                compiled = self.event_rule(rule, ref, raw_type, rwhere, address in self.decoders)
                if compiled is not None:
                    self.rules.setdefault(address, []).append(compiled)

    def event_rule(
        self,
        rule: EventRuleFields,
        ref: EventRef,
        raw_type: str | None,
        where: Where,
        stateful: bool,
    ) -> EventRule | None:
        ok = True
        spec = rule.codec_spec()
        observe: Codec | None = None
        if spec:
            if "unit" in spec or "to_unit" in spec:
                self.sink.add(where, "event rules compare values; unit/to_unit do not apply")
                ok = False
            else:
                try:
                    observe = build_codec(
                        spec, raw_type=raw_type, value_type=_infer_value_type(spec), unit=None
                    )
                except CodecSpecError as err:
                    self.sink.add((*where, err.key), f"{ref.path}: {err.message}")
                    ok = False
            ok = self._check_field_maps(spec.get("map"), ref, where) and ok
        fire = self._fire(rule, where, stateful)
        emit = self._emit_specs(rule.emit, ref, (*where, "emit"))
        if not ok or fire is None or emit is None:
            return None
        return EventRule(ref.path, observe=observe, fire=fire, emit=emit)

    def _check_field_maps(
        self, table: Mapping[Any, Any] | None, ref: EventRef, where: Where
    ) -> bool:
        """A map whose values are mappings supplies event fields: check them like emit."""
        ok = True
        for key, value in (table or {}).items():
            if isinstance(value, Mapping):
                for fname, fvalue in value.items():
                    ok = self._literal_field(ref, fname, fvalue, (*where, "map", key, fname)) and ok
        return ok

    def _fire(self, rule: EventRuleFields, where: Where, stateful: bool) -> FireFn | None:
        given = [k for k in _TRIGGER_KEYS if k in rule.model_fields_set]
        if len(given) > 1:
            self.sink.add(where, f"use one of trigger, transition, when (not {', '.join(given)})")
            return None
        if not given:
            return _fire_always
        if given[0] == "trigger":
            assert rule.trigger is not None  # narrowed by model_fields_set
            return _TRIGGERS[rule.trigger]
        if given[0] == "transition":
            assert rule.transition is not None
            frm, to = rule.transition.from_, rule.transition.to

            def transition(cur: Any, prev: Any) -> bool:
                return prev is not MISSING and same_raw(prev, frm) and same_raw(cur, to)

            return transition
        match = self._when(rule.when, (*where, "when"))
        if match is None:
            return None
        if not stateful:
            # Report-only address: every report that matches is an occurrence.
            return lambda cur, prev: match(cur)

        # A state address reports its value again and again: fire when it starts to match.
        def edge(cur: Any, prev: Any) -> bool:
            return match(cur) and (prev is MISSING or not match(prev))

        return edge

    def _when(self, when: Any, where: Where) -> Callable[[Any], bool] | None:
        if isinstance(when, str) and when.strip()[:1] in ("<", ">", "=", "!"):
            m = _COMPARISON.match(when)
            if m is None:
                self.sink.add(where, f"{when!r} is not a comparison like '> 50' (numbers only)")
                return None
            op = _COMPARE[m[1]]
            bound = float(m[2])

            def compare(v: Any) -> bool:
                return type(v) in (int, float) and bool(op(v, bound))

            return compare
        if isinstance(when, list | dict):
            self.sink.add(where, "when is a raw value or a comparison such as '> 50'")
            return None
        return lambda v: same_raw(v, when)

    def _emit_specs(
        self, emit: Mapping[str, Any], ref: EventRef, where: Where
    ) -> list[tuple[str, EmitSpec]] | None:
        out: list[tuple[str, EmitSpec]] = []
        ok = True
        for fname, value in emit.items():
            fwhere = (*where, fname)
            fdef = ref.event.fields.get(fname)
            if fdef is None:
                known = ", ".join(sorted(ref.event.fields)) or "none"
                self.sink.add(fwhere, f"event {ref.path} has no field {fname!r} (fields: {known})")
                ok = False
                continue
            if isinstance(value, str) and value in ("$raw", "$value"):
                out.append((fname, (value[1:], None)))
            elif value == "$bits":
                if fdef.type is not ValueType.SET:
                    self.sink.add(
                        fwhere, f"$bits gives a list of codes, but field {fname!r} is {fdef.type}"
                    )
                    ok = False
                out.append((fname, ("bits", None)))
            elif isinstance(value, str) and value.startswith("$"):
                self.sink.add(fwhere, f"{value!r}: emit takes $raw, $value, $bits or current(path)")
                ok = False
            elif isinstance(value, str) and value.startswith("current("):
                m = _CURRENT.match(value)
                if m is None or self.prop(m[1], fwhere) is None:
                    if m is None:
                        self.sink.add(fwhere, f"{value!r} is not current(component/cap/property)")
                    ok = False
                    continue
                out.append((fname, ("current", m[1])))
            elif self._literal_field(ref, fname, value, fwhere):
                out.append((fname, ("literal", value)))
            else:
                ok = False
        return out if ok else None

    def _literal_field(self, ref: EventRef, fname: Any, value: Any, where: Where) -> bool:
        fdef: FieldDef | None = ref.event.fields.get(fname)
        if fdef is None:
            known = ", ".join(sorted(ref.event.fields)) or "none"
            self.sink.add(where, f"event {ref.path} has no field {fname!r} (fields: {known})")
            return False
        try:
            check_value(fdef, value)
        except ValueError as err:
            self.sink.add(where, f"field {fname}: {err}")
            return False
        return True

    # ----------------------------------------------------------------- commands

    def expression(self, source: Any, ref: CommandRef, where: Where) -> Expression | None:
        try:
            expr = compile_expression(source, params=ref.command.params)
        except ExpressionError as err:
            self.sink.add(where, str(err))
            return None
        ok = True
        for path in sorted(expr.paths_used):
            ok = self.prop(path, where) is not None and ok
        return expr if ok else None

    def reverse_maps(
        self, exprs: Sequence[Expression], ref: CommandRef, where: Where
    ) -> dict[str, Codec] | None:
        """``map(param)``: the codec of the property the parameter refs, bound here with a map."""
        out: dict[str, Codec] = {}
        ok = True
        for param in {p for e in exprs for p in e.uses_map}:
            pdef = ref.command.params[param]
            if pdef.ref is None:
                self.sink.add(where, f"map({param}): parameter {param} does not ref a property")
                ok = False
                continue
            target = f"{ref.component}/{ref.instance.name}/{pdef.ref}"
            bound = self.prop_codecs.get(target)
            if bound is None or not bound[0].has_map:
                self.sink.add(
                    where, f"map({param}): {target} has no map in bindings.{self.transport}"
                )
                ok = False
                continue
            out[param] = bound[0]
        return out if ok else None

    def unused_params(self, exprs: Sequence[Expression], ref: CommandRef, where: Where) -> bool:
        used = {p for e in exprs for p in e.params_used}
        unused = [p for p, d in ref.command.params.items() if d.required and p not in used]
        if unused:
            self.sink.add(
                where,
                f"{ref.path} ignores its argument(s) {', '.join(unused)}: use them in the binding",
            )
        return not unused

    def driver_op(
        self, path: str, ref: CommandRef, op: str, args: Mapping[str, Any], where: Where
    ) -> None:
        exprs: dict[str, Expression] = {}
        ok = True
        for name, source in args.items():
            expr = self.expression(source, ref, (*where, "args", name))
            if expr is None:
                ok = False
            else:
                exprs[name] = expr
        reverse = self.reverse_maps(list(exprs.values()), ref, where)
        if ok and reverse is not None:
            self.commands[path] = DriverOpCommand(
                path, ref.command, op=op, args=exprs, reverse=reverse
            )

    def runtime_kwargs(self) -> dict[str, Any]:
        return {
            "decoders": self.decoders,
            "rules": self.rules,
            "commands": self.commands,
            "writers": self.writers,
        }


# --------------------------------------------------------------------------- DP transports


def _dp_writer(dp: int) -> Callable[[Any], CommandPayload]:
    return lambda raw: [(dp, raw)]


class _DpCompiler(_Compiler):
    def compile(self, b: DpBinding) -> DpRuntime:
        dp_types: dict[int, tuple[str, str]] = {}  # dp -> (type, property path that set it)
        for path, entry in b.properties.items():
            where: Where = (*self.base, "properties", path)
            seen = dp_types.get(entry.dp)
            if seen is not None and seen[0] != entry.type:
                self.sink.add(
                    (*where, "type"),
                    f"DP {entry.dp} is {seen[0]} in {seen[1]}; one DP has one type",
                )
                continue
            dp_types.setdefault(entry.dp, (entry.type, path))
            added = self.add_property(path, entry, entry.dp, entry.type, where)
            if added is None:
                continue
            ref, codec = added
            if ref.prop.access.value == "rw" and not entry.read_only and codec.invertible:
                self.writers[path] = PropertyWriter(path, codec, ref.prop, _dp_writer(entry.dp))

        def address_of(rule: Any, ref: EventRef, where: Where) -> Hashable:
            return int(rule.dp)

        def raw_type_of(rule: Any, address: Hashable, where: Where) -> str | None:
            seen = dp_types.get(rule.dp)
            if rule.type is not None and seen is not None and seen[0] != rule.type:
                self.sink.add(
                    (*where, "type"), f"DP {rule.dp} is {seen[0]} in {seen[1]}, not {rule.type}"
                )
            if rule.type is not None:
                return str(rule.type)
            return seen[0] if seen is not None else None

        self.add_event_rules(b.events, address_of, raw_type_of)

        for path, centry in b.commands.items():
            where = (*self.base, "commands", path)
            cref = self.command(path, where)
            if cref is None:
                continue
            if centry.driver_op is not None:
                self.driver_op(path, cref, centry.driver_op, centry.args, where)
                continue
            self._dp_command(path, cref, centry.write or {}, centry.set_ or {}, dp_types, where)
        return DpRuntime(self.transport, self.doc.id, protocol=b.protocol, **self.runtime_kwargs())

    def _dp_command(
        self,
        path: str,
        ref: CommandRef,
        write: Mapping[int, Any],
        sets: Mapping[str, Any],
        dp_types: Mapping[int, tuple[str, str]],
        where: Where,
    ) -> None:
        ok = True
        writes: list[tuple[int, Expression, str | None]] = []
        for dp, source in write.items():
            wwhere: Where = (*where, "write", dp)
            expr = self.expression(source, ref, wwhere)
            if expr is None:
                ok = False
                continue
            raw_type = dp_types[dp][0] if dp in dp_types else None
            if expr.is_constant:
                try:
                    coerce_dp_raw(raw_type, expr.constant)
                except BindingError as err:
                    hint = ""
                    if raw_type == "bool" and is_yaml11_bool_word(expr.constant):
                        hint = " (write true or false, not a word)"
                    self.sink.add(wwhere, f"DP {dp}: {err}{hint}")
                    ok = False
                    continue
            writes.append((dp, expr, raw_type))
        set_items: list[tuple[int, Expression, Codec, PropertyDef]] = []
        written = {dp for dp, _e, _t in writes}
        for target, source in sets.items():
            swhere: Where = (*where, "set", target)
            tref = self.prop(target, swhere)
            if tref is None:
                ok = False
                continue
            bound = self.prop_codecs.get(target)
            entry = self._dp_entry(target)
            if bound is None or entry is None:
                self.sink.add(swhere, f"{target} is not bound in bindings.{self.transport}")
                ok = False
                continue
            codec, prop = bound
            if entry.read_only:
                self.sink.add(swhere, f"{target} is read_only in bindings.{self.transport}")
                ok = False
                continue
            if not codec.invertible:
                self.sink.add(swhere, f"cannot encode through {target}'s codec")
                ok = False
                continue
            if entry.dp in written:
                self.sink.add(swhere, f"DP {entry.dp} is also in write")
                ok = False
                continue
            expr = self.expression(source, ref, swhere)
            if expr is None:
                ok = False
                continue
            written.add(entry.dp)
            set_items.append((entry.dp, expr, codec, prop))
        exprs = [e for _d, e, _t in writes] + [e for _d, e, _c, _p in set_items]
        reverse = self.reverse_maps(exprs, ref, where)
        ok = self.unused_params(exprs, ref, where) and ok
        if ok and reverse is not None:
            self.commands[path] = DpCommand(
                path, ref.command, writes=writes, sets=set_items, reverse=reverse
            )

    def _dp_entry(self, path: str) -> DpPropertyBinding | None:
        b: DpBinding | None = getattr(self.doc.bindings, self.transport)
        return None if b is None else b.properties.get(path)


# --------------------------------------------------------------------------- Matter


class _MatterCompiler(_Compiler):
    endpoints: dict[str, int]

    def compile(self, b: MatterBinding) -> MatterRuntime:
        self.endpoints = dict(b.endpoints)
        for comp in b.endpoints:
            if comp not in self.components.components:
                self.sink.add(
                    (*self.base, "endpoints", comp),
                    f"unknown component {comp!r} (components: "
                    f"{', '.join(sorted(self.components.components))})",
                )
        for path, entry in b.properties.items():
            where: Where = (*self.base, "properties", path)
            ep = self._endpoint(path, entry.endpoint, where)
            if ep is None:
                continue
            address = (ep, entry.cluster, entry.attribute)
            added = self.add_property(path, entry, address, None, where)
            if added is None:
                continue
            ref, codec = added
            if ref.prop.access.value == "rw" and not entry.read_only and codec.invertible:
                self.writers[path] = PropertyWriter(
                    path, codec, ref.prop, _matter_writer(ep, entry.cluster, entry.attribute)
                )

        native: dict[tuple[int, int, int], list[EventRule]] = {}

        def address_of(rule: Any, ref: EventRef, where: Where) -> Hashable:
            ep = self._endpoint(ref.path, rule.endpoint, where)
            if ep is None:
                return None
            if rule.event is not None:
                compiled = self._native_rule(rule, ref, where)
                if compiled is not None:
                    native.setdefault((ep, rule.cluster, rule.event), []).append(compiled)
                return None  # native events are not derived from attribute reports
            return (ep, rule.cluster, rule.attribute)

        self.add_event_rules(b.events, address_of)

        for path, centry in b.commands.items():
            where = (*self.base, "commands", path)
            cref = self.command(path, where)
            if cref is None:
                continue
            self._command(path, cref, centry, where)
        return MatterRuntime(
            self.transport,
            self.doc.id,
            native_events=native,
            endpoints=self.endpoints,
            **self.runtime_kwargs(),
        )

    def _endpoint(self, path: Any, explicit: int | None, where: Where) -> int | None:
        if explicit is not None:
            return explicit
        component = str(path).split("/", 1)[0]
        ep = self.endpoints.get(component)
        if ep is None:
            self.sink.add(
                where,
                f"component {component!r} has no endpoint: add it to bindings.matter.endpoints "
                f"or give endpoint here",
            )
        return ep

    def _native_rule(self, rule: Any, ref: EventRef, where: Where) -> EventRule | None:
        extra = [k for k in (*_TRIGGER_KEYS,) if k in rule.model_fields_set]
        if extra or rule.codec_spec():
            self.sink.add(
                where,
                "a native Matter event is passed on as reported; trigger/transition/when and "
                "codecs are for events derived from an attribute",
            )
            return None
        emit = self._emit_specs(rule.emit, ref, (*where, "emit"))
        if emit is None:
            return None
        return EventRule(ref.path, observe=None, fire=_fire_always, emit=emit)

    def _command(self, path: str, ref: CommandRef, entry: Any, where: Where) -> None:
        timed_ms = entry.timed_ms
        if ref.command.timed and timed_ms is None and entry.write_attribute is None:
            self.sink.add(where, f"{ref.path} is a timed command: give timed_ms")
            return
        if entry.write_attribute is not None:
            wa = entry.write_attribute
            ep = self._endpoint(path, wa.endpoint, (*where, "write_attribute"))
            expr = self.expression(wa.value, ref, (*where, "write_attribute", "value"))
            if ep is None or expr is None:
                return
            reverse = self.reverse_maps([expr], ref, where)
            if not self.unused_params([expr], ref, where) or reverse is None:
                return
            self.commands[path] = MatterWriteCommand(
                path,
                ref.command,
                endpoint=ep,
                cluster=wa.cluster,
                attribute=wa.attribute,
                value=expr,
                reverse=reverse,
            )
            return
        ep = self._endpoint(path, entry.endpoint, where)
        fields: dict[str, Expression] = {}
        ok = ep is not None
        for name, source in entry.fields.items():
            expr = self.expression(source, ref, (*where, "fields", name))
            if expr is None:
                ok = False
            else:
                fields[name] = expr
        reverse = self.reverse_maps(list(fields.values()), ref, where)
        ok = self.unused_params(list(fields.values()), ref, where) and ok
        if ok and reverse is not None and ep is not None:
            self.commands[path] = MatterInvokeCommand(
                path,
                ref.command,
                endpoint=ep,
                cluster=entry.cluster,
                command_id=entry.command,
                fields=fields,
                timed_ms=timed_ms,
                reverse=reverse,
            )


def _matter_writer(ep: int, cluster: int, attribute: int) -> Callable[[Any], CommandPayload]:
    def build(raw: Any) -> MatterWrite:
        return MatterWrite(ep, cluster, attribute, raw)

    return build


# --------------------------------------------------------------------------- BLE GATT


class _GattCompiler(_Compiler):
    def compile(self, b: GattBinding) -> GattRuntime:
        frames: dict[str, tuple[str, StructLayout]] = {}
        for name, frame in b.frames.items():
            try:
                layout = compile_struct(
                    [StructField(f.name, f.offset, f.type) for f in frame.struct]
                )
            except CodecSpecError as err:
                self.sink.add((*self.base, "frames", name, "struct"), err.message)
                continue
            frames[name] = (frame.characteristic, layout)

        def field_address(entry: Any, where: Where) -> str | None:
            """``frame.field`` of a property or event entry, or None (reported)."""
            entry_frame = frames.get(entry.frame)
            if entry_frame is None:
                if entry.frame not in b.frames:
                    self.sink.add(
                        (*where, "frame"),
                        f"unknown frame {entry.frame!r} (frames: {', '.join(sorted(b.frames))})",
                    )
                return None
            names = [f.name for f in entry_frame[1].fields]
            if entry.field not in names:
                self.sink.add(
                    (*where, "field"),
                    f"frame {entry.frame!r} has no field {entry.field!r} "
                    f"(fields: {', '.join(names)})",
                )
                return None
            return f"{entry.frame}.{entry.field}"

        for path, entry in b.properties.items():
            where: Where = (*self.base, "properties", path)
            address = field_address(entry, where)
            if address is not None:
                self.add_property(path, entry, address, None, where)

        self.add_event_rules(b.events, lambda rule, _ref, where: field_address(rule, where))

        for path, centry in b.commands.items():
            where = (*self.base, "commands", path)
            ref = self.command(path, where)
            if ref is None:
                continue
            if centry.driver_op is not None:
                self.driver_op(path, ref, centry.driver_op, centry.args, where)
                continue
            assert centry.write is not None  # the schema requires write or driver_op
            characteristic = centry.characteristic or b.control_characteristic
            if characteristic is None:
                self.sink.add(where, "no characteristic: give control_characteristic")
                continue
            items: list[Expression] = []
            ok = True
            for i, source in enumerate(centry.write.bytes_):
                iwhere: Where = (*where, "write", "bytes", i)
                expr = self.expression(source, ref, iwhere)
                if expr is None:
                    ok = False
                    continue
                if expr.is_constant and not (
                    isinstance(expr.constant, bytes)
                    or (type(expr.constant) is int and 0 <= expr.constant <= 0xFF)
                ):
                    self.sink.add(iwhere, f"{source!r} is not a byte (0..255)")
                    ok = False
                    continue
                items.append(expr)
            reverse = self.reverse_maps(items, ref, where)
            ok = self.unused_params(items, ref, where) and ok
            if ok and reverse is not None:
                self.commands[path] = GattWriteCommand(
                    path, ref.command, characteristic=characteristic, items=items, reverse=reverse
                )
        return GattRuntime(
            self.transport,
            self.doc.id,
            service=b.service,
            frames=frames,
            control_characteristic=b.control_characteristic,
            **self.runtime_kwargs(),
        )


# --------------------------------------------------------------------------- BTHome


class _BthomeCompiler(_Compiler):
    def compile(self, b: BthomeBinding) -> BthomeRuntime:
        for path, entry in b.properties.items():
            where: Where = (*self.base, "properties", path)
            self.add_property(path, entry, entry.object_id, None, where)

        def address_of(rule: Any, ref: EventRef, where: Where) -> Hashable:
            return int(rule.object_id)

        self.add_event_rules(b.events, address_of)
        return BthomeRuntime(
            self.transport,
            self.doc.id,
            require_encryption=b.require_encryption,
            **self.runtime_kwargs(),
        )


def capability_path_ok(components: ComponentMap, path: str) -> str | None:
    """None when ``component/capability`` or a property path resolves, else the reason."""
    try:
        if path.count("/") == 1:
            component, capability = parse_capability_path(path)
            components.capability(component, capability)
        else:
            parse_member_path(path)
            components.property(path)
    except PathError as err:
        return str(err)
    return None
