"""``Storage``: the hub's one handle on its database.

Every method is either queue-and-return (registry saves, audit entries: they must not make the
caller wait) or a coroutine whose database work runs on the storage threads. Nothing here runs
SQL on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from time import time as _now
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, text
from sqlalchemy.engine import Connection

from hub.core.registry import Device, Room
from hub.core.state import State
from hub.storage import crud
from hub.storage.audit import AuditEntry
from hub.storage.codec import (
    device_from_row,
    device_to_row,
    loads,
    room_from_row,
    room_to_row,
)
from hub.storage.engine import is_sqlite, make_engine
from hub.storage.migrations import MigrationReport, migrate
from hub.storage.sql import delete_batch, upsert
from hub.storage.tables import (
    AuditRow,
    DeviceRow,
    DeviceSecretRow,
    LastStateRow,
    MetaRow,
    RoomRow,
    RuleRow,
    RuleTimerRow,
    SceneRow,
    SessionRow,
    StateHistoryRow,
    TokenRow,
    UserRow,
    table_of,
)
from hub.storage.writer import Writer

__all__ = ["Storage"]

_LOGGER = logging.getLogger(__name__)

ROOMS = table_of(RoomRow)
DEVICES = table_of(DeviceRow)
SECRETS = table_of(DeviceSecretRow)
HISTORY = table_of(StateHistoryRow)
LAST_STATES = table_of(LastStateRow)
AUDIT = table_of(AuditRow)
META = table_of(MetaRow)

PURGE_BATCH = 5_000
_VACUUM_PAGES = 2_000  # pages handed back to the file system per writer job (8 MiB at 4 KiB)

CloseHook = Callable[[], Awaitable[None]]


class Storage:
    """Open with :meth:`open`; implements the kernel's ``RegistryStore`` protocol."""

    def __init__(
        self, engine: Engine, writer: Writer, report: MigrationReport, retention_days: int
    ) -> None:
        self._engine = engine
        self._writer = writer
        self.migration = report
        self.retention_days = retention_days
        self._close_hooks: list[CloseHook] = []

    @classmethod
    async def open(cls, url_or_path: str | Path, *, retention_days: int = 10) -> Storage:
        """Open (creating or upgrading) the database. Raises ``MigrationError`` if it cannot."""
        loop = asyncio.get_running_loop()
        engine = await loop.run_in_executor(None, make_engine, url_or_path)
        writer = Writer(engine)
        try:
            report = await writer.call(lambda: migrate(engine))
        except BaseException:
            await writer.close()
            raise
        return cls(engine, writer, report, retention_days)

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def failed_writes(self) -> int:
        return self._writer.failed_ops

    def on_close(self, hook: CloseHook) -> None:
        """Run ``hook`` at the start of :meth:`close` (the recorder flushes its queue there)."""
        self._close_hooks.append(hook)

    async def close(self) -> None:
        """Flush every queued write (recorder included), then release the database."""
        if self._writer.closed:
            return
        hooks, self._close_hooks = self._close_hooks, []
        for hook in hooks:
            try:
                await hook()
            except Exception:
                _LOGGER.exception("Storage close hook %r failed", hook)
        await self._writer.close()

    async def flush(self) -> None:
        """Wait until every write queued so far is in the database."""
        await self._writer.flush()

    async def run_write[R](self, fn: Callable[[Connection], R]) -> R:
        """Run ``fn`` in a write transaction on the writer thread (for other hub packages)."""
        return await self._writer.write(fn)

    async def run_read[R](self, fn: Callable[[Connection], R]) -> R:
        """Run ``fn`` with a read connection on a reader thread."""
        return await self._writer.read(fn)

    # -- registry (RegistryStore) ------------------------------------------------------------------
    def save_device(self, device: Device) -> None:
        row = device_to_row(device)
        self._writer.queue(lambda conn: upsert(conn, DEVICES, [row], ["id"]), ("device", device.id))

    def delete_device(self, device_id: str) -> None:
        # Secrets go with the device (ON DELETE CASCADE).
        self._writer.barrier(("device", device_id))
        self._writer.queue(
            lambda conn: conn.execute(delete(DEVICES).where(DEVICES.c.id == device_id))
        )

    def save_room(self, room: Room) -> None:
        row = room_to_row(room)
        self._writer.queue(lambda conn: upsert(conn, ROOMS, [row], ["id"]), ("room", room.id))

    def delete_room(self, room_id: str) -> None:
        self._writer.barrier(("room", room_id))
        self._writer.queue(lambda conn: conn.execute(delete(ROOMS).where(ROOMS.c.id == room_id)))

    async def load_registry(self) -> tuple[list[Room], list[Device]]:
        await self.flush()

        def load(conn: Connection) -> tuple[list[Room], list[Device]]:
            rooms = conn.execute(select(ROOMS).order_by(ROOMS.c.sort_order, ROOMS.c.id))
            devices = conn.execute(select(DEVICES).order_by(DEVICES.c.id))
            return (
                [room_from_row(r) for r in rooms.mappings()],
                [device_from_row(d) for d in devices.mappings()],
            )

        return await self._writer.read(load)

    # -- states ------------------------------------------------------------------------------------
    async def load_last_states(self) -> list[State]:
        """The last value of every path, for ``StateStore.restore`` (times kept, context None)."""

        def load(conn: Connection) -> list[State]:
            rows = conn.execute(select(LAST_STATES).order_by(LAST_STATES.c.path))
            return [
                State(r.path, r.device, loads(r.value), r.last_changed, r.last_reported, None)
                for r in rows
            ]

        return await self._writer.read(load)

    async def history(
        self, path: str, since: float | None = None, until: float | None = None, limit: int = 1000
    ) -> list[tuple[float, Any]]:
        """``(ts, value)`` of one path, oldest first; when more than ``limit`` rows match, the
        newest ``limit``. Rows still in the recorder's queue (≤ one commit interval) are not in."""

        def load(conn: Connection) -> list[tuple[float, Any]]:
            stmt = select(HISTORY.c.ts, HISTORY.c.value).where(HISTORY.c.path == path)
            if since is not None:
                stmt = stmt.where(HISTORY.c.ts >= since)
            if until is not None:
                stmt = stmt.where(HISTORY.c.ts <= until)
            rows = conn.execute(
                stmt.order_by(HISTORY.c.ts.desc(), HISTORY.c.id.desc()).limit(limit)
            )
            return [(ts, loads(value)) for ts, value in reversed(rows.all())]

        return await self._writer.read(load)

    async def device_history(
        self, device: str, since: float | None = None, until: float | None = None, limit: int = 1000
    ) -> list[tuple[str, float, Any]]:
        """``(path, ts, value)`` of every path of one device, oldest first (newest ``limit``)."""

        def load(conn: Connection) -> list[tuple[str, float, Any]]:
            stmt = select(HISTORY.c.path, HISTORY.c.ts, HISTORY.c.value).where(
                HISTORY.c.device == device
            )
            if since is not None:
                stmt = stmt.where(HISTORY.c.ts >= since)
            if until is not None:
                stmt = stmt.where(HISTORY.c.ts <= until)
            rows = conn.execute(
                stmt.order_by(HISTORY.c.ts.desc(), HISTORY.c.id.desc()).limit(limit)
            )
            return [(p, ts, loads(value)) for p, ts, value in reversed(rows.all())]

        return await self._writer.read(load)

    async def purge_history(self, before: float, *, batch: int = PURGE_BATCH) -> int:
        """Delete history older than ``before``, ``batch`` rows per writer job, so recorder
        commits interleave and no purge holds the writer for long. No VACUUM (which needs as
        much free disk again as the database): freed pages are reused, or handed back a few at a
        time on SQLite."""
        total = 0
        while True:
            deleted = await self._writer.write(
                lambda conn: delete_batch(conn, HISTORY, HISTORY.c.ts < before, "id", batch)
            )
            total += deleted
            if deleted < batch:
                break
        if total and is_sqlite(self._engine):
            await self._reclaim_pages()
        return total

    async def _reclaim_pages(self) -> None:
        def step(conn: Connection) -> int:
            conn.exec_driver_sql(f"PRAGMA incremental_vacuum({_VACUUM_PAGES})")
            return int(conn.exec_driver_sql("PRAGMA freelist_count").scalar() or 0)

        previous = -1
        while True:
            free = await self._writer.write(step)
            # Stops when done, or when auto_vacuum is off (an old file): nothing changes.
            if free in (0, previous):
                return
            previous = free

    # -- device secrets ----------------------------------------------------------------------------
    async def get_secret(self, device_id: str, name: str) -> str | None:
        await self.flush()
        row = await self._writer.read(
            lambda conn: crud.get_row(conn, DeviceSecretRow, device_id=device_id, name=name)
        )
        return None if row is None else row.value

    async def get_secrets(self, device_id: str) -> dict[str, str]:
        await self.flush()
        rows = await self._writer.read(
            lambda conn: crud.list_rows(conn, DeviceSecretRow, device_id=device_id)
        )
        return {row.name: row.value for row in rows}

    async def set_secret(self, device_id: str, name: str, value: str) -> None:
        """The device must be in the registry (secrets are removed with it)."""
        row = DeviceSecretRow(device_id=device_id, name=name, value=value)
        await self._writer.write(lambda conn: crud.put_row(conn, row))

    async def delete_secret(self, device_id: str, name: str | None = None) -> int:
        """Delete one secret, or all of a device's when ``name`` is None."""
        criteria: dict[str, str] = {"device_id": device_id}
        if name is not None:
            criteria["name"] = name
        return await self._writer.write(
            lambda conn: crud.delete_rows(conn, DeviceSecretRow, **criteria)
        )

    # -- audit -------------------------------------------------------------------------------------
    def audit(self, entry: AuditEntry) -> None:
        """Queue an audit entry (the caller does not wait)."""
        row = entry.as_row()
        self._writer.queue(lambda conn: conn.execute(insert(AUDIT), [row]))

    async def audit_log(
        self,
        limit: int = 100,
        since: float | None = None,
        actor: str | None = None,
        action: str | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first; entries queued before the call are included."""
        await self.flush()

        def load(conn: Connection) -> list[dict[str, Any]]:
            stmt = select(AUDIT)
            if since is not None:
                stmt = stmt.where(AUDIT.c.ts >= since)
            if actor is not None:
                stmt = stmt.where(AUDIT.c.actor == actor)
            if action is not None:
                stmt = stmt.where(AUDIT.c.action == action)
            stmt = stmt.order_by(AUDIT.c.ts.desc(), AUDIT.c.id.desc()).limit(limit)
            out = []
            for row in conn.execute(stmt).mappings():
                entry = dict(row)
                # Written by hand or damaged: shown as stored rather than hidden.
                with contextlib.suppress(ValueError):
                    entry["detail"] = loads(entry["detail"])
                out.append(entry)
            return out

        return await self._writer.read(load)

    # -- rules, scenes, persisted timers -----------------------------------------------------------
    async def list_rules(self) -> list[RuleRow]:
        return await self._writer.read(lambda conn: crud.list_rows(conn, RuleRow, order_by="id"))

    async def get_rule(self, rule_id: str) -> RuleRow | None:
        return await self._writer.read(lambda conn: crud.get_row(conn, RuleRow, id=rule_id))

    async def save_rule(self, rule: RuleRow) -> None:
        rule.updated_at = _now()
        await self._writer.write(lambda conn: crud.put_row(conn, rule))

    async def delete_rule(self, rule_id: str) -> bool:
        """Delete a rule and its pending timers; True if the rule existed."""

        def remove(conn: Connection) -> bool:
            crud.delete_rows(conn, RuleTimerRow, rule_id=rule_id)
            return crud.delete_rows(conn, RuleRow, id=rule_id) > 0

        return await self._writer.write(remove)

    async def list_scenes(self) -> list[SceneRow]:
        return await self._writer.read(lambda conn: crud.list_rows(conn, SceneRow, order_by="id"))

    async def get_scene(self, scene_id: str) -> SceneRow | None:
        return await self._writer.read(lambda conn: crud.get_row(conn, SceneRow, id=scene_id))

    async def save_scene(self, scene: SceneRow) -> None:
        scene.updated_at = _now()
        await self._writer.write(lambda conn: crud.put_row(conn, scene))

    async def delete_scene(self, scene_id: str) -> bool:
        return await self._writer.write(
            lambda conn: crud.delete_rows(conn, SceneRow, id=scene_id) > 0
        )

    async def list_timers(self, rule_id: str | None = None) -> list[RuleTimerRow]:
        """Pending timers, soonest first."""
        criteria = {} if rule_id is None else {"rule_id": rule_id}
        return await self._writer.read(
            lambda conn: crud.list_rows(conn, RuleTimerRow, order_by="due_at", **criteria)
        )

    async def save_timer(self, timer: RuleTimerRow) -> None:
        await self._writer.write(lambda conn: crud.put_row(conn, timer))

    async def delete_timer(self, rule_id: str, run_id: str, kind: str | None = None) -> int:
        """Delete one timer, or every timer of a run when ``kind`` is None."""
        criteria = {"rule_id": rule_id, "run_id": run_id}
        if kind is not None:
            criteria["kind"] = kind
        return await self._writer.write(
            lambda conn: crud.delete_rows(conn, RuleTimerRow, **criteria)
        )

    # -- users, tokens, sessions -------------------------------------------------------------------
    async def add_user(self, user: UserRow) -> UserRow:
        """Insert; raises ``sqlalchemy.exc.IntegrityError`` if the username is taken."""
        await self._writer.write(lambda conn: crud.insert_row(conn, user))
        return user

    async def get_user(self, user_id: str) -> UserRow | None:
        return await self._writer.read(lambda conn: crud.get_row(conn, UserRow, id=user_id))

    async def get_user_by_username(self, username: str) -> UserRow | None:
        return await self._writer.read(lambda conn: crud.get_row(conn, UserRow, username=username))

    async def list_users(self) -> list[UserRow]:
        return await self._writer.read(
            lambda conn: crud.list_rows(conn, UserRow, order_by="username")
        )

    async def update_user(self, user_id: str, **changes: Any) -> UserRow | None:
        return await self._writer.write(
            lambda conn: crud.update_row(conn, UserRow, {"id": user_id}, changes)
        )

    async def delete_user(self, user_id: str) -> bool:
        """Delete a user with their tokens and sessions (ON DELETE CASCADE)."""
        return await self._writer.write(
            lambda conn: crud.delete_rows(conn, UserRow, id=user_id) > 0
        )

    async def add_token(self, token: TokenRow) -> TokenRow:
        await self._writer.write(lambda conn: crud.insert_row(conn, token))
        return token

    async def get_token_by_hash(self, token_hash: str) -> TokenRow | None:
        return await self._writer.read(
            lambda conn: crud.get_row(conn, TokenRow, token_hash=token_hash)
        )

    async def list_tokens(self, user_id: str) -> list[TokenRow]:
        return await self._writer.read(
            lambda conn: crud.list_rows(conn, TokenRow, order_by="created_at", user_id=user_id)
        )

    async def update_token(self, token_id: str, **changes: Any) -> TokenRow | None:
        return await self._writer.write(
            lambda conn: crud.update_row(conn, TokenRow, {"id": token_id}, changes)
        )

    async def add_session(self, session: SessionRow) -> SessionRow:
        await self._writer.write(lambda conn: crud.insert_row(conn, session))
        return session

    async def get_session_by_hash(self, session_hash: str) -> SessionRow | None:
        return await self._writer.read(
            lambda conn: crud.get_row(conn, SessionRow, session_hash=session_hash)
        )

    async def update_session(self, session_id: str, **changes: Any) -> SessionRow | None:
        return await self._writer.write(
            lambda conn: crud.update_row(conn, SessionRow, {"id": session_id}, changes)
        )

    async def delete_expired_sessions(self, now: float | None = None) -> int:
        cutoff = _now() if now is None else now
        table = table_of(SessionRow)
        return await self._writer.write(
            lambda conn: int(
                conn.execute(delete(table).where(table.c.expires_at < cutoff)).rowcount
            )
        )

    # -- meta --------------------------------------------------------------------------------------
    async def get_meta(self, key: str) -> str | None:
        row = await self._writer.read(lambda conn: crud.get_row(conn, MetaRow, key=key))
        return None if row is None else row.value

    async def set_meta(self, key: str, value: str) -> None:
        await self._writer.write(lambda conn: crud.put_row(conn, MetaRow(key=key, value=value)))

    async def counts(self) -> dict[str, int]:
        """Row counts of the big tables (diagnostics)."""

        def count(conn: Connection) -> dict[str, int]:
            return {
                t.name: int(conn.execute(select(func.count()).select_from(t)).scalar() or 0)
                for t in (HISTORY, LAST_STATES, AUDIT, DEVICES, ROOMS)
            }

        return await self._writer.read(count)

    async def integrity_check(self) -> str:
        """SQLite's ``PRAGMA quick_check`` (``ok`` when healthy); ``ok`` for other databases."""
        if not is_sqlite(self._engine):
            return "ok"
        return await self._writer.read(
            lambda conn: str(conn.execute(text("PRAGMA quick_check")).scalar())
        )
