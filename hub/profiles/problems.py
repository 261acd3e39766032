"""Problems found in profile files, located as ``file:line: field: message``."""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from hub.util.yamlio import LineMap

__all__ = ["ProblemSink", "ProfileProblem", "format_field"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_@/$-]+$")


@dataclass(frozen=True, slots=True)
class ProfileProblem:
    """One problem in one file. ``line`` is 1-based (None when unknown, e.g. unreadable file)."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.field}: {self.message}"


def format_field(path: Sequence[Hashable]) -> str:
    """``("bindings", "zsdp", "commands", "main/onoff.on", "write", 20)`` ->
    ``bindings.zsdp.commands["main/onoff.on"].write[20]``.

    Keys holding dots (command paths, vendor capability keys) and digit-only text keys are
    bracket-quoted so that the field stays unambiguous; integers (list indices, DP ids) are shown
    in brackets.
    """
    out: list[str] = []
    for part in path:
        if isinstance(part, bool):
            out.append(f"[{str(part).lower()}]")
        elif isinstance(part, int):
            out.append(f"[{part}]")
        elif isinstance(part, str) and _BARE_KEY.match(part) and not part.isdigit():
            out.append(f".{part}" if out else part)
        else:
            out.append(f'["{part}"]' if isinstance(part, str) else f"[{part!r}]")
    return "".join(out)


class ProblemSink:
    """Collects problems of one file, turning YAML key paths into lines and field names."""

    __slots__ = ("data", "file", "lines", "problems")

    def __init__(self, file: str, lines: LineMap | None = None, data: Any = None) -> None:
        self.file = file
        self.lines = lines if lines is not None else LineMap()
        self.data = data  # the document as read, to tell how something was written
        self.problems: list[ProfileProblem] = []

    def node(self, path: Sequence[Hashable]) -> Any:
        """The value at ``path`` in the document as read (None when absent)."""
        node = self.data
        for part in path:
            in_dict = isinstance(node, dict) and part in node
            in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
            if not (in_dict or in_list):
                return None
            node = node[part]
        return node

    def add(self, path: Sequence[Hashable], message: str) -> None:
        key = tuple(path)
        self.problems.append(
            ProfileProblem(self.file, self.lines.get(key), format_field(key) or "(file)", message)
        )

    def __bool__(self) -> bool:
        return bool(self.problems)

    def __len__(self) -> int:
        return len(self.problems)
