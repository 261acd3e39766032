"""Small Core-level CRUD on table classes, run on the storage threads.

The table classes are used as typed records; statements are Core (no ORM session, no identity
map), so a returned object is a plain detached value that is safe to hand to the loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import SQLModel

from hub.storage.sql import upsert
from hub.storage.tables import table_of

__all__ = ["delete_rows", "get_row", "insert_row", "list_rows", "put_row", "update_row"]


def _where(model: type[SQLModel], criteria: Mapping[str, Any]) -> ColumnElement[bool]:
    table = table_of(model)
    unknown = set(criteria) - set(table.c.keys())
    if unknown:
        raise ValueError(f"{table.name} has no column {', '.join(sorted(unknown))}")
    return and_(*(table.c[name] == value for name, value in criteria.items()))


def _row_of(obj: SQLModel) -> dict[str, Any]:
    table = table_of(type(obj))
    values = {column.name: getattr(obj, column.name) for column in table.c}
    # Leave autoincrement keys to the database.
    return {k: v for k, v in values.items() if not (v is None and table.c[k].autoincrement is True)}


def insert_row(conn: Connection, obj: SQLModel) -> None:
    conn.execute(table_of(type(obj)).insert().values(**_row_of(obj)))


def put_row(conn: Connection, obj: SQLModel) -> None:
    """Insert or update by primary key."""
    table = table_of(type(obj))
    upsert(conn, table, [_row_of(obj)], [c.name for c in table.primary_key.columns])


def get_row[M: SQLModel](conn: Connection, model: type[M], **criteria: Any) -> M | None:
    row = conn.execute(select(table_of(model)).where(_where(model, criteria))).mappings().first()
    return None if row is None else model.model_validate(dict(row))


def list_rows[M: SQLModel](
    conn: Connection, model: type[M], *, order_by: str | None = None, **criteria: Any
) -> list[M]:
    table = table_of(model)
    stmt = select(table)
    if criteria:
        stmt = stmt.where(_where(model, criteria))
    if order_by is not None:
        stmt = stmt.order_by(table.c[order_by])
    return [model.model_validate(dict(row)) for row in conn.execute(stmt).mappings()]


def update_row[M: SQLModel](
    conn: Connection, model: type[M], key: Mapping[str, Any], changes: Mapping[str, Any]
) -> M | None:
    """Change some columns of the row matching ``key``; returns the updated row or None."""
    table = table_of(model)
    unknown = set(changes) - set(table.c.keys())
    if unknown:
        raise ValueError(f"{table.name} has no column {', '.join(sorted(unknown))}")
    if changes:
        conn.execute(update(table).where(_where(model, key)).values(**changes))
    return get_row(conn, model, **key)


def delete_rows(conn: Connection, model: type[SQLModel], **criteria: Any) -> int:
    if not criteria:
        raise ValueError("refusing to delete every row: give a criterion")
    result = conn.execute(delete(table_of(model)).where(_where(model, criteria)))
    return int(result.rowcount or 0)
