"""YAML reading that keeps ``on``/``off``/``yes``/``no`` as strings and remembers line numbers.

PyYAML implements YAML 1.1, where ``on``/``off``/``yes``/``no`` are booleans; profiles and rules
use them as enum values ("fan mode off"), so only ``true``/``false`` are booleans here (YAML 1.2).
Every mapping and sequence records where each of its keys/items starts, so a validator can report
``file:line: field: message``.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterator
from pathlib import Path
from typing import Any

import yaml

__all__ = ["LineMap", "YamlError", "find_line", "load_yaml", "load_yaml_file"]

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


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans and line bookkeeping."""


# Drop the YAML 1.1 bool resolver and register one that only knows true/false.
_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL_RE, list("tTfF"))


def _walk(node: yaml.Node, path: tuple[Hashable, ...], lines: LineMap, loader: _Loader) -> Any:
    lines.set(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                raise YamlError("a mapping key must be a plain value", key_node.start_mark.line + 1)
            if key in out:
                raise YamlError(f"duplicate key {key!r}", key_node.start_mark.line + 1)
            lines.set((*path, key), key_node.start_mark.line + 1)
            out[key] = _walk(value_node, (*path, key), lines, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, (*path, i), lines, loader) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def load_yaml(text: str, source: str = "<string>") -> tuple[Any, LineMap]:
    """Parse one YAML document; returns the data and its line map. Raises :class:`YamlError`."""
    loader = _Loader(text)
    loader.name = source
    lines = LineMap()
    try:
        node = loader.get_single_node()
        if node is None:
            return None, lines
        return _walk(node, (), lines, loader), lines
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        raise YamlError(f"{err.problem or err}", line) from err
    except yaml.YAMLError as err:
        raise YamlError(str(err), None) from err
    finally:
        loader.dispose()


def load_yaml_file(path: Path) -> tuple[Any, LineMap]:
    """Read and parse a YAML file (blocking: call it from an executor inside the hub)."""
    return load_yaml(path.read_text(encoding="utf-8"), str(path))


def find_line(lines: LineMap, path: tuple[Hashable, ...]) -> int | None:
    """Convenience wrapper used by validators."""
    return lines.get(path)


def is_yaml11_bool_word(value: object) -> bool:
    """True for words that a YAML 1.1 parser would have turned into a boolean."""
    return isinstance(value, str) and value in _YAML11_BOOL_WORDS
