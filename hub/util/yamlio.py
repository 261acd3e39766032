"""YAML reading that keeps ``on``/``off``/``yes``/``no`` as strings and remembers line numbers.

PyYAML implements YAML 1.1, where ``on``/``off``/``yes``/``no`` are booleans; profiles and rules
use them as enum values ("fan mode off"), so only ``true``/``false`` are booleans here (YAML 1.2).
Every mapping and sequence records where each of its keys/items starts, so a validator can report
``file:line: field: message``.

Parsing uses libyaml (``yaml.CSafeLoader``, ~15x faster; its nodes keep line marks) when PyYAML
was built with it, else PyYAML's pure-Python parser; both give the same data, lines and errors.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import re
import threading
import time
from collections.abc import Hashable, Iterator
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "LIBYAML",
    "LineMap",
    "YamlError",
    "cache_folder",
    "find_line",
    "load_yaml",
    "load_yaml_file",
    "prune_cache",
    "use_cache",
]

LIBYAML: bool = bool(getattr(yaml, "__with_libyaml__", False))

_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_YAML11_BOOL_WORDS = frozenset(
    w for base in ("yes", "no", "on", "off", "y", "n") for w in (base, base.title(), base.upper())
)


class YamlError(ValueError):
    """A file that is not valid YAML; carries the line (1-based) where parsing stopped."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


class LineMap:
    """Line numbers of a loaded document, addressed by key paths like ``("bindings", "zsdp")``."""

    def __init__(self) -> None:
        self._lines: dict[tuple[Hashable, ...], int] = {}

    def set(self, path: tuple[Hashable, ...], line: int) -> None:
        self._lines.setdefault(path, line)

    def get(self, path: tuple[Hashable, ...]) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            line = self._lines.get(p)
            if line is not None:
                return line
            p = p[:-1]
        return self._lines.get(())

    def __iter__(self) -> Iterator[tuple[tuple[Hashable, ...], int]]:
        return iter(self._lines.items())


_STR_TAG = "tag:yaml.org,2002:str"


def _yaml12_resolvers() -> dict[Any, list[tuple[str, re.Pattern[str]]]]:
    """SafeLoader's implicit resolvers without the YAML 1.1 bool one, plus true/false only."""
    table: dict[Any, list[tuple[str, re.Pattern[str]]]] = {
        key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    for first in "tTfF":
        table.setdefault(first, []).append(("tag:yaml.org,2002:bool", _BOOL_RE))
    return table


# Scalar text (and whether it was plain) -> its tag. Both loaders ask the resolver once per
# scalar, and most scalars repeat (keys, units, enum words); bounded, shared by all loads.
_TAGS: dict[tuple[str, bool], str] = {}
_TAGS_MAX = 20_000


class _QuickResolve:
    """``Resolver.resolve`` remembered per scalar text. Valid because these loaders have no
    path resolvers: a scalar's tag then depends only on its text and on whether it was plain
    (a mapping's or a sequence's is the default), so the path hooks have nothing to do."""

    yaml_path_resolvers: dict[Any, Any] = {}

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            key = (value, implicit[0])
            tag = _TAGS.get(key)
            if tag is None:
                tag = super().resolve(kind, value, implicit)  # type: ignore[misc]
                if len(_TAGS) < _TAGS_MAX:
                    _TAGS[key] = tag
            return tag
        resolved: str = super().resolve(kind, value, implicit)  # type: ignore[misc]
        return resolved

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass


class _PyLoader(_QuickResolve, yaml.SafeLoader):
    """Pure-Python SafeLoader with YAML 1.2 booleans."""


_PyLoader.yaml_implicit_resolvers = _yaml12_resolvers()

_Loader: type[yaml.SafeLoader] | type[Any] = _PyLoader
if LIBYAML:

    class _CLoader(_QuickResolve, yaml.CSafeLoader):
        """libyaml's parser with the same resolvers (it calls back into them per scalar)."""

    _CLoader.yaml_implicit_resolvers = _yaml12_resolvers()
    _Loader = _CLoader


def _walk(
    node: yaml.Node, path: tuple[Hashable, ...], lines: dict[tuple[Hashable, ...], int], loader: Any
) -> Any:
    """The data of ``node``; ``lines`` (a LineMap's table) gets the line of every key/item."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.ScalarNode):
        # Plain strings are most of a document: skip the constructor's bookkeeping for them.
        if node.tag == _STR_TAG:
            return node.value
        return loader.construct_object(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR_TAG:
                key = key_node.value
            else:
                key = loader.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                raise YamlError("a mapping key must be a plain value", key_node.start_mark.line + 1)
            if key in out:
                raise YamlError(f"duplicate key {key!r}", key_node.start_mark.line + 1)
            lines.setdefault((*path, key), key_node.start_mark.line + 1)
            out[key] = _walk(value_node, (*path, key), lines, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, (*path, i), lines, loader) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def load_yaml(text: str, source: str = "<string>") -> tuple[Any, LineMap]:
    """Parse one YAML document; returns the data and its line map. Raises :class:`YamlError`."""
    lines = LineMap()
    loader: Any = None
    try:
        # The pure-Python reader already rejects control characters here, in the constructor.
        loader = _Loader(text)
        loader.name = source
        node = loader.get_single_node()
        if node is None:
            return None, lines
        return _walk(node, (), lines._lines, loader), lines
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        raise YamlError(f"{err.problem or err}", line) from err
    except yaml.YAMLError as err:
        raise YamlError(str(err), None) from err
    finally:
        if loader is not None:
            loader.dispose()


# -- the parse cache ---------------------------------------------------------------------------
# Parsed files (data and line map) by the hash of their bytes, one pickle each in a folder the
# hub sets (``<data>/cache/yaml``): the catalogue, profiles and rule packs read at every start
# come back in ~1/5 of the parsing time. Keyed by content, so an edited file is parsed afresh
# however its timestamps look; a cache file that cannot be read, or says anything else than
# expected, is ignored (and replaced), never trusted. Only files that parse are cached.
_CACHE_VERSION = 1
_STALE_TMP_S = 3600.0
_cache_dir: Path | None = None
_used: set[str] = set()  # keys read or written by this process


def use_cache(folder: Path | None) -> None:
    """Cache parsed files in ``folder`` (created when first written), or stop caching."""
    global _cache_dir
    _cache_dir = folder


def cache_folder() -> Path | None:
    return _cache_dir


def prune_cache() -> int:
    """Delete cached files this process has not used (files since edited or removed) and
    left-over partial writes; returns how many. Blocking: run it in an executor."""
    folder = _cache_dir
    if folder is None:
        return 0
    removed = 0
    try:
        entries = list(folder.iterdir())
    except OSError:
        return 0
    now = time.time()
    for entry in entries:
        try:
            unused = entry.suffix == ".pickle" and entry.stem not in _used
            stale = entry.suffix == ".tmp" and now - entry.stat().st_mtime > _STALE_TMP_S
            if unused or stale:
                entry.unlink()
                removed += 1
        except OSError:
            continue
    return removed


def _cached(folder: Path, key: str) -> tuple[Any, LineMap] | None:
    try:
        with (folder / f"{key}.pickle").open("rb") as file:
            entry = pickle.load(file)
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError):
        return None
    except Exception:  # whatever a damaged pickle raises: treat it as absent
        return None
    if (
        not isinstance(entry, tuple)
        or len(entry) != 4
        or entry[0] != _CACHE_VERSION
        or entry[1] != key
        or not isinstance(entry[3], dict)
    ):
        return None
    lines = LineMap()
    lines._lines = entry[3]
    return entry[2], lines


def _store(folder: Path, key: str, data: Any, lines: LineMap) -> None:
    target = folder / f"{key}.pickle"
    tmp = folder / f"{key}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as file:
            pickle.dump((_CACHE_VERSION, key, data, lines._lines), file, protocol=5)
        os.replace(tmp, target)  # readers see the old file or the whole new one
    except (OSError, pickle.PicklingError, TypeError, RecursionError):
        with contextlib.suppress(OSError):
            tmp.unlink()


def load_yaml_file(path: Path) -> tuple[Any, LineMap]:
    """Read and parse a YAML file (blocking: call it from an executor inside the hub).
    Raises :class:`YamlError`, OSError or UnicodeDecodeError."""
    folder = _cache_dir
    if folder is None:
        return load_yaml(path.read_text(encoding="utf-8"), str(path))
    raw = path.read_bytes()
    key = hashlib.blake2b(raw, digest_size=20).hexdigest()
    _used.add(key)
    found = _cached(folder, key)
    if found is not None:
        return found
    # As read_text does: strict UTF-8, universal newlines.
    text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    data, lines = load_yaml(text, str(path))
    _store(folder, key, data, lines)
    return data, lines


def find_line(lines: LineMap, path: tuple[Hashable, ...]) -> int | None:
    """Convenience wrapper used by validators."""
    return lines.get(path)


def is_yaml11_bool_word(value: object) -> bool:
    """True for words that a YAML 1.1 parser would have turned into a boolean."""
    return isinstance(value, str) and value in _YAML11_BOOL_WORDS
