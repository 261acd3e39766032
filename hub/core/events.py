"""Typed events. An ``EventType[T]`` is a string key that also names its payload type ``T``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hub.core.context import Context

__all__ = ["Event", "EventType"]


class EventType[T](str):
    """A string subclass so it hashes and compares as its name; ``T`` is the payload type."""

    __slots__ = ()


class Event[T]:
    """One fired event. ``time`` is a POSIX timestamp taken when fired; ``when`` converts lazily."""

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
