"""The audit log: queued writes, filtered reads, context."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.core.context import Context, Origin
from hub.storage import AuditEntry, AuditResult, Storage

T0 = 1_800_000_000.0


async def test_audit_write_and_read(storage: Storage) -> None:
    storage.audit(AuditEntry("login", actor="u-alice", origin="api", ts=T0))
    storage.audit(
        AuditEntry(
            "command",
            AuditResult.REFUSED,
            actor="u-bob",
            origin="api",
            target="cooktop-1/left/burner/ignite",
            detail={"reason": "remote ignition is never allowed", "args": (1, 2)},
            ts=T0 + 1,
        )
    )
    storage.audit(AuditEntry("login_failed", AuditResult.FAILED, origin="api", ts=T0 + 2))
    storage.audit(AuditEntry("unlock", actor="u-alice", target="lock-1", ts=T0 + 3))

    log = await storage.audit_log()  # queued entries are visible to the next read
    assert [e["action"] for e in log] == ["unlock", "login_failed", "command", "login"]
    refused = log[2]
    assert refused["result"] == "refused"
    assert refused["actor"] == "u-bob"
    assert refused["target"] == "cooktop-1/left/burner/ignite"
    assert refused["detail"] == {"reason": "remote ignition is never allowed", "args": [1, 2]}
    assert refused["ts"] == T0 + 1

    assert [e["action"] for e in await storage.audit_log(actor="u-alice")] == ["unlock", "login"]
    assert [e["ts"] for e in await storage.audit_log(action="login_failed")] == [T0 + 2]
    assert [e["action"] for e in await storage.audit_log(since=T0 + 2)] == [
        "unlock",
        "login_failed",
    ]
    assert len(await storage.audit_log(limit=2)) == 2


async def test_audit_entry_from_context(storage: Storage) -> None:
    user = Context(Origin.USER, "u-alice")
    rule_run = user.child(Origin.RULE, "leaving_home")
    entry = AuditEntry.from_context(rule_run, "command", target="lock-1/main/lock/locked")
    assert (entry.actor, entry.origin, entry.context_id) == ("u-alice", "rule", rule_run.id)
    storage.audit(entry)
    (stored,) = await storage.audit_log()
    assert stored["context_id"] == rule_run.id
    assert stored["actor"] == "u-alice"


def test_bad_result_is_refused_by_the_caller() -> None:
    with pytest.raises(ValueError):
        AuditEntry("command", result="maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        AuditEntry("")


async def test_audit_survives_restart(db_path: Path) -> None:
    storage = await Storage.open(db_path)
    storage.audit(AuditEntry("unlock", actor="u-alice", target="lock-1", ts=T0))
    await storage.close()  # the queued entry is flushed, not lost
    storage = await Storage.open(db_path)
    try:
        assert [e["action"] for e in await storage.audit_log()] == ["unlock"]
    finally:
        await storage.close()
