"""The recorder: every state change into ``state_history`` and ``last_states``.

The bus listener only appends a tuple to a bounded deque (no allocation beyond that, no I/O, no
locks); a kept task hands batches to the storage writer thread every ``commit_interval`` or as
soon as ``batch_size`` rows wait. Each batch is one transaction: bulk history insert plus an
upsert of the newest value per path. When the hub produces changes faster than the disk takes
them for long enough to fill the queue, the oldest rows are dropped and counted — memory stays
bounded and the loop is never made to wait.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from time import perf_counter
from time import time as _now
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.engine import Connection

from hub.core.bus import EventBus, Unsubscribe
from hub.core.context import Context
from hub.core.events import Event
from hub.core.state import STATE_CHANGED, StateChange
from hub.core.tasks import TaskKeeper
from hub.storage.codec import dumps
from hub.storage.sql import upsert
from hub.storage.store import HISTORY, LAST_STATES, Storage

__all__ = ["Recorder"]

_LOGGER = logging.getLogger(__name__)

_REMOVED = object()  # value marker: the path was removed from the state store
_DAY = 86_400.0
_MAX_ATTEMPTS = 3
_DELETE_CHUNK = 500
_GIL_SLICE = 250

# (path, device, value, last_changed, last_reported, context); the context's id is asked for
# on the writer thread (ids are made lazily: a batch of 1,000 fresh ids made on the loop was
# a 1 ms stall that an automation's latency would meet).
_Row = tuple[str, str, Any, float, float, Context | None]


def _to_json(value: Any) -> str:
    try:
        return dumps(value)
    except (TypeError, ValueError, RecursionError):
        # A value the codec cannot express still leaves a trace instead of failing the batch.
        return dumps(repr(value))


_HISTORY_COLUMNS = ("path", "device", "value", "ts", "context_id")
_HISTORY_SQL = "INSERT INTO state_history (path, device, value, ts, context_id) VALUES ({})"
_POSITIONAL = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _insert_history(conn: Connection, rows: list[tuple[str, str, str, float, str | None]]) -> None:
    """Bulk insert straight through the driver's ``executemany`` when its parameters are
    positional (sqlite3, psycopg, psycopg2): a third less work per row than a Core insert, and
    that work holds the GIL the event loop needs."""
    marker = _POSITIONAL.get(conn.dialect.paramstyle)
    if marker is None:
        conn.execute(insert(HISTORY), [dict(zip(_HISTORY_COLUMNS, r, strict=True)) for r in rows])
    else:
        conn.exec_driver_sql(_HISTORY_SQL.format(", ".join([marker] * len(_HISTORY_COLUMNS))), rows)


_LATEST_COLUMNS = ("path", "device", "value", "last_changed", "last_reported")
_LATEST_SQL = (
    "INSERT INTO last_states (path, device, value, last_changed, last_reported) VALUES ({}) "
    "ON CONFLICT (path) DO UPDATE SET device = excluded.device, value = excluded.value, "
    "last_changed = excluded.last_changed, last_reported = excluded.last_reported"
)


def _upsert_latest(conn: Connection, rows: list[tuple[str, str, str, float, float]]) -> None:
    """The newest value per path, through the driver like the history rows: a Core upsert
    spent ~35 µs a row in SQLAlchemy's parameter handling (1,000 lamps: 3 % of a core).
    ``ON CONFLICT … DO UPDATE`` is the same on SQLite and PostgreSQL; others take the Core path.
    """
    marker = _POSITIONAL.get(conn.dialect.paramstyle)
    if marker is None or conn.dialect.name not in ("sqlite", "postgresql"):
        upsert(
            conn, LAST_STATES, [dict(zip(_LATEST_COLUMNS, r, strict=True)) for r in rows], ["path"]
        )
    else:
        conn.exec_driver_sql(_LATEST_SQL.format(", ".join([marker] * len(_LATEST_COLUMNS))), rows)


def _write_rows(conn: Connection, rows: list[_Row]) -> None:
    history: list[tuple[str, str, str, float, str | None]] = []
    latest: dict[str, tuple[str, str, float, float] | None] = {}
    for start in range(0, len(rows), _GIL_SLICE):
        for path, device, value, changed, reported, context in rows[start : start + _GIL_SLICE]:
            if value is _REMOVED:
                latest[path] = None
                continue
            text = _to_json(value)
            history.append((path, device, text, changed, None if context is None else context.id))
            latest[path] = (device, text, changed, reported)
        # Encoding is pure Python: hand the GIL to the event loop now if it is waiting for it,
        # instead of making it wait out the interpreter's 5 ms switch interval.
        time.sleep(0)
    if history:
        _insert_history(conn, history)
    latest_rows = [(p, *r) for p, r in latest.items() if r is not None]
    if latest_rows:
        _upsert_latest(conn, latest_rows)
    removed = [path for path, row in latest.items() if row is None]
    for start in range(0, len(removed), _DELETE_CHUNK):
        chunk = removed[start : start + _DELETE_CHUNK]
        conn.execute(delete(LAST_STATES).where(LAST_STATES.c.path.in_(chunk)))


class Recorder:
    def __init__(
        self,
        storage: Storage,
        bus: EventBus,
        tasks: TaskKeeper,
        *,
        commit_interval: float = 1.0,
        batch_size: int = 1_000,
        max_batch: int = 5_000,
        max_queue: int = 100_000,
        retention_days: int | None = None,
        purge_interval: float = _DAY,
    ) -> None:
        if batch_size < 1 or max_queue < 1 or max_batch < batch_size:
            raise ValueError("need batch_size >= 1, max_queue >= 1 and max_batch >= batch_size")
        self._storage = storage
        self._bus = bus
        self._tasks = tasks
        self._interval = commit_interval
        self._batch_size = batch_size
        self._max_batch = max_batch
        self._max_queue = max_queue
        self._retention_days = storage.retention_days if retention_days is None else retention_days
        self._purge_interval = purge_interval
        self._queue: deque[_Row] = deque(maxlen=max_queue)
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # one batch in flight at a time: keeps batches in order
        self._purge_lock = asyncio.Lock()
        self._retry: list[_Row] | None = None
        self._attempts = 0
        self._unsubscribe: Unsubscribe | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._purge_task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._dropping = False
        self._burst_drops = 0
        self.written = 0
        self.dropped = 0  # oldest rows pushed out of a full queue
        self.failed = 0  # rows given up after repeated write errors
        self.purged = 0
        self.last_commit_ms = 0.0

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        if self._unsubscribe is not None:
            return
        self._stop.clear()
        self._unsubscribe = self._bus.listen(STATE_CHANGED, self._on_state_changed)
        self._run_task = self._tasks.create(self._run(), name="recorder:commit")
        if self._retention_days > 0:
            self._purge_task = self._tasks.create(self._purge_loop(), name="recorder:retention")
        self._storage.on_close(self.stop)

    async def stop(self) -> None:
        """Stop listening and write everything still queued."""
        if self._unsubscribe is None:
            return
        self._unsubscribe()
        self._unsubscribe = None
        # The commit task finishes the batch in hand and returns; a purge can simply stop.
        self._stop.set()
        self._wake.set()
        if self._purge_task is not None:
            self._purge_task.cancel()
        running = [t for t in (self._purge_task, self._run_task) if t is not None]
        await asyncio.gather(*running, return_exceptions=True)
        self._run_task = self._purge_task = None
        await self.flush()

    # -- the hot path ------------------------------------------------------------------------------
    def _on_state_changed(self, event: Event[StateChange]) -> None:
        queue = self._queue
        waiting = len(queue)
        if waiting == self._max_queue:
            self._note_drop()  # the append below pushes the oldest row out (deque maxlen)
        change = event.data
        new = change.new
        if new is None:
            queue.append((change.path, change.device, _REMOVED, event.time, event.time, None))
        else:
            queue.append(
                (new.path, new.device, new.value, new.last_changed, new.last_reported, new.context)
            )
        if waiting >= self._batch_size - 1:
            self._wake.set()

    def _note_drop(self) -> None:
        self.dropped += 1
        self._burst_drops += 1
        if not self._dropping:
            self._dropping = True
            _LOGGER.warning(
                "Recorder queue full (%d rows): dropping the oldest state changes until the "
                "database catches up",
                self._max_queue,
            )

    # -- writing -----------------------------------------------------------------------------------
    async def _run(self) -> None:
        while not self._stop.is_set():
            if len(self._queue) < self._batch_size:
                self._wake.clear()
                try:
                    async with asyncio.timeout(self._interval):
                        await self._wake.wait()
                except TimeoutError:
                    pass
            if self._stop.is_set():
                return
            await self._write_batch()
            if self._retry is not None:
                await asyncio.sleep(self._interval)  # back off before retrying a failed commit

    def _take(self) -> list[_Row]:
        queue = self._queue
        count = min(len(queue), self._max_batch)
        popleft = queue.popleft
        return [popleft() for _ in range(count)]

    async def _write_batch(self) -> bool:
        """Write one batch (a pending retry first); False if nothing was written."""
        async with self._lock:
            rows = self._retry if self._retry is not None else self._take()
            if not rows:
                return False
            started = perf_counter()
            try:
                await self._storage.run_write(lambda conn: _write_rows(conn, rows))
            except Exception:
                self._attempts += 1
                if self._attempts >= _MAX_ATTEMPTS:
                    _LOGGER.exception(
                        "Recorder gave up on %d rows after %d attempts", len(rows), self._attempts
                    )
                    self.failed += len(rows)
                    self._retry, self._attempts = None, 0
                else:
                    _LOGGER.warning("Recorder commit failed; will retry", exc_info=True)
                    self._retry = rows
                return False
            self._retry, self._attempts = None, 0
            self.written += len(rows)
            self.last_commit_ms = (perf_counter() - started) * 1000.0
            if self._dropping and len(self._queue) < self._max_queue // 2:
                _LOGGER.warning(
                    "Recorder caught up; %d state changes were dropped", self._burst_drops
                )
                self._dropping, self._burst_drops = False, 0
            return True

    async def flush(self) -> None:
        """Write what is queued now. Bounded: changes arriving meanwhile may be left for the next
        commit, and rows the database keeps refusing are given up after a few attempts."""
        pending = len(self._queue) + len(self._retry or ())
        rounds = -(-pending // self._max_batch) * _MAX_ATTEMPTS + 1
        for _ in range(rounds):
            if not self._queue and self._retry is None:
                return
            await self._write_batch()

    # -- retention ---------------------------------------------------------------------------------
    async def _purge_loop(self) -> None:
        while True:
            await self.purge()
            await asyncio.sleep(self._purge_interval)

    async def purge(self, now: float | None = None) -> int:
        """Delete history older than the retention period; returns the rows deleted.

        One purge at a time: a second call waits for the running one, then finds little to do.
        """
        async with self._purge_lock:
            cutoff = (_now() if now is None else now) - self._retention_days * _DAY
            try:
                count = await self._storage.purge_history(cutoff)
            except Exception:
                _LOGGER.exception("History purge failed; will try again at the next interval")
                return 0
            self.purged += count
        if count:
            _LOGGER.info("Purged %d history rows older than %d days", count, self._retention_days)
        return count

    def stats(self) -> dict[str, float]:
        return {
            "queued": len(self._queue) + len(self._retry or ()),
            "written": self.written,
            "dropped": self.dropped,
            "failed": self.failed,
            "purged": self.purged,
            "last_commit_ms": round(self.last_commit_ms, 3),
        }
