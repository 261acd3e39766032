"""``ZshubClient``: the hub's WebSocket API for integrators, in asyncio.

::

    async with ZshubClient("http://192.168.1.20:8470", token) as hub:
        devices = await hub.devices()
        await hub.command("lamp-1", "main/brightness.set_level", {"level": 40})
        await hub.run_scene("good_night")
        async for event in hub.subscribe(rooms=["kitchen"]):
            print(event["type"], event["data"])

The connection comes back by itself after a network hiccup or a hub restart (with a growing
pause, up to 30 s); live subscriptions are renewed and each yields a fresh ``snapshot`` event
first. Requests in flight when the connection drops fail with :class:`ConnectionLostError`
and are never resent: a command such as an unlock must not run twice behind the user's back.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Any

import aiohttp

__all__ = [
    "AuthenticationError",
    "ConnectionLostError",
    "Subscription",
    "ZshubClient",
    "ZshubError",
]

_LOGGER = logging.getLogger(__name__)


class ZshubError(Exception):
    """The hub refused or failed a request: ``code``, messages in zh and en, ``needs``
    (``pin`` / ``owner_confirmation`` when the user can still go ahead) and, for commands,
    the hub's ``result``."""

    def __init__(
        self,
        code: str,
        message_zh: str = "",
        message_en: str = "",
        *,
        needs: str | None = None,
        result: Mapping[str, Any] | None = None,
    ) -> None:
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.needs = needs
        self.result = dict(result) if result is not None else None
        super().__init__(f"{code}: {message_en or message_zh}")


class AuthenticationError(ZshubError):
    """The token was refused (wrong, revoked, or its user disabled)."""


class ConnectionLostError(ZshubError):
    """The connection dropped before the hub answered."""

    def __init__(self) -> None:
        super().__init__(
            "connection_lost", "与网关的连接已断开", "The connection to the hub was lost"
        )


class Subscription:
    """An async iterator of events (``{"type", "data", "time", "context"}``); the first item,
    and the first after every reconnect, is ``{"type": "snapshot", "data": {"devices": […]}}``.
    """

    def __init__(
        self,
        client: ZshubClient,
        devices: Sequence[str] | None,
        rooms: Sequence[str] | None,
        events: Sequence[str] | None,
        max_queue: int,
    ) -> None:
        self._client = client
        self.filter: dict[str, Any] = {
            k: list(v)
            for k, v in (("devices", devices), ("rooms", rooms), ("events", events))
            if v is not None
        }
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(max_queue)
        self.id: int | None = None  # the hub's subscription id on the current connection
        self.closed = False
        self.dropped = 0  # events dropped because the consumer fell behind

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        await self._client._start_subscription(self)
        try:
            while True:
                item = await self.queue.get()
                if item is None:
                    return
                yield item
        finally:
            await self.close()

    def push(self, item: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        await self._client._end_subscription(self)
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)


class ZshubClient:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        session: aiohttp.ClientSession | None = None,
        reconnect: bool = True,
        request_timeout: float = 30.0,
        max_backoff: float = 30.0,
    ) -> None:
        base = url.rstrip("/")
        if base.startswith("http"):
            base = "ws" + base[4:]
        self.ws_url = base if base.endswith("/api/ws") else base + "/api/ws"
        self._token = token
        self._session = session
        self._own_session = session is None
        self._reconnect = reconnect
        self._timeout = request_timeout
        self._max_backoff = max_backoff
        self._ids = itertools.count(1)
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._subs: list[Subscription] = []
        self._by_id: dict[int, Subscription] = {}
        self._subscribing: dict[int, Subscription] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._reader: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._closing = False
        self.user: dict[str, Any] | None = None
        self.reconnects = 0

    # -- lifecycle -----------------------------------------------------------------------------
    async def __aenter__(self) -> ZshubClient:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def connect(self) -> None:
        """Connect and authenticate; raises :class:`AuthenticationError` for a bad token."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            await self._open()
        except BaseException:
            if self._own_session:
                await self._session.close()
                self._session = None
            raise
        self._reader = asyncio.get_running_loop().create_task(self._run(), name="zshub reader")

    async def close(self) -> None:
        self._closing = True
        for sub in list(self._subs):
            sub.closed = True
            with contextlib.suppress(asyncio.QueueFull):
                sub.queue.put_nowait(None)
        self._subs.clear()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._fail_pending()
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def _open(self) -> None:
        assert self._session is not None
        ws = await self._session.ws_connect(self.ws_url, heartbeat=30.0)
        try:
            hello = await ws.receive_json(timeout=self._timeout)
            if hello.get("type") == "auth_required":
                await ws.send_json({"type": "auth", "token": self._token})
                hello = await ws.receive_json(timeout=self._timeout)
            if hello.get("type") != "auth_ok":
                error = hello.get("error") or {}
                message = error.get("message") or {}
                raise AuthenticationError(
                    error.get("code", "auth_invalid"), message.get("zh", ""), message.get("en", "")
                )
        except BaseException:
            await ws.close()
            raise
        self.user = hello.get("user")
        self._ws = ws
        self._connected.set()

    async def _run(self) -> None:
        backoff = 0.5
        while not self._closing:
            ws = self._ws
            if ws is not None:
                await self._resubscribe()
                backoff = 0.5
                await self._read(ws)
            self._connected.clear()
            self._ws = None
            self._by_id.clear()
            self._fail_pending()
            if self._closing or not self._reconnect:
                break
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff)
            try:
                await self._open()
                self.reconnects += 1
            except AuthenticationError:
                _LOGGER.error("The hub refused the token; not reconnecting")
                break
            except (aiohttp.ClientError, OSError, TimeoutError) as err:
                _LOGGER.info("Reconnecting to %s failed: %s", self.ws_url, err)
        for sub in self._subs:
            with contextlib.suppress(asyncio.QueueFull):
                sub.queue.put_nowait(None)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            try:
                data = json.loads(msg.data)
            except ValueError:
                continue
            kind = data.get("type")
            if kind == "event":
                sub = self._by_id.get(data.get("id"))
                if sub is not None:
                    sub.push(data["event"])
            elif kind in ("result", "pong"):
                sub = self._subscribing.pop(data.get("id"), None)
                if sub is not None and data.get("success") and not sub.closed:
                    # Here, not in the waiting task: no event may overtake the snapshot.
                    sub.id = int(data["id"])
                    self._by_id[sub.id] = sub
                    sub.push({"type": "snapshot", "data": data["result"]["snapshot"]})
                future = self._pending.pop(data.get("id"), None)
                if future is not None and not future.done():
                    future.set_result(data)

    def _fail_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(ConnectionLostError())

    # -- requests ------------------------------------------------------------------------------
    async def _request(
        self, message: dict[str, Any], subscription: Subscription | None = None
    ) -> dict[str, Any]:
        """Send one message and wait for its reply (the raw ``result`` message)."""
        if self._closing:
            raise ConnectionLostError()
        await asyncio.wait_for(self._connected.wait(), self._timeout)
        ws = self._ws
        if ws is None:
            raise ConnectionLostError()
        msg_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        if subscription is not None:
            self._subscribing[msg_id] = subscription
        try:
            await ws.send_json({**message, "id": msg_id})
            return await asyncio.wait_for(future, self._timeout)
        except (ConnectionError, aiohttp.ClientError) as err:
            raise ConnectionLostError() from err
        finally:
            self._pending.pop(msg_id, None)
            self._subscribing.pop(msg_id, None)

    async def _call(self, message: dict[str, Any]) -> Any:
        reply = await self._request(message)
        if reply.get("success") is False:
            error = reply.get("error") or {}
            text = error.get("message") or {}
            raise ZshubError(
                error.get("code", "error"),
                text.get("zh", ""),
                text.get("en", ""),
                needs=error.get("needs"),
                result=reply.get("result"),
            )
        return reply.get("result")

    async def ping(self) -> float:
        """Round trip to the hub in seconds."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        await self._request({"type": "ping"})
        return loop.time() - started

    async def devices(self, room: str | None = None) -> list[dict[str, Any]]:
        """Devices you may see, with profile, state and availability."""
        message: dict[str, Any] = {"type": "get_devices"}
        if room is not None:
            message["room"] = room
        result = await self._call(message)
        devices: list[dict[str, Any]] = result["devices"]
        return devices

    async def command(
        self,
        device: str,
        target: str,
        args: Mapping[str, Any] | None = None,
        *,
        pin: str | None = None,
        owner_confirmed: bool = False,
    ) -> dict[str, Any]:
        """Run ``component/capability.command`` on a device and wait for the device to confirm.
        Returns the result (``status`` confirmed or sent); raises :class:`ZshubError` when it
        was refused or failed (``needs == "pin"``: call again with the user's ``pin``)."""
        message: dict[str, Any] = {
            "type": "command",
            "device": device,
            "target": target,
            "args": dict(args or {}),
        }
        if pin is not None:
            message["pin"] = pin
        if owner_confirmed:
            message["owner_confirmed"] = True
        result: dict[str, Any] = await self._call(message)
        return result

    async def run_scene(self, scene: str) -> dict[str, Any]:
        """Apply a scene; returns what each device did."""
        result: dict[str, Any] = await self._call({"type": "run_scene", "scene": scene})
        return result

    def subscribe(
        self,
        *,
        devices: Sequence[str] | None = None,
        rooms: Sequence[str] | None = None,
        events: Sequence[str] | None = None,
        max_queue: int = 10_000,
    ) -> Subscription:
        """Events for some devices and/or rooms (all you may see when neither is given),
        optionally only some event types (``state_changed``, ``device_event`` …)."""
        return Subscription(self, devices, rooms, events, max_queue)

    # -- subscriptions -------------------------------------------------------------------------
    async def _start_subscription(self, sub: Subscription) -> None:
        self._subs.append(sub)
        await self._send_subscribe(sub)

    async def _send_subscribe(self, sub: Subscription) -> None:
        """Subscribe on the current connection (the reader files the snapshot and events)."""
        reply = await self._request({"type": "subscribe", **sub.filter}, subscription=sub)
        if reply.get("success") is False:
            if sub in self._subs:
                self._subs.remove(sub)
            error = reply.get("error") or {}
            text = error.get("message") or {}
            raise ZshubError(error.get("code", "error"), text.get("zh", ""), text.get("en", ""))

    async def _resubscribe(self) -> None:
        for sub in list(self._subs):
            if sub.closed:
                continue
            # A task: the reader must be running to receive the reply.
            task = asyncio.get_running_loop().create_task(self._renew(sub), name="zshub resub")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _renew(self, sub: Subscription) -> None:
        try:
            await self._send_subscribe(sub)
        except (ZshubError, TimeoutError) as err:
            _LOGGER.warning("Could not renew a subscription: %s", err)

    async def _end_subscription(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
        if sub.id is not None and self._by_id.pop(sub.id, None) is sub and self.connected:
            with contextlib.suppress(ZshubError, TimeoutError):
                await self._call({"type": "unsubscribe", "subscription": sub.id})
