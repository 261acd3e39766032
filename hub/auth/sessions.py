"""Browser sessions: a random token in an HttpOnly cookie, only its SHA-256 digest stored; idle
expiry renewed while the session is used (at most one write per :data:`RENEW_AFTER_S`), and an
absolute lifetime after which the user signs in again."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.engine import Connection

from hub.auth.hashing import new_token, token_digest
from hub.storage import crud
from hub.storage.store import Storage
from hub.storage.tables import SessionRow, UserRow, table_of

__all__ = [
    "COOKIE_NAME",
    "RENEW_AFTER_S",
    "SESSION_IDLE_S",
    "SESSION_MAX_S",
    "SessionCheck",
    "SessionManager",
]

COOKIE_NAME = "zshub_session"
SESSION_IDLE_S = 14 * 86_400.0
SESSION_MAX_S = 90 * 86_400.0
RENEW_AFTER_S = 600.0

_SESSIONS = table_of(SessionRow)


@dataclass(frozen=True, slots=True)
class SessionCheck:
    session: SessionRow
    user: UserRow
    renewed: bool  # expiry moved: send the cookie again with the new max-age


class SessionManager:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def create(
        self, user_id: str, *, user_agent: str | None, remote: str | None
    ) -> tuple[str, SessionRow]:
        """A new session; returns the raw token (for the cookie, never stored) and the row."""
        raw = new_token()
        now = time.time()
        row = SessionRow(
            user_id=user_id,
            session_hash=token_digest(raw),
            created_at=now,
            expires_at=now + SESSION_IDLE_S,
            last_seen_at=now,
            user_agent=(user_agent or "")[:200] or None,
            remote_addr=remote,
        )
        await self._storage.add_session(row)
        return raw, row

    async def check(self, raw: str) -> SessionCheck | None:
        """The live session and its enabled user for a cookie value, or None."""
        if not raw or len(raw) > 128:
            return None
        digest = token_digest(raw)
        storage = self._storage
        found = await storage.run_read(lambda conn: _load(conn, digest))
        if found is None:
            return None
        session, user = found
        now = time.time()
        if session.revoked_at is not None or session.expires_at <= now or user.disabled:
            return None
        renewed = False
        if session.last_seen_at is None or now - session.last_seen_at >= RENEW_AFTER_S:
            expires = min(now + SESSION_IDLE_S, session.created_at + SESSION_MAX_S)
            updated = await storage.update_session(session.id, last_seen_at=now, expires_at=expires)
            session = updated or session
            renewed = True
        return SessionCheck(session, user, renewed)

    async def revoke(self, session_id: str) -> None:
        await self._storage.update_session(session_id, revoked_at=time.time())

    async def revoke_user(self, user_id: str, *, keep: str | None = None) -> int:
        """End every live session of a user (a password change, a disabled account), except
        ``keep``; returns how many ended."""
        now = time.time()

        def run(conn: Connection) -> int:
            stmt = update(_SESSIONS).where(
                _SESSIONS.c.user_id == user_id, _SESSIONS.c.revoked_at.is_(None)
            )
            if keep is not None:
                stmt = stmt.where(_SESSIONS.c.id != keep)
            return int(conn.execute(stmt.values(revoked_at=now)).rowcount)

        return await self._storage.run_write(run)

    async def purge_expired(self) -> int:
        return await self._storage.delete_expired_sessions()


def _load(conn: Connection, digest: str) -> tuple[SessionRow, UserRow] | None:
    session = crud.get_row(conn, SessionRow, session_hash=digest)
    if session is None:
        return None
    user = crud.get_row(conn, UserRow, id=session.user_id)
    return None if user is None else (session, user)
