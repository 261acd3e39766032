"""Pack parameters: the values an integrator tunes (times, thresholds, room ids) without editing
a pack.

A rule or scene file declares them at the top and uses them as ``$name`` wherever a value goes
(the whole value), or ``${name}`` inside a text::

    pack: {id: builtin.kitchen_guard}
    params:
      unattended_after:
        value: 30m
        type: duration
        min: 5m
        max: 2h
        title: {zh: 无人看管提醒时间, en: Remind after cooking unattended for}
    rules:
      - …
          triggers:
            - state:
                {target: role:gas_source, path: burner/ignited, to: true, for: $unattended_after}
          …
            text: {zh: 已燃烧 ${unattended_after}, en: "On for ${unattended_after}"}

In a text a duration reads "30 分钟" / "30 min". The home's own values go in a
``zshub.params/1`` file in ``<data>/rules/`` (read before the packs)::

    schema: zshub.params/1
    all:                          # every file that declares the parameter
      living_room: keting
    packs:
      builtin.kitchen_guard:
        unattended_after: 45m

``zshub rule test --param name=value`` beats both. An override that breaks its declaration
(type, ``min``/``max``) is reported and the next one applies (in the end the pack's own value),
so a typo never weakens a safety rule or sets a pack aside; an override nothing declares is
reported too.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hub.util.yamlio import LineMap, YamlError, load_yaml, load_yaml_file
from rules.schema import ParamSpec, _parse_time_of_day, parse_duration

__all__ = [
    "PARAMS_SCHEMA",
    "AppliedParam",
    "Override",
    "ParamOverrides",
    "ParamProblem",
    "apply_params",
    "format_duration",
    "load_overrides",
    "parse_assignment",
    "parse_overrides",
]

PARAMS_SCHEMA = "zshub.params/1"
Loc = tuple[Hashable, ...]

_WHOLE_RE = re.compile(r"^\$([a-z_][a-z0-9_]*)$")
_INLINE_RE = re.compile(r"\$\{([a-z_][a-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class ParamProblem:
    """Shaped like :class:`rules.loader.LoadProblem` (which the loader turns it into)."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        line = self.line if self.line is not None else "?"
        return f"{self.file}:{line}: {self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class Override:
    value: Any
    source: str  # file or "--param"
    line: int | None = None
    field: str = ""  # where in the file: all.<name> or packs.<pack>.<name>

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.line is not None else self.source


@dataclass(frozen=True, slots=True)
class AppliedParam:
    """The value a file's parameter took, and where from (``default`` or the override)."""

    file: str
    pack: str | None
    name: str
    value: Any
    origin: str

    def __str__(self) -> str:
        return f"{self.name} = {self.value!r} ({self.origin})"


@dataclass(slots=True)
class ParamOverrides:
    """The home's parameter values: for every file (``all``) and per pack id (``packs``)."""

    all: dict[str, Override] = field(default_factory=dict)
    packs: dict[str, dict[str, Override]] = field(default_factory=dict)
    first: dict[str, Override] = field(default_factory=dict)  # ``--param``: beats both
    _used: set[tuple[str | None, str]] = field(default_factory=set)

    def merge(self, other: ParamOverrides) -> None:
        """Later files win."""
        self.all.update(other.all)
        self.first.update(other.first)
        for pack, values in other.packs.items():
            self.packs.setdefault(pack, {}).update(values)

    def candidates(self, pack: str | None, name: str) -> list[Override]:
        """The overrides for a parameter a file declares, best first: ``first`` (``--param``),
        the pack's own, ``all``. Each counts as used, so none is reported as a typo."""
        out: list[Override] = []
        if name in self.first:
            self._used.add(("--param", name))
            out.append(self.first[name])
        if pack is not None and name in self.packs.get(pack, {}):
            self._used.add((pack, name))
            out.append(self.packs[pack][name])
        if name in self.all:
            self._used.add((None, name))
            out.append(self.all[name])
        return out

    def lookup(self, pack: str | None, name: str) -> Override | None:
        found = self.candidates(pack, name)
        return found[0] if found else None

    def unused(self) -> list[ParamProblem]:
        """Overrides no loaded file declared (a typo, or a pack that is not installed)."""
        out: list[ParamProblem] = []
        for name, ov in self.first.items():
            if ("--param", name) not in self._used:
                out.append(
                    ParamProblem(ov.source, ov.line, name, f"the file declares no parameter {name}")
                )
        for name, ov in self.all.items():
            if (None, name) not in self._used:
                out.append(
                    ParamProblem(
                        ov.source,
                        ov.line,
                        f"all.{name}",
                        f"no rule or scene file declares the parameter {name}",
                    )
                )
        for pack, values in self.packs.items():
            for name, ov in values.items():
                if (pack, name) not in self._used:
                    out.append(
                        ParamProblem(
                            ov.source,
                            ov.line,
                            f"packs.{pack}.{name}",
                            f"the pack {pack} declares no parameter {name} (or is not loaded)",
                        )
                    )
        return out


def parse_overrides(
    data: Any, lines: LineMap, source: str
) -> tuple[ParamOverrides, list[ParamProblem]]:
    """A ``zshub.params/1`` document."""
    out = ParamOverrides()
    problems: list[ParamProblem] = []

    def bad(loc: Loc, message: str) -> None:
        problems.append(
            ParamProblem(source, lines.get(loc), ".".join(map(str, loc)) or "(file)", message)
        )

    if not isinstance(data, Mapping) or data.get("schema") != PARAMS_SCHEMA:
        bad((), f"expected a mapping with schema: {PARAMS_SCHEMA}")
        return out, problems
    extra = [str(k) for k in data if k not in ("schema", "all", "packs")]
    if extra:
        bad((extra[0],), f"unknown key {extra[0]}; a parameter file has all: and packs:")
    common = data.get("all") or {}
    if not isinstance(common, Mapping):
        bad(("all",), "all: is a mapping of parameter: value")
        common = {}
    for name, value in common.items():
        out.all[str(name)] = Override(value, source, lines.get(("all", name)), f"all.{name}")
    packs = data.get("packs") or {}
    if not isinstance(packs, Mapping):
        bad(("packs",), "packs: is a mapping of pack id: {parameter: value}")
        packs = {}
    for pack, values in packs.items():
        if not isinstance(values, Mapping):
            bad(("packs", pack), "expected parameter: value pairs")
            continue
        out.packs[str(pack)] = {
            str(name): Override(
                value, source, lines.get(("packs", pack, name)), f"packs.{pack}.{name}"
            )
            for name, value in values.items()
        }
    return out, problems


def load_overrides(folders: Sequence[Path]) -> tuple[ParamOverrides, list[ParamProblem]]:
    """Blocking: every ``zshub.params/1`` file in these folders (sorted; later files win)."""
    out = ParamOverrides()
    problems: list[ParamProblem] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml")):
            try:
                data, lines = load_yaml_file(path)
            except (YamlError, OSError):
                continue  # the rule loader reports the file
            if not isinstance(data, Mapping) or data.get("schema") != PARAMS_SCHEMA:
                continue
            found, trouble = parse_overrides(data, lines, str(path))
            out.merge(found)
            problems.extend(trouble)
    return out, problems


def parse_assignment(text: str) -> tuple[str, Any]:
    """``name=value`` from the command line; the value is read as YAML (``45m``, ``3``,
    ``"22:30"``, ``[a, b]``)."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not re.match(r"^[a-z_][a-z0-9_]*$", name):
        raise ValueError(f"{text!r}: write --param name=value")
    value, _ = load_yaml(raw if raw.strip() else '""', "--param")
    return name, value


# -- checking and substituting ----------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def check_value(spec: ParamSpec, value: Any) -> tuple[Any, str | None]:
    """``value`` checked against the declaration: (value, None) or (value, why it is wrong)."""
    try:
        if spec.type == "duration":
            seconds = parse_duration(value)
            low = parse_duration(spec.min) if spec.min is not None else None
            high = parse_duration(spec.max) if spec.max is not None else None
            if low is not None and seconds < low:
                return value, f"{value} is below the minimum {spec.min}"
            if high is not None and seconds > high:
                return value, f"{value} is above the maximum {spec.max}"
            return value, None
        if spec.type == "time":
            _parse_time_of_day(value)
            return value, None
        if spec.type in ("number", "int"):
            number = _number(value)
            if number is None or (spec.type == "int" and not float(number).is_integer()):
                return (
                    value,
                    f"{value!r} is not {'a whole number' if spec.type == 'int' else 'a number'}",
                )
            low, high = _number(spec.min), _number(spec.max)
            if low is not None and number < low:
                return value, f"{value} is below the minimum {spec.min}"
            if high is not None and number > high:
                return value, f"{value} is above the maximum {spec.max}"
            return value, None
        if spec.type == "text" and not isinstance(value, str):
            return value, f"{value!r} is not a text"
    except ValueError as err:
        return value, str(err).removeprefix("Value error, ")
    return value, None


def format_duration(value: Any, lang: str) -> str:
    """``30m`` -> "30 分钟" / "30 min"; ``1h30m`` -> "1 小时 30 分钟" / "1 h 30 min"."""
    try:
        seconds = round(parse_duration(value))
    except ValueError:
        return str(value)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    units = (("小时", "h"), ("分钟", "min"), ("秒", "s"))
    parts = [
        f"{amount} {unit[0] if lang == 'zh' else unit[1]}"
        for amount, unit in zip((hours, minutes, secs), units, strict=True)
        if amount
    ]
    return " ".join(parts) or ("0 秒" if lang == "zh" else "0 s")


_WEEKDAYS = {
    "mon": ("周一", "Mon"),
    "tue": ("周二", "Tue"),
    "wed": ("周三", "Wed"),
    "thu": ("周四", "Thu"),
    "fri": ("周五", "Fri"),
    "sat": ("周六", "Sat"),
    "sun": ("周日", "Sun"),
}


def _text(value: Any, spec: ParamSpec, lang: str) -> str:
    if spec.type == "duration":
        return format_duration(value, lang)
    if isinstance(value, list | tuple) and value and all(v in _WEEKDAYS for v in value):
        names = [_WEEKDAYS[v][0 if lang == "zh" else 1] for v in value]
        return ("、" if lang == "zh" else ", ").join(names)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


def apply_params(
    data: Mapping[str, Any],
    lines: LineMap,
    source: str,
    overrides: ParamOverrides | None = None,
) -> tuple[dict[str, Any], list[ParamProblem], list[ParamProblem], list[AppliedParam]]:
    """Substitute a file's parameters. Returns the new document, problems of the file itself
    (it is set aside), problems of overrides (reported; the declared value stays) and the
    values used."""
    file_problems: list[ParamProblem] = []
    override_problems: list[ParamProblem] = []
    raw = data.get("params")
    if raw is None:
        raw = {}
    pack_info = data.get("pack")
    pack = (
        str(pack_info.get("id")) if isinstance(pack_info, Mapping) and "id" in pack_info else None
    )
    if not isinstance(raw, Mapping):
        # The schema reports the shape; nothing can be substituted.
        return dict(data), file_problems, override_problems, []
    specs: dict[str, ParamSpec] = {}
    values: dict[str, Any] = {}
    applied: list[AppliedParam] = []
    for name, node in raw.items():
        try:
            spec = ParamSpec.model_validate(node)
        except ValidationError:
            continue  # the file's own validation reports it, with its line
        specs[str(name)] = spec
        _, wrong = check_value(spec, spec.value)
        if wrong is not None:
            file_problems.append(
                ParamProblem(source, lines.get(("params", name)), f"params.{name}", wrong)
            )
        value, origin = spec.value, "default"
        rejected: list[tuple[Override, str]] = []
        for override in overrides.candidates(pack, str(name)) if overrides is not None else []:
            _, wrong = check_value(spec, override.value)
            if wrong is None:
                value, origin = override.value, override.where
                break
            rejected.append((override, wrong))
        for override, wrong in rejected:
            override_problems.append(
                ParamProblem(
                    override.source,
                    override.line,
                    override.field or f"all.{name}",
                    f"{wrong}; {source} uses {name} = {value!r}",
                )
            )
        values[str(name)] = value
        applied.append(AppliedParam(source, pack, str(name), value, origin))

    def walk(node: Any, loc: Loc, lang: str | None) -> Any:
        if isinstance(node, Mapping):
            return {
                key: walk(child, (*loc, key), key if key in ("zh", "en") else lang)
                for key, child in node.items()
            }
        if isinstance(node, list):
            return [walk(child, (*loc, i), lang) for i, child in enumerate(node)]
        if not isinstance(node, str) or "$" not in node:
            return node
        whole = _WHOLE_RE.match(node)
        if whole is not None:
            name = whole.group(1)
            if name in values:
                return values[name]
            unknown(name, loc)
            return node

        def inline(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                unknown(name, loc)
                return match.group(0)
            return _text(values[name], specs[name], lang or "en")

        return _INLINE_RE.sub(inline, node)

    def unknown(name: str, loc: Loc) -> None:
        known = ", ".join(sorted(values)) or "none declared"
        file_problems.append(
            ParamProblem(
                source,
                lines.get(loc),
                ".".join(map(str, loc)),
                f"unknown parameter ${name} (params: {known})",
            )
        )

    out = {
        key: (child if key in ("schema", "params", "pack") else walk(child, (key,), None))
        for key, child in data.items()
    }
    return out, file_problems, override_problems, applied
