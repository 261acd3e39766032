"""One ``AsyncZeroconf`` for the whole hub, created when the first integration asks for it.

Several instances on one host fight over the multicast socket and multiply traffic, so every
integration (ZS-DP browsing, Matter commissionable nodes) shares this one. Which interfaces it
uses is configuration: the demo and the tests pin it to loopback; a real hub uses them all.

Its sockets get a larger receive buffer: when a whole home powers up, hundreds of devices announce
within a second (three packets each) and the kernel's default of about 200 KiB overflows before
the event loop reads them. Lost packets are recovered by the browsers' re-queries, but each
loss costs seconds.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Sequence
from typing import Any

__all__ = ["RECEIVE_BUFFER", "SharedZeroconf", "enlarge_receive_buffers"]

_LOGGER = logging.getLogger(__name__)

RECEIVE_BUFFER = 2 * 1024 * 1024  # bytes asked; Linux caps it at net.core.rmem_max


async def enlarge_receive_buffers(aiozc: Any, size: int = RECEIVE_BUFFER) -> int:
    """Ask for ``size`` bytes of receive buffer on every socket of a started
    ``AsyncZeroconf``; returns the smallest size the kernel granted (0: no sockets)."""
    zc = aiozc.zeroconf
    await zc.async_wait_for_start()
    granted: list[int] = []
    for reader in zc.engine.readers:
        sock = getattr(reader, "sock", None)  # an asyncio.TransportSocket
        if sock is None:
            continue
        try:
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) < size:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
            granted.append(int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)))
        except OSError as err:  # a closed or odd socket: keep the default
            _LOGGER.debug("mDNS: cannot enlarge the receive buffer of %s: %s", sock, err)
    return min(granted, default=0)


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
                granted = await enlarge_receive_buffers(self._zc)
                _LOGGER.info(
                    "mDNS on %s (receive buffers %d KiB)",
                    self._interfaces or "all interfaces",
                    granted // 1024,
                )
            return self._zc

    async def close(self) -> None:
        async with self._lock:
            if self._zc is not None:
                await self._zc.async_close()
                self._zc = None
