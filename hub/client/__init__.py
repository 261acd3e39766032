"""A small asyncio client for integrators, over the hub's WebSocket API (see README)."""

from hub.client.client import (
    AuthenticationError,
    ConnectionLostError,
    Subscription,
    ZshubClient,
    ZshubError,
)

__all__ = [
    "AuthenticationError",
    "ConnectionLostError",
    "Subscription",
    "ZshubClient",
    "ZshubError",
]
