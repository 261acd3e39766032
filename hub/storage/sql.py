"""Portable bulk statements used by the writer thread."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, and_, delete, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import Executable

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql.dml import Insert as PostgresqlInsert
    from sqlalchemy.dialects.sqlite.dml import Insert as SqliteInsert

__all__ = ["delete_batch", "upsert"]


def upsert(
    conn: Connection, table: Table, rows: Iterable[Mapping[str, Any]], keys: Sequence[str]
) -> int:
    """Insert or update rows in place; returns how many distinct rows were written.

    A true upsert (``ON CONFLICT DO UPDATE``), never ``INSERT OR REPLACE``: replacing deletes the
    old row first, which would fire ``ON DELETE CASCADE`` (a device's secrets) or ``SET NULL``
    (its room). Rows are de-duplicated by key, last one wins, because PostgreSQL refuses to
    update one row twice in a single multi-row statement.
    """
    unique = list({tuple(row[k] for k in keys): row for row in rows}.values())
    if not unique:
        return 0
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        columns = tuple(c.name for c in table.columns if c.name in unique[0])
        conn.execute(_upsert_statement(dialect, table, tuple(keys), columns), unique)
        return len(unique)
    # Other databases: update, then insert what did not exist.
    for row in unique:
        match = and_(*(table.c[k] == row[k] for k in keys))
        result = conn.execute(table.update().where(match).values(**row))
        if result.rowcount == 0:
            conn.execute(table.insert().values(**row))
    return len(unique)


@functools.lru_cache(maxsize=64)
def _upsert_statement(
    dialect: str, table: Table, keys: tuple[str, ...], columns: tuple[str, ...]
) -> Executable:
    """Built once per table and column set: building one makes ~60 SQLAlchemy objects in
    reference cycles per write, and the collector's passes over them stall the event loop.

    The dialect's package is imported here, not at the top: ``sqlalchemy.dialects.postgresql``
    brings every PostgreSQL driver's dialect (~2 MiB) into a hub that runs on SQLite. The engine
    has imported the one in use by the time a statement is built, so this costs nothing."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return _on_conflict(sqlite_insert(table), keys, columns)
    from sqlalchemy.dialects.postgresql import insert as postgresql_insert

    return _on_conflict(postgresql_insert(table), keys, columns)


def _on_conflict(
    insert: SqliteInsert | PostgresqlInsert, keys: tuple[str, ...], columns: tuple[str, ...]
) -> Executable:
    changing = [name for name in columns if name not in keys]
    if changing:
        return insert.on_conflict_do_update(
            index_elements=list(keys), set_={name: insert.excluded[name] for name in changing}
        )
    return insert.on_conflict_do_nothing(index_elements=list(keys))


def delete_batch(conn: Connection, table: Table, where: Any, key: str, limit: int) -> int:
    """Delete at most ``limit`` rows matching ``where``; returns the number deleted.

    ``DELETE … WHERE key IN (SELECT key … LIMIT n)`` works on SQLite and PostgreSQL alike and
    keeps each statement (and the lock it holds) small.
    """
    chosen = select(table.c[key]).where(where).limit(limit)
    result = conn.execute(delete(table).where(table.c[key].in_(chosen)))
    return int(result.rowcount or 0)
