"""The database's threads: one writer that owns every write, a small pool of readers.

Fire-and-forget writes (registry saves, audit entries) are queued on the loop and handed to the
writer as one batch shortly after; awaited writes first hand over whatever is queued, so writes
reach the database in the order they were made. The single writer thread is FIFO, which is what
makes that order hold.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from hub.storage.engine import WRITE_OPTIONS

__all__ = ["WriteOp", "Writer"]

_LOGGER = logging.getLogger(__name__)

WriteOp = Callable[[Connection], Any]


def _noop() -> None:
    return None


class Writer:
    def __init__(self, engine: Engine, *, queue_delay: float = 0.05, readers: int = 2) -> None:
        self._engine = engine
        self._loop = asyncio.get_running_loop()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zshub-db-write")
        self._readers = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="zshub-db-read")
        self._queue_delay = queue_delay
        self._ops: list[WriteOp | None] = []
        self._pending: dict[Hashable, int] = {}  # coalescing key -> index in _ops
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        self.failed_ops = 0  # queued writes that could not be applied (logged each time)

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def closed(self) -> bool:
        return self._closed

    # -- queued writes -----------------------------------------------------------------------------
    def queue(self, op: WriteOp, key: Hashable | None = None) -> None:
        """Queue ``op`` and return at once. A later op with the same ``key`` before the batch is
        handed over replaces this one (and takes its place at the end, so ordering still holds)."""
        if self._closed:
            raise RuntimeError("storage is closed; write refused")
        if key is not None:
            previous = self._pending.get(key)
            if previous is not None:
                self._ops[previous] = None
            self._pending[key] = len(self._ops)
        self._ops.append(op)
        if self._timer is None:
            self._timer = self._loop.call_later(self._queue_delay, self._hand_over)

    def barrier(self, key: Hashable) -> None:
        """Stop ``key`` from coalescing across this point (e.g. a delete between two saves)."""
        self._pending.pop(key, None)

    def _hand_over(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        ops = [op for op in self._ops if op is not None]
        self._ops.clear()
        self._pending.clear()
        if not ops:
            return
        future = self._loop.run_in_executor(self._executor, self._run_ops, ops)
        # Errors are handled inside _run_ops; this only keeps a crash from going unseen.
        future.add_done_callback(_log_unexpected)

    def _run_ops(self, ops: list[WriteOp]) -> None:
        try:
            self._transaction(lambda conn: [op(conn) for op in ops])
        except Exception:
            if len(ops) == 1:
                self.failed_ops += 1
                _LOGGER.exception("Queued database write failed and was dropped")
                return
            # One bad op must not take the rest of the batch with it: replay them one by one.
            for op in ops:
                try:
                    self._transaction(op)
                except Exception:
                    self.failed_ops += 1
                    _LOGGER.exception("Queued database write failed and was dropped")

    def _transaction[R](self, fn: Callable[[Connection], R]) -> R:
        with self._engine.connect().execution_options(**WRITE_OPTIONS) as conn, conn.begin():
            return fn(conn)

    # -- awaited work ------------------------------------------------------------------------------
    async def write[R](self, fn: Callable[[Connection], R]) -> R:
        """Run ``fn`` in one write transaction on the writer thread, after every queued write."""
        if self._closed:
            raise RuntimeError("storage is closed; write refused")
        self._hand_over()
        future = self._loop.run_in_executor(self._executor, self._transaction, fn)
        # Once handed to the writer a write completes even if the caller is cancelled.
        return await asyncio.shield(future)

    async def call[R](self, fn: Callable[[], R]) -> R:
        """Run ``fn`` on the writer thread outside any transaction (migrations, maintenance)."""
        self._hand_over()
        return await asyncio.shield(self._loop.run_in_executor(self._executor, fn))

    async def read[R](self, fn: Callable[[Connection], R]) -> R:
        """Run ``fn`` on a reader thread with its own connection (WAL lets it run beside writes)."""
        if self._closed:
            raise RuntimeError("storage is closed")
        return await self._loop.run_in_executor(self._readers, self._read, fn)

    def _read[R](self, fn: Callable[[Connection], R]) -> R:
        with self._engine.connect() as conn:
            return fn(conn)

    async def flush(self) -> None:
        """Return once every write queued or submitted so far is committed (or failed)."""
        self._hand_over()
        await asyncio.shield(self._loop.run_in_executor(self._executor, _noop))

    async def close(self) -> None:
        if self._closed:
            return
        await self.flush()
        self._closed = True

        def shut_down() -> None:
            self._readers.shutdown(wait=True)
            self._executor.shutdown(wait=True)
            self._engine.dispose()

        await self._loop.run_in_executor(None, shut_down)


def _log_unexpected(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        _LOGGER.error("Database writer batch crashed", exc_info=future.exception())
