"""Schema version 1, frozen.

Migration 1 creates exactly this, whatever :mod:`hub.storage.tables` says today, so a database
created by the first release and one created now go through the same upgrade path. Never edit
this file to change the schema: add a migration.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = ["metadata"]

metadata = MetaData()


def _big_id() -> Column[int]:
    return Column(
        "id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )


Table(
    "rooms",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name_zh", String, nullable=False),
    Column("name_en", String, nullable=False),
    Column("sort_order", Integer, nullable=False),
)

Table(
    "devices",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name_zh", String, nullable=False),
    Column("name_en", String, nullable=False),
    Column("profile_id", String),
    Column("integration", String, nullable=False),
    Column("transport", String, nullable=False),
    Column("identity", Text, nullable=False),
    Column("room_id", String, ForeignKey("rooms.id", ondelete="SET NULL")),
    Column("address", String),
    Column("availability", String, nullable=False),
    Column("last_seen", Float),
    Column("added_at", Float, nullable=False),
    Column("config", Text, nullable=False),
    Index("ix_devices_room_id", "room_id"),
)

Table(
    "device_secrets",
    metadata,
    Column("device_id", String(64), ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String, primary_key=True),
    Column("value", Text, nullable=False),
)

Table(
    "users",
    metadata,
    Column("id", String, primary_key=True),
    Column("username", String, nullable=False),
    Column("display_name", String, nullable=False),
    Column("role", String, nullable=False),
    Column("password_hash", String),
    Column("pin_hash", String),
    Column("created_at", Float, nullable=False),
    Column("disabled", Boolean, nullable=False),
    CheckConstraint("role IN ('owner', 'member', 'guest')", name="ck_users_role"),
    UniqueConstraint("username", name="uq_users_username"),
)

Table(
    "tokens",
    metadata,
    Column("id", String, primary_key=True),
    Column("user_id", String, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String, nullable=False),
    Column("token_hash", String, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("last_used_at", Float),
    Column("revoked_at", Float),
    UniqueConstraint("token_hash", name="uq_tokens_token_hash"),
    Index("ix_tokens_user_id", "user_id"),
)

Table(
    "sessions",
    metadata,
    Column("id", String, primary_key=True),
    Column("user_id", String, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("session_hash", String, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("last_seen_at", Float),
    Column("elevated_until", Float),
    Column("user_agent", String),
    Column("remote_addr", String),
    Column("revoked_at", Float),
    UniqueConstraint("session_hash", name="uq_sessions_session_hash"),
    Index("ix_sessions_user_id", "user_id"),
    Index("ix_sessions_expires_at", "expires_at"),
)

for _name in ("rules", "scenes"):
    Table(
        _name,
        metadata,
        Column("id", String, primary_key=True),
        Column("source", Text, nullable=False),
        Column("format", String, nullable=False),
        Column("enabled", Boolean, nullable=False),
        Column("origin", String, nullable=False),
        Column("updated_at", Float, nullable=False),
        CheckConstraint("origin IN ('file', 'api', 'pack')", name=f"ck_{_name}_origin"),
        CheckConstraint("format IN ('yaml', 'json')", name=f"ck_{_name}_format"),
    )

Table(
    "rule_timers",
    metadata,
    Column("rule_id", String, primary_key=True),
    Column("run_id", String, primary_key=True),
    Column("kind", String, primary_key=True),
    Column("due_at", Float, nullable=False),
    Column("payload", Text, nullable=False),
    Index("ix_rule_timers_due_at", "due_at"),
)

# v1 history had no ``device`` column (added in v3).
Table(
    "state_history",
    metadata,
    _big_id(),
    Column("path", String, nullable=False),
    Column("value", Text, nullable=False),
    Column("ts", Float, nullable=False),
    Column("context_id", String),
    Index("ix_state_history_path_ts", "path", "ts"),
    Index("ix_state_history_ts", "ts"),
)

Table(
    "last_states",
    metadata,
    Column("path", String, primary_key=True),
    Column("device", String, nullable=False),
    Column("value", Text, nullable=False),
    Column("last_changed", Float, nullable=False),
    Column("last_reported", Float, nullable=False),
    Index("ix_last_states_device", "device"),
)

# v1 kept the context id inside ``detail`` (moved to its own column in v2).
Table(
    "audit_log",
    metadata,
    _big_id(),
    Column("ts", Float, nullable=False),
    Column("actor", String),
    Column("origin", String, nullable=False),
    Column("action", String, nullable=False),
    Column("target", String),
    Column("result", String, nullable=False),
    Column("detail", Text, nullable=False),
    CheckConstraint("result IN ('ok', 'refused', 'failed')", name="ck_audit_log_result"),
    Index("ix_audit_log_ts", "ts"),
    Index("ix_audit_log_actor_ts", "actor", "ts"),
    Index("ix_audit_log_action_ts", "action", "ts"),
)

Table(
    "meta",
    metadata,
    Column("key", String, primary_key=True),
    Column("value", Text, nullable=False),
)
