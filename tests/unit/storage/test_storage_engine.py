"""Engine factory: SQLite PRAGMAs on every connection, paths, URLs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from hub.storage.engine import BUSY_TIMEOUT_MS, default_db_path, make_engine, sqlite_file


def test_sqlite_pragmas_on_every_connection(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "zshub.db")
    try:
        for _ in range(3):  # a fresh connection each time, not just the first one
            raw = engine.raw_connection()
            try:
                raw.invalidate()  # force the next checkout to connect anew
            finally:
                raw.close()
            with engine.connect() as conn:
                pragma = conn.exec_driver_sql
                assert pragma("PRAGMA journal_mode").scalar() == "wal"
                assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
                assert pragma("PRAGMA foreign_keys").scalar() == 1
                assert pragma("PRAGMA busy_timeout").scalar() == BUSY_TIMEOUT_MS
    finally:
        engine.dispose()


def test_paths_directories_and_urls(tmp_path: Path) -> None:
    assert default_db_path(tmp_path) == tmp_path / "zshub.db"
    in_dir = make_engine(tmp_path)  # a data directory means <dir>/zshub.db
    assert sqlite_file(in_dir) == (tmp_path / "zshub.db").resolve()
    nested = make_engine(str(tmp_path / "new" / "dir" / "hub.db"))
    assert (tmp_path / "new" / "dir").is_dir()
    assert sqlite_file(nested) == (tmp_path / "new" / "dir" / "hub.db").resolve()
    by_url = make_engine(f"sqlite:///{tmp_path / 'u.db'}")
    assert sqlite_file(by_url) == tmp_path / "u.db"
    for engine in (in_dir, nested, by_url):
        engine.dispose()


def test_in_memory_sqlite_is_refused() -> None:
    with pytest.raises(ValueError, match="in-memory"):
        make_engine("sqlite://")
    with pytest.raises(ValueError, match="in-memory"):
        make_engine("sqlite:///:memory:")


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://hub@db.local/zshub", "psycopg2"),
        ("postgresql+psycopg://hub@db.local/zshub", "psycopg"),
    ],
)
def test_postgresql_url_is_used_as_given(url: str, driver: str) -> None:
    if importlib.util.find_spec(driver) is None:
        # The driver is the installer's choice, not a hub dependency: say so clearly.
        with pytest.raises(ModuleNotFoundError):
            make_engine(url)
        return
    engine = make_engine(url)  # creating the engine does not connect
    assert engine.dialect.name == "postgresql"
    assert sqlite_file(engine) is None
