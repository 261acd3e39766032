"""Reading profile files: YAML -> schema -> instances and compiled bindings -> checks.

Blocking I/O: the hub calls :func:`load_profile_dirs` in an executor. A profile with any problem is
set aside with its problems (``file:line: field: message``); the others load.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from hub.capabilities.catalogue import Catalogue
from hub.profiles.checks import check_profile
from hub.profiles.compiled import LoadedProfile, compile_profile
from hub.profiles.library import ProfileLibrary, library_problems
from hub.profiles.problems import ProblemSink, ProfileProblem
from hub.profiles.schema import ProfileDoc
from hub.util.yamlio import LineMap, YamlError, load_yaml, load_yaml_file

__all__ = [
    "CATALOGUE_DIR_NAME",
    "LoadedProfile",
    "ProfileLibrary",
    "ProfileProblem",
    "find_profile_files",
    "load_profile_dirs",
    "load_profile_file",
    "load_profile_text",
]

_LOG = logging.getLogger(__name__)

# Folder of the capability catalogue inside a profile tree; its files are not profiles.
CATALOGUE_DIR_NAME = "capabilities"


def find_profile_files(paths: Iterable[Path]) -> list[Path]:
    """Profile files under ``paths`` (files are taken as given; folders are searched recursively
    for ``*.yaml``, skipping ``capabilities/``), sorted and without duplicates."""
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*.yaml")):
                rel = file.relative_to(path).parts[:-1]
                if CATALOGUE_DIR_NAME in rel or not file.is_file():
                    continue
                found.setdefault(file, None)
        else:
            found.setdefault(path, None)
    return list(found)


def load_profile_file(path: Path, catalogue: Catalogue) -> LoadedProfile | list[ProfileProblem]:
    """Load one profile; a list of problems when it cannot be used."""
    name = str(path)
    try:
        data, lines = load_yaml_file(path)
    except YamlError as err:
        return [ProfileProblem(name, err.line, "(yaml)", str(err))]
    except TypeError as err:  # e.g. a mapping used as a key: valid YAML, unusable here
        return [ProfileProblem(name, None, "(yaml)", f"unsupported YAML: {err}")]
    except (OSError, UnicodeDecodeError) as err:
        return [ProfileProblem(name, None, "(file)", f"cannot read: {err}")]
    return _build_guarded(name, data, lines, catalogue)


def load_profile_text(
    text: str, catalogue: Catalogue, source: str = "<profile>"
) -> LoadedProfile | list[ProfileProblem]:
    """Load a profile from text (tests, the API's upload preview)."""
    try:
        data, lines = load_yaml(text, source)
    except YamlError as err:
        return [ProfileProblem(source, err.line, "(yaml)", str(err))]
    except TypeError as err:
        return [ProfileProblem(source, None, "(yaml)", f"unsupported YAML: {err}")]
    return _build_guarded(source, data, lines, catalogue)


def load_profile_dirs(paths: Iterable[Path], catalogue: Catalogue) -> ProfileLibrary:
    """Load every profile under ``paths`` into a library (profile ids must be unique)."""
    loaded: list[LoadedProfile] = []
    problems: list[ProfileProblem] = []
    for file in find_profile_files(paths):
        result = load_profile_file(file, catalogue)
        if isinstance(result, LoadedProfile):
            loaded.append(result)
        else:
            problems.extend(result)
    kept, library_level = library_problems(loaded)
    return ProfileLibrary(kept, [*problems, *library_level])


def _build_guarded(
    name: str, data: Any, lines: LineMap, catalogue: Catalogue
) -> LoadedProfile | list[ProfileProblem]:
    # A bug met by one odd profile must not keep the hub from loading the others.
    try:
        return _build(name, data, lines, catalogue)
    except Exception as err:
        _LOG.exception("internal error while loading profile %s", name)
        return [ProfileProblem(name, None, "(file)", f"internal error while loading: {err!r}")]


def _build(
    name: str, data: Any, lines: LineMap, catalogue: Catalogue
) -> LoadedProfile | list[ProfileProblem]:
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}, not a mapping"
        return [ProfileProblem(name, lines.get(()), "(file)", f"the document is {kind}")]
    sink = ProblemSink(name, lines, data)
    try:
        doc = ProfileDoc.model_validate(data)
    except ValidationError as err:
        for detail in err.errors():
            _add_pydantic_error(sink, data, detail)
        return sink.problems
    cat, components, bindings = compile_profile(doc, sink, catalogue)
    check_profile(doc, components, bindings, sink)
    if sink:
        return sink.problems
    return LoadedProfile(
        model=doc,
        source=name,
        lines=lines,
        catalogue=cat,
        components=components,
        bindings=bindings,
    )


def _yaml_path(data: Any, loc: Sequence[int | str], *, missing: bool) -> tuple[Hashable, ...]:
    """Map a pydantic error location onto the document's key path.

    pydantic adds union branch names, ``[key]`` markers and coerced keys (``"20"`` -> 20) to
    ``loc``; keeping only the parts found in the document gives the path the LineMap knows.
    """
    path: list[Hashable] = []
    node = data
    for part in loc:
        if isinstance(node, Mapping):
            if part in node:
                key: Hashable = part
            else:
                same = [k for k in node if str(k) == str(part)]
                if not same:
                    continue
                key = same[0]
            path.append(key)
            node = node[key]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
    # A missing key is not in the document, but naming it is the most useful field.
    if missing and loc and isinstance(loc[-1], str) and isinstance(node, Mapping):
        path.append(loc[-1])
    return tuple(path)


def _add_pydantic_error(sink: ProblemSink, data: Any, detail: ErrorDetails) -> None:
    kind = detail["type"]
    path = _yaml_path(data, detail["loc"], missing=kind == "missing")
    if kind == "extra_forbidden":
        message = "unknown key (not part of zshub.profile/1 here; misspelt?)"
    elif kind == "missing":
        message = "required key is missing"
    else:
        message = detail["msg"].removeprefix("Value error, ")
    sink.add(path, message)
