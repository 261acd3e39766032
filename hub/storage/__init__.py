"""Persistence: sqlmodel tables, engine (SQLite WAL by default, PostgreSQL by URL), versioned
migrations, the ``Storage`` handle (single writer thread) and the state ``Recorder``."""

from hub.storage.audit import AuditEntry, AuditResult
from hub.storage.engine import default_db_path, make_engine
from hub.storage.migrations import CODE_VERSION, MigrationError, SchemaTooNewError
from hub.storage.recorder import Recorder
from hub.storage.store import Storage

__all__ = [
    "CODE_VERSION",
    "AuditEntry",
    "AuditResult",
    "MigrationError",
    "Recorder",
    "SchemaTooNewError",
    "Storage",
    "default_db_path",
    "make_engine",
]
