"""Triggers: each kind is a small class whose ``attach`` subscribes and returns an unsubscribe.

All rules share one bus listener per event type (:class:`TriggerDispatch`), which calls the
triggers of safety rules before any other, so a gas alarm reaches the kitchen guard first.
``for:`` durations and clock times are persisted timers: after a restart they resume, and
ones that fell due while the hub was off go through the rule's catch-up policy.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any, ClassVar

from hub.core.bus import EventBus, Unsubscribe
from hub.core.context import Context
from hub.core.events import Event
from hub.core.integration import DEVICE_EVENT, DeviceEvent
from hub.core.registry import AVAILABILITY_CHANGED, AvailabilityChange
from hub.core.state import STATE_CHANGED, StateChange
from hub.core.tasks import TaskKeeper
from rules.kernel import RuleKernel
from rules.messages import Note, note
from rules.schema import (
    WEEKDAYS,
    AvailabilityTrigger,
    CatchUp,
    EventTrigger,
    SceneTrigger,
    StateTrigger,
    TimeTrigger,
    TriggerItem,
    spec_hash,
)
from rules.targets import MemberPattern, Selector, TargetResolver
from rules.timers import GRACE_S, Clock, PersistedTimer, TimerJournal, catch_up
from rules.traces import jsonable

__all__ = [
    "HUB_STARTED_EVENT",
    "SCENE_APPLIED_EVENT",
    "MISSING",
    "Trigger",
    "TriggerData",
    "TriggerDispatch",
    "TriggerEnv",
    "TriggerHost",
    "in_range",
    "make_trigger",
    "next_time",
    "command_problem",
    "one_of",
    "scene_problems",
    "values_equal",
]

_LOGGER = logging.getLogger(__name__)

# ``hub.app.HUB_STARTED``, by name: rules do not import the composition root.
HUB_STARTED_EVENT = "hub_started"
# ``rules.scenes.SCENE_APPLIED``, by name (scenes import this module).
SCENE_APPLIED_EVENT = "scene_applied"


class _Missing:
    def __repr__(self) -> str:
        return "(none)"


MISSING: Any = _Missing()


# -- value matching (shared with conditions) -------------------------------------------------


def values_equal(a: Any, b: Any) -> bool:
    """Like ``==`` but ``True`` is not ``1`` and ``"on"`` is not ``True``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return bool(a == b)


def as_values(value: Any) -> tuple[Any, ...] | None:
    if value is None:
        return None
    return tuple(value) if isinstance(value, list | tuple) else (value,)


def one_of(value: Any, allowed: tuple[Any, ...] | None) -> bool:
    return allowed is None or any(values_equal(value, a) for a in allowed)


def in_range(value: Any, above: float | None, below: float | None) -> bool:
    if above is None and below is None:
        return True
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return (above is None or value > above) and (below is None or value < below)


def _show(value: Any) -> str:
    if value is MISSING:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- what fired ------------------------------------------------------------------------------


@dataclass(slots=True)
class TriggerData:
    kind: str  # state | event | time | availability | hub_start | scene | manual
    at: float
    index: int | None = None
    device_id: str | None = None
    room_id: str | None = None
    path: str | None = None
    old: Any = None
    new: Any = None
    fields: dict[str, Any] = field(default_factory=dict)
    description: str | Callable[[], str] = ""  # a callable writes the text when it is read
    context: Context | None = None
    late_s: float | None = None
    held_s: float | None = None
    notes: list[Note] = field(default_factory=list)
    trigger_id: str | None = None  # the trigger's ``id`` (for ``trigger:`` conditions)
    # What a scene trigger's scene could not do (``failed`` conditions, ``{failed}``).
    problems: list[dict[str, Any]] = field(default_factory=list)

    def text(self) -> str:
        description = self.description
        return description if isinstance(description, str) else description()

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "trigger_id": self.trigger_id,
            "at": self.at,
            "index": self.index,
            "device_id": self.device_id,
            "room_id": self.room_id,
            "path": self.path,
            "old": jsonable(None if self.old is MISSING else self.old),
            "new": jsonable(None if self.new is MISSING else self.new),
            "fields": jsonable(self.fields),
            "description": self.text(),
            "context_id": self.context.id if self.context is not None else None,
            "late_s": self.late_s,
            "held_s": self.held_s,
            "problems": jsonable(self.problems),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], context: Context | None = None) -> TriggerData:
        return cls(
            kind=str(data.get("kind", "manual")),
            at=float(data.get("at") or 0.0),
            index=data.get("index"),
            device_id=data.get("device_id"),
            room_id=data.get("room_id"),
            path=data.get("path"),
            old=data.get("old"),
            new=data.get("new"),
            fields=dict(data.get("fields") or {}),
            description=str(data.get("description") or ""),
            context=context,
            late_s=data.get("late_s"),
            held_s=data.get("held_s"),
            trigger_id=data.get("trigger_id"),
            problems=list(data.get("problems") or []),
        )


# -- shared dispatch -------------------------------------------------------------------------

_CHANNELS: dict[str, str] = {
    "state": STATE_CHANGED,
    "event": DEVICE_EVENT,
    "availability": AVAILABILITY_CHANGED,
    "hub_start": HUB_STARTED_EVENT,
    "scene": SCENE_APPLIED_EVENT,
}

_Callback = Callable[[Event[Any]], None]
# Where an event is routed: (device id or None, key). The key of a state change is the
# ``capability/member`` part of its path, of a device event ``capability/event``; other
# channels have the key "".
_Route = tuple[str | None, str]


def _after_component(path: str) -> str:
    """``component/capability/member`` -> ``capability/member``."""
    return path[path.find("/") + 1 :]


def _route_state(change: StateChange) -> _Route:
    device = change.device
    return device, _after_component(change.path[len(device) + 1 :])


def _route_event(event: DeviceEvent) -> _Route:
    return event.device, _after_component(event.path)


def _route_availability(change: AvailabilityChange) -> _Route:
    return change.device_id, ""


def _route_any(data: Any) -> _Route:
    return None, ""


_ROUTERS: dict[str, Callable[[Any], _Route]] = {
    "state": _route_state,
    "event": _route_event,
    "availability": _route_availability,
    "hub_start": _route_any,
    "scene": _route_any,
}
_ROUTE_CACHE_MAX = 20_000  # (device, key) pairs remembered per channel before starting over


class _Listener:
    __slots__ = ("callback", "order")

    def __init__(self, callback: _Callback, order: tuple[int, int]) -> None:
        self.callback = callback
        self.order = order  # (0 for safety rules, 1 for the rest; attach order)


class TriggerDispatch:
    """One bus listener per channel for every rule; safety rules' callbacks run first.

    Triggers are indexed by what they watch (the ``capability/member`` of a state path, the
    devices when they name devices), so a state change meets only the triggers that could
    match it, not every rule; each trigger still checks the change in full. The callbacks
    for a (device, key) are worked out once and kept until a trigger attaches or detaches.
    """

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        # channel -> key -> device id (None: any device) -> listeners
        self._index: dict[str, dict[str, dict[str | None, list[_Listener]]]] = {
            c: {} for c in _CHANNELS
        }
        self._routes: dict[str, dict[_Route, tuple[_Callback, ...]]] = {c: {} for c in _CHANNELS}
        self._seq = 0
        self._unsubs: list[Unsubscribe] = []

    def start(self) -> None:
        if self._unsubs:
            return
        for channel, event_type in _CHANNELS.items():
            self._unsubs.append(self._bus.listen(event_type, self._dispatcher(channel)))

    def stop(self) -> None:
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()

    def _dispatcher(self, channel: str) -> _Callback:
        route = _ROUTERS[channel]
        routes = self._routes[channel]
        resolve = self._resolve

        def dispatch(event: Event[Any]) -> None:
            where = route(event.data)
            callbacks = routes.get(where)
            if callbacks is None:
                callbacks = resolve(channel, where)
            for callback in callbacks:
                try:
                    callback(event)
                except Exception:
                    _LOGGER.exception("Rule trigger %r failed on %s", callback, event.type)

        return dispatch

    def _resolve(self, channel: str, where: _Route) -> tuple[_Callback, ...]:
        device, key = where
        buckets = self._index[channel].get(key)
        found: list[_Listener] = []
        if buckets is not None:
            found.extend(buckets.get(None, ()))
            if device is not None:
                found.extend(buckets.get(device, ()))
        found.sort(key=lambda listener: listener.order)
        callbacks = tuple(listener.callback for listener in found)
        routes = self._routes[channel]
        if len(routes) >= _ROUTE_CACHE_MAX:
            routes.clear()
        routes[where] = callbacks
        return callbacks

    def listen(
        self,
        channel: str,
        callback: _Callback,
        *,
        first: bool,
        key: str = "",
        devices: Sequence[str] | None = None,
    ) -> Unsubscribe:
        """Call ``callback`` for the channel's events with this key (for these devices only,
        or any device when None)."""
        self._seq += 1
        listener = _Listener(callback, (0 if first else 1, self._seq))
        buckets = self._index[channel].setdefault(key, {})
        where: tuple[str | None, ...] = tuple(dict.fromkeys(devices)) if devices else (None,)
        for device in where:
            buckets.setdefault(device, []).append(listener)
        self._routes[channel].clear()

        def unsubscribe() -> None:
            for device in where:
                bucket = buckets.get(device)
                if bucket is not None and listener in bucket:
                    bucket.remove(listener)
                    if not bucket:
                        del buckets[device]
            self._routes[channel].clear()

        return unsubscribe


def _device_ids(selectors: Sequence[Selector]) -> list[str] | None:
    """The devices a trigger names, or None when it names roles, rooms and the like."""
    if selectors and all(s.kind == "device" for s in selectors):
        return [s.value for s in selectors]
    return None


@dataclass(slots=True)
class TriggerEnv:
    """Services shared by every trigger of an engine."""

    kernel: RuleKernel
    resolver: TargetResolver
    dispatch: TriggerDispatch
    clock: Clock
    journal: TimerJournal
    tasks: TaskKeeper
    tz: tzinfo
    stopping: bool = False  # on engine stop, persisted timers are kept for the next start


@dataclass(slots=True)
class TriggerHost:
    """The rule (or wait) a trigger belongs to."""

    rule_id: str
    catch_up: CatchUp
    first: bool  # safety rule: dispatched before the others
    persist: bool  # top-level triggers persist for:/time timers; a wait persists itself
    scope_room: str | None = None  # what room: same means (inside waits)
    not_fired: Callable[[TriggerData, Note], None] | None = None


Fire = Callable[[TriggerData], None]


class Trigger(ABC):
    kind: ClassVar[str]

    def __init__(
        self, item: TriggerItem, index: int | None, host: TriggerHost, env: TriggerEnv
    ) -> None:
        self.item = item
        self.index = index
        self.host = host
        self.env = env
        self.hash = spec_hash(item)
        self.selectors: tuple[Selector, ...] = ()  # the targets, for kinds that have them
        self._fire: Fire = _no_fire

    @abstractmethod
    def attach(self, fire: Fire, restored: Sequence[PersistedTimer] = ()) -> Unsubscribe:
        """Start listening; ``restored`` are this trigger's persisted timers from before a
        restart (see :meth:`claims`)."""

    def claims(self, record: PersistedTimer) -> bool:
        return False

    def _watch(
        self, channel: str, callback: _Callback, pattern: MemberPattern | None = None
    ) -> Unsubscribe:
        """Listen on ``channel`` for what this trigger watches: the pattern's
        ``capability/member`` and the devices it names (any device when it names roles …)."""
        return self.env.dispatch.listen(
            channel,
            callback,
            first=self.host.first,
            key=f"{pattern.capability}/{pattern.member}" if pattern is not None else "",
            devices=_device_ids(self.selectors),
        )

    def _room(self, room: str | None) -> str | None:
        return self.host.scope_room if room == "same" else room

    def _miss(self, data: TriggerData, why: Note) -> None:
        if self.host.not_fired is not None:
            self.host.not_fired(data, why)

    def _base(self, kind: str, device_id: str | None, context: Context | None) -> TriggerData:
        return TriggerData(
            kind,
            self.env.clock.now(),
            self.index,
            device_id=device_id,
            room_id=self.env.resolver.room_of(device_id),
            context=context,
            trigger_id=self.item.id,
        )


def _no_fire(data: TriggerData) -> None:
    return None


class _HoldingTrigger(Trigger):
    """A trigger with ``for:``: the matching state must hold that long; the countdown is a
    persisted timer per device/path, cancelled (with a not-fired trace) when the state leaves."""

    def __init__(
        self, item: TriggerItem, index: int | None, host: TriggerHost, env: TriggerEnv
    ) -> None:
        super().__init__(item, index, host, env)
        # key -> (countdown task, data, since)
        self._pending: dict[str, tuple[asyncio.Task[None], TriggerData, float]] = {}

    @property
    @abstractmethod
    def for_s(self) -> float | None: ...

    @abstractmethod
    def _listen(self) -> Unsubscribe:
        """Subscribe to the trigger's channel."""

    @abstractmethod
    def _holds_now(self, subject: str) -> bool:
        """Does the subject (a path, a device) match right now (for timers after a restart)?"""

    def attach(self, fire: Fire, restored: Sequence[PersistedTimer] = ()) -> Unsubscribe:
        self._fire = fire
        unsub = self._listen()
        self._restore(restored, self._holds_now)

        def detach() -> None:
            unsub()
            self._detach_pending()

        return detach

    def _key(self, subject: str) -> str:
        return f"for:{self.index}:{subject}"

    def claims(self, record: PersistedTimer) -> bool:
        return (
            record.kind == "for"
            and record.key.startswith(f"for:{self.index}:")
            and record.payload.get("hash") == self.hash
        )

    def _start(self, subject: str, data: TriggerData, since: float, due: float) -> None:
        key = self._key(subject)
        if self.host.persist:
            self.env.journal.save(
                PersistedTimer(
                    self.host.rule_id,
                    key,
                    "for",
                    due,
                    {
                        "hash": self.hash,
                        "subject": subject,
                        "since": since,
                        "trigger": data.as_dict(),
                    },
                )
            )
        task = self.env.tasks.create(
            self._countdown(subject, due), name=f"rules:{self.host.rule_id}:{key}"
        )
        self._pending[subject] = (task, data, since)

    async def _countdown(self, subject: str, due: float) -> None:
        await self.env.clock.sleep_until(due)
        entry = self._pending.pop(subject, None)
        if entry is None:
            return
        _, data, since = entry
        if self.host.persist:
            self.env.journal.delete(self.host.rule_id, self._key(subject), "for")
        data.held_s = round(self.env.clock.now() - since, 3)
        self._fire(data)

    def _left(self, subject: str, path: str) -> None:
        """The state stopped holding before ``for`` ran out: say so in a not-fired trace."""
        entry = self._pending.pop(subject, None)
        if entry is None:
            return
        task, data, since = entry
        task.cancel()
        if self.host.persist:
            self.env.journal.delete(self.host.rule_id, self._key(subject), "for")
        data.held_s = round(self.env.clock.now() - since, 3)
        self._miss(
            data,
            note("for_not_met", path=path, held=data.held_s, needed=self.for_s or 0.0),
        )

    def _detach_pending(self) -> None:
        for subject, (task, _, _) in list(self._pending.items()):
            task.cancel()
            if self.host.persist and not self.env.stopping:
                self.env.journal.delete(self.host.rule_id, self._key(subject), "for")
        self._pending.clear()

    def _restore(self, restored: Sequence[PersistedTimer], holds: Callable[[str], bool]) -> None:
        now = self.env.clock.now()
        for record in restored:
            if not self.claims(record):
                continue
            subject = str(record.payload.get("subject", ""))
            data = TriggerData.from_dict(dict(record.payload.get("trigger") or {}))
            since = float(record.payload.get("since") or record.due_at)
            if not holds(subject):
                self.env.journal.delete(self.host.rule_id, record.key, "for")
                self._miss(data, note("for_gone_after_restart", path=subject))
                continue
            if record.due_at >= now - GRACE_S:
                task = self.env.tasks.create(
                    self._countdown(subject, record.due_at),
                    name=f"rules:{self.host.rule_id}:{record.key}",
                )
                self._pending[subject] = (task, data, since)
                continue
            self.env.journal.delete(self.host.rule_id, record.key, "for")
            late = now - record.due_at
            run, why = catch_up(self.host.catch_up, late)
            data.held_s = round(now - since, 3)
            if run:
                data.late_s = round(late, 3)
                data.notes.append(why)
                self._fire(data)
            else:
                self._miss(data, why)


class StateTriggerImpl(_HoldingTrigger):
    kind = "state"

    def __init__(
        self, item: TriggerItem, index: int | None, host: TriggerHost, env: TriggerEnv
    ) -> None:
        super().__init__(item, index, host, env)
        spec = item.state
        assert spec is not None
        self.spec: StateTrigger = spec
        self.selectors = Selector.parse_all(spec.target)
        self.pattern = MemberPattern.parse(spec.path)
        self.to = as_values(spec.to)
        self.from_ = as_values(spec.from_)
        self.not_to = as_values(spec.not_to)
        self.not_from = as_values(spec.not_from)
        self.explainable = any(
            v is not None
            for v in (spec.to, spec.from_, spec.not_to, spec.not_from, spec.above, spec.below)
        )

    @property
    def for_s(self) -> float | None:
        return self.spec.for_

    def _listen(self) -> Unsubscribe:
        return self._watch("state", self._on_change, self.pattern)

    def _holds(self, value: Any) -> bool:
        return (
            value is not MISSING
            and one_of(value, self.to)
            and not (self.not_to is not None and one_of(value, self.not_to))
            and in_range(value, self.spec.above, self.spec.below)
        )

    def _holds_now(self, path: str) -> bool:
        state = self.env.kernel.states.get(path)
        return state is not None and self._holds(state.value)

    def _fires(self, old: Any, new: Any) -> bool:
        if not self._holds(new):
            return False
        if self.from_ is not None and (old is MISSING or not one_of(old, self.from_)):
            return False
        if self.not_from is not None and old is not MISSING and one_of(old, self.not_from):
            return False
        thresholds = self.spec.above is not None or self.spec.below is not None
        # A threshold fires on crossing into the range, not on every change inside it.
        return not (
            thresholds and old is not MISSING and in_range(old, self.spec.above, self.spec.below)
        )

    def _wanted(self) -> str:
        parts = []
        if self.from_ is not None:
            parts.append("from " + "|".join(map(_show, self.from_)))
        if self.to is not None:
            parts.append("to " + "|".join(map(_show, self.to)))
        if self.not_from is not None:
            parts.append("not from " + "|".join(map(_show, self.not_from)))
        if self.not_to is not None:
            parts.append("not to " + "|".join(map(_show, self.not_to)))
        if self.spec.above is not None:
            parts.append(f"above {self.spec.above:g}")
        if self.spec.below is not None:
            parts.append(f"below {self.spec.below:g}")
        return ", ".join(parts)

    def _on_change(self, event: Event[StateChange]) -> None:
        change = event.data
        if not self.pattern.matches(change.path[len(change.device) + 1 :]):
            return
        if not self.env.resolver.matches(self.selectors, change.device, self._room(self.spec.room)):
            return
        old = change.old.value if change.old is not None else MISSING
        new = change.new.value if change.new is not None else MISSING
        data = self._base("state", change.device, event.context)
        data.path, data.old, data.new = change.path, old, new
        path = change.path
        data.description = lambda: f"{path}: {_show(old)} → {_show(new)}"
        if self.for_s is None:
            if self._fires(old, new):
                self._fire(data)
            elif self.explainable:
                self._miss(data, self._mismatch(change.path, old, new))
            return
        if change.path in self._pending:
            if not self._holds(new):
                self._left(change.path, change.path)
            return
        if self._fires(old, new):
            now = self.env.clock.now()
            self._start(change.path, data, now, now + self.for_s)
        elif self.explainable:
            self._miss(data, self._mismatch(change.path, old, new))

    def _mismatch(self, path: str, old: Any, new: Any) -> Note:
        if self._holds(new) and old is not MISSING and self._holds(old):
            return note(
                "already_matching", path=path, old=_show(old), new=_show(new), wanted=self._wanted()
            )
        return note(
            "value_not_matching", path=path, old=_show(old), new=_show(new), wanted=self._wanted()
        )


class AvailabilityTriggerImpl(_HoldingTrigger):
    kind = "availability"

    def __init__(
        self, item: TriggerItem, index: int | None, host: TriggerHost, env: TriggerEnv
    ) -> None:
        super().__init__(item, index, host, env)
        spec = item.availability
        assert spec is not None
        self.spec: AvailabilityTrigger = spec
        self.selectors = Selector.parse_all(spec.target)

    @property
    def for_s(self) -> float | None:
        return self.spec.for_

    def _listen(self) -> Unsubscribe:
        return self._watch("availability", self._on_change)

    def _holds_now(self, device_id: str) -> bool:
        device = self.env.kernel.registry.get(device_id)
        if device is None:
            return False
        # After a restart every device is "unknown" until its transport reports: no evidence
        # either way, so the countdown goes on until a report says otherwise.
        return device.availability.value in (self.spec.to, "unknown")

    def _on_change(self, event: Event[AvailabilityChange]) -> None:
        change = event.data
        if not self.env.resolver.matches(
            self.selectors, change.device_id, self._room(self.spec.room)
        ):
            return
        old, new = change.old.value, change.new.value
        data = self._base("availability", change.device_id, event.context)
        data.old, data.new = old, new
        data.description = f"{change.device_id}: {old} → {new}"
        fires = (self.spec.to is None or new == self.spec.to) and (
            self.spec.from_ is None or old == self.spec.from_
        )
        if self.for_s is None:
            if fires:
                self._fire(data)
            return
        if change.device_id in self._pending:
            if new != self.spec.to:
                self._left(change.device_id, f"{change.device_id} availability")
            return
        if fires:
            now = self.env.clock.now()
            self._start(change.device_id, data, now, now + self.for_s)


class EventTriggerImpl(Trigger):
    kind = "event"

    def __init__(
        self, item: TriggerItem, index: int | None, host: TriggerHost, env: TriggerEnv
    ) -> None:
        super().__init__(item, index, host, env)
        spec = item.event
        assert spec is not None
        self.spec: EventTrigger = spec
        self.selectors = Selector.parse_all(spec.target)
        self.pattern = MemberPattern.parse(spec.path)
        self._seen: dict[str, deque[float]] = {}

    def attach(self, fire: Fire, restored: Sequence[PersistedTimer] = ()) -> Unsubscribe:
        self._fire = fire
        return self._watch("event", self._on_event, self.pattern)

    def _on_event(self, event: Event[DeviceEvent]) -> None:
        ev = event.data
        if not self.pattern.matches(ev.path):
            return
        if not self.env.resolver.matches(self.selectors, ev.device, self._room(self.spec.room)):
            return
        path = f"{ev.device}/{ev.path}"
        data = self._base("event", ev.device, event.context)
        data.path, data.fields = path, dict(ev.fields)
        data.description = path
        wrong = [
            f"{k}={_show(ev.fields.get(k, MISSING))} (wanted {_show(v)})"
            for k, v in self.spec.fields.items()
            if not one_of(ev.fields.get(k, MISSING), as_values(v))
        ]
        if wrong:
            self._miss(data, note("event_fields_not_matching", path=path, detail="; ".join(wrong)))
            return
        if self.spec.count > 1 and self.spec.within is not None:
            now = self.env.clock.now()
            seen = self._seen.setdefault(ev.device, deque())
            seen.append(now)
            while seen and seen[0] < now - self.spec.within:
                seen.popleft()
            if len(seen) < self.spec.count:
                self._miss(
                    data,
                    note(
                        "event_count_not_reached",
                        path=path,
                        count=len(seen),
                        needed=self.spec.count,
                        within=self.spec.within,
                    ),
                )
                return
            seen.clear()
        self._fire(data)


def next_time(spec: TimeTrigger, after: float, tz: tzinfo) -> float:
    """The first of the trigger's clock times strictly after ``after``."""
    base = datetime.fromtimestamp(after, tz)
    for day in range(8):
        date = (base + timedelta(days=day)).date()
        if spec.weekdays and WEEKDAYS[date.weekday()] not in spec.weekdays:
            continue
        for at in sorted(spec.at):
            ts = datetime.combine(date, at, tzinfo=tz).timestamp()
            if ts > after:
                return ts
    raise ValueError("a time trigger without any day")  # weekdays is never empty-but-set


class TimeTriggerImpl(Trigger):
    kind = "time"

    def __init__(
        self, item: TriggerItem, index: int | None, host: TriggerHost, env: TriggerEnv
    ) -> None:
        super().__init__(item, index, host, env)
        spec = item.time
        assert spec is not None
        self.spec: TimeTrigger = spec
        self.key = f"time:{index}"

    def claims(self, record: PersistedTimer) -> bool:
        return (
            record.kind == "time"
            and record.key == self.key
            and record.payload.get("hash") == self.hash
        )

    def attach(self, fire: Fire, restored: Sequence[PersistedTimer] = ()) -> Unsubscribe:
        self._fire = fire
        record = next((r for r in restored if self.claims(r)), None)
        task = self.env.tasks.create(
            self._loop(record), name=f"rules:{self.host.rule_id}:{self.key}"
        )

        def detach() -> None:
            task.cancel()
            if self.host.persist and not self.env.stopping:
                self.env.journal.delete(self.host.rule_id, self.key, "time")

        return detach

    def _data(self, due: float) -> TriggerData:
        data = self._base("time", None, None)
        local = datetime.fromtimestamp(due, self.env.tz)
        data.description = f"time {local:%a %H:%M:%S}"
        return data

    async def _loop(self, record: PersistedTimer | None) -> None:
        clock = self.env.clock
        now = clock.now()
        due: float | None = None
        if record is not None:
            if record.due_at < now - GRACE_S:
                late = now - record.due_at
                run, why = catch_up(self.host.catch_up, late)
                data = self._data(record.due_at)
                if run:
                    data.late_s = round(late, 3)
                    data.notes.append(why)
                    self._fire(data)
                else:
                    self._miss(data, why)
            else:
                due = record.due_at
        if due is None:
            due = next_time(self.spec, now, self.env.tz)
        while True:
            if self.host.persist:
                self.env.journal.save(
                    PersistedTimer(self.host.rule_id, self.key, "time", due, {"hash": self.hash})
                )
            await clock.sleep_until(due)
            self._fire(self._data(due))
            due = next_time(self.spec, max(clock.now(), due), self.env.tz)


class HubStartTriggerImpl(Trigger):
    kind = "hub_start"

    def attach(self, fire: Fire, restored: Sequence[PersistedTimer] = ()) -> Unsubscribe:
        self._fire = fire
        return self._watch("hub_start", self._on_start)

    def _on_start(self, event: Event[Any]) -> None:
        data = self._base("hub_start", None, event.context)
        data.description = "hub started"
        self._fire(data)


class SceneTriggerImpl(Trigger):
    """A scene was applied; the run starts with that scene's unfinished devices as problems."""

    kind = "scene"

    def __init__(
        self, item: TriggerItem, index: int | None, host: TriggerHost, env: TriggerEnv
    ) -> None:
        super().__init__(item, index, host, env)
        spec = item.scene
        assert spec is not None
        self.spec: SceneTrigger = spec

    def attach(self, fire: Fire, restored: Sequence[PersistedTimer] = ()) -> Unsubscribe:
        self._fire = fire
        return self._watch("scene", self._on_scene)

    def _on_scene(self, event: Event[Any]) -> None:
        result = event.data
        scene_id = getattr(result, "scene_id", None)
        if scene_id not in self.spec.scenes:
            return
        data = self._base("scene", None, event.context)
        as_dict = getattr(result, "as_dict", None)
        summary: dict[str, Any] = as_dict() if callable(as_dict) else {}
        data.fields = {"scene": scene_id, "ok": bool(summary.get("ok"))}
        data.problems = scene_problems(summary)
        data.description = f"scene {scene_id} applied" + (
            f", {len(data.problems)} unfinished" if data.problems else ""
        )
        self._fire(data)


# Command outcomes that leave a device not in the state asked for.
PROBLEM_STATUSES = frozenset({"refused", "failed", "timeout"})


def command_problem(entry: dict[str, Any]) -> dict[str, Any] | None:
    """One command outcome (``CommandResult.as_dict`` shape) as a problem, or None if fine."""
    if entry.get("status") not in PROBLEM_STATUSES:
        return None
    message = entry.get("message")
    if not isinstance(message, dict):  # a trace note ({code, zh, en}) or nothing
        message = {"zh": str(entry.get("code") or ""), "en": str(entry.get("code") or "")}
    return {
        "device": entry.get("device"),
        "target": entry.get("target"),
        "status": entry.get("status"),
        "code": entry.get("code"),
        "message": {"zh": str(message.get("zh", "")), "en": str(message.get("en", ""))},
    }


def scene_problems(result: dict[str, Any]) -> list[dict[str, Any]]:
    """What a scene result (``SceneResult.as_dict``) left undone, one entry per command."""
    out: list[dict[str, Any]] = []
    for device in result.get("devices") or []:
        for command in device.get("commands") or []:
            problem = command_problem({"device": device.get("device"), **command})
            if problem is not None:
                out.append(problem)
        if device.get("status") in PROBLEM_STATUSES and not device.get("commands"):
            notes = device.get("notes") or []
            first = notes[0] if notes else {}
            out.append(
                {
                    "device": device.get("device"),
                    "target": None,
                    "status": device.get("status"),
                    "code": first.get("code"),
                    "message": {"zh": first.get("zh", ""), "en": first.get("en", "")},
                }
            )
    return out


_KINDS: dict[str, type[Trigger]] = {
    "state": StateTriggerImpl,
    "event": EventTriggerImpl,
    "time": TimeTriggerImpl,
    "availability": AvailabilityTriggerImpl,
    "hub_start": HubStartTriggerImpl,
    "scene": SceneTriggerImpl,
}


def make_trigger(
    item: TriggerItem, index: int | None, host: TriggerHost, env: TriggerEnv
) -> Trigger:
    return _KINDS[item.kind](item, index, host, env)
