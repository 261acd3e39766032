"""``AuthService``: accounts, logins, sessions, tokens, the set-up link and PIN step-up, with an
audit entry for each of them (who, how, when, from where).

Used by the API (one per running server) and by the CLI (``zshub user add``, ``zshub token
create``) directly on the data directory's database.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from hub.auth import hashing
from hub.auth.policy import Principal, require_role
from hub.auth.ratelimit import FailureLimiter
from hub.auth.sessions import SessionManager
from hub.auth.setup import SetupLink
from hub.auth.tokens import TokenManager
from hub.auth.users import (
    LANGUAGES,
    Grants,
    Role,
    User,
    check_password,
    check_pin,
    normalise_username,
)
from hub.errors import HubError
from hub.storage.audit import AuditEntry, AuditResult
from hub.storage.store import Storage
from hub.storage.tables import SessionRow, TokenRow, UserRow

__all__ = ["AuthChange", "AuthService", "LoginResult", "RateLimitedError"]

_LOGGER = logging.getLogger(__name__)

LOGIN_LIMIT = 5  # failures per username and address …
LOGIN_WINDOW_S = 900.0  # … within 15 minutes
ADDRESS_LIMIT = 30  # failures per address, whatever the username
PIN_LIMIT = 5
PIN_WINDOW_S = 900.0


class RateLimitedError(HubError):
    """429 with the seconds to wait (the API sends them as ``Retry-After``)."""

    def __init__(self, seconds: float) -> None:
        self.retry_after = max(1, math.ceil(seconds))
        super().__init__("rate_limited", status=429, seconds=self.retry_after)


@dataclass(frozen=True, slots=True)
class LoginResult:
    user: User
    session_token: str  # the cookie value; shown once, never stored
    session: SessionRow


@dataclass(frozen=True, slots=True)
class AuthChange:
    """Something that ends live connections: ``kind`` is ``user`` (deleted, disabled, role or
    grants changed), ``token`` (revoked) or ``session`` (logged out)."""

    kind: str
    id: str


class AuthService:
    def __init__(self, storage: Storage, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.storage = storage
        self.sessions = SessionManager(storage)
        self.tokens = TokenManager(storage)
        self.setup = SetupLink()
        self._logins = FailureLimiter(LOGIN_LIMIT, LOGIN_WINDOW_S, clock=clock)
        self._addresses = FailureLimiter(ADDRESS_LIMIT, LOGIN_WINDOW_S, clock=clock)
        self._pins = FailureLimiter(PIN_LIMIT, PIN_WINDOW_S, clock=clock)
        self._listeners: list[Callable[[AuthChange], None]] = []

    # -- change listeners (the WebSocket API closes affected connections) ----------------------
    def on_change(self, callback: Callable[[AuthChange], None]) -> Callable[[], None]:
        self._listeners.append(callback)

        def remove() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return remove

    def _changed(self, kind: str, id: str) -> None:
        for callback in list(self._listeners):
            try:
                callback(AuthChange(kind, id))
            except Exception:
                _LOGGER.exception("Auth change listener failed")

    # -- audit ---------------------------------------------------------------------------------
    def audit(
        self,
        action: str,
        *,
        principal: Principal | None = None,
        actor: str | None = None,
        result: AuditResult = AuditResult.OK,
        target: str | None = None,
        detail: Mapping[str, Any] | None = None,
        origin: str = "user",
    ) -> None:
        info = dict(detail or {})
        if principal is not None:
            info.setdefault("via", principal.how)
            if principal.remote:
                info.setdefault("address", principal.remote)
            entry = AuditEntry(
                action=action,
                result=result,
                actor=principal.user.id,
                origin="user",
                target=target,
                detail=info,
                context_id=principal.context().id,
            )
        else:
            entry = AuditEntry(
                action=action, result=result, actor=actor, origin=origin, target=target, detail=info
            )
        self.storage.audit(entry)

    # -- authentication ------------------------------------------------------------------------
    async def authenticate_token(self, raw: str, remote: str | None = None) -> Principal | None:
        found = await self.tokens.check(raw)
        if found is None:
            return None
        return Principal(
            User.from_row(found.user),
            "token",
            token_id=found.token.id,
            token_name=found.token.name,
            remote=remote,
        )

    async def authenticate_session(
        self, raw: str, remote: str | None = None
    ) -> tuple[Principal, bool] | None:
        """The principal of a session cookie, and whether its expiry was renewed."""
        found = await self.sessions.check(raw)
        if found is None:
            return None
        principal = Principal(
            User.from_row(found.user), "session", session_id=found.session.id, remote=remote
        )
        return principal, found.renewed

    # -- login and logout ----------------------------------------------------------------------
    def _limited(self, key: tuple[str, str], remote: str) -> None:
        wait = max(self._logins.retry_after(key), self._addresses.retry_after(remote))
        if wait > 0:
            raise RateLimitedError(wait)

    async def login(
        self,
        username: Any,
        password: Any,
        *,
        remote: str | None,
        user_agent: str | None = None,
    ) -> LoginResult:
        """Check a password and open a session. Raises ``login_failed`` (401) or
        ``rate_limited`` (429, before any hashing once the limit is reached)."""
        address = remote or "?"
        typed = username if isinstance(username, str) else ""
        try:
            name = normalise_username(typed)
        except HubError:
            name = typed.strip().lower()[:64]
        key = (name, address)
        self._limited(key, address)
        if not isinstance(password, str) or not password or len(password) > 256:
            raise HubError("bad_request", detail="username and password are required")
        row = await self.storage.get_user_by_username(name) if name else None
        ok = await hashing.verify_secret(row.password_hash if row else None, password)
        if row is None or not ok or row.disabled:
            wait = self._logins.failed(key)
            self._addresses.failed(address)
            reason = "unknown_user" if row is None else "disabled" if ok else "wrong_password"
            self.audit(
                "login_failed",
                actor=row.id if row is not None else None,
                result=AuditResult.REFUSED,
                target=name,
                detail={"reason": reason, "address": address, "user_agent": user_agent},
            )
            if wait > 0:
                raise RateLimitedError(wait)
            raise HubError("login_failed", status=401)
        self._logins.reset(key)
        if row.password_hash is not None and hashing.needs_rehash(row.password_hash):
            new_hash = await hashing.hash_secret(password)
            await self.storage.update_user(row.id, password_hash=new_hash)
        return await self.start_session(
            User.from_row(row), remote=remote, user_agent=user_agent, via="password"
        )

    async def start_session(
        self, user: User, *, remote: str | None, user_agent: str | None, via: str
    ) -> LoginResult:
        """Open a browser session for ``user`` (after a password check or the set-up)."""
        raw, session = await self.sessions.create(user.id, user_agent=user_agent, remote=remote)
        self.audit(
            "login",
            actor=user.id,
            target=user.username,
            detail={"via": via, "address": remote or "?", "user_agent": user_agent},
        )
        return LoginResult(user, raw, session)

    async def logout(self, principal: Principal) -> None:
        if principal.session_id is not None:
            await self.sessions.revoke(principal.session_id)
            self._changed("session", principal.session_id)
        self.audit("logout", principal=principal, target=principal.user.username)

    # -- PIN step-up ---------------------------------------------------------------------------
    async def check_pin(self, principal: Principal, pin: Any, target: str) -> None:
        """Raise unless ``pin`` is the user's PIN: ``pin_invalid`` (403, audited),
        ``pin_not_set`` (403) or ``rate_limited`` (429 after 5 wrong PINs in 15 minutes)."""
        key = principal.user.id
        wait = self._pins.retry_after(key)
        if wait > 0:
            raise RateLimitedError(wait)
        row = await self.storage.get_user(principal.user.id)
        if row is None or row.pin_hash is None:
            raise HubError("pin_not_set", status=403, needs="pin")
        ok = isinstance(pin, str) and 0 < len(pin) <= 64
        ok = ok and await hashing.verify_secret(row.pin_hash, str(pin))
        if not ok:
            wait = self._pins.failed(key)
            self.audit(
                "pin_invalid", principal=principal, result=AuditResult.REFUSED, target=target
            )
            if wait > 0:
                raise RateLimitedError(wait)
            raise HubError("pin_invalid", status=403)
        self._pins.reset(key)

    # -- first run -----------------------------------------------------------------------------
    async def owner_exists(self) -> bool:
        users = await self.storage.list_users()
        return any(u.role == Role.OWNER.value and not u.disabled for u in users)

    async def issue_setup_link(self) -> str | None:
        """A one-time set-up token while no owner exists; None once one does."""
        if await self.owner_exists():
            self.setup.close()
            return None
        return self.setup.issue()

    async def setup_owner(
        self,
        token: Any,
        *,
        username: Any,
        password: Any,
        pin: Any,
        display_name: Any = None,
        language: Any = None,
        remote: str | None = None,
    ) -> User:
        """Create the first owner with the set-up token (works once)."""
        name = normalise_username(username)
        check_password(password)
        check_pin(pin)
        raw = token if isinstance(token, str) else ""
        if not self.setup.take(raw):
            self.audit(
                "setup_failed",
                result=AuditResult.REFUSED,
                target=name,
                detail={"address": remote or "?"},
            )
            raise HubError("setup_invalid", status=403)
        try:
            if await self.owner_exists():
                raise HubError("setup_done", status=409)
            user = await self.create_user(
                name,
                password,
                Role.OWNER,
                pin=pin,
                display_name=display_name,
                language=language,
                origin="setup",
                detail={"address": remote or "?"},
            )
        except HubError as err:
            if err.code != "setup_done":
                self.setup.put_back(raw)
            raise
        return user

    # -- users ---------------------------------------------------------------------------------
    async def list_users(self) -> list[User]:
        return [User.from_row(row) for row in await self.storage.list_users()]

    async def get_user(self, user_id: str) -> User:
        row = await self.storage.get_user(user_id)
        if row is None:
            raise HubError("unknown_user", status=404, user=user_id)
        return User.from_row(row)

    async def create_user(
        self,
        username: Any,
        password: Any,
        role: Role | str,
        *,
        pin: Any = None,
        display_name: Any = None,
        language: Any = None,
        grants: Any = None,
        by: Principal | None = None,
        origin: str = "user",
        detail: Mapping[str, Any] | None = None,
    ) -> User:
        name = normalise_username(username)
        check_password(password)
        role = _role(role)
        if pin is not None:
            check_pin(pin)
        lang = _language(language)
        shown = _display_name(display_name) or name
        parsed = Grants.parse(grants)
        if await self.storage.get_user_by_username(name) is not None:
            raise HubError("username_taken", status=409, username=name)
        password_hash = await hashing.hash_secret(password)
        pin_hash = await hashing.hash_secret(pin) if pin is not None else None
        row = UserRow(
            username=name,
            display_name=shown,
            role=role.value,
            password_hash=password_hash,
            pin_hash=pin_hash,
            grants=parsed.dumps(),
            language=lang,
        )
        try:
            await self.storage.add_user(row)
        except IntegrityError:
            raise HubError("username_taken", status=409, username=name) from None
        user = User.from_row(row)
        if role is Role.OWNER:
            self.setup.close()  # the set-up link has done its job (or is no longer needed)
        info = {"username": name, "role": role.value, **(detail or {})}
        if by is not None:
            self.audit("user_created", principal=by, target=user.id, detail=info)
        else:
            self.audit("user_created", actor=user.id, origin=origin, target=user.id, detail=info)
        return user

    async def _enabled_owners(self, *, besides: str) -> int:
        users = await self.storage.list_users()
        return sum(1 for u in users if u.role == "owner" and not u.disabled and u.id != besides)

    async def update_user(
        self, principal: Principal, user_id: str, changes: Mapping[str, Any]
    ) -> User:
        """Owners change anyone; others only their own name, language, password and PIN (with
        their current password)."""
        row = await self.storage.get_user(user_id)
        if row is None:
            raise HubError("unknown_user", status=404, user=user_id)
        own = principal.user.id == user_id
        allowed = {"display_name", "language", "password", "pin", "current_password"}
        if principal.user.is_owner:
            allowed |= {"role", "grants", "disabled"}
        elif not own:
            raise HubError("owner_only", status=403)
        unknown = set(changes) - allowed
        if unknown:
            if not principal.user.is_owner:
                raise HubError("owner_only", status=403)
            raise HubError("bad_request", detail=f"unknown fields: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        if "display_name" in changes:
            values["display_name"] = _display_name(changes["display_name"]) or row.username
        if "language" in changes:
            values["language"] = _language(changes["language"])
        if "role" in changes:
            values["role"] = _role(changes["role"]).value
        if "grants" in changes:
            values["grants"] = Grants.parse(changes["grants"]).dumps()
        if "disabled" in changes:
            if not isinstance(changes["disabled"], bool):
                raise HubError("bad_request", detail="disabled must be true or false")
            values["disabled"] = changes["disabled"]
        secret_change = "password" in changes or "pin" in changes
        if "password" in changes:
            check_password(changes["password"])
        if changes.get("pin") is not None:
            check_pin(changes["pin"])
        if secret_change and own:
            current = changes.get("current_password")
            if not isinstance(current, str) or not await hashing.verify_secret(
                row.password_hash, current
            ):
                self.audit(
                    "user_update_failed",
                    principal=principal,
                    result=AuditResult.REFUSED,
                    target=user_id,
                    detail={"reason": "wrong current password"},
                )
                raise HubError("login_failed", status=403)
        demoted = values.get("role", row.role) != "owner" or values.get("disabled", False)
        if row.role == "owner" and demoted and await self._enabled_owners(besides=user_id) == 0:
            raise HubError("last_owner", status=409)
        if "password" in changes:
            values["password_hash"] = await hashing.hash_secret(changes["password"])
        if "pin" in changes:
            pin = changes["pin"]
            values["pin_hash"] = await hashing.hash_secret(pin) if pin is not None else None
        updated = await self.storage.update_user(user_id, **values)
        if updated is None:
            raise HubError("unknown_user", status=404, user=user_id)
        fields = sorted(k for k in changes if k != "current_password")
        self.audit("user_updated", principal=principal, target=user_id, detail={"fields": fields})
        if "password" in changes or values.get("disabled"):
            await self.sessions.revoke_user(user_id, keep=principal.session_id if own else None)
        if {"role", "grants", "disabled"} & set(values) or "password" in changes:
            self._changed("user", user_id)
        return User.from_row(updated)

    async def delete_user(self, principal: Principal, user_id: str) -> None:
        require_role(principal, Role.OWNER)
        row = await self.storage.get_user(user_id)
        if row is None:
            raise HubError("unknown_user", status=404, user=user_id)
        if row.role == "owner" and await self._enabled_owners(besides=user_id) == 0:
            raise HubError("last_owner", status=409)
        await self.storage.delete_user(user_id)
        self.audit(
            "user_deleted",
            principal=principal,
            target=user_id,
            detail={"username": row.username, "role": row.role},
        )
        self._changed("user", user_id)

    # -- tokens --------------------------------------------------------------------------------
    async def create_token(
        self, name: Any, *, principal: Principal | None = None, user_id: str | None = None
    ) -> tuple[str, TokenRow]:
        """A new bearer token for ``principal``'s user (or ``user_id``, from the CLI)."""
        if not isinstance(name, str) or not name.strip():
            raise HubError("bad_request", detail="name must be non-empty text")
        if principal is not None:
            if principal.user.is_guest:
                raise HubError("forbidden", status=403)
            user_id = principal.user.id
        if user_id is None:
            raise HubError("bad_request", detail="no user for the token")
        raw, row = await self.tokens.create(user_id, name.strip())
        info = {"name": row.name, "user_id": user_id}
        if principal is not None:
            self.audit("token_created", principal=principal, target=row.id, detail=info)
        else:
            self.audit("token_created", actor=user_id, origin="cli", target=row.id, detail=info)
        return raw, row

    async def list_tokens(self, principal: Principal, *, everyone: bool = False) -> list[TokenRow]:
        if everyone:
            require_role(principal, Role.OWNER)
            return await self.tokens.list()
        return await self.tokens.list(principal.user.id)

    async def revoke_token(self, token_id: str, *, principal: Principal | None = None) -> TokenRow:
        row = await self.tokens.get(token_id)
        mine = principal is None or (row is not None and row.user_id == principal.user.id)
        if row is None or not (mine or (principal is not None and principal.user.is_owner)):
            raise HubError("unknown_token", status=404, token=token_id)
        if row.revoked_at is None:
            revoked = await self.tokens.revoke(token_id)
            row = revoked or row
            info = {"name": row.name, "user_id": row.user_id}
            if principal is not None:
                self.audit("token_revoked", principal=principal, target=token_id, detail=info)
            else:
                self.audit("token_revoked", origin="cli", target=token_id, detail=info)
        self._changed("token", token_id)
        return row


def _role(value: Any) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise HubError("bad_request", detail="role must be owner, member or guest") from None


def _language(value: Any) -> str:
    if value is None:
        return "zh"
    if value not in LANGUAGES:
        raise HubError("bad_request", detail="language must be zh or en")
    return str(value)


def _display_name(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 64:
        raise HubError("bad_request", detail="display_name must be text of at most 64 characters")
    return value.strip()
