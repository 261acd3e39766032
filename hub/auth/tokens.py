"""Long-lived bearer tokens for integrators: ``zsh_`` + 256 random bits, shown once; only the
SHA-256 digest is stored. Revoked tokens stay listed (with ``revoked_at``) for the record."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from hub.auth.hashing import new_token, token_digest
from hub.storage import crud
from hub.storage.store import Storage
from hub.storage.tables import TokenRow, UserRow

__all__ = ["TOKEN_PREFIX", "TokenCheck", "TokenManager", "token_view"]

TOKEN_PREFIX = "zsh_"
LAST_USED_EVERY_S = 60.0
MAX_NAME = 64


@dataclass(frozen=True, slots=True)
class TokenCheck:
    token: TokenRow
    user: UserRow


def token_view(row: TokenRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "user_id": row.user_id,
        "name": row.name,
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "revoked_at": row.revoked_at,
    }


class TokenManager:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def create(self, user_id: str, name: str) -> tuple[str, TokenRow]:
        raw = new_token(TOKEN_PREFIX)
        row = TokenRow(user_id=user_id, name=name[:MAX_NAME], token_hash=token_digest(raw))
        await self._storage.add_token(row)
        return raw, row

    async def check(self, raw: str) -> TokenCheck | None:
        """The live token and its enabled user, or None; notes when it was last used."""
        if not raw.startswith(TOKEN_PREFIX) or len(raw) > 128:
            return None
        digest = token_digest(raw)
        found = await self._storage.run_read(lambda conn: _load(conn, digest))
        if found is None:
            return None
        token, user = found
        if token.revoked_at is not None or user.disabled:
            return None
        now = time.time()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY_S:
            await self._storage.update_token(token.id, last_used_at=now)
            token.last_used_at = now
        return TokenCheck(token, user)

    async def get(self, token_id: str) -> TokenRow | None:
        return await self._storage.run_read(lambda conn: crud.get_row(conn, TokenRow, id=token_id))

    async def list(self, user_id: str | None = None) -> list[TokenRow]:
        """One user's tokens, or everyone's (owner)."""
        if user_id is not None:
            return await self._storage.list_tokens(user_id)
        return await self._storage.run_read(
            lambda conn: crud.list_rows(conn, TokenRow, order_by="created_at")
        )

    async def revoke(self, token_id: str) -> TokenRow | None:
        return await self._storage.update_token(token_id, revoked_at=time.time())


def _load(conn: Connection, digest: str) -> tuple[TokenRow, UserRow] | None:
    token = crud.get_row(conn, TokenRow, token_hash=digest)
    if token is None:
        return None
    user = crud.get_row(conn, UserRow, id=token.user_id)
    return None if user is None else (token, user)
