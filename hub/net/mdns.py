"""One ``AsyncZeroconf`` for the whole hub, created when the first integration asks for it.

Several instances on one host fight over the multicast socket and multiply traffic, so every
integration (ZS-DP browsing, Matter commissionable nodes) shares this one. Which interfaces it
uses is configuration: the demo and the tests pin it to loopback; a real hub uses them all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

__all__ = ["SharedZeroconf"]

_LOGGER = logging.getLogger(__name__)


class SharedZeroconf:
    def __init__(self, interfaces: Sequence[str] | None) -> None:
        self._interfaces = list(interfaces) if interfaces is not None else None
        self._zc: Any = None
        self._lock = asyncio.Lock()

    async def get(self) -> Any:
        """The shared ``zeroconf.asyncio.AsyncZeroconf`` (imported lazily: zeroconf is heavy)."""
        async with self._lock:
            if self._zc is None:
                from zeroconf import InterfaceChoice, IPVersion
                from zeroconf.asyncio import AsyncZeroconf

                if self._interfaces is None:
                    self._zc = AsyncZeroconf(
                        interfaces=InterfaceChoice.All, ip_version=IPVersion.V4Only
                    )
                else:
                    self._zc = AsyncZeroconf(
                        interfaces=self._interfaces, ip_version=IPVersion.V4Only
                    )
                _LOGGER.info("mDNS on %s", self._interfaces or "all interfaces")
            return self._zc

    async def close(self) -> None:
        async with self._lock:
            if self._zc is not None:
                await self._zc.async_close()
                self._zc = None
