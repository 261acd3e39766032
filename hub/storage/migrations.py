"""Versioned schema migrations: an ordered list, one transaction each, a backup before upgrading.

Why not alembic: the hub ships one linear history and needs three things alembic does not do for
us anyway (a refusal when the database is newer than the code, a file backup of SQLite before
touching it, a per-version record); a list of functions does that in a page.

Rules for writing a migration, so it runs the same on SQLite and PostgreSQL:

- use SQLAlchemy constructs (``CreateTable``, ``CreateIndex``, ``select``, ``update``) on
  tables described *inside the migration* (never the current classes from ``tables.py``: they
  will have moved on), plus :func:`add_column`; only ``conn.execute`` and ``conn.dialect``;
- anything dialect-specific is guarded by ``conn.dialect.name`` (a test replays every migration
  against a PostgreSQL dialect and rejects SQLite-isms);
- backfill in chunks, so a large table never needs to fit in memory.

A failed migration rolls back completely (DDL included: see ``engine.py``) and the database stays
at the previous version, with its backup beside it. Nothing here ever deletes or "resets" data.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import time as _now
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateColumn, CreateIndex, CreateTable, Index

from hub.storage.engine import WRITE_OPTIONS, sqlite_file

__all__ = [
    "CODE_VERSION",
    "MIGRATIONS",
    "Migration",
    "MigrationError",
    "MigrationReport",
    "SchemaTooNewError",
    "add_column",
    "database_version",
    "migrate",
]

_LOGGER = logging.getLogger(__name__)

_BACKFILL_CHUNK = 1_000
# Any constant; PostgreSQL serialises concurrent upgrades from two hubs on one database with it.
_PG_LOCK_KEY = 0x7A736875


class MigrationError(RuntimeError):
    """The schema could not be brought to the version this code needs; nothing was lost."""


class SchemaTooNewError(MigrationError):
    """The database was written by a newer zshub than this one."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    upgrade: Callable[[Connection], None]


@dataclass(slots=True)
class MigrationReport:
    from_version: int
    to_version: int
    applied: list[int] = field(default_factory=list)
    backup: Path | None = None


_version_table = Table(
    "schema_version",
    MetaData(),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", String, nullable=False),
    Column("applied_at", Float, nullable=False),
)


# -- helpers for migrations ------------------------------------------------------------------------
def add_column(conn: Connection, table_name: str, column: Column[Any]) -> None:
    """``ALTER TABLE … ADD COLUMN`` with the column spec compiled for this connection's dialect."""
    table = Table(table_name, MetaData(), column)
    preparer = conn.dialect.identifier_preparer
    spec = CreateColumn(column).compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {spec}"))


# -- the migrations --------------------------------------------------------------------------------
def _v1_initial(conn: Connection) -> None:
    # Imported here: only a new database needs the frozen v1 tables (~0.3 MiB of objects).
    from hub.storage import schema_v1

    for table in schema_v1.metadata.sorted_tables:
        conn.execute(CreateTable(table))
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            conn.execute(CreateIndex(index))


def _v2_audit_context_id(conn: Connection) -> None:
    """Give the audit log's context id its own indexed column (v1 kept it in ``detail``)."""
    audit = Table(
        "audit_log",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("detail", Text),
        Column("context_id", String),
    )
    add_column(conn, "audit_log", Column("context_id", String))
    move = (
        update(audit)
        .where(audit.c.id == bindparam("row_id"))
        .values(context_id=bindparam("ctx"), detail=bindparam("new_detail"))
    )
    last_id = -1
    while True:
        rows = conn.execute(
            select(audit.c.id, audit.c.detail)
            .where(audit.c.id > last_id, audit.c.detail.like('%"context_id"%'))
            .order_by(audit.c.id)
            .limit(_BACKFILL_CHUNK)
        ).all()
        if not rows:
            break
        last_id = rows[-1][0]
        updates: list[dict[str, Any]] = []
        for row_id, detail in rows:
            try:
                data = json.loads(detail)
            except ValueError:
                continue  # unreadable detail stays exactly as it was
            if isinstance(data, dict) and isinstance(data.get("context_id"), str):
                ctx = data.pop("context_id")
                updates.append({"row_id": row_id, "ctx": ctx, "new_detail": json.dumps(data)})
        if updates:
            conn.execute(move, updates)
    conn.execute(CreateIndex(Index("ix_audit_log_context_id", audit.c.context_id)))


def _v3_history_device(conn: Connection) -> None:
    """Per-device history queries: ``state_history.device``, filled in from the path."""
    history = Table(
        "state_history",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("path", String),
        Column("device", String),
        Column("ts", Float),
    )
    add_column(conn, "state_history", Column("device", String, nullable=False, server_default=""))
    # One UPDATE per distinct path (a few thousand at most) uses the (path, ts) index;
    # row-by-row would touch every history row from Python.
    fill = (
        update(history)
        .where(history.c.path == bindparam("p"), history.c.device == "")
        .values(device=bindparam("d"))
    )
    paths = conn.execute(select(history.c.path).distinct().order_by(history.c.path)).scalars()
    chunk: list[dict[str, str]] = []
    for path in paths.all():
        chunk.append({"p": path, "d": path.split("/", 1)[0]})
        if len(chunk) >= _BACKFILL_CHUNK:
            conn.execute(fill, chunk)
            chunk = []
    if chunk:
        conn.execute(fill, chunk)
    conn.execute(CreateIndex(Index("ix_state_history_device_ts", history.c.device, history.c.ts)))


def _v4_user_grants_language(conn: Connection) -> None:
    """Guest grants (JSON ``{"rooms": [], "devices": []}``) and the UI language on each user."""
    add_column(conn, "users", Column("grants", Text, nullable=False, server_default="{}"))
    add_column(conn, "users", Column("language", String, nullable=False, server_default="zh"))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _v1_initial),
    Migration(
        2, "audit_log.context_id column and index, moved out of detail", _v2_audit_context_id
    ),
    Migration(3, "state_history.device column and (device, ts) index", _v3_history_device),
    Migration(4, "users.grants and users.language columns", _v4_user_grants_language),
)
CODE_VERSION = MIGRATIONS[-1].version


# -- the runner ------------------------------------------------------------------------------------
def _check_sequence(migrations: Sequence[Migration]) -> None:
    expected = list(range(1, len(migrations) + 1))
    if [m.version for m in migrations] != expected:
        raise MigrationError("migrations must be numbered 1, 2, 3, … without gaps")


def _read_version(conn: Connection) -> int:
    value = conn.execute(select(func.max(_version_table.c.version))).scalar()
    return int(value or 0)


def database_version(engine: Engine) -> int:
    """The schema version of the database; 0 when it is empty.

    Raises :class:`MigrationError` for a database that has tables but no version record (not a
    zshub database, or damaged): guessing would risk its data.
    """
    with engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
        if _version_table.name in names:
            return _read_version(conn)
    if names:
        raise MigrationError(
            f"{engine.url.render_as_string(hide_password=True)} has tables "
            f"({', '.join(sorted(names)[:5])}) but no schema_version table: it is not a zshub "
            "database, or it is damaged. It was left untouched."
        )
    return 0


def _backup_sqlite(engine: Engine, version: int) -> Path | None:
    """A consistent copy ``<file>.bak-v<version>`` made with SQLite's online backup API.

    A plain file copy could miss transactions still in the ``-wal`` file.
    """
    db_file = sqlite_file(engine)
    if db_file is None or not db_file.exists():
        return None
    target = db_file.with_name(f"{db_file.name}.bak-v{version}")
    if target.exists():  # never overwrite an earlier backup
        target = db_file.with_name(f"{db_file.name}.bak-v{version}-{int(_now())}")
    wal = db_file.with_name(db_file.name + "-wal")
    needed = db_file.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    free = shutil.disk_usage(db_file.parent).free
    if free < needed + 16 * 1024 * 1024:
        raise MigrationError(
            f"not enough free disk space to back up {db_file} before upgrading it "
            f"(needs {needed // 2**20} MiB, {free // 2**20} MiB free); nothing was changed"
        )
    partial = target.with_name(target.name + ".partial")
    raw = engine.raw_connection()
    try:
        source = raw.driver_connection
        if not isinstance(source, sqlite3.Connection):
            raise MigrationError(f"unexpected SQLite driver connection {type(source).__name__}")
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        raw.close()
    os.replace(partial, target)
    return target


def _apply(engine: Engine, migration: Migration) -> bool:
    """Apply one migration in its own transaction; False if another process already did."""
    with engine.connect().execution_options(**WRITE_OPTIONS) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        _version_table.create(conn, checkfirst=True)
        if _read_version(conn) >= migration.version:
            return False
        migration.upgrade(conn)
        if conn.dialect.name == "sqlite":
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise MigrationError(f"foreign keys broken after migration: {broken[:5]}")
        conn.execute(
            _version_table.insert().values(
                version=migration.version, description=migration.description, applied_at=_now()
            )
        )
    return True


def migrate(
    engine: Engine,
    *,
    target: int | None = None,
    migrations: Sequence[Migration] = MIGRATIONS,
    backup: bool = True,
) -> MigrationReport:
    """Bring the database to ``target`` (default: the newest version this code knows)."""
    _check_sequence(migrations)
    newest = migrations[-1].version if migrations else 0
    target = newest if target is None else target
    if not 0 <= target <= newest:
        raise MigrationError(f"no migration to version {target}")
    current = database_version(engine)
    if current > newest:
        raise SchemaTooNewError(
            f"the database is at schema version {current}, but this zshub only knows up to "
            f"version {newest}: it was written by a newer zshub. Run that version again, or "
            "restore a backup made before the upgrade (zshub.db.bak-v<N> beside the database). "
            "The database was left untouched."
        )
    report = MigrationReport(from_version=current, to_version=current)
    if current >= target:
        return report
    if backup and current > 0:
        report.backup = _backup_sqlite(engine, current)
        if report.backup is not None:
            _LOGGER.info("Backed up schema v%d database to %s", current, report.backup)
    for migration in migrations[current:target]:
        try:
            applied = _apply(engine, migration)
        except Exception as exc:
            where = f"; backup: {report.backup}" if report.backup else ""
            raise MigrationError(
                f"migration {migration.version} ({migration.description}) failed: {exc}. "
                f"It was rolled back; the database is still at version "
                f"{migration.version - 1}{where}"
            ) from exc
        if applied:
            report.applied.append(migration.version)
            _LOGGER.info(
                "Applied schema migration %d: %s", migration.version, migration.description
            )
        report.to_version = migration.version
    return report
