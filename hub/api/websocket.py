"""WebSocket API ``/api/ws`` (protocol in docs/api.md).

* One bus listener (``listen_all``) for every connection. An event is matched against each
  subscription (devices, rooms, event types, and a guest's grants) and, if anyone wants it,
  encoded to JSON once; each subscriber's message is that text with its subscription id put in
  front, so 50 clients cost one ``json`` encoding, not 50.
* Every connection has a bounded send queue drained by its own writer task: the hub never
  waits for a client, and a client that stopped reading (its socket buffer full) with
  :data:`MAX_QUEUE` messages waiting — or any client :data:`HARD_MAX_QUEUE` behind — is
  disconnected (close code 4008) rather than slowing the hub or growing its memory.
* Commands and scenes run as tasks, so a slow device never holds up the connection's other
  messages; their results carry the request's ``id``.
* Nothing is kept for a client between connections: a client that reconnects authenticates,
  subscribes again and gets a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from hub.api.commands import run_command
from hub.api.common import dumps, error_body, same_origin
from hub.api.routes_admin import run_scene_for
from hub.auth.policy import Principal
from hub.auth.service import AuthChange
from hub.auth.sessions import COOKIE_NAME
from hub.core.commands import COMMAND_RESULT
from hub.core.events import Event
from hub.core.integration import DEVICE_EVENT
from hub.core.registry import (
    AVAILABILITY_CHANGED,
    DEVICE_ADDED,
    DEVICE_REMOVED,
    DEVICE_UPDATED,
    Device,
)
from hub.core.state import STATE_CHANGED
from hub.errors import HubError

if TYPE_CHECKING:
    from hub.api.views import Views
    from hub.app import Hub
    from hub.auth.service import AuthService

__all__ = [
    "CLOSE_AUTH_INVALID",
    "CLOSE_REVOKED",
    "CLOSE_TOO_SLOW",
    "MAX_QUEUE",
    "WebSocketHub",
]

_LOGGER = logging.getLogger(__name__)

MAX_QUEUE = 2048  # messages waiting for a client that stopped reading: it is disconnected
HARD_MAX_QUEUE = 8 * MAX_QUEUE  # … and for any client, whatever the reason
SLOW_BUFFER = 32 * 1024  # bytes in the socket's user-space buffer: the client is not reading
MAX_SUBSCRIPTIONS = 32
MAX_INFLIGHT = 32  # commands and scenes running at once per connection
AUTH_TIMEOUT_S = 10.0
MAX_MESSAGE = 64 * 1024

CLOSE_AUTH_INVALID = 4001
CLOSE_REVOKED = 4003
CLOSE_TOO_SLOW = 4008

NOTIFICATION = "notification"
FORWARDED = frozenset(
    {
        STATE_CHANGED,
        DEVICE_EVENT,
        AVAILABILITY_CHANGED,
        COMMAND_RESULT,
        DEVICE_ADDED,
        DEVICE_UPDATED,
        DEVICE_REMOVED,
        NOTIFICATION,
    }
)
_DEVICE_VIEWS = frozenset({DEVICE_ADDED, DEVICE_UPDATED})


@dataclass(slots=True)
class Subscription:
    id: int
    devices: frozenset[str] | None
    rooms: frozenset[str] | None
    events: frozenset[str] | None

    def wants(self, event_type: str, device_id: str | None, room_id: str | None) -> bool:
        if self.events is not None and event_type not in self.events:
            return False
        if self.devices is None and self.rooms is None:
            return True
        if device_id is None:
            return False
        if self.devices is not None and device_id in self.devices:
            return True
        return self.rooms is not None and room_id is not None and room_id in self.rooms


class Connection:
    """One client: its principal, subscriptions and bounded send queue."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.ws = ws
        self.request = request
        self.principal: Principal | None = None
        self.subs: dict[int, Subscription] = {}
        self.inflight: set[asyncio.Task[None]] = set()
        self.closed = False
        self._queue: deque[str] = deque()
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._writer = asyncio.get_running_loop().create_task(self._write(), name="ws writer")

    def send(self, text: str) -> None:
        if self.closed:
            return
        queued = len(self._queue)
        if queued >= MAX_QUEUE and (queued >= HARD_MAX_QUEUE or self._not_reading()):
            _LOGGER.warning("WebSocket client %s is too slow; disconnecting", self.request.remote)
            self.kick(CLOSE_TOO_SLOW, "too slow", wait=0.5)
            return
        self._queue.append(text)
        if not self._wake.is_set():
            self._wake.set()

    def _not_reading(self) -> bool:
        """The socket's buffer is full: the client, not the hub, is behind. (A queue that grew
        while the hub was busy elsewhere drains as soon as the writer runs.)"""
        transport = self.request.transport
        return transport is None or transport.get_write_buffer_size() >= SLOW_BUFFER

    def send_json(self, data: dict[str, Any]) -> None:
        self.send(dumps(data))

    async def _write(self) -> None:
        ws, queue, wake = self.ws, self._queue, self._wake
        try:
            while True:
                await wake.wait()
                wake.clear()
                while queue:
                    await ws.send_str(queue.popleft())
        except asyncio.CancelledError:
            raise
        except Exception:  # the peer went away
            self.closed = True

    def kick(self, code: int, reason: str, wait: float = 2.0) -> None:
        """Close from the hub's side (revoked, too slow, shutting down) without waiting; the
        connection is cut if the close frame cannot be sent within ``wait`` seconds."""
        if self.closed:
            return
        self.closed = True
        self._queue.clear()
        self._closer = asyncio.get_running_loop().create_task(
            self._close(code, reason, wait), name="ws kick"
        )

    async def _close(self, code: int, reason: str, wait: float) -> None:
        if self._writer is not None:
            self._writer.cancel()
        try:
            async with asyncio.timeout(wait):
                await self.ws.close(code=code, message=reason.encode())
        except (TimeoutError, Exception):
            transport = self.request.transport
            if transport is not None:
                transport.abort()

    async def finish(self) -> None:
        self.closed = True
        for task in list(self.inflight):
            task.cancel()
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer


class WebSocketHub:
    def __init__(self, hub: Hub, auth: AuthService, views: Views) -> None:
        self._hub = hub
        self._auth = auth
        self._views = views
        self._conns: set[Connection] = set()
        self._unsubs: list[Any] = []

    def start(self) -> None:
        self._unsubs.append(self._hub.bus.listen_all(self._on_event))
        self._unsubs.append(self._auth.on_change(self._on_auth_change))

    async def close(self) -> None:
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        for conn in list(self._conns):
            conn.kick(1001, "hub stopping")
        await asyncio.sleep(0)

    def __len__(self) -> int:
        return len(self._conns)

    # -- fan-out -------------------------------------------------------------------------------
    def _locate(self, event: Event[Any]) -> tuple[str | None, str | None, Device | None]:
        """(device id, capability, the device if the event carries it) of an event."""
        t, data = event.type, event.data
        if t == STATE_CHANGED:
            path: str = data.path
            parts = path.split("/", 3)
            return data.device, parts[2] if len(parts) > 2 else None, None
        if t == DEVICE_EVENT:
            return data.device, data.path.split("/", 2)[1] if "/" in data.path else None, None
        if t == AVAILABILITY_CHANGED:
            return data.device_id, None, None
        if t == COMMAND_RESULT:
            target: str = data.target
            cap = target.split("/", 1)[-1].split(".", 1)[0]
            return data.device, cap, None
        if t in (DEVICE_ADDED, DEVICE_UPDATED, DEVICE_REMOVED):
            return data.id, None, data
        return getattr(data, "device_id", None), None, None

    def _on_event(self, event: Event[Any]) -> None:
        if not self._conns or event.type not in FORWARDED:
            return
        event_type: str = event.type
        device_id, capability, carried = self._locate(event)
        device = (
            carried
            if carried is not None
            else (self._hub.registry.get(device_id) if device_id is not None else None)
        )
        room_id = device.room_id if device is not None else getattr(event.data, "room_id", None)
        targets: list[tuple[Connection, int]] = []
        for conn in self._conns:
            who = conn.principal
            if who is None or conn.closed or not conn.subs:
                continue
            if who.user.is_guest:
                if event_type == NOTIFICATION:
                    data = event.data
                    if not self._views.notification_visible(
                        who, device_id, data.priority, data.audience
                    ):
                        continue
                elif (
                    device is None
                    or not self._views.visible(who, device)
                    or (capability is not None and not who.sees_capability(capability))
                ):
                    continue
            for sub in conn.subs.values():
                if sub.wants(event_type, device_id, room_id):
                    targets.append((conn, sub.id))
        if not targets:
            return
        encoded: dict[bool, str] = {}
        for conn, sub_id in targets:
            guest = conn.principal is not None and conn.principal.user.is_guest
            text = encoded.get(guest)
            if text is None:
                text = encoded[guest] = self._encode(event, guest)
            conn.send(f'{{"id":{sub_id},"type":"event","event":{text}}}')

    def _encode(self, event: Event[Any], guest: bool) -> str:
        if event.type in _DEVICE_VIEWS:
            data: Any = self._views.device_data(event.data, guest=guest)
        else:
            data = _jsonable(event.data)
        return dumps(
            {
                "type": str(event.type),
                "data": data,
                "time": event.when.isoformat(),
                "context": event.context.as_dict(),
            }
        )

    def _on_auth_change(self, change: AuthChange) -> None:
        for conn in list(self._conns):
            who = conn.principal
            if who is None:
                continue
            if (
                (change.kind == "user" and who.user.id == change.id)
                or (change.kind == "token" and who.token_id == change.id)
                or (change.kind == "session" and who.session_id == change.id)
            ):
                conn.kick(CLOSE_REVOKED, "signed out")

    # -- connections ---------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        if not same_origin(request):
            origin = request.headers.get("Origin", "")
            err = HubError("origin_forbidden", status=403, origin=origin)
            raise err
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=MAX_MESSAGE, compress=False)
        await ws.prepare(request)
        conn = Connection(ws, request)
        try:
            conn.principal = await self._authenticate(ws, request)
            if conn.principal is None:
                return ws
            conn.start()
            self._conns.add(conn)
            conn.send_json({"type": "auth_ok", "user": conn.principal.user.as_dict()})
            async for msg in ws:
                if conn.closed:
                    break
                if msg.type is WSMsgType.TEXT:
                    self._message(conn, msg.data)
                elif msg.type is WSMsgType.BINARY:
                    self._reply_error(conn, None, HubError("bad_request", detail="send text"))
        finally:
            self._conns.discard(conn)
            conn.subs.clear()
            await conn.finish()
            if not ws.closed:
                with contextlib.suppress(Exception):
                    await ws.close()
        return ws

    async def _authenticate(
        self, ws: web.WebSocketResponse, request: web.Request
    ) -> Principal | None:
        """The session cookie's user, or the user of the token in the first message. Writes
        straight to the socket: the connection's queue starts once it is authenticated."""
        cookie = request.cookies.get(COOKIE_NAME)
        if cookie:
            found = await self._auth.authenticate_session(cookie, request.remote)
            if found is not None:
                return found[0]
        await ws.send_str(dumps({"type": "auth_required"}))
        try:
            msg = await ws.receive(timeout=AUTH_TIMEOUT_S)
        except TimeoutError:
            msg = None
        token = None
        if msg is not None and msg.type is WSMsgType.TEXT:
            try:
                data = json.loads(msg.data)
            except ValueError:
                data = None
            if isinstance(data, dict) and data.get("type") == "auth":
                token = data.get("token")
        who = None
        if isinstance(token, str):
            who = await self._auth.authenticate_token(token, request.remote)
        if who is None:
            err = HubError("auth_invalid", status=401)
            with contextlib.suppress(Exception):
                await ws.send_str(dumps({"type": "auth_invalid", "error": error_body(err)}))
                await ws.close(code=CLOSE_AUTH_INVALID, message=b"auth invalid")
            return None
        return who

    # -- messages ------------------------------------------------------------------------------
    def _reply(self, conn: Connection, msg_id: Any, result: Any, success: bool = True) -> None:
        conn.send_json({"id": msg_id, "type": "result", "success": success, "result": result})

    def _reply_error(
        self, conn: Connection, msg_id: Any, err: HubError, result: Any = None
    ) -> None:
        out: dict[str, Any] = {"id": msg_id, "type": "result", "success": False}
        if result is not None:
            out["result"] = result
        out["error"] = error_body(err)
        conn.send_json(out)

    def _message(self, conn: Connection, text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError as err:
            self._reply_error(conn, None, HubError("bad_request", detail=f"not JSON: {err}"))
            return
        if not isinstance(data, dict):
            self._reply_error(conn, None, HubError("bad_request", detail="send a JSON object"))
            return
        msg_id = data.get("id")
        kind = data.get("type")
        if kind == "auth":  # already authenticated
            who = conn.principal
            if who is not None:
                conn.send_json({"type": "auth_ok", "user": who.user.as_dict()})
            return
        if not isinstance(msg_id, int) or isinstance(msg_id, bool):
            self._reply_error(
                conn, None, HubError("bad_request", detail="every message needs an integer id")
            )
            return
        try:
            if kind == "ping":
                conn.send_json({"id": msg_id, "type": "pong"})
            elif kind == "subscribe":
                self._subscribe(conn, msg_id, data)
            elif kind == "unsubscribe":
                sub = data.get("subscription")
                if not isinstance(sub, int) or conn.subs.pop(sub, None) is None:
                    raise HubError("bad_request", detail=f"no subscription {sub}")
                self._reply(conn, msg_id, None)
            elif kind == "get_devices":
                room = data.get("room")
                if room is not None and not isinstance(room, str):
                    raise HubError("bad_request", detail="room must be a room id")
                who = self._who(conn)
                devices = self._views.devices(who, self._views.visible_devices(who, room))
                self._reply(conn, msg_id, {"devices": devices})
            elif kind in ("command", "run_scene"):
                if len(conn.inflight) >= MAX_INFLIGHT:
                    raise HubError("rate_limited", status=429, seconds=1)
                task = asyncio.get_running_loop().create_task(
                    self._long(conn, msg_id, kind, data), name=f"ws {kind}"
                )
                conn.inflight.add(task)
                task.add_done_callback(conn.inflight.discard)
            else:
                raise HubError("bad_request", detail=f"unknown message type {kind!r}")
        except HubError as err:
            self._reply_error(conn, msg_id, err)

    def _who(self, conn: Connection) -> Principal:
        if conn.principal is None:
            raise HubError("auth_required", status=401)
        return conn.principal

    def _subscribe(self, conn: Connection, msg_id: int, data: dict[str, Any]) -> None:
        who = self._who(conn)
        if msg_id in conn.subs:
            raise HubError("bad_request", detail=f"subscription {msg_id} exists")
        if len(conn.subs) >= MAX_SUBSCRIPTIONS:
            raise HubError("bad_request", detail=f"at most {MAX_SUBSCRIPTIONS} subscriptions")
        devices = _id_set(data.get("devices"), "devices")
        rooms = _id_set(data.get("rooms"), "rooms")
        events = _id_set(data.get("events"), "events")
        registry = self._hub.registry
        for device_id in devices or ():
            device = registry.get(device_id)
            if device is None:
                raise HubError("unknown_device", status=404, device=device_id)
            if not self._views.visible(who, device):
                raise HubError("guest_forbidden", status=403, target=device_id)
        sub = Subscription(msg_id, devices, rooms, events)
        chosen = [
            d
            for d in self._views.visible_devices(who)
            if sub.devices is None
            and sub.rooms is None
            or (sub.devices is not None and d.id in sub.devices)
            or (sub.rooms is not None and d.room_id in sub.rooms)
        ]
        snapshot = {"devices": self._views.devices(who, chosen)}
        # The reply is queued before the subscription exists: its events come after it.
        self._reply(conn, msg_id, {"snapshot": snapshot})
        conn.subs[msg_id] = sub

    async def _long(self, conn: Connection, msg_id: int, kind: str, data: dict[str, Any]) -> None:
        try:
            who = self._who(conn)
            if kind == "run_scene":
                result = await run_scene_for(self._hub, who, data.get("scene"))
                self._reply(conn, msg_id, result)
                return
            outcome = await run_command(
                self._hub,
                self._auth,
                self._views,
                who,
                data.get("device"),
                data.get("target"),
                data.get("args"),
                pin=data.get("pin"),
                owner_confirmed=data.get("owner_confirmed", False),
            )
            result = outcome.as_dict()
            if outcome.ok:
                self._reply(conn, msg_id, result)
            else:
                err = HubError(outcome.code, status=403)
                err.zh, err.en = outcome.message_zh, outcome.message_en
                err.params["needs"] = outcome.needs
                self._reply_error(conn, msg_id, err, result)
        except HubError as err:
            self._reply_error(conn, msg_id, err)
        except asyncio.CancelledError:
            raise
        except Exception:
            _LOGGER.exception("WebSocket %s failed", kind)
            self._reply_error(conn, msg_id, HubError("bad_request", detail="internal error"))


def _jsonable(data: Any) -> Any:
    """An event payload as JSON-ready data: its ``as_dict()``, a dataclass's fields (enums as
    their values), or the value itself."""
    as_dict = getattr(data, "as_dict", None)
    if callable(as_dict):
        return as_dict()
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        return {
            f.name: (v.value if isinstance(v, Enum) else v)
            for f in dataclasses.fields(data)
            for v in (getattr(data, f.name),)
        }
    return data


def _id_set(value: Any, name: str) -> frozenset[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise HubError("bad_request", detail=f"{name} must be a list of ids")
    return frozenset(value)
