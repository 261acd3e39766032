"""Accounts and security: argon2 passwords and PINs, sessions, bearer tokens, the set-up link,
login rate limits, roles with guest grants, and the audit entries for all of them."""

from hub.auth.policy import GUEST_HIDDEN_CAPABILITIES, Principal, guest_may_see, require_role
from hub.auth.service import AuthChange, AuthService, LoginResult, RateLimitedError
from hub.auth.sessions import COOKIE_NAME
from hub.auth.tokens import TOKEN_PREFIX, token_view
from hub.auth.users import Grants, Role, User

__all__ = [
    "COOKIE_NAME",
    "GUEST_HIDDEN_CAPABILITIES",
    "TOKEN_PREFIX",
    "AuthChange",
    "AuthService",
    "Grants",
    "LoginResult",
    "Principal",
    "RateLimitedError",
    "Role",
    "User",
    "guest_may_see",
    "require_role",
    "token_view",
]
