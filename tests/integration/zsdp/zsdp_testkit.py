"""Helpers shared by the ZS-DP integration tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from zsdp_sim import SimDevice

from hub.app import Hub
from integrations.zsdp.integration import ZsdpIntegration
from integrations.zsdp.link import LinkSettings

LOOPBACK = "127.0.0.1"
# Quick retries for tests; the heartbeat stays at its production value (offline within 10 s).
FAST = LinkSettings(backoff_min=0.05, backoff_max=0.5, refused_retry=0.5)

HubFactory = Callable[..., Awaitable[Hub]]
DeviceFactory = Callable[..., Awaitable[SimDevice]]


async def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "") -> float:
    """Poll until ``predicate()`` is truthy; returns the seconds it took."""
    start = time.perf_counter()
    deadline = start + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        await asyncio.sleep(0.005)
    return time.perf_counter() - start


def zsdp(hub: Hub) -> ZsdpIntegration:
    integration = hub.integrations["zsdp"]
    assert isinstance(integration, ZsdpIntegration)
    return integration
