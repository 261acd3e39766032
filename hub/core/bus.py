"""The event bus: typed events, dispatch by type, every listener returns an unsubscribe.

Sync listeners run inline when an event is fired (they must not block: they are like HA's
``@callback``); coroutine listeners are started as kept tasks. Dispatch looks up listeners by
event type, so firing an event no one listens to costs one dict lookup and creates nothing.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from time import time as _now
from typing import Any

from hub.core.context import Context, Origin
from hub.core.events import Event, EventType
from hub.core.tasks import TaskKeeper

__all__ = ["EventBus", "Unsubscribe"]

_LOGGER = logging.getLogger(__name__)

Unsubscribe = Callable[[], None]
# (callback, filter on the payload or None). Tuples: iterating them is the cheapest fire loop.
_Entry = tuple[Callable[[Event[Any]], None], Callable[[Any], bool] | None]
_EMPTY: tuple[_Entry, ...] = ()


class EventBus:
    def __init__(self, tasks: TaskKeeper) -> None:
        self._tasks = tasks
        self._listeners: dict[str, tuple[_Entry, ...]] = {}
        self._all: tuple[_Entry, ...] = _EMPTY
        self.hub_context = Context(Origin.HUB, "hub")

    def listen[T](
        self,
        event_type: EventType[T] | str,
        callback: Callable[[Event[T]], None] | Callable[[Event[T]], Awaitable[None]],
        *,
        event_filter: Callable[[T], bool] | None = None,
    ) -> Unsubscribe:
        """Call ``callback`` for each event of ``event_type`` whose payload passes the filter."""
        entry: _Entry = (self._wrap(callback), event_filter)
        self._listeners[event_type] = (*self._listeners.get(event_type, _EMPTY), entry)

        def unsubscribe() -> None:
            current = self._listeners.get(event_type, _EMPTY)
            remaining = tuple(e for e in current if e is not entry)
            if remaining:
                self._listeners[event_type] = remaining
            else:
                self._listeners.pop(event_type, None)

        return unsubscribe

    def listen_all(
        self, callback: Callable[[Event[Any]], None] | Callable[[Event[Any]], Awaitable[None]]
    ) -> Unsubscribe:
        """Every event of every type (diagnostics, the WebSocket API)."""
        entry: _Entry = (self._wrap(callback), None)
        self._all = (*self._all, entry)

        def unsubscribe() -> None:
            self._all = tuple(e for e in self._all if e is not entry)

        return unsubscribe

    def _wrap(self, callback: Callable[[Event[Any]], Any]) -> Callable[[Event[Any]], None]:
        if not inspect.iscoroutinefunction(callback):
            return callback
        name = getattr(callback, "__qualname__", "listener")

        def start(event: Event[Any]) -> None:
            self._tasks.create(callback(event), name=f"bus:{event.type}:{name}")

        return start

    def fire[T](
        self, event_type: EventType[T] | str, data: T, context: Context | None = None
    ) -> None:
        listeners = self._listeners.get(event_type, _EMPTY)
        if self._all:
            listeners = listeners + self._all
        if not listeners:
            return
        event: Event[T] | None = None
        for callback, event_filter in listeners:
            if event_filter is not None and not event_filter(data):
                continue
            if event is None:
                event = Event(event_type, data, context or self.hub_context, _now())
            try:
                callback(event)
            except Exception:
                _LOGGER.exception("Listener %r failed on %s", callback, event_type)

    def listener_count(self, event_type: str | None = None) -> int:
        if event_type is None:
            return sum(len(v) for v in self._listeners.values()) + len(self._all)
        return len(self._listeners.get(event_type, _EMPTY))
