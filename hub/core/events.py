"""Typed events. An ``EventType[T]`` is a string key that also names its payload type ``T``."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hub.core.context import Context

__all__ = ["Event", "EventType"]

if TYPE_CHECKING:

    class EventType[T](str):
        """A string that names its payload type ``T`` for the type checker."""

        __slots__ = ()

else:

    class EventType(str):
        """At run time ``EventType("x")`` is the plain, interned ``str`` ``"x"``: dict lookups
        with exact ``str`` keys take CPython's fastest path and compare by identity, and an
        event type equals, hashes and serialises as its name. ``EventType[T]`` subscripts (for
        annotations evaluated at run time) return the class itself."""

        __slots__ = ()

        def __new__(cls, name: str) -> str:  # type: ignore[misc]
            return sys.intern(str(name))

        def __class_getitem__(cls, item: object) -> type:
            return cls


class Event[T]:
    """One fired event. ``time`` is a POSIX timestamp taken when fired; ``when`` converts lazily.

    Listeners may keep an event (the bus then never reuses it, see :mod:`hub.core.bus`), but
    must not change it: the same object goes to every listener of one fire.
    """

    __slots__ = ("context", "data", "time", "type")

    def __init__(self, type: str, data: T, context: Context, time: float) -> None:
        self.type = type
        self.data = data
        self.context = context
        self.time = time

    @property
    def when(self) -> datetime:
        return datetime.fromtimestamp(self.time, UTC)

    def as_dict(self) -> dict[str, Any]:
        data = self.data
        as_dict = getattr(data, "as_dict", None)
        return {
            "type": str(self.type),
            "data": as_dict() if callable(as_dict) else data,
            "context": self.context.as_dict(),
            "time": self.when.isoformat(),
        }

    def __repr__(self) -> str:
        return f"<Event {self.type} {self.data!r}>"
