"""The capability catalogue: loading ``zshub.capabilities/1`` files, instances and value checks.

The catalogue is hub-owned data (``device_profiles/capabilities/*.yaml``). Product profiles use its
capabilities and may narrow them per instance (docs/profile-format.md §2.1); :func:`apply_instance`
turns such a configuration into an effective :class:`CapabilityInstance`. :func:`check_value` runs
for every decoded value and command argument, so it stays plain Python (no pydantic).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails

import hub
from hub.capabilities.model import (
    Access,
    CapabilityDef,
    CatalogueFile,
    CommandDef,
    EventDef,
    FieldDef,
    LocalText,
    ParamDef,
    PropertyDef,
    ValueType,
    split_capability_key,
)
from hub.capabilities.units import UNITS
from hub.util.yamlio import LineMap, YamlError, load_yaml_file

__all__ = [
    "CAPABILITIES_DIR_ENV",
    "CapabilityInstance",
    "Catalogue",
    "CatalogueError",
    "FieldPath",
    "InstanceConfigError",
    "apply_instance",
    "capability_problems",
    "check_value",
    "default_catalogue_dir",
]

CAPABILITIES_DIR_ENV: Final = "ZSHUB_CAPABILITIES_DIR"

FieldPath = tuple[str | int, ...]

_NUMERIC: Final = frozenset({ValueType.INT, ValueType.NUMBER})
_CHOICE: Final = frozenset({ValueType.ENUM, ValueType.SET})
_EPS: Final = 1e-9
_BOOL_LABELS: Final = frozenset({"true", "false"})
# burner@1 must never gain a way to light gas remotely, whatever a catalogue file says.
_BURNER_COMMANDS: Final = frozenset({"off"})
_RESERVED_MEMBERS: Final = frozenset({"features", "info"})  # instance keys, not property names


def _dotted(path: FieldPath) -> str:
    return ".".join(str(p) for p in path)


# --------------------------------------------------------------------------------------------
# Errors


class CatalogueError(Exception):
    """A problem in one catalogue file, located as ``file:line: field: message``."""

    def __init__(self, file: str, line: int | None, field: str, message: str) -> None:
        super().__init__(file, line, field, message)
        self.file = file
        self.line = line
        self.field = field
        self.message = message

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.field}: {self.message}"


class InstanceConfigError(ValueError):
    """A bad per-instance configuration; ``field_path`` is relative to the instance mapping."""

    def __init__(self, field_path: FieldPath, message: str) -> None:
        super().__init__(field_path, message)
        self.field_path = field_path
        self.message = message

    def __str__(self) -> str:
        return f"{_dotted(self.field_path) or '(instance)'}: {self.message}"


# --------------------------------------------------------------------------------------------
# Value checks (hot path)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def check_value(prop: PropertyDef | ParamDef | FieldDef, value: Any) -> Any:
    """Validate ``value`` against a definition and return it in canonical form.

    ints accept floats within 1e-9 of an integer (decoders divide); sets come back as sorted
    tuples; numbers within 1e-9 outside the range are clamped (float noise from linear maps).
    Raises :class:`ValueError` with a message fit for a log line or the UI.
    """
    t = prop.type
    if t is ValueType.BOOL:
        if value is True or value is False:
            return value
        raise ValueError(f"expected true or false, got {value!r}")
    if t is ValueType.INT or t is ValueType.NUMBER:
        if type(value) is bool or not isinstance(value, int | float):
            raise ValueError(f"expected a number, got {value!r}")
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(f"expected a finite number, got {value!r}")
            if t is ValueType.INT:
                rounded = round(value)
                if abs(value - rounded) > _EPS:
                    raise ValueError(f"expected an integer, got {value!r}")
                value = rounded
        rng = None if isinstance(prop, FieldDef) else prop.range
        if rng is not None and not rng[0] <= value <= rng[1]:
            lo, hi = rng
            if lo - _EPS <= value <= hi + _EPS:
                return lo if value < lo else hi
            raise ValueError(f"{value!r} is outside the range [{_fmt(lo)}, {_fmt(hi)}]")
        return value
    if t is ValueType.ENUM:
        if not isinstance(value, str):
            raise ValueError(f"expected one of the named values, got {value!r}")
        if prop.values is not None and value not in prop.values:
            raise ValueError(f"{value!r} is not one of {list(prop.values)}")
        return value
    if t is ValueType.SET:
        if not isinstance(value, list | tuple | frozenset | set):
            raise ValueError(f"expected a list of values, got {value!r}")
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f"expected named values, got {item!r}")
            if prop.values is not None and item not in prop.values:
                raise ValueError(f"{item!r} is not one of {list(prop.values)}")
        return tuple(sorted(set(value)))
    if not isinstance(value, str):  # string, secret
        raise ValueError(f"expected text, got {value!r}")
    return value


# --------------------------------------------------------------------------------------------
# Semantic checks of a capability definition (beyond what the pydantic model checks)

_Problems = list[tuple[FieldPath, str]]


def _label_problems(
    vtype: ValueType, values: tuple[str, ...] | None, labels: Mapping[str, LocalText]
) -> _Problems:
    out: _Problems = []
    if not labels:
        return out
    if vtype is ValueType.BOOL:
        allowed: frozenset[str] | None = _BOOL_LABELS
    elif vtype in _CHOICE:
        allowed = None if values is None else frozenset(values)
    else:
        return [(("labels",), f"labels are only for bool, enum and set values, not {vtype}")]
    if allowed is not None:
        out.extend(
            (("labels", k), f"label for {k!r}, which is not a value ({sorted(allowed)})")
            for k in labels
            if k not in allowed
        )
    return out


def _values_problems(vtype: ValueType, values: tuple[str, ...] | None) -> _Problems:
    if values is None:
        return []
    if vtype not in _CHOICE:
        return [(("values",), "values are only for enum and set")]
    if len(set(values)) != len(values):
        return [(("values",), "values are listed twice")]
    return []


def _property_problems(prop: PropertyDef) -> _Problems:
    out = _values_problems(prop.type, prop.values)
    out += _label_problems(prop.type, prop.values, prop.labels)
    if prop.type is ValueType.SECRET:
        out.append((("type",), "secret is only for command parameters"))
    if prop.open_values and prop.type not in _CHOICE:
        out.append((("open_values",), "open_values is only for enum and set"))
    if prop.unit is not None and prop.type not in _NUMERIC:
        out.append((("unit",), "a unit is only for int and number"))
    if prop.step is not None and (prop.type not in _NUMERIC or prop.step <= 0):
        out.append((("step",), "step must be positive and is only for int and number"))
    int_range = prop.type is ValueType.INT and prop.range is not None
    if int_range and not all(float(b).is_integer() for b in prop.range or ()):
        out.append((("range",), "an int property needs integer bounds"))
    if prop.unit_per_instance:
        if prop.unit is not None:
            out.append((("unit",), "unit_per_instance properties leave the unit to instances"))
        if prop.type not in _NUMERIC:
            out.append((("unit_per_instance",), "only int and number properties carry a unit"))
    elif prop.instance_units is not None:
        out.append((("instance_units",), "instance_units needs unit_per_instance: true"))
    return out


def _command_problems(cmd: CommandDef, props: Mapping[str, PropertyDef]) -> _Problems:
    out: _Problems = []
    for pname, param in cmd.params.items():
        ppath: FieldPath = ("params", pname)
        if param.ref is not None:
            ref = props[param.ref]  # existence is checked by the model
            if param.type is not ref.type and not (
                param.type is ValueType.ENUM and ref.type is ValueType.SET
            ):
                out.append(((*ppath, "type"), f"type {param.type} does not match {param.ref}"))
            if param.range is not None or param.values is not None or param.unit is not None:
                out.append((ppath, "a parameter with ref takes range/values/unit from it"))
        else:
            out += [((*ppath, *p), m) for p, m in _values_problems(param.type, param.values)]
            if param.range is not None and param.type not in _NUMERIC:
                out.append(((*ppath, "range"), "range is only for int and number"))
    for prop_name, effect in cmd.effects.items():
        epath: FieldPath = ("effects", prop_name)
        if isinstance(effect, str) and effect.startswith("$"):
            if effect[1:] not in cmd.params:
                out.append((epath, f"{effect} is not a parameter of this command"))
            continue
        try:
            check_value(props[prop_name], effect)
        except ValueError as err:
            out.append((epath, str(err)))
    return out


def _event_problems(event: EventDef) -> _Problems:
    out: _Problems = []
    for fname, fdef in event.fields.items():
        fpath: FieldPath = ("fields", fname)
        probs = _values_problems(fdef.type, fdef.values)
        probs += _label_problems(fdef.type, fdef.values, fdef.labels)
        if fdef.type is ValueType.SECRET:
            probs.append((("type",), "secret is only for command parameters"))
        if fdef.unit is not None and fdef.type not in _NUMERIC:
            probs.append((("unit",), "a unit is only for int and number"))
        out += [((*fpath, *p), m) for p, m in probs]
    return out


def capability_problems(key: str, capdef: CapabilityDef) -> list[tuple[FieldPath, str]]:
    """Semantic problems of one definition, as (path inside the definition, message) pairs.

    Used for catalogue files and for vendor capabilities declared in profiles, whose validators
    map the paths to lines.
    """
    try:
        name, _major = split_capability_key(key)
    except ValueError as err:
        return [((), str(err))]
    out: _Problems = []
    for pname, prop in capdef.properties.items():
        if pname in _RESERVED_MEMBERS:
            out.append((("properties", pname), f"{pname!r} is reserved for instance settings"))
        out += [(("properties", pname, *p), m) for p, m in _property_problems(prop)]
    for cname, cmd in capdef.commands.items():
        out += [(("commands", cname, *p), m) for p, m in _command_problems(cmd, capdef.properties)]
    for ename, event in capdef.events.items():
        out += [(("events", ename, *p), m) for p, m in _event_problems(event)]
    if name == "burner":
        out += [
            (("commands", c), "burner has no command but off: remote ignition is not allowed")
            for c in capdef.commands
            if c not in _BURNER_COMMANDS
        ]
    return out


# --------------------------------------------------------------------------------------------
# Loading


def _pydantic_error(file: str, lines: LineMap, err: ErrorDetails) -> CatalogueError:
    path: FieldPath = tuple(p for p in err["loc"] if p != "[key]")
    if err["type"] == "extra_forbidden":
        message = "unknown key (misspelt?)"
    else:
        message = err["msg"].removeprefix("Value error, ")
    return CatalogueError(file, lines.get(path), _dotted(path) or "(file)", message)


def _load_file(file: Path) -> tuple[CatalogueFile | None, LineMap, list[CatalogueError]]:
    name = str(file)
    try:
        data, lines = load_yaml_file(file)
    except YamlError as err:
        return None, LineMap(), [CatalogueError(name, err.line, "(yaml)", str(err))]
    except (OSError, UnicodeDecodeError) as err:
        return None, LineMap(), [CatalogueError(name, None, "(file)", f"cannot read: {err}")]
    if data is None:
        return None, lines, [CatalogueError(name, None, "(file)", "the file is empty")]
    try:
        parsed = CatalogueFile.model_validate(data)
    except ValidationError as err:
        return None, lines, [_pydantic_error(name, lines, e) for e in err.errors()]
    problems: _Problems = []
    for key, capdef in parsed.capabilities.items():
        base: FieldPath = ("capabilities", key)
        if key.startswith("vendor."):
            problems.append((base, "vendor capabilities belong in product profiles"))
        problems += [((*base, *p), m) for p, m in capability_problems(key, capdef)]
    if problems:
        errors = [CatalogueError(name, lines.get(p), _dotted(p), m) for p, m in problems]
        return None, lines, errors
    return parsed, lines, []


def default_catalogue_dir() -> Path:
    """``device_profiles/capabilities`` at the repository root, unless ZSHUB_CAPABILITIES_DIR."""
    override = os.environ.get(CAPABILITIES_DIR_ENV)
    if override:
        return Path(override)
    return Path(hub.__file__).resolve().parent.parent / "device_profiles" / "capabilities"


class Catalogue:
    """An immutable set of capability definitions keyed ``name@major``."""

    __slots__ = ("_caps", "_latest", "_sources")

    def __init__(
        self,
        capabilities: Mapping[str, CapabilityDef] | None = None,
        *,
        sources: Mapping[str, str] | None = None,
    ) -> None:
        self._caps: dict[str, CapabilityDef] = dict(capabilities or {})
        self._sources: dict[str, str] = dict(sources or {})
        # name -> (major, key) of the newest major, for find("fan").
        self._latest: dict[str, tuple[int, str]] = {}
        for key in self._caps:
            name, major = split_capability_key(key)  # ValueError: a programming error
            if name not in self._latest or major > self._latest[name][0]:
                self._latest[name] = (major, key)

    @classmethod
    def load_dir(cls, path: Path) -> tuple[Catalogue, list[CatalogueError]]:
        """Load every ``*.yaml`` in ``path`` (blocking I/O: run it in an executor in the hub).

        A file with any problem is skipped as a whole and reported; a capability already defined
        by an earlier file (sorted by name) is reported and the earlier one kept.
        """
        if not path.is_dir():
            return cls(), [CatalogueError(str(path), None, "(directory)", "not a directory")]
        caps: dict[str, CapabilityDef] = {}
        sources: dict[str, str] = {}
        errors: list[CatalogueError] = []
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        for file in files:
            parsed, lines, file_errors = _load_file(file)
            errors.extend(file_errors)
            if parsed is None:
                continue
            for key, capdef in parsed.capabilities.items():
                if key in caps:
                    where: FieldPath = ("capabilities", key)
                    message = f"{key} is already defined in {sources[key]}"
                    errors.append(
                        CatalogueError(str(file), lines.get(where), _dotted(where), message)
                    )
                    continue
                caps[key] = capdef
                sources[key] = str(file)
        return cls(caps, sources=sources), errors

    def get(self, key: str) -> CapabilityDef:
        return self._caps[key]

    def find(self, name_or_key: str) -> tuple[str, CapabilityDef] | None:
        """``"fan@1"`` exactly, or ``"fan"`` -> its newest major; None when absent."""
        if "@" in name_or_key:
            capdef = self._caps.get(name_or_key)
            return None if capdef is None else (name_or_key, capdef)
        latest = self._latest.get(name_or_key)
        return None if latest is None else (latest[1], self._caps[latest[1]])

    def keys(self) -> list[str]:
        return sorted(self._caps)

    def source(self, key: str) -> str | None:
        """The file a capability came from (``(profile)`` for vendor capabilities)."""
        return self._sources.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._caps

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._caps)

    def add_vendor(self, key: str, capdef: CapabilityDef) -> Catalogue:
        """A new catalogue with a profile's ``vendor.<maker>.<name>@n`` capability added.

        Raises ValueError for a non-vendor or taken key or a semantically broken definition;
        profile validators call :func:`capability_problems` first to report lines.
        """
        try:
            name, _major = split_capability_key(key)
        except ValueError as err:
            raise ValueError(f"{key!r} must look like vendor.<maker>.<name>@1") from err
        if not name.startswith("vendor."):
            raise ValueError(f"{key!r} must look like vendor.<maker>.<name>@1")
        if key in self._caps:
            raise ValueError(f"{key} is already in the catalogue")
        problems = capability_problems(key, capdef)
        if problems:
            raise ValueError("; ".join(f"{_dotted(p)}: {m}" for p, m in problems))
        # Copying ~30 references is cheaper than chained lookups on every get().
        return Catalogue({**self._caps, key: capdef}, sources={**self._sources, key: "(profile)"})


# --------------------------------------------------------------------------------------------
# Instances


@dataclass(frozen=True, slots=True)
class CapabilityInstance:
    """A capability as one component of one product has it: narrowed and with features applied."""

    key: str
    name: str
    major: int
    capdef: CapabilityDef
    properties: dict[str, PropertyDef]
    features: frozenset[str]
    commands: dict[str, CommandDef]  # minus those excluded by features; ref params resolved
    events: dict[str, EventDef]
    info: dict[str, Any]
    tags: dict[str, dict[str, tuple[str, ...]]] = field(
        default_factory=dict
    )  # prop -> value -> tags

    def value_labels(self, prop: str) -> dict[str, LocalText]:
        """zh/en labels of a property's values (KeyError for an unknown property)."""
        return dict(self.properties[prop].labels)

    def value_tags(self, prop: str) -> dict[str, tuple[str, ...]]:
        return dict(self.tags.get(prop, {}))


_OVERRIDE_KEYS: Final = frozenset({"range", "step", "values", "unit"})
# shorthand -> (target property, bound index) for bounds given one side at a time.
_BOUNDS: Final[dict[str, tuple[str, int]]] = {
    "min_kelvin": ("kelvin", 0),
    "max_kelvin": ("kelvin", 1),
    "min": ("setpoint", 0),
    "max": ("setpoint", 1),
}
_SHORTHANDS: Final = frozenset(
    {
        *_BOUNDS,
        "range",
        "values",
        "step",
        "firepower_levels",
        "extra_states",
        "codes",
        "unit",
        "modes",
    }
)


@dataclass(slots=True)
class _Draft:
    """One property being narrowed; remembers which config key set what, to catch clashes."""

    base: PropertyDef
    range: tuple[float, float] | None
    step: float | None
    values: tuple[str, ...] | None
    labels: dict[str, LocalText]
    unit: str | None
    tags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    set_by: dict[str, FieldPath] = field(default_factory=dict)

    @classmethod
    def of(cls, prop: PropertyDef) -> _Draft:
        return cls(prop, prop.range, prop.step, prop.values, dict(prop.labels), prop.unit)

    def claim(self, attr: str, path: FieldPath) -> None:
        prev = self.set_by.get(attr)
        if prev is not None:
            raise InstanceConfigError(path, f"{attr} is already set by {_dotted(prev)}")
        self.set_by[attr] = path

    def build(self) -> PropertyDef:
        if not self.set_by:
            return self.base
        update = {
            "range": self.range,
            "step": self.step,
            "values": self.values,
            "labels": self.labels,
            "unit": self.unit,
        }
        return self.base.model_copy(update=update)


def _number(raw: Any, prop: PropertyDef, path: FieldPath) -> float:
    if type(raw) is bool or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise InstanceConfigError(path, f"expected a number, got {raw!r}")
    if prop.type is ValueType.INT and not float(raw).is_integer():
        raise InstanceConfigError(path, f"expected an integer, got {raw!r}")
    return raw


def _narrow_range(draft: _Draft, pname: str, lo: float, hi: float, path: FieldPath) -> None:
    if lo > hi:
        raise InstanceConfigError(path, f"minimum {_fmt(lo)} is above maximum {_fmt(hi)}")
    cat = draft.base.range
    if cat is not None and (lo < cat[0] or hi > cat[1]):
        raise InstanceConfigError(
            path,
            f"[{_fmt(lo)}, {_fmt(hi)}] is outside the catalogue range "
            f"[{_fmt(cat[0])}, {_fmt(cat[1])}] of {pname}",
        )
    draft.claim("range", path)
    draft.range = (float(lo), float(hi))  # as the model stores ranges


def _set_range(draft: _Draft, pname: str, raw: Any, path: FieldPath) -> None:
    if draft.base.type not in _NUMERIC:
        raise InstanceConfigError(path, f"{pname} is {draft.base.type}; a range needs a number")
    if not isinstance(raw, list | tuple) or len(raw) != 2:
        raise InstanceConfigError(path, f"a range is [min, max], got {raw!r}")
    lo = _number(raw[0], draft.base, (*path, 0))
    hi = _number(raw[1], draft.base, (*path, 1))
    _narrow_range(draft, pname, lo, hi, path)


def _set_step(draft: _Draft, pname: str, raw: Any, path: FieldPath) -> None:
    if draft.base.type not in _NUMERIC:
        raise InstanceConfigError(path, f"{pname} is {draft.base.type}; a step needs a number")
    step = _number(raw, draft.base, path)
    if step <= 0:
        raise InstanceConfigError(path, "step must be positive")
    cat = draft.base.step
    if cat is not None and (step < cat or abs(step / cat - round(step / cat)) > _EPS):
        raise InstanceConfigError(path, f"step must be a multiple of the catalogue step {cat}")
    draft.claim("step", path)
    draft.step = float(step)


def _parse_label(spec: Any, path: FieldPath) -> tuple[LocalText, tuple[str, ...]]:
    if not isinstance(spec, Mapping):
        raise InstanceConfigError(path, "a value's label is {zh: …, en: …}")
    for k in spec:
        if k not in ("zh", "en", "tags"):
            raise InstanceConfigError((*path, k), f"unknown key {k!r} (allowed: zh, en, tags)")
    for lang in ("zh", "en"):
        text = spec.get(lang)
        if text is None:
            raise InstanceConfigError(path, f"label needs both zh and en; {lang} is missing")
        if not isinstance(text, str) or not text.strip():
            raise InstanceConfigError((*path, lang), "label text must be non-empty")
    tags = spec.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise InstanceConfigError((*path, "tags"), "tags are a list of words")
    return LocalText(zh=spec["zh"], en=spec["en"]), tuple(tags)


def _parse_values(
    raw: Any, path: FieldPath
) -> tuple[list[str], dict[str, LocalText], dict[str, tuple[str, ...]]]:
    """``[a, b]`` or ``{a: {zh, en, tags}}`` -> values, labels, tags."""
    values: list[str] = []
    labels: dict[str, LocalText] = {}
    tags: dict[str, tuple[str, ...]] = {}
    if isinstance(raw, Mapping):
        items: list[tuple[FieldPath, Any, Any]] = [((*path, k), k, v) for k, v in raw.items()]
    elif isinstance(raw, list | tuple):
        items = [((*path, i), v, None) for i, v in enumerate(raw)]
    else:
        raise InstanceConfigError(path, "values are a list or a mapping {value: {zh: …, en: …}}")
    for vpath, value, spec in items:
        if not isinstance(value, str) or not value:
            raise InstanceConfigError(vpath, f"values are names (text), got {value!r}")
        if value in values:
            raise InstanceConfigError(vpath, f"{value!r} is listed twice")
        values.append(value)
        if isinstance(raw, Mapping):
            labels[value], value_tags = _parse_label(spec, vpath)
            if value_tags:
                tags[value] = value_tags
    if not values:
        raise InstanceConfigError(path, "give at least one value")
    return values, labels, tags


def _set_values(
    draft: _Draft, pname: str, raw: Any, path: FieldPath, *, extend: bool = False
) -> None:
    base = draft.base
    if base.type not in _CHOICE:
        raise InstanceConfigError(path, f"{pname} is {base.type}; values are for enum and set")
    values, labels, tags = _parse_values(raw, path)
    if extend:  # extra_states: vendor sub-states on top of the catalogue's base values
        base_values = base.values or ()
        for i, v in enumerate(values):
            if v in base_values:
                where = (*path, v) if isinstance(raw, Mapping) else (*path, i)
                raise InstanceConfigError(where, f"{v!r} is already a base value of {pname}")
        values = [*base_values, *values]
    elif base.values is not None and not base.open_values:
        for i, v in enumerate(values):
            if v not in base.values:
                where = (*path, v) if isinstance(raw, Mapping) else (*path, i)
                raise InstanceConfigError(
                    where, f"{v!r} is not a value of {pname} (catalogue: {list(base.values)})"
                )
    draft.claim("values", path)
    kept = {v: lab for v, lab in base.labels.items() if v in values}
    draft.values = tuple(values)
    draft.labels = {**kept, **labels}
    draft.tags = tags


def _set_unit(draft: _Draft, pname: str, raw: Any, path: FieldPath) -> None:
    base = draft.base
    if not base.unit_per_instance:
        fixed = f"the fixed unit {base.unit!r}" if base.unit else "no unit"
        raise InstanceConfigError(path, f"{pname} has {fixed}; bindings convert units")
    allowed = base.instance_units or tuple(sorted(UNITS))
    if not isinstance(raw, str) or raw not in allowed:
        raise InstanceConfigError(path, f"unit must be one of {list(allowed)}, got {raw!r}")
    draft.claim("unit", path)
    draft.unit = raw


def _apply_override(draft: _Draft, pname: str, raw: Any, path: FieldPath) -> None:
    if not isinstance(raw, Mapping):
        raise InstanceConfigError(path, f"narrow {pname} with {{range, step, values, unit}}")
    for k, v in raw.items():
        kpath = (*path, k)
        if k == "range":
            _set_range(draft, pname, v, kpath)
        elif k == "step":
            _set_step(draft, pname, v, kpath)
        elif k == "values":
            _set_values(draft, pname, v, kpath)
        elif k == "unit":
            _set_unit(draft, pname, v, kpath)
        else:
            raise InstanceConfigError(
                kpath, f"unknown key {k!r}; a property takes range, step, values, unit"
            )


def _shorthand_targets(k: str, capdef: CapabilityDef) -> list[str]:
    """The properties a shorthand would narrow in this capability (empty: not applicable)."""
    props = capdef.properties
    if k == "range":
        return [p for p, d in props.items() if d.type in _NUMERIC and d.access is Access.RW]
    if k == "values":
        return [
            p for p, d in props.items() if d.type in _CHOICE and (d.values is None or d.open_values)
        ]
    if k == "unit":
        return [p for p, d in props.items() if d.unit_per_instance]
    single = {
        "step": "setpoint",
        "firepower_levels": "firepower",
        "extra_states": "state",
        "codes": "codes",
        "modes": "mode",
        **{b: t for b, (t, _i) in _BOUNDS.items()},
    }
    target = props.get(single[k])
    if target is None:
        return []
    ok = {
        "firepower_levels": target.type is ValueType.INT,
        "extra_states": target.open_values,
        "codes": target.type is ValueType.SET and (target.values is None or target.open_values),
        "modes": target.type is ValueType.ENUM,
    }.get(k, target.type in _NUMERIC)
    return [single[k]] if ok else []


def _uses_shorthand(k: str, raw: Any, capdef: CapabilityDef) -> bool:
    """A key that names a property and a shorthand (``min``, ``step``, ``codes``) is an override
    only when its value looks like one: a mapping of range/step/values/unit."""
    if k not in _SHORTHANDS or not _shorthand_targets(k, capdef):
        return False
    return not (isinstance(raw, Mapping) and set(raw) <= _OVERRIDE_KEYS)


def _allowed_keys(capdef: CapabilityDef) -> list[str]:
    keys = ["info", *capdef.properties]
    if capdef.features:
        keys.append("features")
    keys += [k for k in sorted(_SHORTHANDS) if _shorthand_targets(k, capdef) and k not in keys]
    return keys


def _apply_shorthand(
    k: str,
    raw: Any,
    capdef: CapabilityDef,
    drafts: dict[str, _Draft],
    bounds: dict[str, dict[int, tuple[float, FieldPath]]],
    path: FieldPath,
) -> None:
    targets = _shorthand_targets(k, capdef)
    if k in ("range", "values") and len(targets) > 1:
        raise InstanceConfigError(
            path, f"{k!r} is ambiguous here ({', '.join(targets)}); use <property>: {{{k}: …}}"
        )
    target = targets[0]
    draft = drafts[target]
    if k in _BOUNDS:
        side = _BOUNDS[k][1]
        bounds.setdefault(target, {})[side] = (_number(raw, draft.base, path), path)
    elif k == "range":
        _set_range(draft, target, raw, path)
    elif k == "step":
        _set_step(draft, target, raw, path)
    elif k == "firepower_levels":
        if type(raw) is not int or raw < 1:
            raise InstanceConfigError(path, f"firepower_levels is a whole number ≥ 1, got {raw!r}")
        # 0 is reported while the burner is out; 1..N are the knob's levels.
        _narrow_range(draft, target, 0, raw, path)
    elif k == "extra_states":
        _set_values(draft, target, raw, path, extend=True)
    elif k == "codes":
        if not isinstance(raw, Mapping):
            raise InstanceConfigError(path, "codes are {CODE: {zh: …, en: …}}")
        _set_values(draft, target, raw, path)
    elif k == "unit":
        for t in targets:
            _set_unit(drafts[t], t, raw, path)
    else:  # values, modes
        _set_values(draft, target, raw, path)


def _apply_bounds(
    bounds: dict[str, dict[int, tuple[float, FieldPath]]], drafts: dict[str, _Draft]
) -> None:
    for target, sides in bounds.items():
        draft = drafts[target]
        cat = draft.base.range
        given_path = sides[min(sides)][1]
        if len(sides) == 1 and cat is None:
            raise InstanceConfigError(given_path, f"give both bounds of {target}")
        lo = sides[0][0] if 0 in sides else cat[0] if cat else 0.0
        hi = sides[1][0] if 1 in sides else cat[1] if cat else 0.0
        _narrow_range(draft, target, lo, hi, given_path)


def _parse_features(raw: Any, capdef: CapabilityDef, path: FieldPath) -> frozenset[str]:
    if not isinstance(raw, list):
        raise InstanceConfigError(path, "features are a list, e.g. [off_only]")
    for i, feat in enumerate(raw):
        if not isinstance(feat, str) or feat not in capdef.features:
            known = sorted(capdef.features) or "none"
            raise InstanceConfigError((*path, i), f"unknown feature {feat!r} (known: {known})")
        if raw.index(feat) != i:
            raise InstanceConfigError((*path, i), f"{feat!r} is listed twice")
    return frozenset(raw)


def _resolve_command(cmd: CommandDef, props: Mapping[str, PropertyDef]) -> CommandDef:
    """Give ``ref`` parameters the narrowed range/values/unit of their property."""
    if not any(p.ref is not None for p in cmd.params.values()):
        return cmd
    params: dict[str, ParamDef] = {}
    for name, param in cmd.params.items():
        if param.ref is None:
            params[name] = param
            continue
        prop = props[param.ref]
        update = {"range": prop.range, "values": prop.values, "unit": prop.unit}
        params[name] = param.model_copy(update=update)
    return cmd.model_copy(update={"params": params})


def apply_instance(
    key: str, capdef: CapabilityDef, config: Mapping[str, Any] | None
) -> CapabilityInstance:
    """Apply a profile's per-instance configuration (docs/profile-format.md §2.1).

    Raises :class:`InstanceConfigError` at the first problem; unknown keys are errors so that
    typos do not silently leave a capability un-narrowed.
    """
    try:
        name, major = split_capability_key(key)
    except ValueError as err:
        raise InstanceConfigError((), str(err)) from None
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise InstanceConfigError((), f"the configuration of {key} must be a mapping")
    drafts = {p: _Draft.of(prop) for p, prop in capdef.properties.items()}
    bounds: dict[str, dict[int, tuple[float, FieldPath]]] = {}
    features: frozenset[str] = frozenset()
    info: dict[str, Any] = {}
    for k, raw in config.items():
        path: FieldPath = (k,)
        if k == "features":
            features = _parse_features(raw, capdef, path)
        elif k == "info":
            if not isinstance(raw, Mapping) or not all(isinstance(i, str) for i in raw):
                raise InstanceConfigError(path, "info is a mapping of descriptive keys")
            info = dict(raw)
        elif isinstance(k, str) and k in drafts and not _uses_shorthand(k, raw, capdef):
            _apply_override(drafts[k], k, raw, path)
        elif isinstance(k, str) and k in _SHORTHANDS and _shorthand_targets(k, capdef):
            _apply_shorthand(k, raw, capdef, drafts, bounds, path)
        else:
            allowed = ", ".join(_allowed_keys(capdef))
            raise InstanceConfigError(path, f"unknown key {k!r} for {key} (allowed: {allowed})")
    _apply_bounds(bounds, drafts)
    for pname, draft in drafts.items():
        if draft.base.unit_per_instance and draft.unit is None:
            units = list(draft.base.instance_units or sorted(UNITS))
            raise InstanceConfigError((), f"{pname} needs a unit: add `unit: …` (one of {units})")
    properties = {p: d.build() for p, d in drafts.items()}
    commands = {
        cname: _resolve_command(cmd, properties)
        for cname, cmd in capdef.commands.items()
        if not features.intersection(cmd.excluded_by)
    }
    tags = {p: d.tags for p, d in drafts.items() if d.tags}
    return CapabilityInstance(
        key=key,
        name=name,
        major=major,
        capdef=capdef,
        properties=properties,
        features=features,
        commands=commands,
        events=dict(capdef.events),
        info=info,
        tags=tags,
    )
