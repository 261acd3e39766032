"""The simulator's control interface: JSON lines over TCP on 127.0.0.1 (docs/simulator.md).

Each request is one JSON object on one line; each answer is one line, ``{"ok": true, …}`` or
``{"ok": false, "error": code, "message": text}``, in request order. ``SimulatorControl`` is the
Python client tests, demos and integrators use.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

__all__ = ["ControlServer", "SimulatorControl", "SimulatorControlError"]

_LOGGER = logging.getLogger(__name__)
LINE_LIMIT = 1 << 20

Handler = Callable[[Mapping[str, Any]], Awaitable[dict[str, Any]]]


class ControlServer:
    """Serves the control protocol; bound to loopback only (it can unlock a simulated lock)."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0) -> None:
        self._handler = handler
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._client, self.host, self.port, limit=LINE_LIMIT
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._clients):
            task.cancel()
        await asyncio.gather(*self._clients, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        try:
            while line := await reader.readline():
                answer = await self._answer(line)
                writer.write(json.dumps(answer, ensure_ascii=False).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass  # a client that hangs up or sends an over-long line
        finally:
            self._clients.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            return {"ok": False, "error": "bad_json", "message": str(err)}
        if not isinstance(request, dict):
            return {"ok": False, "error": "bad_request", "message": "send one JSON object a line"}
        try:
            answer = await self._handler(request)
        except Exception as err:  # a bug must not kill the control connection
            _LOGGER.exception("control request %r failed", request)
            answer = {"ok": False, "error": "internal", "message": repr(err)}
        if "id" in request:
            answer["id"] = request["id"]
        return answer


class SimulatorControlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class SimulatorControl:
    """Client: ``async with await SimulatorControl.connect(port) as sim: await sim.act(...)``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._lock = asyncio.Lock()

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1") -> SimulatorControl:
        reader, writer = await asyncio.open_connection(host, port, limit=LINE_LIMIT)
        return cls(reader, writer)

    async def request(self, op: str, **fields: Any) -> dict[str, Any]:
        """Send one request; the answer without ``ok``, or SimulatorControlError."""
        async with self._lock:
            line = json.dumps({"op": op, **fields}, ensure_ascii=False).encode() + b"\n"
            self._writer.write(line)
            await self._writer.drain()
            raw = await self._reader.readline()
        if not raw:
            raise SimulatorControlError("closed", "the simulator closed the control connection")
        answer: dict[str, Any] = json.loads(raw)
        if not answer.pop("ok", False):
            raise SimulatorControlError(
                str(answer.get("error", "error")), str(answer.get("message", ""))
            )
        return answer

    async def devices(self) -> list[dict[str, Any]]:
        """The ``list`` op: every device with its id, port, pairing code, online …"""
        devices: list[dict[str, Any]] = (await self.request("list"))["devices"]
        return devices

    async def manifest(self) -> dict[str, Any]:
        return await self.request("manifest")

    async def state(self, device: str) -> dict[str, Any]:
        return await self.request("state", device=device)

    async def actions(self, device: str) -> list[dict[str, Any]]:
        actions: list[dict[str, Any]] = (await self.request("actions", device=device))["actions"]
        return actions

    async def act(self, device: str, action: str, **args: Any) -> list[dict[str, Any]]:
        """Do something by hand; returns the REPORT payloads it caused (DP -> raw value)."""
        answer = await self.request("act", device=device, action=action, args=args)
        reported: list[dict[str, Any]] = answer["reported"]
        return reported

    async def advance(self, device: str, seconds: float) -> list[dict[str, Any]]:
        reported: list[dict[str, Any]] = (
            await self.request("advance", device=device, seconds=seconds)
        )["reported"]
        return reported

    async def offline(self, device: str) -> None:
        await self.request("offline", device=device)

    async def online(self, device: str) -> None:
        await self.request("online", device=device)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()

    async def __aenter__(self) -> SimulatorControl:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
