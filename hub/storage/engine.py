"""Engine factory: SQLite (WAL) from a path by default, PostgreSQL by URL.

SQLite connections get their PRAGMAs on every connect and SQLAlchemy emits ``BEGIN`` itself:
the ``sqlite3`` driver's legacy mode does not begin a transaction before DDL, which would make a
failed migration half-applied. Writer connections ask for ``BEGIN IMMEDIATE`` (see
:data:`WRITE_OPTIONS`) so a write transaction takes the lock up front instead of failing half-way
when another process holds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import ConnectionPoolEntry

__all__ = [
    "BUSY_TIMEOUT_MS",
    "DEFAULT_DB_NAME",
    "WRITE_OPTIONS",
    "default_db_path",
    "is_sqlite",
    "make_engine",
    "sqlite_file",
]

DEFAULT_DB_NAME = "zshub.db"
BUSY_TIMEOUT_MS = 10_000
# Execution option understood by the ``begin`` hook below: start the transaction as a writer.
WRITE_OPTIONS: dict[str, Any] = {"zshub_write": True}


def default_db_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / DEFAULT_DB_NAME


def _to_url(url_or_path: str | Path) -> str:
    """A path (or a directory, meaning the data dir) becomes an absolute ``sqlite:///`` URL."""
    text = str(url_or_path)
    if isinstance(url_or_path, Path) or "://" not in text:
        path = Path(text).expanduser()
        if path.is_dir():
            path = default_db_path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path.resolve()}"
    return text


def sqlite_file(engine: Engine) -> Path | None:
    """The database file of a SQLite engine, None for other databases."""
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return None
    return Path(engine.url.database)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _on_sqlite_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # No implicit BEGIN from the driver: the "begin" hook below is the only one.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # Only takes effect on a new file (before the first table); lets a purge hand pages back
        # to the file system a little at a time instead of a VACUUM needing twice the space.
        cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _on_sqlite_begin(conn: Connection) -> None:
    if conn.get_execution_options().get("zshub_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def make_engine(url_or_path: str | Path) -> Engine:
    """Create the engine for a file path, a data directory or a database URL.

    ``sqlite:///…`` URLs and paths get WAL, ``synchronous=NORMAL``, foreign keys and a busy
    timeout on every connection. ``postgresql://`` / ``postgresql+psycopg://`` URLs are used as
    given: the driver is the installer's choice and is not a dependency of the hub.
    """
    url = make_url(_to_url(url_or_path))
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:") or "mode=memory" in str(url):
            raise ValueError(
                "in-memory SQLite is not supported: the writer and the readers use separate "
                "connections; give a file path instead"
            )
        engine = create_engine(url)
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    # Connections that died with the server (restart, failover) are replaced, not reported.
    return create_engine(url, pool_pre_ping=True)
