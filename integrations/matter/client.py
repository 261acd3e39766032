"""The hub's side of the Matter server's WebSocket API, behind a small interface of its own.

python-matter-server (and the OHF matter.js server, which speaks the same API) run the Matter
stack in their own process; the hub sends JSON commands ``{"message_id", "command", "args"}``
and gets results ``{"message_id", "result"}`` or errors ``{"message_id", "error_code",
"details"}``, plus pushed events ``{"event", "data"}``. The first message after connecting is the
server's info (``schema_version``, ``min_supported_schema_version``, ``sdk_version`` …).

:class:`MatterServerClient` is what the integration uses; :class:`WsMatterClient` implements it
with plain aiohttp and JSON, so nodes stay in the server's own dump format (``attributes`` keyed
``"endpoint/cluster/attribute"``) and nothing heavy (the CHIP cluster objects) is imported to
follow them. Error codes are python-matter-server's (``matter_server/common/errors.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

import aiohttp

__all__ = [
    "CLIENT_SCHEMA",
    "ERROR_NAMES",
    "ConnectionLostError",
    "EventCallback",
    "MatterClientError",
    "MatterCommandError",
    "MatterServerClient",
    "ServerErrorCode",
    "WsMatterClient",
]

_LOGGER = logging.getLogger(__name__)

CLIENT_SCHEMA = 11  # the API schema of python-matter-server 8.1.2, which this client follows
MIN_SERVER_SCHEMA = 6  # commission_with_code(network_only) needs 6; write_attribute 4


class ServerErrorCode:
    """``error_code`` values of python-matter-server's error results."""

    UNKNOWN = 0
    NODE_COMMISSION_FAILED = 1
    NODE_INTERVIEW_FAILED = 2
    NODE_NOT_READY = 3
    NODE_NOT_RESOLVING = 4
    NODE_NOT_EXISTS = 5
    VERSION_MISMATCH = 6
    SDK_STACK_ERROR = 7
    INVALID_ARGUMENTS = 8
    INVALID_COMMAND = 9
    UPDATE_CHECK_ERROR = 10
    UPDATE_ERROR = 11


ERROR_NAMES = {
    0: "UnknownError",
    1: "NodeCommissionFailed",
    2: "NodeInterviewFailed",
    3: "NodeNotReady",
    4: "NodeNotResolving",
    5: "NodeNotExists",
    6: "VersionMismatch",
    7: "SDKStackError",
    8: "InvalidArguments",
    9: "InvalidCommand",
    10: "UpdateCheckError",
    11: "UpdateError",
}

# (event name, data): "node_added"/"node_updated" (a node dump), "node_removed" (node id),
# "attribute_updated" ([node id, "ep/cluster/attr", value]), "node_event" (a node event dict),
# "server_shutdown", "server_info_updated", "endpoint_added"/"endpoint_removed".
EventCallback = Callable[[str, Any], None]


class MatterClientError(Exception):
    """The server could not be reached or spoke something this client does not understand."""


class ConnectionLostError(MatterClientError):
    """The WebSocket closed while a request was waiting for its answer."""


class MatterCommandError(MatterClientError):
    """The server answered a command with an error result."""

    def __init__(self, command: str, error_code: int, details: str | None) -> None:
        self.command = command
        self.error_code = error_code
        self.details = details or ""
        name = ERROR_NAMES.get(error_code, f"error {error_code}")
        super().__init__(f"{command}: {name}" + (f": {details}" if details else ""))


class MatterServerClient(Protocol):
    """What the integration needs of a Matter server connection (one per connection)."""

    @property
    def server_info(self) -> dict[str, Any] | None: ...
    @property
    def connected(self) -> bool: ...

    async def connect(self) -> None:
        """Open the connection and read the server info; MatterClientError on failure."""

    async def start_listening(self) -> list[dict[str, Any]]:
        """Every node (dump format); events flow to the callback from now on."""

    async def wait_closed(self) -> None:
        """Return when the connection has ended (either side)."""

    async def close(self) -> None: ...

    async def commission_with_code(self, code: str, network_only: bool = True) -> dict[str, Any]:
        """Commission and interview; returns the node (dump format)."""

    async def get_node(self, node_id: int) -> dict[str, Any]: ...

    async def interview_node(self, node_id: int) -> None: ...

    async def remove_node(self, node_id: int) -> None: ...

    async def device_command(
        self,
        node_id: int,
        endpoint_id: int,
        cluster_id: int,
        command_name: str,
        payload: dict[str, Any],
        timed_request_timeout_ms: int | None = None,
    ) -> Any: ...

    async def write_attribute(self, node_id: int, attribute_path: str, value: Any) -> Any: ...

    async def read_attribute(self, node_id: int, attribute_path: str) -> dict[str, Any]: ...


ClientFactory = Callable[[str, aiohttp.ClientSession, EventCallback], MatterServerClient]


class WsMatterClient:
    """:class:`MatterServerClient` over aiohttp. Every request waits at most
    ``request_timeout`` s, except commissioning, which the caller bounds itself."""

    def __init__(
        self,
        url: str,
        session: aiohttp.ClientSession,
        on_event: EventCallback,
        *,
        request_timeout: float = 30.0,
        connect_timeout: float = 10.0,
    ) -> None:
        self.url = url
        self._session = session
        self._on_event = on_event
        self._request_timeout = request_timeout
        self._connect_timeout = connect_timeout
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._closed = asyncio.Event()
        self._info: dict[str, Any] | None = None

    @property
    def server_info(self) -> dict[str, Any] | None:
        return self._info

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed and not self._closed.is_set()

    async def connect(self) -> None:
        try:
            async with asyncio.timeout(self._connect_timeout):
                ws = await self._session.ws_connect(self.url, heartbeat=55, max_msg_size=0)
                first = await ws.receive()
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            raise MatterClientError(f"cannot connect to {self.url}: {err!r}") from err
        try:
            info = json.loads(first.data) if first.type is aiohttp.WSMsgType.TEXT else None
        except ValueError:
            info = None
        if not isinstance(info, dict) or "schema_version" not in info:
            await ws.close()
            raise MatterClientError(f"{self.url} did not send Matter server info first")
        schema = int(info.get("schema_version", 0))
        minimum = int(info.get("min_supported_schema_version", 0))
        if schema < MIN_SERVER_SCHEMA:
            await ws.close()
            raise MatterClientError(
                f"the Matter server speaks API schema {schema}; the hub needs at least "
                f"{MIN_SERVER_SCHEMA} (update python-matter-server)"
            )
        if minimum > CLIENT_SCHEMA:
            await ws.close()
            raise MatterClientError(
                f"the Matter server needs API schema {minimum}; the hub speaks {CLIENT_SCHEMA}"
            )
        self._info = info
        self._ws = ws
        self._reader = asyncio.get_running_loop().create_task(
            self._read(ws), name=f"matter ws {self.url}"
        )

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            async for msg in ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    if msg.type is aiohttp.WSMsgType.ERROR:
                        break
                    continue
                try:
                    data = json.loads(msg.data)
                except ValueError:
                    _LOGGER.warning("matter: dropped a frame that is not JSON: %.200s", msg.data)
                    continue
                if not isinstance(data, dict):
                    _LOGGER.warning("matter: dropped a frame that is not an object: %.200s", data)
                    continue
                self._dispatch(data)
        finally:
            self._closed.set()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionLostError("the Matter server went away"))
            self._pending.clear()

    def _dispatch(self, data: dict[str, Any]) -> None:
        if "event" in data:
            try:
                self._on_event(str(data["event"]), data.get("data"))
            except Exception:  # a bug in one handler must not end the connection
                _LOGGER.exception("matter: handling event %s failed", data.get("event"))
            return
        future = self._pending.get(str(data.get("message_id")))
        if future is None or future.done():
            return
        if "error_code" in data:
            code = data["error_code"]
            future.set_exception(
                MatterCommandError(
                    str(getattr(future, "command", "?")),
                    code if isinstance(code, int) else ServerErrorCode.UNKNOWN,
                    str(data.get("details") or ""),
                )
            )
        elif "result" in data:
            future.set_result(data["result"])
        else:
            _LOGGER.warning("matter: dropped an answer without result or error: %.200s", data)

    async def send(self, command: str, *, timeout: float | None = -1.0, **args: Any) -> Any:
        """Send one command and wait for its answer (``timeout=None``: no limit)."""
        ws = self._ws
        if ws is None or not self.connected:
            raise ConnectionLostError("not connected to the Matter server")
        message_id = f"zshub-{next(self._ids)}"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.command = command  # type: ignore[attr-defined]  # for the error text
        self._pending[message_id] = future
        limit = self._request_timeout if timeout == -1.0 else timeout
        try:
            await ws.send_str(
                json.dumps({"message_id": message_id, "command": command, "args": args})
            )
            async with asyncio.timeout(limit):
                return await future
        except (aiohttp.ClientError, ConnectionResetError) as err:
            raise ConnectionLostError(f"sending {command} failed: {err!r}") from err
        finally:
            self._pending.pop(message_id, None)

    async def start_listening(self) -> list[dict[str, Any]]:
        nodes = await self.send("start_listening")
        if not isinstance(nodes, list):
            raise MatterClientError("start_listening did not answer with a list of nodes")
        return [n for n in nodes if isinstance(n, dict) and isinstance(n.get("node_id"), int)]

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def close(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        self._closed.set()

    async def commission_with_code(self, code: str, network_only: bool = True) -> dict[str, Any]:
        node = await self.send(
            "commission_with_code", timeout=None, code=code, network_only=network_only
        )
        if not isinstance(node, dict) or not isinstance(node.get("node_id"), int):
            raise MatterClientError("commission_with_code did not answer with a node")
        return node

    async def get_node(self, node_id: int) -> dict[str, Any]:
        node = await self.send("get_node", node_id=node_id)
        if not isinstance(node, dict):
            raise MatterClientError("get_node did not answer with a node")
        return node

    async def interview_node(self, node_id: int) -> None:
        await self.send("interview_node", timeout=None, node_id=node_id)

    async def remove_node(self, node_id: int) -> None:
        await self.send("remove_node", node_id=node_id)

    async def device_command(
        self,
        node_id: int,
        endpoint_id: int,
        cluster_id: int,
        command_name: str,
        payload: dict[str, Any],
        timed_request_timeout_ms: int | None = None,
    ) -> Any:
        return await self.send(
            "device_command",
            node_id=node_id,
            endpoint_id=endpoint_id,
            cluster_id=cluster_id,
            command_name=command_name,
            payload=payload,
            response_type=None,
            timed_request_timeout_ms=timed_request_timeout_ms,
            interaction_timeout_ms=None,
        )

    async def write_attribute(self, node_id: int, attribute_path: str, value: Any) -> Any:
        return await self.send(
            "write_attribute", node_id=node_id, attribute_path=attribute_path, value=value
        )

    async def read_attribute(self, node_id: int, attribute_path: str) -> dict[str, Any]:
        values = await self.send("read_attribute", node_id=node_id, attribute_path=attribute_path)
        return values if isinstance(values, dict) else {}
