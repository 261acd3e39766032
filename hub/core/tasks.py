"""Keeps every background task the hub creates, so none is lost and all stop on shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

__all__ = ["TaskKeeper"]

_LOGGER = logging.getLogger(__name__)


class TaskKeeper:
    def __init__(self, name: str = "hub") -> None:
        self._name = name
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False

    def create[R](self, coro: Coroutine[Any, Any, R], name: str) -> asyncio.Task[R]:
        if self._closing:
            coro.close()
            raise RuntimeError(f"{self._name} is stopping; refused to start task {name}")
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            _LOGGER.error("Task %s failed", task.get_name(), exc_info=exc)

    def __len__(self) -> int:
        return len(self._tasks)

    def names(self) -> list[str]:
        return sorted(t.get_name() for t in self._tasks)

    async def cancel_all(self, timeout: float = 5.0) -> list[str]:
        """Cancel every kept task and wait; returns the names of tasks that did not finish."""
        self._closing = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if not tasks:
            return []
        _done, pending = await asyncio.wait(tasks, timeout=timeout)
        return sorted(t.get_name() for t in pending)
