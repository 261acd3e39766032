"""The one-time set-up link printed by ``zshub run`` while no owner exists.

The token lives only in the hub's memory (its digest), in the URL fragment
(``http://<hub>/#/setup?token=…``: browsers never send fragments to servers, and the API sends
``Referrer-Policy: no-referrer``), and works once, within :data:`SETUP_TTL_S`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from hub.auth.hashing import new_token, token_digest, tokens_equal

__all__ = ["SETUP_TTL_S", "SetupLink"]

SETUP_TTL_S = 3600.0


class SetupLink:
    def __init__(self, ttl: float = SETUP_TTL_S, clock: Callable[[], float] = time.time) -> None:
        self._ttl = ttl
        self._clock = clock
        self._digest: str | None = None
        self._expires_at = 0.0

    def issue(self) -> str:
        """A fresh token (any earlier one stops working)."""
        raw = new_token()
        self._digest = token_digest(raw)
        self._expires_at = self._clock() + self._ttl
        return raw

    @property
    def active(self) -> bool:
        return self._digest is not None and self._clock() < self._expires_at

    @property
    def expires_at(self) -> float | None:
        return self._expires_at if self.active else None

    def take(self, raw: str) -> bool:
        """Use the token up: True once, for the right token before it expires."""
        if not self.active or self._digest is None or not isinstance(raw, str):
            return False
        if not tokens_equal(token_digest(raw), self._digest):
            return False
        self._digest = None
        return True

    def put_back(self, raw: str) -> None:
        """Undo :meth:`take` when creating the owner failed for a reason of the hub's."""
        if self._clock() < self._expires_at:
            self._digest = token_digest(raw)

    def close(self) -> None:
        self._digest = None
