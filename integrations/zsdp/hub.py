"""The hub side of ZS-DP: ``HubConnection.connect`` pairs or resumes, then reads and writes DPs.

Pairing returns a ``LongTermKey`` for the caller to store (where is not this layer's concern);
later connections present that key instead of the pairing code. Reports and events pushed by the
device arrive on ``updates()`` (an async iterator) and/or an ``on_update`` callback; a caller that
only uses the callback passes ``queue_updates=False`` (the hub's links do: with a thousand devices
reporting every second, a queue and a task wake-up per report are measurable CPU).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass

from integrations.zsdp.crypto import SecureChannel
from integrations.zsdp.errors import (
    ConnectionClosedError,
    ErrorCode,
    HandshakeError,
    ProtocolError,
    ZsdpError,
)
from integrations.zsdp.handshake import (
    DEFAULT_HEARTBEAT_MS,
    PROTOCOL_VERSION,
    DeviceInfo,
    HubHandshake,
    LongTermKey,
)
from integrations.zsdp.messages import (
    Error,
    Event,
    Get,
    HandshakeMode,
    Invoke,
    Message,
    Ping,
    Report,
    Result,
    Set,
    Welcome,
    decode_message,
    encode_message,
)
from integrations.zsdp.session import Session, read_frame
from integrations.zsdp.wire import DPValue, FrameKind, encode_frame, frame_header

__all__ = ["HubConnection", "Update"]

_LOGGER = logging.getLogger(__name__)

Update = Report | Event
UPDATE_QUEUE_SIZE = 1024


@dataclass(frozen=True, slots=True)
class _Connected:
    session: Session
    device: DeviceInfo
    long_term_key: LongTermKey
    paired: bool
    version: tuple[int, int]


class HubConnection:
    """A live session with one device. Create it with ``await HubConnection.connect(...)``."""

    def __init__(
        self,
        connected: _Connected,
        on_update: Callable[[Update], None] | None = None,
        *,
        queue_updates: bool = True,
    ) -> None:
        self._session = connected.session
        self.device = connected.device
        self.long_term_key = connected.long_term_key
        self.paired = connected.paired  # True when this connection performed the pairing
        self.protocol_version = connected.version
        self._on_update = on_update
        self._queue_updates = queue_updates
        self._updates: asyncio.Queue[Update | None] = asyncio.Queue(UPDATE_QUEUE_SIZE)
        self.dropped_updates = 0
        self._session.closed.add_done_callback(lambda _: self._push(None))

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        device_id: str,
        credential: LongTermKey | str,
        *,
        hub_id: str | None = None,
        heartbeat_interval: float = DEFAULT_HEARTBEAT_MS / 1000,
        probe_interval: float | None = None,
        request_timeout: float = 5.0,
        handshake_timeout: float = 10.0,
        on_update: Callable[[Update], None] | None = None,
        queue_updates: bool = True,
        version: tuple[int, int] = PROTOCOL_VERSION,
    ) -> HubConnection:
        """Connect to a device and authenticate.

        ``credential`` is either the stored ``LongTermKey`` or the 8-digit pairing code (then
        ``hub_id`` is required: the device files the new key under it). Raises
        ``HandshakeError`` when the device refuses (wrong code, not paired, pairing closed,
        rate-limited, version) and ``ConnectionClosedError`` when the connection fails. With
        ``queue_updates=False`` updates go to ``on_update`` only and ``updates()`` just ends
        when the connection does. ``probe_interval`` (shorter than the heartbeat) lets a device
        that reports often be found dead sooner: see :class:`Session`.
        """
        if isinstance(credential, LongTermKey):
            hub_id = hub_id or credential.hub_id
        elif hub_id is None:
            raise ValueError("pairing needs the hub_id the device will know this hub by")
        if not 0.1 <= heartbeat_interval <= 600:
            raise ValueError("heartbeat_interval must be 0.1-600 s (HELLO carries 100-600000 ms)")
        heartbeat_ms = round(heartbeat_interval * 1000)
        hs = HubHandshake(
            hub_id=hub_id,
            device_id=device_id,
            credential=credential,
            heartbeat_ms=heartbeat_ms,
            version=version,
        )
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(handshake_timeout):
                reader, writer = await asyncio.open_connection(host, port)
                writer.write(encode_frame(FrameKind.HANDSHAKE, hs.hello()))
                await writer.drain()
                frame = await read_frame(reader)
                if frame.kind is not FrameKind.HANDSHAKE:
                    raise ProtocolError(ErrorCode.UNEXPECTED_MESSAGE, "encrypted HELLO_REPLY")
                try:
                    finish, result = hs.on_reply(frame.payload)
                except HandshakeError as exc:
                    await _tell_device(writer, frame.payload, exc)
                    raise
                writer.write(encode_frame(FrameKind.HANDSHAKE, finish))
                await writer.drain()
                channel = SecureChannel(result.keys.hub_to_device, result.keys.device_to_hub)
                welcome = await _read_welcome(reader, channel)
        except TimeoutError:
            await _drop(writer)
            raise HandshakeError(ErrorCode.HANDSHAKE_TIMEOUT, "handshake timed out") from None
        except (asyncio.IncompleteReadError, OSError) as exc:
            await _drop(writer)
            raise ConnectionClosedError(
                ErrorCode.CONNECTION_LOST, f"connection to {host}:{port} failed: {exc!r}"
            ) from exc
        except (ZsdpError, asyncio.CancelledError):
            await _drop(writer)
            raise
        if result.mode is HandshakeMode.PAIR:
            assert result.keys.long_term_key is not None
            ltk = LongTermKey(device_id, hub_id, result.keys.long_term_key)
        else:
            assert isinstance(credential, LongTermKey)
            ltk = credential
        device = DeviceInfo(device_id, welcome.vid, welcome.pid, welcome.fw, welcome.model)
        conn: HubConnection | None = None

        def on_notification(msg: Message) -> None:
            if conn is not None and isinstance(msg, Report):
                conn._deliver(msg)

        async def on_request(msg: Message) -> Message:
            if conn is not None and isinstance(msg, Event):
                conn._deliver(msg)
                return Result()
            raise ZsdpError(ErrorCode.UNEXPECTED_MESSAGE, f"{type(msg).__name__} to a hub")

        session = Session(
            reader,
            writer,
            channel,
            label=f"hub {hub_id} -> device {device_id} {host}:{port}",
            request_handler=on_request,
            notification_handler=on_notification,
            idle_timeout=3 * heartbeat_interval,
            ping_interval=heartbeat_interval,
            probe_interval=probe_interval,
            request_timeout=request_timeout,
        )
        conn = cls(
            _Connected(
                session,
                device,
                ltk,
                result.mode is HandshakeMode.PAIR,
                (result.major, result.minor),
            ),
            on_update,
            queue_updates=queue_updates,
        )
        session.start()
        return conn

    # -- requests --------------------------------------------------------------------------

    async def get(
        self, dps: Iterable[int] = (), timeout: float | None = None
    ) -> dict[int, DPValue]:
        """Read DPs (all of them when ``dps`` is empty)."""
        result = await self._session.request(Get(tuple(dps)), timeout)
        return dict(result.values)

    async def set(self, values: Mapping[int, DPValue], timeout: float | None = None) -> None:
        """Write DPs. Success means the device accepted them; its REPORT confirms the change."""
        await self._session.request(Set(dict(values)), timeout)

    async def invoke(
        self,
        action: int,
        args: Mapping[int, DPValue] | None = None,
        timeout: float | None = None,
    ) -> dict[int, DPValue]:
        result = await self._session.request(Invoke(action, dict(args or {})), timeout)
        return dict(result.values)

    async def ping(self, timeout: float | None = None) -> float:
        """Round-trip time in seconds."""
        start = time.perf_counter()
        await self._session.request(Ping(), timeout)
        return time.perf_counter() - start

    # -- updates and life ------------------------------------------------------------------

    async def updates(self) -> AsyncIterator[Update]:
        """Reports and events in arrival order; ends when the connection closes. One consumer."""
        while True:
            update = await self._updates.get()
            if update is None:
                return
            yield update

    def _deliver(self, update: Update) -> None:
        if self._on_update is not None:
            try:
                self._on_update(update)
            except Exception:
                _LOGGER.exception("zsdp %s: on_update callback failed", self._session.label)
        if self._queue_updates:
            self._push(update)

    def _push(self, update: Update | None) -> None:
        if self._updates.full():
            # Nobody is draining updates(): keep the newest state, count what was lost.
            self._updates.get_nowait()
            self.dropped_updates += 1
        self._updates.put_nowait(update)

    @property
    def closed(self) -> asyncio.Future[ZsdpError | None]:
        """Resolves when the connection ends: None after ``close()``, else the reason."""
        return self._session.closed

    @property
    def is_closed(self) -> bool:
        return self._session.is_closed

    async def wait_closed(self) -> None:
        """Wait until the connection has ended (does not close it)."""
        await self._session.wait_closed()

    async def close(self) -> None:
        await self._session.close()

    async def __aenter__(self) -> HubConnection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def _read_welcome(reader: asyncio.StreamReader, channel: SecureChannel) -> Welcome:
    frame = await read_frame(reader)
    if frame.kind is FrameKind.HANDSHAKE:
        # The device refused our FINISH (it answers in plaintext: it has no session with us).
        msg = decode_message(frame.payload)
        if isinstance(msg, Error):
            raise HandshakeError(msg.code, msg.message or "refused by the device")
        raise ProtocolError(ErrorCode.UNEXPECTED_MESSAGE, f"{type(msg).__name__} for WELCOME")
    body = channel.open(frame_header(frame.kind, len(frame.payload)), frame.payload)
    msg = decode_message(body)
    if not isinstance(msg, Welcome):
        raise ProtocolError(ErrorCode.UNEXPECTED_MESSAGE, f"{type(msg).__name__} for WELCOME")
    return msg


async def _tell_device(writer: asyncio.StreamWriter, reply: bytes, exc: HandshakeError) -> None:
    """Our check of the device failed: say so in plaintext, so the device can log and count it."""
    if isinstance(decode_message(reply), Error):
        return  # it was the device refusing us
    error = Error(exc.code, message=exc.message or None)
    writer.write(encode_frame(FrameKind.HANDSHAKE, encode_message(error)))
    with contextlib.suppress(OSError):
        await writer.drain()


async def _drop(writer: asyncio.StreamWriter | None) -> None:
    if writer is None:
        return
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        async with asyncio.timeout(1.0):
            await writer.wait_closed()
