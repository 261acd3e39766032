"""Password and PIN hashing with argon2id, and random tokens with their SHA-256 digests.

Argon2 is deliberately slow (≈ 0.1–0.3 s and 64 MiB per hash on a small box), so the async
functions run it on a small dedicated thread pool: the event loop never waits for a hash, and at
most :data:`MAX_PENDING` hashes queue at once — a flood of logins gets ``auth_busy`` (503)
rather than memory exhaustion. argon2-cffi releases the GIL while hashing.

Tokens (sessions, API tokens, the set-up link) are 256-bit random strings; only their SHA-256
digest is stored, which is enough for secrets with that much entropy.

argon2-cffi (with the cffi runtime) is imported at the first hash or check, on the hashing
threads, not when the hub starts: a running hub that nobody logs in to never needs it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from hub.errors import HubError

if TYPE_CHECKING:
    from argon2 import PasswordHasher

__all__ = [
    "MAX_PENDING",
    "hash_secret",
    "hash_secret_sync",
    "needs_rehash",
    "new_token",
    "set_cost",
    "token_digest",
    "tokens_equal",
    "verify_secret",
    "verify_secret_sync",
]

MAX_PENDING = 16

_hasher: PasswordHasher | None = None  # made at first use (see the module's docstring)
_hasher_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_pending = 0
_dummy_hash: str | None = None


def set_cost(*, time_cost: int, memory_kib: int, parallelism: int = 1) -> None:
    """Change the argon2 cost of new hashes (tests use a cheap one; hashes made with another
    cost still verify, and :func:`needs_rehash` says so)."""
    global _hasher, _dummy_hash
    from argon2 import PasswordHasher, Type

    with _hasher_lock:
        _hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        _dummy_hash = None


def _get_hasher() -> PasswordHasher:
    global _hasher
    with _hasher_lock:
        if _hasher is None:
            from argon2 import PasswordHasher
            from argon2.profiles import RFC_9106_LOW_MEMORY

            _hasher = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
        return _hasher


def hash_secret_sync(secret: str) -> str:
    """Blocking; for the CLI and for the executor."""
    return _get_hasher().hash(secret)


def verify_secret_sync(stored: str | None, secret: str) -> bool:
    """Blocking. A missing hash is checked against a dummy one, so "no such user" and "wrong
    password" take the same time."""
    global _dummy_hash
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    hasher = _get_hasher()
    if stored is None:
        if _dummy_hash is None:
            _dummy_hash = hasher.hash(secrets.token_urlsafe(16))
        stored = _dummy_hash
        secret = "\x00" + secret  # can never match
    try:
        return hasher.verify(stored, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    from argon2.exceptions import InvalidHashError

    try:
        return _get_hasher().check_needs_rehash(stored)
    except InvalidHashError:
        return True


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="zshub-argon2")
        return _executor


async def _run[R](fn: Callable[[], R]) -> R:
    global _pending
    if _pending >= MAX_PENDING:
        raise HubError("auth_busy", status=503)
    _pending += 1
    try:
        return await asyncio.get_running_loop().run_in_executor(_pool(), fn)
    finally:
        _pending -= 1


async def hash_secret(secret: str) -> str:
    return await _run(lambda: hash_secret_sync(secret))


async def verify_secret(stored: str | None, secret: str) -> bool:
    return await _run(lambda: verify_secret_sync(stored, secret))


def new_token(prefix: str = "") -> str:
    """A fresh 256-bit random token (URL-safe)."""
    return prefix + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
