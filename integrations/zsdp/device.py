"""The device side of ZS-DP: a TCP endpoint that firmware simulators (and tests) build on.

``DeviceEndpoint`` accepts hub connections, runs the responder handshake, enforces the pairing
rules (window, one attempt at a time, lockout after repeated failures) and hands authenticated
requests to a ``DeviceHandler``. Nothing reaches the handler before the hub has proved it holds
the pairing code or a stored long-term key.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Protocol

from integrations.zsdp.crypto import SecureChannel
from integrations.zsdp.errors import (
    ConnectionClosedError,
    ErrorCode,
    HandshakeError,
    ProtocolError,
    ZsdpError,
)
from integrations.zsdp.handshake import (
    PROTOCOL_VERSION,
    DeviceHandshake,
    DeviceInfo,
    HandshakeResult,
    normalize_pairing_code,
)
from integrations.zsdp.messages import (
    Error,
    Event,
    Get,
    HandshakeMode,
    Invoke,
    Message,
    Report,
    Result,
    Set,
    Welcome,
    encode_message,
)
from integrations.zsdp.session import Session, read_frame
from integrations.zsdp.wire import DPValue, FrameKind, encode_frame

__all__ = ["DeviceEndpoint", "DeviceHandler", "KeyStore", "MemoryKeyStore"]

_LOGGER = logging.getLogger(__name__)

LOCKOUT_MAX = 3600.0
PAIRING_WINDOW = 600.0


class DeviceHandler(Protocol):
    """What the device does with authenticated requests. Raise ``ZsdpError`` to refuse one
    (e.g. ``ZsdpError(ErrorCode.READ_ONLY, dp=7)``); the hub receives it as an ERROR."""

    async def get(self, hub_id: str, dps: tuple[int, ...]) -> Mapping[int, DPValue]:
        """Current values of ``dps`` (all DPs when empty)."""
        ...

    async def set(self, hub_id: str, values: Mapping[int, DPValue]) -> None:
        """Validate all values first, then apply them; report changes with ``report()``."""
        ...

    async def invoke(
        self, hub_id: str, action: int, args: Mapping[int, DPValue]
    ) -> Mapping[int, DPValue]:
        """Run an action; returns its result fields."""
        ...


class KeyStore(Protocol):
    """Where the device keeps the long-term key of each paired hub (flash on real firmware).

    Called on the event loop: ``put`` must not block (a store that writes files should keep the
    key in memory and hand the write to a writer task or an executor).
    """

    def get(self, hub_id: str) -> bytes | None: ...

    def put(self, hub_id: str, key: bytes) -> None: ...

    def hub_ids(self) -> list[str]: ...


class MemoryKeyStore:
    """In-memory key slots; when full, pairing a new hub evicts the least recently paired."""

    def __init__(self, max_hubs: int = 8) -> None:
        self._max = max_hubs
        self._keys: OrderedDict[str, bytes] = OrderedDict()

    def get(self, hub_id: str) -> bytes | None:
        return self._keys.get(hub_id)

    def put(self, hub_id: str, key: bytes) -> None:
        self._keys.pop(hub_id, None)
        self._keys[hub_id] = key
        while len(self._keys) > self._max:
            self._keys.popitem(last=False)

    def hub_ids(self) -> list[str]:
        return list(self._keys)


class DeviceEndpoint:
    """Serves ZS-DP on a TCP port for one device."""

    def __init__(
        self,
        info: DeviceInfo,
        handler: DeviceHandler,
        *,
        pairing_code: str,
        key_store: KeyStore | None = None,
        pairing_open: bool | None = None,
        pairing_window: float | None = PAIRING_WINDOW,
        close_pairing_on_success: bool = True,
        on_pairing_change: Callable[[bool], None] | None = None,
        max_sessions: int = 4,
        handshake_timeout: float = 10.0,
        request_timeout: float = 5.0,
        max_pairing_failures: int = 5,
        pairing_lockout: float = 30.0,
        version: tuple[int, int] = PROTOCOL_VERSION,
    ) -> None:
        self.info = info
        self._handler = handler
        self._code = normalize_pairing_code(pairing_code)
        self._keys: KeyStore = key_store if key_store is not None else MemoryKeyStore()
        # By default a device nobody has paired with is open for pairing, as after power-up.
        self._pairing_open = not self._keys.hub_ids() if pairing_open is None else pairing_open
        self._pairing_window = pairing_window
        self._window_timer: asyncio.TimerHandle | None = None
        self._close_on_success = close_pairing_on_success
        self._on_pairing_change = on_pairing_change
        self._max_sessions = max_sessions
        self._handshake_timeout = handshake_timeout
        self._request_timeout = request_timeout
        self._max_failures = max_pairing_failures
        self._lockout = pairing_lockout
        self._version = version
        self._failures = 0
        self._locked_until = 0.0
        self._pairing_busy = False
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._sessions: dict[Session, str] = {}
        self.port = 0
        self.host = ""

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if self._pairing_open:
            self._arm_window_timer()
        self._server = await asyncio.start_server(self._on_client, host, port)
        sockname = self._server.sockets[0].getsockname()
        self.host, self.port = sockname[0], sockname[1]
        _LOGGER.info("zsdp device %s listening on %s:%d", self.info.device_id, host, self.port)

    async def stop(self) -> None:
        """Stop listening, say BYE to every hub and wait for all connection tasks to end."""
        self._cancel_window_timer()
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions):
            await session.close(ErrorCode.SHUTDOWN, "device stopping")
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> DeviceEndpoint:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- pairing window --------------------------------------------------------------------

    @property
    def pairing_open(self) -> bool:
        return self._pairing_open

    def open_pairing(self) -> None:
        """E.g. after the user holds the button; the mDNS TXT ``pair`` key should follow.
        The window closes by itself after ``pairing_window`` seconds (spec: 10 minutes)."""
        self._set_pairing(True)
        self._arm_window_timer()

    def close_pairing(self) -> None:
        self._set_pairing(False)

    def _set_pairing(self, value: bool) -> None:
        if not value:
            self._cancel_window_timer()
        if value != self._pairing_open:
            self._pairing_open = value
            if self._on_pairing_change is not None:
                self._on_pairing_change(value)

    def _arm_window_timer(self) -> None:
        # A timer handle rather than a task: nothing to await, cancelled by close/stop.
        self._cancel_window_timer()
        if self._pairing_window is not None:
            loop = asyncio.get_running_loop()
            self._window_timer = loop.call_later(self._pairing_window, self.close_pairing)

    def _cancel_window_timer(self) -> None:
        if self._window_timer is not None:
            self._window_timer.cancel()
            self._window_timer = None

    def _pairing_gate(self) -> None:
        if not self._pairing_open:
            raise HandshakeError(ErrorCode.PAIRING_CLOSED, "pairing is not open")
        now = time.monotonic()
        if now < self._locked_until:
            raise HandshakeError(
                ErrorCode.RATE_LIMITED,
                "too many failed pairing attempts",
                retry_after_ms=int((self._locked_until - now) * 1000) + 1,
            )
        if self._pairing_busy:
            raise HandshakeError(ErrorCode.BUSY, "another pairing is in progress")
        self._pairing_busy = True
        # Counted as failed now and forgiven on success: an attacker who learns the answer to one
        # guess and hangs up has still spent an attempt.
        self._failures += 1
        if self._failures >= self._max_failures:
            extra = self._failures - self._max_failures
            self._locked_until = now + min(self._lockout * 2**extra, LOCKOUT_MAX)

    # -- pushing to hubs -------------------------------------------------------------------

    @property
    def connected_hubs(self) -> list[str]:
        return list(self._sessions.values())

    async def report(self, values: Mapping[int, DPValue]) -> int:
        """Push changed DPs to every connected hub; returns how many hubs it was sent to."""
        msg = Report(dict(values))
        encode_message(msg)  # fail here, not per session, when the values are invalid
        sent = 0
        for session in list(self._sessions):
            try:
                await session.send(msg)
                sent += 1
            except ConnectionClosedError:
                pass
        return sent

    async def emit_event(
        self, event: int, fields: Mapping[int, DPValue] | None = None, timeout: float = 5.0
    ) -> int:
        """Send an event to every connected hub; returns how many acknowledged it."""
        msg = Event(event, dict(fields or {}))
        encode_message(msg)
        results = await asyncio.gather(
            *(session.request(msg, timeout) for session in list(self._sessions)),
            return_exceptions=True,
        )
        return sum(isinstance(r, Result) for r in results)

    # -- connections -----------------------------------------------------------------------

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        peer = str(writer.get_extra_info("peername"))
        session: Session | None = None
        try:
            if len(self._connections) > self._max_sessions:
                await self._refuse(writer, HandshakeError(ErrorCode.BUSY, "too many connections"))
                return
            session = await self._handshake(reader, writer, peer)
            if session is not None:
                await session.wait_closed()
        except asyncio.CancelledError:
            if session is not None:
                await session.close(ErrorCode.SHUTDOWN, "device stopping")
            raise
        finally:
            if session is not None:
                self._sessions.pop(session, None)
            writer.close()
            self._connections.discard(task)

    async def _refuse(self, writer: asyncio.StreamWriter, exc: ZsdpError) -> None:
        """Answer a failed handshake with a plaintext ERROR (nothing secret in it) and hang up."""
        versions = (self._version,) if exc.code == ErrorCode.VERSION_UNSUPPORTED else ()
        error = Error(
            exc.code,
            message=exc.message or None,
            retry_after_ms=exc.retry_after_ms,
            versions=versions,
        )
        try:
            writer.write(encode_frame(FrameKind.HANDSHAKE, encode_message(error)))
            await asyncio.wait_for(writer.drain(), 1.0)
        except (OSError, TimeoutError):
            pass

    async def _handshake(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str
    ) -> Session | None:
        gate_entered = False

        def gate() -> None:
            nonlocal gate_entered
            self._pairing_gate()
            gate_entered = True

        hs = DeviceHandshake(
            device_id=self.info.device_id,
            lookup_key=self._keys.get,
            pairing_code=self._code,
            pairing_gate=gate,
            version=self._version,
        )
        try:
            async with asyncio.timeout(self._handshake_timeout):
                frame = await read_frame(reader)
                if frame.kind is not FrameKind.HANDSHAKE:
                    raise ProtocolError(ErrorCode.NOT_PAIRED, "encrypted frame before handshake")
                reply = hs.on_hello(frame.payload)
                writer.write(encode_frame(FrameKind.HANDSHAKE, reply))
                await writer.drain()
                frame = await read_frame(reader)
                if frame.kind is not FrameKind.HANDSHAKE:
                    raise ProtocolError(ErrorCode.UNEXPECTED_MESSAGE, "encrypted frame for FINISH")
                result = hs.on_finish(frame.payload)
        except (HandshakeError, ProtocolError) as exc:
            hello = hs.hello
            who = f"{peer} (hub {hello.hub_id!r})" if hello is not None else peer
            _LOGGER.warning(
                "zsdp device %s: handshake from %s rejected: %s", self.info.device_id, who, exc
            )
            await self._refuse(writer, exc)
            return None
        except TimeoutError:
            _LOGGER.info("zsdp device %s: handshake from %s timed out", self.info.device_id, peer)
            await self._refuse(writer, HandshakeError(ErrorCode.HANDSHAKE_TIMEOUT, "too slow"))
            return None
        except (asyncio.IncompleteReadError, ConnectionError):
            if gate_entered:
                _LOGGER.warning(
                    "zsdp device %s: pairing attempt from %s abandoned after our reply "
                    "(counted as a failed attempt)",
                    self.info.device_id,
                    peer,
                )
            else:
                _LOGGER.info(
                    "zsdp device %s: %s hung up during handshake", self.info.device_id, peer
                )
            return None
        finally:
            if gate_entered:
                self._pairing_busy = False
        return self._open_session(reader, writer, result, peer)

    def _open_session(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        result: HandshakeResult,
        peer: str,
    ) -> Session:
        if result.mode is HandshakeMode.PAIR:
            assert result.keys.long_term_key is not None
            # Stored before WELCOME: a hub that got WELCOME can rely on the key being kept.
            self._keys.put(result.hub_id, result.keys.long_term_key)
            self._failures = 0
            self._locked_until = 0.0
            _LOGGER.info("zsdp device %s: paired with hub %r", self.info.device_id, result.hub_id)
            if self._close_on_success:
                self._set_pairing(False)
        channel = SecureChannel(result.keys.device_to_hub, result.keys.hub_to_device)
        info = self.info
        welcome = Welcome(vid=info.vid, pid=info.pid, fw=info.fw, model=info.model)
        writer.write(channel.seal(encode_message(welcome)))
        hub_id = result.hub_id

        async def on_request(msg: Message) -> Message:
            return await self._on_request(hub_id, msg)

        session = Session(
            reader,
            writer,
            channel,
            label=f"device {info.device_id} <- hub {hub_id} {peer}",
            request_handler=on_request,
            notification_handler=self._on_notification,
            idle_timeout=3 * result.heartbeat_ms / 1000,
            request_timeout=self._request_timeout,
        )
        self._sessions[session] = hub_id
        session.start()
        return session

    async def _on_request(self, hub_id: str, msg: Message) -> Message:
        match msg:
            case Get():
                return Result(dict(await self._handler.get(hub_id, msg.dps)))
            case Set():
                if msg.skipped:
                    raise ZsdpError(ErrorCode.BAD_TYPE, "unknown DP type", dp=msg.skipped[0])
                await self._handler.set(hub_id, msg.dps)
                return Result()
            case Invoke():
                if msg.skipped:
                    raise ZsdpError(ErrorCode.BAD_TYPE, "unknown argument type", dp=msg.skipped[0])
                return Result(dict(await self._handler.invoke(hub_id, msg.action, msg.args)))
            case _:
                raise ZsdpError(ErrorCode.UNEXPECTED_MESSAGE, f"{type(msg).__name__} to a device")

    def _on_notification(self, msg: Message) -> None:
        _LOGGER.debug(
            "zsdp device %s: ignoring %s from hub", self.info.device_id, type(msg).__name__
        )
