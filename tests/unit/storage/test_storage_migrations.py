"""Schema migrations: the upgrade path from v1, backups, refusals, rollback, drift, PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, String, inspect, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from hub.storage import CODE_VERSION, MigrationError, SchemaTooNewError, Storage, schema_v1
from hub.storage.engine import make_engine
from hub.storage.migrations import MIGRATIONS, Migration, add_column, database_version, migrate

T0 = 1_800_000_000.0


def _make_v1_database(path: Path) -> None:
    """A database as the first release left it, with rows in the tables later versions change."""
    engine = make_engine(path)
    report = migrate(engine, target=1)
    assert report.applied == [1]
    v1 = schema_v1.metadata.tables
    with engine.begin() as conn:
        conn.execute(
            v1["rooms"].insert(),
            {"id": "kitchen", "name_zh": "厨房", "name_en": "Kitchen", "sort_order": 0},
        )
        conn.execute(
            v1["devices"].insert(),
            {
                "id": "hood-1",
                "name_zh": "油烟机",
                "name_en": "Hood",
                "profile_id": "vanward.hood.x1",
                "integration": "zsdp",
                "transport": "lan",
                "identity": '{"mac":"aa"}',
                "room_id": "kitchen",
                "availability": "online",
                "last_seen": 1.0,
                "added_at": 2.0,
                "config": "{}",
            },
        )
        conn.execute(
            v1["device_secrets"].insert(),
            {"device_id": "hood-1", "name": "local_key", "value": "k1"},
        )
        paths = ["hood-1/main/fan/mode", "lamp-1/main/light/on", "hood-1/main/fan/mode"]
        conn.execute(
            v1["state_history"].insert(),
            [{"path": p, "value": json.dumps(n), "ts": T0 + n} for n, p in enumerate(paths)],
        )
        audit = {"actor": None, "target": None}
        conn.execute(
            v1["audit_log"].insert(),
            [
                audit
                | {
                    "ts": T0,
                    "actor": "u-alice",
                    "origin": "api",
                    "action": "unlock",
                    "target": "lock-1",
                    "result": "ok",
                    "detail": json.dumps({"context_id": "ctx-123", "via": "pin"}),
                },
                audit
                | {
                    "ts": T0 + 1,
                    "origin": "hub",
                    "action": "command",
                    "target": "hood-1",
                    "result": "failed",
                    "detail": "not json",
                },
            ],
        )
    engine.dispose()


async def test_v1_database_is_upgraded_with_rows_intact(db_path: Path) -> None:
    _make_v1_database(db_path)
    storage = await Storage.open(db_path)
    try:
        report = storage.migration
        assert (report.from_version, report.to_version, report.applied) == (
            1,
            CODE_VERSION,
            list(range(2, CODE_VERSION + 1)),
        )
        assert report.backup == db_path.with_name("zshub.db.bak-v1")

        rooms, devices = await storage.load_registry()
        assert [r.id for r in rooms] == ["kitchen"]
        assert devices[0].identity == {"mac": "aa"}
        assert await storage.get_secret("hood-1", "local_key") == "k1"
        assert await storage.history("hood-1/main/fan/mode") == [(T0, 0), (T0 + 2, 2)]
        assert await storage.device_history("lamp-1") == [("lamp-1/main/light/on", T0 + 1, 1)]

        unlock, failed = sorted(await storage.audit_log(), key=lambda e: e["ts"])
        assert unlock["context_id"] == "ctx-123"  # moved out of detail by v2
        assert unlock["detail"] == {"via": "pin"}
        assert failed["context_id"] is None
        assert failed["detail"] == "not json"  # unreadable detail is shown as it is, not lost
    finally:
        await storage.close()

    # The backup is a complete, readable v1 database.
    with sqlite3.connect(db_path.with_name("zshub.db.bak-v1")) as backup:
        assert backup.execute("SELECT max(version) FROM schema_version").fetchone() == (1,)
        assert backup.execute("SELECT count(*) FROM state_history").fetchone() == (3,)
        columns = [row[1] for row in backup.execute("PRAGMA table_info(audit_log)")]
        assert "context_id" not in columns


async def test_unreadable_audit_detail_is_left_alone(db_path: Path) -> None:
    _make_v1_database(db_path)
    engine = make_engine(db_path)
    migrate(engine)
    with engine.connect() as conn:
        detail = conn.execute(
            text("SELECT detail FROM audit_log WHERE action = 'command'")
        ).scalar()
    engine.dispose()
    assert detail == "not json"


async def test_reopening_current_database_changes_nothing(db_path: Path) -> None:
    storage = await Storage.open(db_path)
    await storage.close()
    storage = await Storage.open(db_path)
    await storage.close()
    assert storage.migration.applied == []
    assert storage.migration.backup is None
    assert not list(db_path.parent.glob("*.bak-*"))


async def test_newer_database_is_refused_untouched(db_path: Path) -> None:
    storage = await Storage.open(db_path)
    await storage.close()
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO schema_version VALUES (?, 'from the future', 0)", (CODE_VERSION + 5,)
        )
    with pytest.raises(SchemaTooNewError) as caught:
        await Storage.open(db_path)
    message = str(caught.value)
    assert f"version {CODE_VERSION + 5}" in message
    assert f"up to version {CODE_VERSION}" in message
    assert "newer zshub" in message
    assert not list(db_path.parent.glob("*.bak-*"))
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT max(version) FROM schema_version").fetchone() == (
            CODE_VERSION + 5,
        )


async def test_foreign_database_is_refused(db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, blob BLOB)")
        conn.execute("INSERT INTO photos (blob) VALUES (x'00')")
    with pytest.raises(MigrationError, match="no schema_version table"):
        await Storage.open(db_path)
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM photos").fetchone() == (1,)


def test_failed_migration_rolls_back_completely(db_path: Path) -> None:
    engine = make_engine(db_path)
    migrate(engine)

    def broken(conn: Connection) -> None:
        add_column(conn, "devices", Column("notes", String))
        conn.execute(text("CREATE TABLE half_done (id INTEGER PRIMARY KEY)"))
        raise RuntimeError("disk on fire")

    future = (*MIGRATIONS, Migration(CODE_VERSION + 1, "broken", broken))
    with pytest.raises(MigrationError) as caught:
        migrate(engine, migrations=future)
    assert f"still at version {CODE_VERSION}" in str(caught.value)
    assert "disk on fire" in str(caught.value)
    assert "bak-v" in str(caught.value)  # tells where the backup is
    assert database_version(engine) == CODE_VERSION
    tables = inspect(engine)
    assert "half_done" not in tables.get_table_names()  # DDL rolled back too
    assert "notes" not in {c["name"] for c in tables.get_columns("devices")}
    engine.dispose()


def test_migrations_are_numbered_in_order(db_path: Path) -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert len(MIGRATIONS) >= 2
    with pytest.raises(MigrationError, match="without gaps"):
        migrate(make_engine(db_path), migrations=[MIGRATIONS[1]])


def _schema_of_database(engine: Any) -> dict[str, Any]:
    insp = inspect(engine)
    out: dict[str, Any] = {}
    for name in insp.get_table_names():
        if name == "schema_version":
            continue
        out[name] = {
            "columns": {
                c["name"]: (str(c["type"]), c["nullable"], c["default"] is not None)
                for c in insp.get_columns(name)
            },
            "pk": insp.get_pk_constraint(name)["constrained_columns"],
            "indexes": {
                i["name"]: (tuple(i["column_names"]), bool(i["unique"]))
                for i in insp.get_indexes(name)
            },
            "uniques": {
                u["name"]: tuple(u["column_names"]) for u in insp.get_unique_constraints(name)
            },
            "fks": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], f["options"].get("ondelete"))
                for f in insp.get_foreign_keys(name)
            ),
            "checks": sorted(c["name"] for c in insp.get_check_constraints(name)),
        }
    return out


def _schema_of_models() -> dict[str, Any]:
    dialect = sqlite.dialect()
    out: dict[str, Any] = {}
    for table in SQLModel.metadata.sorted_tables:
        out[table.name] = {
            "columns": {
                c.name: (c.type.compile(dialect=dialect), c.nullable, c.server_default is not None)
                for c in table.columns
            },
            "pk": [c.name for c in table.primary_key.columns],
            "indexes": {
                i.name: (tuple(c.name for c in i.columns), bool(i.unique)) for i in table.indexes
            },
            "uniques": {
                u.name: tuple(c.name for c in u.columns)
                for u in table.constraints
                if type(u).__name__ == "UniqueConstraint"
            },
            "fks": sorted(
                ((fk.parent.name,), fk.column.table.name, fk.ondelete) for fk in table.foreign_keys
            ),
            "checks": sorted(
                str(c.name) for c in table.constraints if type(c).__name__ == "CheckConstraint"
            ),
        }
    return out


def test_migrated_schema_matches_the_table_classes(db_path: Path) -> None:
    import hub.storage.tables  # noqa: F401  (registers the classes)

    engine = make_engine(db_path)
    migrate(engine)
    migrated = _schema_of_database(engine)
    engine.dispose()
    expected = _schema_of_models()
    assert sorted(migrated) == sorted(expected)
    for name in expected:
        assert migrated[name] == expected[name], name


def test_new_sqlite_file_uses_incremental_auto_vacuum(db_path: Path) -> None:
    engine = make_engine(db_path)
    migrate(engine)
    engine.dispose()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA auto_vacuum").fetchone() == (2,)


class _Result:
    def all(self) -> list[Any]:
        return []

    def scalars(self) -> _Result:
        return self

    def scalar(self) -> None:
        return None

    def first(self) -> None:
        return None

    def __iter__(self) -> Any:
        return iter(())


class _PostgresRecorder:
    """Stands in for a PostgreSQL connection: compiles every statement for PostgreSQL."""

    def __init__(self) -> None:
        self.dialect = postgresql.dialect()
        self.statements: list[str] = []

    def execute(self, statement: Any, parameters: Any = None) -> _Result:
        self.statements.append(str(statement.compile(dialect=self.dialect)))
        return _Result()

    def exec_driver_sql(self, statement: str, parameters: Any = None) -> _Result:
        self.statements.append(statement)
        return _Result()


def test_migrations_emit_portable_sql_for_postgresql() -> None:
    conn = _PostgresRecorder()
    for migration in MIGRATIONS:
        migration.upgrade(conn)  # type: ignore[arg-type]
    sql = "\n".join(conn.statements)
    for sqlite_only in (
        "PRAGMA",
        "AUTOINCREMENT",
        "INSERT OR",
        "REPLACE INTO",
        "sqlite_",
        "json_extract",
        "instr(",
    ):
        assert sqlite_only.lower() not in sql.lower(), sqlite_only
    assert "CREATE TABLE state_history" in sql
    assert "id BIGSERIAL NOT NULL" in sql
    assert "ALTER TABLE audit_log ADD COLUMN context_id VARCHAR" in sql
    assert "ALTER TABLE state_history ADD COLUMN device VARCHAR DEFAULT '' NOT NULL" in sql
    assert "CREATE INDEX ix_state_history_device_ts ON state_history (device, ts)" in sql
