"""The current schema as sqlmodel tables.

This module describes the schema the code expects; :mod:`hub.storage.migrations` is what creates
and changes it (a test checks that a migrated database matches these classes exactly).
Times are POSIX seconds (floats) like the kernel's; JSON lives in TEXT so SQLite and PostgreSQL
store it the same way.
"""

from __future__ import annotations

from enum import StrEnum
from time import time as _now
from uuid import uuid4

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    Integer,
    Table,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

__all__ = [
    "AuditRow",
    "DeviceRow",
    "DeviceSecretRow",
    "LastStateRow",
    "MetaRow",
    "Origin",
    "Role",
    "RoomRow",
    "RuleRow",
    "RuleTimerRow",
    "SceneRow",
    "SessionRow",
    "StateHistoryRow",
    "TokenRow",
    "UserRow",
    "new_id",
    "table_of",
]


def new_id() -> str:
    return uuid4().hex


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a table class, for bulk statements that skip the ORM."""
    name = model.__tablename__
    if not isinstance(name, str):
        raise TypeError(f"{model.__name__} has no explicit __tablename__")
    return SQLModel.metadata.tables[name]


class Role(StrEnum):
    OWNER = "owner"
    MEMBER = "member"
    GUEST = "guest"


class Origin(StrEnum):
    """Where a rule or scene came from."""

    FILE = "file"
    API = "api"
    PACK = "pack"


def _big_id() -> Column[int]:
    # BIGSERIAL on PostgreSQL (history outgrows 2**31 ids); INTEGER PRIMARY KEY (rowid) on SQLite.
    return Column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )


class RoomRow(SQLModel, table=True):
    __tablename__ = "rooms"

    id: str = Field(primary_key=True, max_length=64)
    name_zh: str
    name_en: str
    sort_order: int = 0


class DeviceRow(SQLModel, table=True):
    __tablename__ = "devices"

    id: str = Field(primary_key=True, max_length=64)
    name_zh: str
    name_en: str
    profile_id: str | None = None
    integration: str
    transport: str
    identity: str = Field(default="{}", sa_type=Text)  # JSON object
    room_id: str | None = Field(
        default=None, foreign_key="rooms.id", ondelete="SET NULL", index=True
    )
    address: str | None = None
    availability: str = "unknown"
    last_seen: float | None = None
    added_at: float
    config: str = Field(default="{}", sa_type=Text)  # JSON object


class DeviceSecretRow(SQLModel, table=True):
    """Keys, PINs and tokens of a device; apart from ``devices`` so no device query leaks them."""

    __tablename__ = "device_secrets"

    device_id: str = Field(
        primary_key=True, max_length=64, foreign_key="devices.id", ondelete="CASCADE"
    )
    name: str = Field(primary_key=True)
    value: str = Field(sa_type=Text)


class UserRow(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('owner', 'member', 'guest')", name="ck_users_role"),
        UniqueConstraint("username", name="uq_users_username"),
    )

    id: str = Field(default_factory=new_id, primary_key=True)
    username: str
    display_name: str = ""
    role: str = Role.MEMBER.value
    password_hash: str | None = None
    pin_hash: str | None = None
    created_at: float = Field(default_factory=_now)
    disabled: bool = False
    # Added in schema v4: guests' rooms and devices (JSON), and the UI language.
    grants: str = Field(default="{}", sa_type=Text, sa_column_kwargs={"server_default": "{}"})
    language: str = Field(default="zh", sa_column_kwargs={"server_default": "zh"})


class TokenRow(SQLModel, table=True):
    """Long-lived API tokens; only a hash of the token is stored."""

    __tablename__ = "tokens"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_tokens_token_hash"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    user_id: str = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    name: str
    token_hash: str
    created_at: float = Field(default_factory=_now)
    last_used_at: float | None = None
    revoked_at: float | None = None


class SessionRow(SQLModel, table=True):
    """Browser sessions; ``elevated_until`` is the end of a PIN step-up window."""

    __tablename__ = "sessions"
    __table_args__ = (UniqueConstraint("session_hash", name="uq_sessions_session_hash"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    user_id: str = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    session_hash: str
    created_at: float = Field(default_factory=_now)
    expires_at: float = Field(index=True)
    last_seen_at: float | None = None
    elevated_until: float | None = None
    user_agent: str | None = None
    remote_addr: str | None = None
    revoked_at: float | None = None


_ORIGIN_CHECK = "origin IN ('file', 'api', 'pack')"
_FORMAT_CHECK = "format IN ('yaml', 'json')"


class RuleRow(SQLModel, table=True):
    __tablename__ = "rules"
    __table_args__ = (
        CheckConstraint(_ORIGIN_CHECK, name="ck_rules_origin"),
        CheckConstraint(_FORMAT_CHECK, name="ck_rules_format"),
    )

    id: str = Field(primary_key=True)
    source: str = Field(sa_type=Text)
    format: str = "yaml"
    enabled: bool = True
    origin: str = Origin.API.value
    updated_at: float = Field(default_factory=_now)


class SceneRow(SQLModel, table=True):
    __tablename__ = "scenes"
    __table_args__ = (
        CheckConstraint(_ORIGIN_CHECK, name="ck_scenes_origin"),
        CheckConstraint(_FORMAT_CHECK, name="ck_scenes_format"),
    )

    id: str = Field(primary_key=True)
    source: str = Field(sa_type=Text)
    format: str = "yaml"
    enabled: bool = True
    origin: str = Origin.API.value
    updated_at: float = Field(default_factory=_now)


class RuleTimerRow(SQLModel, table=True):
    """A pending delay/wait of a rule run, so it survives a restart. No FK: pack and file rules
    need not be stored in ``rules``; :meth:`Storage.delete_rule` removes a rule's timers."""

    __tablename__ = "rule_timers"

    rule_id: str = Field(primary_key=True)
    run_id: str = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    due_at: float = Field(index=True)
    payload: str = Field(default="{}", sa_type=Text)  # JSON


class StateHistoryRow(SQLModel, table=True):
    __tablename__ = "state_history"
    __table_args__ = (
        Index("ix_state_history_path_ts", "path", "ts"),
        Index("ix_state_history_device_ts", "device", "ts"),
        Index("ix_state_history_ts", "ts"),
    )

    id: int | None = Field(default=None, sa_column=_big_id())
    path: str
    # Added in schema v3; the server default lets rows written by older code exist.
    device: str = Field(default="", sa_column_kwargs={"server_default": ""})
    value: str = Field(sa_type=Text)  # JSON
    ts: float
    context_id: str | None = None


class LastStateRow(SQLModel, table=True):
    """The latest value of every path, to restore the state store after a restart."""

    __tablename__ = "last_states"

    path: str = Field(primary_key=True)
    device: str = Field(index=True)
    value: str = Field(sa_type=Text)  # JSON
    last_changed: float
    last_reported: float


class AuditRow(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint("result IN ('ok', 'refused', 'failed')", name="ck_audit_log_result"),
        Index("ix_audit_log_ts", "ts"),
        Index("ix_audit_log_actor_ts", "actor", "ts"),
        Index("ix_audit_log_action_ts", "action", "ts"),
        Index("ix_audit_log_context_id", "context_id"),
    )

    id: int | None = Field(default=None, sa_column=_big_id())
    ts: float
    actor: str | None = None  # user id; None for the hub, rules, devices
    origin: str
    action: str  # command, login, login_failed, unlock, …
    target: str | None = None
    result: str
    detail: str = Field(default="{}", sa_type=Text)  # JSON object
    context_id: str | None = None  # added in schema v2


class MetaRow(SQLModel, table=True):
    __tablename__ = "meta"

    key: str = Field(primary_key=True)
    value: str = Field(sa_type=Text)
