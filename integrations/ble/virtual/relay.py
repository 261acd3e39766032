"""Serve an air over TCP: each connection gets a fresh hub controller on the air, spoken to in HCI
(H4 framing), so a hub in another process uses the devices of this one like a USB dongle's."""

from __future__ import annotations

import asyncio
import logging

from bumble.transport.common import StreamPacketSource

from integrations.ble.virtual.air import VirtualAir
from integrations.ble.virtual.controllers import HubController

__all__ = ["AirServer"]

_LOGGER = logging.getLogger(__name__)


class _HciConnection(StreamPacketSource):
    """One hub's HCI stream: packets in -> its controller; controller's packets out -> socket."""

    def __init__(self, server: AirServer) -> None:
        super().__init__()
        self._server = server
        self._transport: asyncio.Transport | None = None
        self.controller: HubController | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self.controller = HubController(
            f"relay hub {peer}", host_source=self, host_sink=self, link=self._server.air.link
        )
        self._server.connections.add(self)
        _LOGGER.info("BLE relay: hub connected from %s", peer)

    def on_packet(self, packet: bytes) -> None:  # controller -> hub
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(packet)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)
        controller, self.controller = self.controller, None
        self._transport = None
        if controller is not None:
            controller.drop_peer_links()
            controller.link.remove_controller(controller)
        _LOGGER.info("BLE relay: hub disconnected")

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class AirServer:
    """``await AirServer(air).start("127.0.0.1", 0)``; ``port`` tells where it listens."""

    def __init__(self, air: VirtualAir) -> None:
        self.air = air
        self.connections: set[_HciConnection] = set()
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the relay is not listening")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def spec(self) -> str:
        """The radio spec a hub uses to reach this relay."""
        host = self._server.sockets[0].getsockname()[0] if self._server else "?"
        return f"tcp:{host}:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _HciConnection(self), host=host, port=port
        )

    def drop_hubs(self) -> None:
        """Close every hub connection (tests: the radio disappears)."""
        for conn in list(self.connections):
            conn.close()

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        self.drop_hubs()
        if server is not None:
            await server.wait_closed()
