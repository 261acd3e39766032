"""Runs and run modes.

A :class:`Run` is one execution of a rule's conditions and actions, identified by its Context
(``Origin.RULE``, parent = the context of what triggered it). :class:`RuleRunner` applies the
rule's mode, synchronously, at the moment a trigger fires — so the edge cases are plain:

* ``single``: a trigger while a run is going leaves a ``skipped`` trace.
* ``restart``: every going run is cancelled and the new one starts at once; three quick
  triggers leave exactly one run going (the last).
* ``queued``: runs start one after another in trigger order; at most ``max`` going + waiting.
* ``parallel``: up to ``max`` runs at once; beyond that, ``skipped`` traces.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub.core.context import Context
from rules.messages import Note, note
from rules.schema import Rule
from rules.traces import RunStatus, Trace, TraceBook
from rules.triggers import TriggerData

__all__ = ["ResumePoint", "RuleRunner", "Run"]


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """Where a persisted run continues after a restart: the delay or wait at ``position``."""

    position: tuple[int, ...]
    kind: str  # delay | wait
    due_at: float
    late_s: float  # > 0: it fell due while the hub was off (and catch-up said run)


class Run:
    __slots__ = (
        "cancel_reason",
        "context",
        "problems",
        "resume",
        "rule",
        "task",
        "trace",
        "trigger",
    )

    def __init__(
        self,
        rule: Rule,
        trigger: TriggerData,
        context: Context,
        trace: Trace,
        resume: ResumePoint | None = None,
    ) -> None:
        self.rule = rule
        self.trigger = trigger
        self.context = context
        self.trace = trace
        self.resume = resume
        self.task: asyncio.Task[None] | None = None
        self.cancel_reason: Note | None = None
        # Devices the run could not bring where it asked (refused, failed, unconfirmed), from
        # a scene trigger's scene and from this run's command and scene steps so far.
        self.problems: list[dict[str, Any]] = list(trigger.problems)

    @property
    def id(self) -> str:
        return self.context.id

    def cancel(self, reason: Note) -> None:
        if self.task is not None and not self.task.done():
            self.cancel_reason = reason
            self.task.cancel()

    def __repr__(self) -> str:
        return f"<Run {self.rule.id} {self.id} {self.trace.status.value}>"


class RuleRunner:
    """Starts, queues, skips or restarts runs of one rule by its mode."""

    def __init__(
        self,
        rule: Rule,
        start: Callable[[Run], asyncio.Task[None]],
        book: TraceBook,
        now: Callable[[], float],
    ) -> None:
        self.rule = rule
        self._start = start
        self._book = book
        self._now = now
        self.active: list[Run] = []
        self.queue: deque[Run] = deque()

    def submit(self, run: Run) -> bool:
        """Apply the mode; True when the run started or was queued."""
        mode, limit = self.rule.mode, self.rule.max_runs
        if mode == "single" and self.active:
            return self._skip(run, note("skipped_single"))
        if mode == "parallel" and len(self.active) >= limit:
            return self._skip(run, note("skipped_parallel_max", max=limit))
        if mode == "restart":
            going, self.active = self.active, []
            for old in going:
                old.cancel(note("restarted"))
        if mode == "queued" and self.active:
            if len(self.active) + len(self.queue) >= limit:
                return self._skip(run, note("skipped_queue_full", max=limit))
            run.trace.status = RunStatus.QUEUED
            self._book.add(run.trace)
            self.queue.append(run)
            return True
        self._book.add(run.trace)
        self._launch(run)
        return True

    def adopt(self, run: Run) -> None:
        """A run resumed after a restart: it counts as going for the mode."""
        self._book.add(run.trace)
        self._launch(run)

    def _launch(self, run: Run) -> None:
        run.trace.status = RunStatus.RUNNING
        self.active.append(run)
        run.task = self._start(run)
        run.task.add_done_callback(lambda _task: self._done(run))

    def _skip(self, run: Run, why: Note) -> bool:
        trace = run.trace
        trace.status = RunStatus.SKIPPED
        trace.notes.append(why)
        trace.finished_at = self._now()
        self._book.add(trace)
        return False

    def _done(self, run: Run) -> None:
        trace = run.trace
        if not trace.done:
            # Cancelled before its first step ran (three quick triggers in restart mode): the
            # body never started, so its trace is closed here.
            if run.cancel_reason is not None:
                trace.status = RunStatus.CANCELLED
                trace.notes.append(run.cancel_reason)
            else:
                trace.status = RunStatus.INTERRUPTED
                trace.notes.append(note("interrupted_shutdown"))
            trace.finished_at = self._now()
            self._book.done(trace)
        if run in self.active:
            self.active.remove(run)
        if self.rule.mode == "queued" and not self.active and self.queue:
            self._launch(self.queue.popleft())

    def cancel_all(self, reason: Note | None) -> None:
        """Cancel going and queued runs (``reason`` None: the hub is stopping)."""
        for run in self.queue:
            run.trace.status = RunStatus.CANCELLED
            run.trace.finished_at = self._now()
            run.trace.notes.append(reason if reason is not None else note("dropped_shutdown"))
            self._book.done(run.trace)
        self.queue.clear()
        going, self.active = self.active, []
        for run in going:
            if reason is not None:
                run.cancel(reason)
            elif run.task is not None:
                run.task.cancel()

    async def wait_idle(self) -> None:
        tasks = [r.task for r in self.active if r.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
