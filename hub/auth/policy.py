"""Who may see and do what. Enforced by the API on every route and WebSocket message.

* owner: everything, including users, the audit log and deleting devices.
* member: every device (``operate`` commands), scenes, rules on/off, their own tokens.
* guest: only the rooms and devices granted to them; never a device with a lock, valve,
  burner or gas detector (the device is invisible and every use of it is refused).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hub.auth.users import Role, User
from hub.core.context import Context, Origin
from hub.core.registry import Device
from hub.errors import HubError

__all__ = [
    "GUEST_HIDDEN_CAPABILITIES",
    "GUEST_HIDDEN_CATEGORIES",
    "Principal",
    "guest_may_see",
    "require_role",
]

# Capabilities a guest never sees or uses, on any device (and the device goes with them).
GUEST_HIDDEN_CAPABILITIES = frozenset({"lock", "lock_users", "valve", "burner", "gas_detector"})
# Category prefixes hidden the same way, even when a profile forgot the capability.
GUEST_HIDDEN_CATEGORIES = ("lock.", "safety.gas", "kitchen.gas_cooktop")

# Command privileges each role may use (see hub.capabilities.model.Privilege).
_PRIVILEGES: dict[Role, frozenset[str]] = {
    Role.OWNER: frozenset({"operate", "manage", "admin"}),
    Role.MEMBER: frozenset({"operate"}),
    Role.GUEST: frozenset({"operate"}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: the user and how they came in (the "how" of the audit log)."""

    user: User
    via: str  # "session" or "token"
    session_id: str | None = None
    token_id: str | None = None
    token_name: str | None = None
    remote: str | None = None

    @property
    def how(self) -> str:
        return f"token:{self.token_name}" if self.via == "token" else self.via

    def context(self) -> Context:
        """``user`` (actor: the user id) under ``api`` (actor: session / token:<name>)."""
        return Context(Origin.API, self.how).child(Origin.USER, self.user.id)

    @property
    def role(self) -> Role:
        return self.user.role

    def may_use_privilege(self, privilege: str) -> bool:
        return privilege in _PRIVILEGES[self.user.role]

    def sees_device(
        self, device: Device | None, capabilities: Iterable[str] | None, category: str = ""
    ) -> bool:
        """Whether the device exists for this user. ``capabilities`` and ``category`` come from
        the device's profile (``capabilities`` None when it has no profile)."""
        if device is None:
            return False
        user = self.user
        if not user.is_guest:
            return True
        if not guest_may_see(capabilities, category):
            return False
        grants = user.grants
        return device.id in grants.devices or (
            device.room_id is not None and device.room_id in grants.rooms
        )

    def sees_capability(self, capability: str) -> bool:
        return not (self.user.is_guest and capability in GUEST_HIDDEN_CAPABILITIES)


def guest_may_see(capabilities: Iterable[str] | None, category: str) -> bool:
    """False for anything with a lock, valve, burner or gas detector, and for devices without a
    profile (an unknown thing might be a lock)."""
    if capabilities is None:
        return False
    if GUEST_HIDDEN_CAPABILITIES.intersection(capabilities):
        return False
    return not category.startswith(GUEST_HIDDEN_CATEGORIES)


def require_role(principal: Principal, *roles: Role) -> None:
    """403 unless the principal has one of ``roles``."""
    if principal.user.role in roles:
        return
    if roles == (Role.OWNER,):
        raise HubError("owner_only", status=403)
    raise HubError("forbidden", status=403)
