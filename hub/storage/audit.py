"""Audit log entries: who did what to which device, and how it ended."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from time import time as _now
from typing import Any

from hub.core.context import Context
from hub.storage.codec import dumps

__all__ = ["AuditEntry", "AuditResult"]


class AuditResult(StrEnum):
    OK = "ok"
    REFUSED = "refused"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """``action`` is e.g. ``command``, ``login``, ``login_failed``, ``unlock``; ``actor`` a user
    id (None when no user is behind it: the hub, a device, a rule nobody triggered by hand)."""

    action: str
    result: AuditResult = AuditResult.OK
    actor: str | None = None
    origin: str = "hub"
    target: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    context_id: str | None = None
    ts: float = field(default_factory=_now)

    def __post_init__(self) -> None:
        # Checked here, on the caller's side: on the writer thread a bad value would only be logged.
        object.__setattr__(self, "result", AuditResult(self.result))
        if not self.action:
            raise ValueError("an audit entry needs an action")

    @classmethod
    def from_context(
        cls,
        context: Context,
        action: str,
        result: AuditResult = AuditResult.OK,
        *,
        target: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Actor and origin taken from the causal chain (the user at its root, if any)."""
        return cls(
            action=action,
            result=result,
            actor=context.user(),
            origin=context.origin.value,
            target=target,
            detail=dict(detail or {}),
            context_id=context.id,
        )

    def as_row(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "actor": self.actor,
            "origin": self.origin,
            "action": self.action,
            "target": self.target,
            "result": self.result.value,
            "detail": dumps(dict(self.detail)),
            "context_id": self.context_id,
        }
