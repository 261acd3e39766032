"""Users, tokens, sessions, rules, scenes, persisted timers and meta."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from hub.storage import Storage
from hub.storage.tables import (
    Origin,
    Role,
    RuleRow,
    RuleTimerRow,
    SceneRow,
    SessionRow,
    TokenRow,
    UserRow,
)


async def test_users_and_tokens(storage: Storage) -> None:
    alice = await storage.add_user(
        UserRow(username="alice", display_name="Alice", role=Role.OWNER, password_hash="h1")
    )
    with pytest.raises(IntegrityError):
        await storage.add_user(UserRow(username="alice"))
    with pytest.raises(IntegrityError):
        await storage.add_user(UserRow(username="mallory", role="root"))  # role is checked

    loaded = await storage.get_user_by_username("alice")
    assert loaded is not None
    assert (loaded.id, loaded.role, loaded.password_hash, loaded.disabled) == (
        alice.id,
        "owner",
        "h1",
        False,
    )
    updated = await storage.update_user(alice.id, pin_hash="p1", disabled=True)
    assert updated is not None and (updated.pin_hash, updated.disabled) == ("p1", True)
    assert await storage.update_user("nobody", disabled=True) is None
    with pytest.raises(ValueError, match="no column"):
        await storage.update_user(alice.id, is_admin=True)

    token = await storage.add_token(TokenRow(user_id=alice.id, name="integrator", token_hash="th1"))
    found = await storage.get_token_by_hash("th1")
    assert found is not None and found.id == token.id and found.revoked_at is None
    revoked = await storage.update_token(token.id, revoked_at=123.0, last_used_at=100.0)
    assert revoked is not None and revoked.revoked_at == 123.0
    assert [t.name for t in await storage.list_tokens(alice.id)] == ["integrator"]
    with pytest.raises(IntegrityError):
        await storage.add_token(TokenRow(user_id="no-such-user", name="x", token_hash="th2"))

    session = await storage.add_session(
        SessionRow(user_id=alice.id, session_hash="sh1", expires_at=1_000.0)
    )
    assert (await storage.get_session_by_hash("sh1")) is not None
    await storage.update_session(session.id, elevated_until=500.0)
    assert (await storage.get_session_by_hash("sh1")).elevated_until == 500.0  # type: ignore[union-attr]
    assert await storage.delete_expired_sessions(now=2_000.0) == 1

    await storage.add_session(SessionRow(user_id=alice.id, session_hash="sh2", expires_at=9e9))
    assert await storage.delete_user(alice.id)
    assert await storage.get_token_by_hash("th1") is None  # tokens and sessions go with the user
    assert await storage.get_session_by_hash("sh2") is None
    assert await storage.list_users() == []


async def test_rules_scenes_and_timers(storage: Storage) -> None:
    await storage.save_rule(
        RuleRow(id="hood_follows_cooktop", source="trigger: …", origin=Origin.PACK)
    )
    await storage.save_rule(
        RuleRow(id="away", source='{"trigger": []}', format="json", enabled=False)
    )
    rule = await storage.get_rule("away")
    assert rule is not None and (rule.format, rule.enabled, rule.origin) == ("json", False, "api")
    assert rule.updated_at > 0
    await storage.save_rule(RuleRow(id="away", source='{"trigger": [1]}', format="json"))
    assert [r.id for r in await storage.list_rules()] == ["away", "hood_follows_cooktop"]
    assert (await storage.get_rule("away")).source == '{"trigger": [1]}'  # type: ignore[union-attr]
    with pytest.raises(IntegrityError):
        await storage.save_rule(RuleRow(id="bad", source="", origin="cloud"))

    await storage.save_timer(RuleTimerRow(rule_id="away", run_id="r1", kind="delay", due_at=30.0))
    await storage.save_timer(
        RuleTimerRow(rule_id="away", run_id="r2", kind="wait", due_at=10.0, payload='{"step":3}')
    )
    await storage.save_timer(
        RuleTimerRow(rule_id="hood_follows_cooktop", run_id="r9", kind="delay", due_at=20.0)
    )
    assert [t.due_at for t in await storage.list_timers()] == [10.0, 20.0, 30.0]
    await storage.save_timer(RuleTimerRow(rule_id="away", run_id="r1", kind="delay", due_at=5.0))
    assert [(t.run_id, t.due_at) for t in await storage.list_timers("away")] == [
        ("r1", 5.0),
        ("r2", 10.0),
    ]
    assert await storage.delete_timer("away", "r2") == 1
    assert await storage.delete_rule("away")
    assert not await storage.delete_rule("away")
    assert [t.rule_id for t in await storage.list_timers()] == ["hood_follows_cooktop"]

    await storage.save_scene(SceneRow(id="dinner", source="lights: 30%", origin=Origin.FILE))
    assert [s.id for s in await storage.list_scenes()] == ["dinner"]
    assert (await storage.get_scene("dinner")).origin == "file"  # type: ignore[union-attr]
    assert await storage.delete_scene("dinner")
    assert await storage.get_scene("dinner") is None


async def test_meta(storage: Storage) -> None:
    assert await storage.get_meta("install_id") is None
    await storage.set_meta("install_id", "abc")
    await storage.set_meta("install_id", "def")
    assert await storage.get_meta("install_id") == "def"
    assert await storage.integrity_check() == "ok"
