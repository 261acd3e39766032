"""The event bus: typed events, dispatch by type, every listener returns an unsubscribe.

Sync listeners run inline when an event is fired (they must not block: they are like HA's
``@callback``); coroutine listeners are started as kept tasks. Dispatch looks up listeners by
event type, so firing an event no one listens to costs one dict lookup and creates nothing.

Hot path (``bench/`` measures it; see the README's "Performance" section):

* The dispatch table maps each event type to one tuple holding its own listeners followed by
  the ``listen_all`` ones, rebuilt when someone subscribes or unsubscribes — so ``fire`` is one
  ``dict.get`` and a loop, whether or not the WebSocket API listens to everything.
* No :class:`Event` is created when no listener accepts the event (filters see the payload).
* The bus keeps the last :class:`Event` it created. When the next ``fire`` finds that nothing
  but the bus holds it any more (CPython's exact reference count says so: every listener has
  returned and none kept it), it fills that event in place instead of allocating a new one. A
  listener that keeps the event (in a list, a closure, a task, a traceback) holds a reference,
  so its event is never reused; an event still being delivered by an outer ``fire`` (a
  listener firing another event) is held by that ``fire`` too. Allocating and freeing the
  event was a third of the cost of a fire. Where reference counts are not exact (PyPy,
  free-threaded CPython) every fire allocates.
"""

from __future__ import annotations

import inspect
import logging
import sys
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


def _unshared_refcount() -> int:
    """What ``sys.getrefcount`` says in ``fire`` for a spare event nothing else holds (the bus's
    attribute, ``fire``'s local variable and the call's argument); 0, so never reuse, where
    reference counts are not exact (PyPy, free-threaded CPython)."""
    getrefcount = getattr(sys, "getrefcount", None)
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    if getrefcount is None or sys.implementation.name != "cpython" or not gil:
        return 0

    class Holder:
        __slots__ = ("_spare",)
        _spare: Event[None]

    holder = Holder()
    holder._spare = Event("probe", None, Context(), 0.0)
    event = holder._spare
    count: int = getrefcount(event)
    return count


_UNSHARED = _unshared_refcount()
_refcount: Callable[[object], int] = getattr(sys, "getrefcount", lambda obj: 1 << 30)


class EventBus:
    def __init__(self, tasks: TaskKeeper) -> None:
        self._tasks = tasks
        self._listeners: dict[str, tuple[_Entry, ...]] = {}  # by type, without listen_all
        self._all: tuple[_Entry, ...] = _EMPTY
        self._table: dict[str, tuple[_Entry, ...]] = {}  # by type, with listen_all appended
        self.hub_context = Context(Origin.HUB, "hub")
        # The last event created; refilled by the next fire if nothing else holds it.
        self._spare: Event[Any] = Event("", None, self.hub_context, 0.0)

    def listen[T](
        self,
        event_type: EventType[T] | str,
        callback: Callable[[Event[T]], None] | Callable[[Event[T]], Awaitable[None]],
        *,
        event_filter: Callable[[T], bool] | None = None,
    ) -> Unsubscribe:
        """Call ``callback`` for each event of ``event_type`` whose payload passes the filter."""
        entry: _Entry = (self._wrap(callback), event_filter)
        event_type = sys.intern(str(event_type))
        self._listeners[event_type] = (*self._listeners.get(event_type, _EMPTY), entry)
        self._rebuild(event_type)

        def unsubscribe() -> None:
            current = self._listeners.get(event_type, _EMPTY)
            remaining = tuple(e for e in current if e is not entry)
            if remaining:
                self._listeners[event_type] = remaining
            else:
                self._listeners.pop(event_type, None)
            self._rebuild(event_type)

        return unsubscribe

    def listen_all(
        self, callback: Callable[[Event[Any]], None] | Callable[[Event[Any]], Awaitable[None]]
    ) -> Unsubscribe:
        """Every event of every type (diagnostics, the WebSocket API)."""
        entry: _Entry = (self._wrap(callback), None)
        self._all = (*self._all, entry)
        self._rebuild()

        def unsubscribe() -> None:
            self._all = tuple(e for e in self._all if e is not entry)
            self._rebuild()

        return unsubscribe

    def _rebuild(self, event_type: str | None = None) -> None:
        """Refresh the dispatch table for one type, or for all after ``listen_all`` changed."""
        types = list(self._listeners) if event_type is None else [event_type]
        if event_type is None:
            self._table = {}
        for t in types:
            own = self._listeners.get(t)
            if own is None:
                self._table.pop(t, None)
            else:
                self._table[t] = own + self._all if self._all else own

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
        listeners = self._table.get(event_type)
        if listeners is None:
            listeners = self._all
            if not listeners:
                return
        event: Event[T]
        if len(listeners) == 1:
            # One listener (a type's only subscriber, e.g. the state store's router): the same
            # steps as the loop below, without the loop's iterator.
            callback, event_filter = listeners[0]
            if event_filter is not None and not event_filter(data):
                return
            event = self._spare
            if _refcount(event) == _UNSHARED:  # delivered, and kept by no one: reuse it
                event.type = event_type
                event.data = data
                event.context = context or self.hub_context
                event.time = _now()
            else:
                event = self._spare = Event(event_type, data, context or self.hub_context, _now())
            try:
                callback(event)
            except Exception:
                _LOGGER.exception("Listener %r failed on %s", callback, event_type)
            return
        created = False
        for callback, event_filter in listeners:
            if event_filter is not None and not event_filter(data):
                continue
            if not created:
                created = True
                event = self._spare
                if _refcount(event) == _UNSHARED:
                    event.type = event_type
                    event.data = data
                    event.context = context or self.hub_context
                    event.time = _now()
                else:
                    event = self._spare = Event(
                        event_type, data, context or self.hub_context, _now()
                    )
            try:
                callback(event)
            except Exception:
                _LOGGER.exception("Listener %r failed on %s", callback, event_type)

    def listener_count(self, event_type: str | None = None) -> int:
        if event_type is None:
            return sum(len(v) for v in self._listeners.values()) + len(self._all)
        return len(self._listeners.get(event_type, _EMPTY))
