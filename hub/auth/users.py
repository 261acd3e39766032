"""Users as the API sees them: role, guest grants, language; validation of what users type."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.errors import HubError
from hub.storage.tables import Role, UserRow

__all__ = [
    "LANGUAGES",
    "MIN_PASSWORD",
    "Grants",
    "Role",
    "User",
    "check_password",
    "check_pin",
    "normalise_username",
]

MIN_PASSWORD = 8
MAX_PASSWORD = 256
LANGUAGES = ("zh", "en")
_USERNAME = re.compile(r"^[\w.@-]{1,32}$")
_PIN = re.compile(r"^[0-9]{4,8}$")


def normalise_username(value: Any) -> str:
    """NFKC, trimmed, lower case; raises ``bad_username``."""
    if not isinstance(value, str):
        raise HubError("bad_username")
    name = unicodedata.normalize("NFKC", value).strip().lower()
    if not _USERNAME.match(name):
        raise HubError("bad_username")
    return name


def check_password(value: Any) -> str:
    if not isinstance(value, str) or len(value) < MIN_PASSWORD:
        raise HubError("weak_password", min=MIN_PASSWORD)
    if len(value) > MAX_PASSWORD:
        raise HubError("bad_request", detail=f"a password is at most {MAX_PASSWORD} characters")
    return value


def check_pin(value: Any) -> str:
    if not isinstance(value, str) or not _PIN.match(value):
        raise HubError("bad_pin")
    return value


@dataclass(frozen=True, slots=True)
class Grants:
    """What a guest may see and use: whole rooms, and single devices."""

    rooms: frozenset[str] = field(default_factory=frozenset)
    devices: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, value: Any) -> Grants:
        """From the API's ``{"rooms": [...], "devices": [...]}``; raises ``bad_request``."""
        if value is None:
            return cls()
        if not isinstance(value, Mapping) or set(value) - {"rooms", "devices"}:
            raise HubError("bad_request", detail='grants must be {"rooms": [], "devices": []}')
        out: dict[str, frozenset[str]] = {}
        for key in ("rooms", "devices"):
            items = value.get(key) or []
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise HubError("bad_request", detail=f"grants.{key} must be a list of ids")
            out[key] = frozenset(items)
        return cls(out["rooms"], out["devices"])

    @classmethod
    def loads(cls, text: str | None) -> Grants:
        try:
            return cls.parse(json.loads(text or "{}"))
        except (ValueError, HubError):
            return cls()  # unreadable grants grant nothing

    def dumps(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True)

    def as_dict(self) -> dict[str, list[str]]:
        return {"rooms": sorted(self.rooms), "devices": sorted(self.devices)}


@dataclass(frozen=True, slots=True)
class User:
    """An account without its secrets (what requests carry around)."""

    id: str
    username: str
    display_name: str
    role: Role
    language: str
    grants: Grants
    disabled: bool
    has_pin: bool
    created_at: float

    @classmethod
    def from_row(cls, row: UserRow) -> User:
        try:
            role = Role(row.role)
        except ValueError:
            role = Role.GUEST
        return cls(
            id=row.id,
            username=row.username,
            display_name=row.display_name or row.username,
            role=role,
            language=row.language if row.language in LANGUAGES else "zh",
            grants=Grants.loads(row.grants),
            disabled=bool(row.disabled),
            has_pin=row.pin_hash is not None,
            created_at=row.created_at,
        )

    @property
    def is_owner(self) -> bool:
        return self.role is Role.OWNER

    @property
    def is_guest(self) -> bool:
        return self.role is Role.GUEST

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role.value,
            "language": self.language,
            "grants": self.grants.as_dict() if self.is_guest else None,
            "disabled": self.disabled,
            "has_pin": self.has_pin,
            "created_at": self.created_at,
        }
