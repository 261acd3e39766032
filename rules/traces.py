"""Traces: what each run of a rule did and why, kept per rule with a bound.

A trace records the trigger, every condition's result, every action step (with its result,
clock time and wall time) and the Context chain, so the UI can answer "why did the hood switch
on?" and "why didn't it fire?". Triggers that matched a device but did not fire (a ``for:``
that was not met, a threshold not crossed) leave ``not_fired`` traces in their own bounded list,
so a chatty sensor cannot push real runs out.
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from hub.core.context import Context
from rules.messages import Note

__all__ = ["RunStatus", "StepTrace", "Trace", "TraceBook", "context_chain", "jsonable"]


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    STOPPED = "stopped"  # a condition (or a wait with on_timeout: stop) ended it
    SKIPPED = "skipped"  # the run mode did not start it
    CANCELLED = "cancelled"  # restart mode, or the rule changed
    FAILED = "failed"  # an unexpected error; the message is in ``error``
    INTERRUPTED = "interrupted"  # the hub stopped; a persisted delay/wait resumes later
    NOT_FIRED = "not_fired"  # a trigger matched a device but did not fire


def jsonable(value: Any) -> Any:
    """State values and event fields as JSON: tuples/sets to lists, contexts to ids."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((jsonable(v) for v in value), key=str)
    if isinstance(value, Context):
        return value.id
    as_dict = getattr(value, "as_dict", None)
    if callable(as_dict):
        return jsonable(as_dict())
    return str(value)


def context_chain(context: Context) -> list[dict[str, Any]]:
    """Nearest first: this run, then what caused it (a device, a user, another rule …)."""
    return [{"id": c.id, "origin": c.origin.value, "actor": c.actor} for c in context.chain()]


@dataclass(slots=True)
class StepTrace:
    path: str  # actions/2, actions/3/branches/0/actions/1 …
    kind: str
    started_at: float
    finished_at: float | None = None
    wall_ms: float = 0.0
    result: dict[str, Any] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": (
                round(self.finished_at - self.started_at, 3)
                if self.finished_at is not None
                else None
            ),
            "wall_ms": round(self.wall_ms, 3),
            "result": jsonable(self.result),
            "notes": list(self.notes),
            "error": self.error,
        }


class Trace:
    """One run (or near miss) of a rule.

    Built on the hot path, so what only a reader needs is kept as given and turned into JSON
    when read: the trigger (its ``TriggerData``), the Context chain (the run's ``Context``, whose
    ids are made on first use), the condition results, and a near miss's run id.
    """

    __slots__ = (
        "_context",
        "_run_id",
        "_trigger",
        "conditions",
        "created_at",
        "error",
        "finished_at",
        "notes",
        "prior_steps",
        "resumed",
        "rule_id",
        "seq",
        "started_at",
        "status",
        "steps",
    )

    def __init__(
        self,
        rule_id: str,
        run_id: str | Context | None,
        status: RunStatus,
        trigger: Mapping[str, Any] | Any,
        context: list[dict[str, Any]] | Context | None,
        created_at: float,
        started_at: float | None = None,
        finished_at: float | None = None,
        *,
        conditions: list[Any] | None = None,
        steps: list[StepTrace] | None = None,
        notes: list[Note] | None = None,
        error: str | None = None,
        resumed: bool = False,
        prior_steps: list[dict[str, Any]] | None = None,
    ) -> None:
        self.rule_id = rule_id
        self._run_id = run_id  # a Context: its id; None: a near miss's own id, made when read
        self.status = status
        self._trigger: Any = trigger  # a dict, or anything with as_dict() (TriggerData)
        self._context = context  # the chain as dicts, or the run's Context
        self.created_at = created_at
        self.started_at = started_at
        self.finished_at = finished_at
        # Each a dict or a ConditionResult (as_dict() when read).
        self.conditions: list[Any] = conditions if conditions is not None else []
        self.steps: list[StepTrace] = steps if steps is not None else []
        self.notes: list[Note] = notes if notes is not None else []
        self.error = error
        self.resumed = resumed
        self.prior_steps: list[dict[str, Any]] = prior_steps if prior_steps is not None else []
        self.seq = 0  # order of arrival in the book: ties on created_at keep it

    @property
    def run_id(self) -> str:
        run_id = self._run_id
        if isinstance(run_id, str):
            return run_id
        if run_id is None:
            self._run_id = run_id = f"nf-{os.urandom(6).hex()}"
            return run_id
        return run_id.id

    @property
    def trigger(self) -> dict[str, Any]:
        trigger = self._trigger
        if not isinstance(trigger, dict):
            self._trigger = trigger = dict(trigger.as_dict())
        return trigger

    @property
    def context(self) -> list[dict[str, Any]]:
        context = self._context
        if context is None:
            return []
        if isinstance(context, Context):
            self._context = context = context_chain(context)
        return context

    @property
    def done(self) -> bool:
        return self.status not in (RunStatus.QUEUED, RunStatus.RUNNING)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "run_id": self.run_id,
            "status": self.status.value,
            "trigger": jsonable(self.trigger),
            "context": list(self.context),
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "conditions": jsonable(self.conditions),
            "steps": [s.as_dict() for s in self.steps],
            "notes": list(self.notes),
            "error": self.error,
            "resumed": self.resumed,
            "prior_steps": list(self.prior_steps),
        }


class TraceBook:
    """Per rule: the last ``limit`` runs and the last ``not_fired_limit`` near misses."""

    def __init__(
        self,
        limit: int = 20,
        not_fired_limit: int = 20,
        on_done: Callable[[Trace], None] | None = None,
    ) -> None:
        self._limit = limit
        self._not_fired_limit = not_fired_limit
        self._runs: dict[str, deque[Trace]] = {}
        self._misses: dict[str, deque[Trace]] = {}
        self._on_done = on_done
        self._seq = itertools.count(1)
        # How many traces reached a final status: runs (finished, stopped, skipped …) and
        # near misses; the books keep only the last few, these count all.
        self.finished = 0
        self.missed = 0

    def add(self, trace: Trace) -> Trace:
        trace.seq = next(self._seq)
        if trace.status is RunStatus.NOT_FIRED:
            book = self._misses.setdefault(trace.rule_id, deque(maxlen=self._not_fired_limit))
        else:
            book = self._runs.setdefault(trace.rule_id, deque(maxlen=self._limit))
        book.append(trace)
        if trace.done:
            self.done(trace)
        return trace

    def done(self, trace: Trace) -> None:
        """Called once a trace reached its final status (the dry run listens here)."""
        if trace.status is RunStatus.NOT_FIRED:
            self.missed += 1
        else:
            self.finished += 1
        if self._on_done is not None:
            self._on_done(trace)

    def runs(self, rule_id: str) -> list[Trace]:
        return list(self._runs.get(rule_id, ()))

    def traces(self, rule_id: str) -> list[dict[str, Any]]:
        """Runs and near misses, newest first, as JSON-ready dicts."""
        items = [*self._runs.get(rule_id, ()), *self._misses.get(rule_id, ())]
        items.sort(key=lambda t: (t.created_at, t.seq), reverse=True)
        return [t.as_dict() for t in items]

    def find(self, rule_id: str, run_id: str) -> Trace | None:
        for trace in self._runs.get(rule_id, ()):
            if trace.run_id == run_id:
                return trace
        return None

    def drop(self, rule_id: str) -> None:
        self._runs.pop(rule_id, None)
        self._misses.pop(rule_id, None)
