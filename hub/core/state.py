"""The state store: one value per capability path ``device/component/capability/property``.

Values are canonical (%, K, °C, %LEL). A write that does not change the value only refreshes
``last_reported``; a change fires ``state_changed`` with the old and new :class:`State`.
Subscriptions by device id are routed with one dict lookup, so tracking 1,000 devices costs
nothing for changes of devices nobody tracks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from time import time as _now
from typing import Any

from hub.core.bus import EventBus, Unsubscribe
from hub.core.context import Context
from hub.core.events import Event, EventType

__all__ = ["STATE_CHANGED", "State", "StateChange", "StateStore", "split_path"]


class State:
    __slots__ = ("context", "device", "last_changed", "last_reported", "path", "value")

    def __init__(
        self,
        path: str,
        device: str,
        value: Any,
        last_changed: float,
        last_reported: float,
        context: Context | None,
    ) -> None:
        self.path = path
        self.device = device
        self.value = value
        self.last_changed = last_changed
        self.last_reported = last_reported
        self.context = context

    def as_dict(self) -> dict[str, Any]:
        value = self.value
        return {
            "path": self.path,
            "value": list(value) if isinstance(value, tuple | frozenset) else value,
            "last_changed": datetime.fromtimestamp(self.last_changed, UTC).isoformat(),
            "last_reported": datetime.fromtimestamp(self.last_reported, UTC).isoformat(),
            "context_id": self.context.id if self.context is not None else None,
        }

    def __repr__(self) -> str:
        return f"<State {self.path}={self.value!r}>"


class StateChange:
    """Payload of ``state_changed``; ``old`` is None for a first value, ``new`` None on removal."""

    __slots__ = ("device", "new", "old", "path")

    def __init__(self, path: str, device: str, old: State | None, new: State | None) -> None:
        self.path = path
        self.device = device
        self.old = old
        self.new = new

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "device": self.device,
            "old": self.old.as_dict() if self.old is not None else None,
            "new": self.new.as_dict() if self.new is not None else None,
        }


_LOGGER = logging.getLogger(__name__)

STATE_CHANGED: EventType[StateChange] = EventType("state_changed")

StateListener = Callable[[Event[StateChange]], None]


def split_path(path: str) -> tuple[str, str, str, str]:
    """``"hood-1/main/fan/mode"`` -> its four parts; raises ValueError otherwise."""
    parts = path.split("/")
    if len(parts) != 4 or not all(parts):
        raise ValueError(f"not a capability path (device/component/capability/property): {path!r}")
    return parts[0], parts[1], parts[2], parts[3]


class StateStore:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._states: dict[str, State] = {}
        self._by_device: dict[str, dict[str, State]] = {}
        self._device_listeners: dict[str, tuple[StateListener, ...]] = {}
        self._dispatch = self._make_dispatch()
        bus.listen(STATE_CHANGED, self._dispatch)

    # -- reading -------------------------------------------------------------------------------
    def get(self, path: str) -> State | None:
        return self._states.get(path)

    def value(self, path: str, default: Any = None) -> Any:
        state = self._states.get(path)
        return default if state is None else state.value

    def device_states(self, device_id: str) -> Mapping[str, State]:
        return self._by_device.get(device_id, {})

    def __iter__(self) -> Iterator[State]:
        return iter(list(self._states.values()))

    def __len__(self) -> int:
        return len(self._states)

    # -- writing -------------------------------------------------------------------------------
    def set(
        self, path: str, value: Any, context: Context | None = None, now: float | None = None
    ) -> bool:
        """Record a reported value; returns True when it changed (and ``state_changed`` fired)."""
        if now is None:
            now = _now()
        old = self._states.get(path)
        if old is not None:
            if old.value == value and type(old.value) is type(value):
                old.last_reported = now
                return False
            device = old.device
        else:
            device = split_path(path)[0]
        new = State(path, device, value, now, now, context)
        self._states[path] = new
        per_device = self._by_device.get(device)
        if per_device is None:
            per_device = self._by_device[device] = {}
        per_device[path] = new
        self._bus.fire(STATE_CHANGED, StateChange(path, device, old, new), context)
        return True

    def restore(self, states: Iterable[State]) -> int:
        """Load states saved before a restart, keeping their times; fires nothing."""
        count = 0
        for state in states:
            if state.path in self._states:
                continue
            self._states[state.path] = state
            self._by_device.setdefault(state.device, {})[state.path] = state
            count += 1
        return count

    def remove_device(self, device_id: str, context: Context | None = None) -> None:
        for path, old in list(self._by_device.pop(device_id, {}).items()):
            del self._states[path]
            self._bus.fire(STATE_CHANGED, StateChange(path, device_id, old, None), context)

    # -- subscriptions -------------------------------------------------------------------------
    def track_devices(self, device_ids: Iterable[str], callback: StateListener) -> Unsubscribe:
        """Call ``callback`` for every change of any of these devices' states."""
        ids = list(dict.fromkeys(device_ids))
        for device_id in ids:
            self._device_listeners[device_id] = (
                *self._device_listeners.get(device_id, ()),
                callback,
            )

        def unsubscribe() -> None:
            for device_id in ids:
                rest = tuple(
                    c for c in self._device_listeners.get(device_id, ()) if c is not callback
                )
                if rest:
                    self._device_listeners[device_id] = rest
                else:
                    self._device_listeners.pop(device_id, None)

        return unsubscribe

    def _make_dispatch(self) -> StateListener:
        """The store's one ``state_changed`` listener: routes by device id with one lookup. A
        closure over the (never replaced) routing dict's ``get``, the cheapest call there is."""
        route = self._device_listeners.get

        def dispatch(event: Event[StateChange]) -> None:
            listeners = route(event.data.device)
            if listeners is None:
                return
            if len(listeners) == 1:  # one subscriber: no loop iterator to create
                callback = listeners[0]
                try:
                    callback(event)
                except Exception:
                    _LOGGER.exception("State listener %r failed for %s", callback, event.data.path)
                return
            for callback in listeners:
                try:
                    callback(event)
                except Exception:
                    _LOGGER.exception("State listener %r failed for %s", callback, event.data.path)

        return dispatch
