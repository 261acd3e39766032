"""Reading rule and scene files: YAML 1.2 booleans, line numbers, problems as ``file:line: field:
message``. A broken file is set aside as a whole (a pack is consistent or absent, never half
loaded); the other files load. File I/O is blocking: the hub calls these from an executor.

A file's ``params`` are substituted before it is validated (:mod:`rules.params`), with the
home's overrides when given; ``zshub.params/1`` files are skipped here (``load_overrides`` reads
them).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hub.util.yamlio import LineMap, YamlError, load_yaml, load_yaml_file
from rules.params import (
    PARAMS_SCHEMA,
    AppliedParam,
    ParamOverrides,
    ParamProblem,
    apply_params,
    load_overrides,
)
from rules.schema import (
    RULES_SCHEMA,
    SCENES_SCHEMA,
    Rule,
    RuleFile,
    Scene,
    SceneFile,
    rule_problems,
)

__all__ = [
    "LoadProblem",
    "LoadResult",
    "LoadedRule",
    "LoadedScene",
    "load_dir",
    "load_file",
    "load_user_dirs",
    "parse_data",
    "parse_text",
]

Loc = tuple[Hashable, ...]


@dataclass(frozen=True, slots=True)
class LoadProblem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        line = self.line if self.line is not None else "?"
        return f"{self.file}:{line}: {self.field}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


@dataclass(frozen=True, slots=True)
class LoadedRule:
    rule: Rule
    source: str  # file path, or "api"
    line: int | None = None
    pack: str | None = None


@dataclass(frozen=True, slots=True)
class LoadedScene:
    scene: Scene
    source: str
    line: int | None = None


@dataclass(slots=True)
class LoadResult:
    rules: list[LoadedRule] = field(default_factory=list)
    scenes: list[LoadedScene] = field(default_factory=list)
    problems: list[LoadProblem] = field(default_factory=list)
    params: list[AppliedParam] = field(default_factory=list)  # values the files' params took
    overrides: ParamOverrides | None = None  # the home's overrides (load_user_files)

    def extend(self, other: LoadResult) -> None:
        self.rules.extend(other.rules)
        self.scenes.extend(other.scenes)
        self.problems.extend(other.problems)
        self.params.extend(other.params)


def _as_load_problem(problem: ParamProblem) -> LoadProblem:
    return LoadProblem(problem.file, problem.line, problem.field, problem.message)


def _dotted(loc: Loc) -> str:
    return ".".join(str(part) for part in loc) or "(file)"


def _problems_from(
    err: ValidationError, source: str, lines: LineMap, base: Loc
) -> list[LoadProblem]:
    out: list[LoadProblem] = []
    for detail in err.errors(include_url=False):
        loc = (*base, *detail["loc"])
        message = str(detail["msg"]).removeprefix("Value error, ")
        out.append(LoadProblem(source, lines.get(loc), _dotted(loc), message))
    return out


def parse_data(
    data: Any,
    lines: LineMap,
    source: str,
    *,
    allow_safety: bool = False,
    overrides: ParamOverrides | None = None,
) -> LoadResult:
    """Validate one parsed document: a ``zshub.rules/1`` or ``zshub.scenes/1`` file, or (for the
    API) a single rule or scene without the file wrapper. A ``zshub.params/1`` file gives an
    empty result (its overrides are read by :func:`rules.params.load_overrides`)."""
    result = LoadResult()
    if not isinstance(data, Mapping):
        result.problems.append(
            LoadProblem(source, lines.get(()), "(file)", "expected a mapping with schema:")
        )
        return result
    schema = data.get("schema")
    if schema == PARAMS_SCHEMA:
        return result
    if schema in (RULES_SCHEMA, SCENES_SCHEMA):
        data, own, from_overrides, applied = apply_params(data, lines, source, overrides)
        result.problems.extend(map(_as_load_problem, from_overrides))
        if own:
            result.problems.extend(map(_as_load_problem, own))
            return result
        result.params.extend(applied)
    if schema is None and "id" in data:
        # A bare rule or scene (API): scenes have states, rules have triggers.
        wrapped = {"schema": SCENES_SCHEMA if "states" in data else RULES_SCHEMA}
        key = "scenes" if "states" in data else "rules"
        inner = LineMap()
        for loc, line in lines:
            inner.set((key, 0, *loc), line)
        return parse_data(
            {**wrapped, key: [dict(data)]},
            inner,
            source,
            allow_safety=allow_safety,
            overrides=overrides,
        )
    if schema == RULES_SCHEMA:
        try:
            rule_file = RuleFile.model_validate(data)
        except ValidationError as err:
            result.problems.extend(_problems_from(err, source, lines, ()))
            return result
        problems: list[LoadProblem] = []
        seen: set[str] = set()
        for i, rule in enumerate(rule_file.rules):
            base: Loc = ("rules", i)
            if rule.id in seen:
                problems.append(
                    LoadProblem(source, lines.get((*base, "id")), f"rules.{i}.id", "duplicate id")
                )
            seen.add(rule.id)
            if rule.safety and not allow_safety:
                loc = (*base, "safety")
                problems.append(
                    LoadProblem(
                        source,
                        lines.get(loc),
                        _dotted(loc),
                        "safety: true is reserved for built-in safety rules (rules/packs)",
                    )
                )
            for rel, message in rule_problems(rule):
                loc = (*base, *rel)
                problems.append(LoadProblem(source, lines.get(loc), _dotted(loc), message))
        if problems:
            result.problems.extend(problems)
            return result
        pack = rule_file.pack.id if rule_file.pack is not None else None
        result.rules.extend(
            LoadedRule(rule, source, lines.get(("rules", i)), pack)
            for i, rule in enumerate(rule_file.rules)
        )
        return result
    if schema == SCENES_SCHEMA:
        try:
            scene_file = SceneFile.model_validate(data)
        except ValidationError as err:
            result.problems.extend(_problems_from(err, source, lines, ()))
            return result
        ids = [s.id for s in scene_file.scenes]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            result.problems.append(
                LoadProblem(
                    source, lines.get(("scenes",)), "scenes", f"duplicate ids: {sorted(dupes)}"
                )
            )
            return result
        result.scenes.extend(
            LoadedScene(scene, source, lines.get(("scenes", i)))
            for i, scene in enumerate(scene_file.scenes)
        )
        return result
    result.problems.append(
        LoadProblem(
            source,
            lines.get(("schema",)),
            "schema",
            f"expected {RULES_SCHEMA} or {SCENES_SCHEMA}, found {schema!r}",
        )
    )
    return result


def parse_text(
    text: str,
    source: str = "api",
    *,
    allow_safety: bool = False,
    overrides: ParamOverrides | None = None,
) -> LoadResult:
    try:
        data, lines = load_yaml(text, source)
    except YamlError as err:
        return LoadResult(problems=[LoadProblem(source, err.line, "(yaml)", str(err))])
    return parse_data(data, lines, source, allow_safety=allow_safety, overrides=overrides)


def load_file(
    path: Path, *, allow_safety: bool = False, overrides: ParamOverrides | None = None
) -> LoadResult:
    source = str(path)
    try:
        data, lines = load_yaml_file(path)
    except YamlError as err:
        return LoadResult(problems=[LoadProblem(source, err.line, "(yaml)", str(err))])
    except OSError as err:
        return LoadResult(problems=[LoadProblem(source, None, "(file)", str(err))])
    return parse_data(data, lines, source, allow_safety=allow_safety, overrides=overrides)


def load_user_dirs(folders: list[Path]) -> LoadResult:
    """A home's own files: its parameter overrides first, then its rules and scenes (with the
    overrides applied). ``result.overrides`` is for the packs, loaded after."""
    overrides, trouble = load_overrides(folders)
    result = LoadResult(problems=[_as_load_problem(p) for p in trouble], overrides=overrides)
    for folder in folders:
        result.extend(load_dir(folder, overrides=overrides))
    return result


def load_dir(
    path: Path, *, allow_safety: bool = False, overrides: ParamOverrides | None = None
) -> LoadResult:
    """Every ``*.yaml``/``*.yml`` in ``path`` (sorted); a rule or scene id already loaded from an
    earlier file sets the later file aside. A missing folder is simply empty."""
    result = LoadResult()
    if not path.is_dir():
        return result
    rule_ids: dict[str, str] = {}
    scene_ids: dict[str, str] = {}
    files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    for file in files:
        loaded = load_file(file, allow_safety=allow_safety, overrides=overrides)
        clashes = [
            LoadProblem(
                str(file), r.line, "id", f"rule {r.rule.id} is already in {rule_ids[r.rule.id]}"
            )
            for r in loaded.rules
            if r.rule.id in rule_ids
        ] + [
            LoadProblem(
                str(file), s.line, "id", f"scene {s.scene.id} is already in {scene_ids[s.scene.id]}"
            )
            for s in loaded.scenes
            if s.scene.id in scene_ids
        ]
        if clashes:
            result.problems.extend(clashes)
            continue
        rule_ids.update((r.rule.id, str(file)) for r in loaded.rules)
        scene_ids.update((s.scene.id, str(file)) for s in loaded.scenes)
        result.extend(loaded)
    return result
