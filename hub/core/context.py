"""Context: who or what caused something, with a link to the context that caused *that*.

Every event carries one, so traces and the audit log can explain causality
("the hood switched on because rule hood_follows_cooktop ran because burner_left ignited").
The id is created lazily: most contexts on hot paths are never looked up by id. It may be
created from any thread (the recorder's writer asks for the ids of the rows it stores), and a
context keeps the first id it was given.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from enum import StrEnum
from typing import Any

__all__ = ["Context", "Origin"]


class Origin(StrEnum):
    HUB = "hub"
    USER = "user"
    RULE = "rule"
    SCENE = "scene"
    DEVICE = "device"
    INTEGRATION = "integration"
    API = "api"


_counter = itertools.count(1)  # next() on it is atomic: ids may be made on any thread
_id_lock = threading.Lock()
# Unique across processes: a random tail drawn once per process (again in a forked child), not
# per id — a system call for every id is what made ids dear on the hot path.
_tail = os.urandom(4).hex()


def _new_tail() -> None:
    global _tail
    _tail = os.urandom(4).hex()


os.register_at_fork(after_in_child=_new_tail)


def _new_id() -> str:
    # Sortable by creation time; unique within the process (time + counter), across processes
    # (the tail).
    return f"{time.time_ns():016x}{next(_counter) & 0xFFFF:04x}{_tail}"


class Context:
    """Immutable by convention; create a child with :meth:`child` to extend a causal chain."""

    __slots__ = ("_id", "actor", "origin", "parent")

    def __init__(
        self,
        origin: Origin = Origin.HUB,
        actor: str | None = None,
        parent: Context | None = None,
        id: str | None = None,
    ) -> None:
        self._id = id
        self.origin = origin
        self.actor = actor
        self.parent = parent

    @property
    def id(self) -> str:
        ident = self._id
        if ident is None:
            with _id_lock:  # two threads asking at once must not see two ids
                ident = self._id
                if ident is None:
                    ident = self._id = _new_id()
        return ident

    def child(self, origin: Origin, actor: str | None = None) -> Context:
        return Context(origin, actor, self)

    def chain(self) -> list[Context]:
        """This context and its ancestors, nearest first."""
        out: list[Context] = []
        ctx: Context | None = self
        while ctx is not None:
            out.append(ctx)
            ctx = ctx.parent
        return out

    def root(self) -> Context:
        ctx = self
        while ctx.parent is not None:
            ctx = ctx.parent
        return ctx

    def user(self) -> str | None:
        """The user at the root of this chain, if a user started it."""
        for ctx in self.chain():
            if ctx.origin is Origin.USER:
                return ctx.actor
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "origin": self.origin.value,
            "actor": self.actor,
            "parent_id": self.parent.id if self.parent is not None else None,
        }

    def __repr__(self) -> str:
        return f"<Context {self.origin.value}:{self.actor} id={self._id} parent={self.parent!r}>"
