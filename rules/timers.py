"""Time for rules: a clock abstraction and timers that survive a restart.

* :class:`Clock` — ``now()`` (POSIX seconds) and ``sleep_until()``. The hub uses
  :class:`SystemClock`; tests and the dry run use :class:`SimClock`, which only moves when told.
* :class:`TimerJournal` — records of pending delays, waits, ``for:`` durations, time triggers
  and blocks, written in order by one task (callers never wait for the database).
* :func:`catch_up` — what to do with a timer that fell due while the hub was off, by the rule's
  ``catch_up`` policy (``run``, ``skip``, ``run_if_within: <seconds>``).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hub.core.tasks import TaskKeeper
from hub.storage.tables import RuleTimerRow
from rules.messages import Note, note
from rules.schema import CatchUp, RunIfWithin

__all__ = [
    "GRACE_S",
    "Clock",
    "PersistedTimer",
    "SimClock",
    "SystemClock",
    "TimerJournal",
    "TimerStore",
    "catch_up",
    "policy_text",
]

_LOGGER = logging.getLogger(__name__)

# A timer found this little overdue at start is "on time", not missed (start-up takes a moment).
GRACE_S = 2.0
# How long the journal holds its writes before it goes to the store: a ``for:`` that a sensor
# starts and cancels within it (someone walks past) costs no write at all, and the writes of a
# state change never run between that change and the commands of the rules it started.
WRITE_DELAY_S = 0.25
# due_at for records that wait for an event rather than a time (a block until the all-clear).
NO_DUE = 4_102_444_800.0  # 2100-01-01


class Clock(Protocol):
    def now(self) -> float: ...
    async def sleep_until(self, when: float) -> None: ...


class SystemClock:
    """Wall-clock time; sleeps in slices so a clock step (NTP after boot) is noticed."""

    SLICE_S = 30.0

    def now(self) -> float:
        return time.time()

    async def sleep_until(self, when: float) -> None:
        while True:
            left = when - time.time()
            if left <= 0:
                return
            await asyncio.sleep(min(left, self.SLICE_S))


class SimClock:
    """A clock that moves only by :meth:`advance`/:meth:`advance_to`, waking sleepers in order
    and letting the loop settle after each wake-up, so a test or dry run is deterministic."""

    def __init__(self, start: float) -> None:
        self._now = start
        self._seq = 0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self._now

    async def sleep_until(self, when: float) -> None:
        if when <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._sleepers, (when, self._seq, future))
        await future

    def next_due(self) -> float | None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)  # cancelled sleepers are dropped lazily
        return self._sleepers[0][0] if self._sleepers else None

    @staticmethod
    async def settle() -> None:
        """Let every task that can run, run (until the loop has nothing ready)."""
        loop = asyncio.get_running_loop()
        for rounds in range(10_000):
            await asyncio.sleep(0)
            if rounds < 3:
                continue
            # CPython keeps ready callbacks in ``_ready``: empty means every other task waits.
            # Elsewhere fall back to a fixed number of rounds.
            ready = getattr(loop, "_ready", None)
            if (ready is None and rounds >= 200) or (ready is not None and not ready):
                return

    async def advance(self, seconds: float) -> None:
        await self.advance_to(self._now + seconds)

    async def advance_to(self, when: float) -> None:
        await self.settle()
        while True:
            due = self.next_due()
            if due is None or due > when:
                break
            self._now = max(self._now, due)
            while self._sleepers and self._sleepers[0][0] <= self._now:
                _, _, future = heapq.heappop(self._sleepers)
                if not future.done():
                    future.set_result(None)
            await self.settle()
        self._now = max(self._now, when)
        await self.settle()


@dataclass(slots=True)
class PersistedTimer:
    """One record: ``kind`` is delay | wait | for | time | block; ``key`` names it in its rule."""

    rule_id: str
    key: str
    kind: str
    due_at: float
    payload: dict[str, Any] = field(default_factory=dict)

    def to_row(self) -> RuleTimerRow:
        return RuleTimerRow(
            rule_id=self.rule_id,
            run_id=self.key,
            kind=self.kind,
            due_at=self.due_at,
            payload=json.dumps(self.payload, ensure_ascii=False, separators=(",", ":")),
        )

    @classmethod
    def from_row(cls, row: RuleTimerRow) -> PersistedTimer:
        try:
            payload = json.loads(row.payload)
        except ValueError:
            payload = {}
        return cls(
            row.rule_id,
            row.run_id,
            row.kind,
            row.due_at,
            payload if isinstance(payload, dict) else {},
        )


class TimerStore(Protocol):
    """The timer part of :class:`rules.store.RuleStore` (``hub.storage.Storage`` has it)."""

    async def list_timers(self, rule_id: str | None = None) -> Sequence[RuleTimerRow]: ...
    async def save_timer(self, timer: RuleTimerRow) -> None: ...
    async def delete_timer(self, rule_id: str, run_id: str, kind: str | None = None) -> int: ...


_TimerKey = tuple[str, str, str | None]  # rule id, key, kind (None: every kind)


class TimerJournal:
    """Writes timer records to the store in one kept task, in order, coalesced per record.

    Only the last wish for a record is written (a record saved twice is written once), and a
    record deleted before it reached the store is never written at all: a ``for:`` that a
    sensor cancels at once, or a delay cut short, costs no disk write and no time of the
    storage thread. Writes wait :data:`WRITE_DELAY_S` after the first wish of a batch (a crash
    may lose that much of the journal: a ``for:`` then counts again from the restart).
    ``flush`` writes at once and waits until everything asked so far is in the store.
    """

    def __init__(self, store: TimerStore | None, tasks: TaskKeeper) -> None:
        self._store = store
        self._tasks = tasks
        self._pending: dict[_TimerKey, PersistedTimer | None] = {}  # None: delete
        self._stored: set[_TimerKey] = set()  # records the store holds (known after load)
        self._loaded = False
        self._inflight: _TimerKey | None = None
        self._wake = asyncio.Event()
        self._hurry = asyncio.Event()  # flush(): write now, without the delay
        self._idle = asyncio.Event()
        self._idle.set()
        self._worker: asyncio.Task[None] | None = None
        self.failed = 0

    async def load(self) -> list[PersistedTimer]:
        if self._store is None:
            return []
        records = [PersistedTimer.from_row(row) for row in await self._store.list_timers()]
        self._stored.update((r.rule_id, r.key, r.kind) for r in records)
        self._loaded = True
        return records

    def start(self) -> None:
        if self._store is not None and self._worker is None:
            self._worker = self._tasks.create(self._work(), name="rules:timer-journal")

    def save(self, timer: PersistedTimer) -> None:
        if self._store is None:
            return
        key = (timer.rule_id, timer.key, timer.kind)
        self._pending.pop(key, None)  # the newest wish goes last, after what came before it
        self._pending[key] = timer
        self._kick()

    def delete(self, rule_id: str, key: str, kind: str | None = None) -> None:
        if self._store is None:
            return
        target: _TimerKey = (rule_id, key, kind)
        if kind is None:
            for other in [k for k in self._pending if k[0] == rule_id and k[1] == key]:
                del self._pending[other]
        else:
            self._pending.pop(target, None)
            if self._loaded and target not in self._stored and target != self._inflight:
                return  # never reached the store: nothing to delete
        self._pending[target] = None
        self._kick()

    def _kick(self) -> None:
        self._idle.clear()
        self._wake.set()

    async def flush(self) -> None:
        if self._worker is not None:
            if not self._idle.is_set():
                self._hurry.set()
            await self._idle.wait()

    async def close(self) -> None:
        await self.flush()
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None

    async def _work(self) -> None:
        while True:
            while not self._pending:
                self._hurry.clear()  # a flush during the last batch asked for that batch only
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
            if not self._hurry.is_set():  # a new batch: wait for what else it brings
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._hurry.wait(), WRITE_DELAY_S)
            self._hurry.clear()
            while self._pending:
                await self._write_next()

    async def _write_next(self) -> None:
        store = self._store
        assert store is not None
        key = next(iter(self._pending))
        timer = self._pending.pop(key)
        self._inflight = key
        try:
            if timer is None:
                await store.delete_timer(*key)
                if key[2] is None:
                    self._stored = {k for k in self._stored if k[:2] != key[:2]}
                else:
                    self._stored.discard(key)
            else:
                await store.save_timer(timer.to_row())
                self._stored.add(key)
        except Exception:
            # A lost timer write costs at most one resumed delay; keep the rest flowing.
            self.failed += 1
            _LOGGER.exception("Writing a rule timer failed")
        finally:
            self._inflight = None


def policy_text(policy: CatchUp) -> str:
    if isinstance(policy, RunIfWithin):
        return f"run_if_within {policy.run_if_within:g} s"
    return policy


def catch_up(policy: CatchUp, late_s: float) -> tuple[bool, Note]:
    """Run a missed timer now? With the note the trace shows either way."""
    if isinstance(policy, RunIfWithin):
        run = late_s <= policy.run_if_within
    else:
        run = policy == "run"
    code = "catch_up_run" if run else "catch_up_skip"
    return run, note(code, late=round(late_s, 1), policy=policy_text(policy))
