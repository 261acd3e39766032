"""One established ZS-DP session over an asyncio stream, used by the hub and by devices.

After the handshake both ends are symmetric: each can send requests (correlated to responses by
``msg_id``), responses and notifications; each runs a liveness check and closes on silence. A
frame that fails its counter, tag or decoding ends the session: the peer is either broken or
under attack, and carrying on would mean trusting it. Requests from the peer are executed one at
a time in arrival order (a later SET never overtakes an earlier one); PING is answered at once so
a slow command does not look like a dead link.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import replace

from integrations.zsdp.crypto import MAX_BODY, SecureChannel
from integrations.zsdp.errors import (
    ConnectionClosedError,
    ErrorCode,
    ProtocolError,
    RemoteError,
    RequestTimeoutError,
    ZsdpError,
)
from integrations.zsdp.messages import (
    Bye,
    Error,
    Event,
    Get,
    Invoke,
    Message,
    Ping,
    Report,
    Result,
    Set,
    UnknownMessage,
    decode_message,
    encode_message,
    is_notification,
    is_request,
    is_response,
)
from integrations.zsdp.wire import HEADER_LEN, Frame, FrameKind, parse_header

__all__ = [
    "NotificationHandler",
    "RequestHandler",
    "Session",
    "read_frame",
]

_LOGGER = logging.getLogger(__name__)

RequestHandler = Callable[[Message], Awaitable[Message]]
NotificationHandler = Callable[[Message], None]

BYE_TIMEOUT = 1.0
MAX_MSG_ID = 0xFFFF
MAX_OUTSTANDING = 8


async def read_frame(reader: asyncio.StreamReader) -> Frame:
    """Read one frame; the length is checked before the payload is read."""
    kind, length = parse_header(await reader.readexactly(HEADER_LEN))
    return Frame(kind, await reader.readexactly(length))


def _error_from(exc: ZsdpError, msg_id: int) -> Error:
    dp = exc.dp if exc.dp is not None and 1 <= exc.dp <= 255 else None
    return Error(
        code=exc.code if 0 <= exc.code <= 0xFFFF else ErrorCode.DEVICE_FAILURE,
        dp=dp,
        message=exc.message or None,
        retry_after_ms=exc.retry_after_ms,
        msg_id=msg_id,
    )


class Session:
    """An authenticated, encrypted ZS-DP connection (either side)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        channel: SecureChannel,
        *,
        label: str,
        request_handler: RequestHandler,
        notification_handler: NotificationHandler,
        idle_timeout: float,
        ping_interval: float | None = None,
        probe_interval: float | None = None,
        request_timeout: float = 5.0,
        max_outstanding: int = MAX_OUTSTANDING,
        max_queued_requests: int = 16,
    ) -> None:
        self.label = label
        self._reader = reader
        self._writer = writer
        self._channel = channel
        self._request_handler = request_handler
        self._notification_handler = notification_handler
        self._idle_timeout = idle_timeout
        self._ping_interval = ping_interval
        # A peer that talks more often than this and then goes silent for this long is pinged,
        # and closed after three such periods without a word, whatever the (longer) heartbeat.
        self._probe_interval = probe_interval
        self._rx_gap = float("inf")  # time between the last two frames received
        self._probed_at = 0.0
        self._request_timeout = request_timeout
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[Message] = asyncio.Queue(max_queued_requests)
        self._pending: dict[int, asyncio.Future[Message]] = {}
        # Flow control: at most this many of our requests unanswered, so a peer that queues the
        # spec's minimum never has to answer BUSY to a well-behaved sender.
        self._window = asyncio.Semaphore(max_outstanding)
        self._ping_ids: set[int] = set()
        self._next_id = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._finished = asyncio.Event()
        self._last_rx = self._last_tx = self._loop.time()
        # Resolved when the session ends: None after a local close(), else why it ended.
        self.closed: asyncio.Future[ZsdpError | None] = self._loop.create_future()

    @property
    def is_closed(self) -> bool:
        return self._closing

    async def wait_closed(self) -> None:
        """Wait until the session has ended and all its tasks are gone (does not close it)."""
        await self._finished.wait()

    def start(self) -> None:
        # Two long-lived tasks, kept here and cancelled (then awaited) by _finish; liveness is
        # checked by the loop's shared sweeper (one timer for every session, not a task each).
        for coro in (self._read_loop(), self._work_loop()):
            self._tasks.add(self._loop.create_task(coro, name=f"zsdp {self.label}"))
        _sweeper(self._loop).add(self)

    # -- sending ---------------------------------------------------------------------------

    async def send(self, msg: Message) -> None:
        """Encrypt and write one message as it is (its msg_id included)."""
        if self._closing or self._writer.is_closing():
            raise ConnectionClosedError(ErrorCode.CONNECTION_LOST, "session is closed")
        await self._write(msg)

    async def _write(self, msg: Message) -> None:
        # Sealing and writing happen without an await in between, so frames reach the socket in
        # counter order however many tasks send at once.
        frame = self._channel.seal(encode_message(msg))
        self._writer.write(frame)
        self._last_tx = self._loop.time()
        try:
            await self._writer.drain()
        except ConnectionError as exc:
            raise ConnectionClosedError(ErrorCode.CONNECTION_LOST, str(exc)) from exc

    def _allocate_id(self) -> int:
        for _ in range(MAX_MSG_ID):
            self._next_id = self._next_id % MAX_MSG_ID + 1  # 1..65535; 0 is for unsolicited
            if self._next_id not in self._pending and self._next_id not in self._ping_ids:
                return self._next_id
        raise ZsdpError(ErrorCode.BUSY, "no free message id")

    async def request(
        self,
        msg: Get | Set | Invoke | Ping | Event | UnknownMessage,
        timeout: float | None = None,
    ) -> Result:
        """Send a request and wait for its RESULT; an ERROR answer raises ``RemoteError``.

        An ``UnknownMessage`` with a request type code sends a type this module does not model
        (a newer minor version's request, or a vendor experiment).
        """
        if isinstance(msg, UnknownMessage) and not is_request(msg.type_code):
            raise ValueError(f"type 0x{msg.type_code:02x} is not a request type")
        msg_id = 0
        try:
            async with asyncio.timeout(timeout or self._request_timeout), self._window:
                msg_id = self._allocate_id()
                future: asyncio.Future[Message] = self._loop.create_future()
                self._pending[msg_id] = future
                await self.send(replace(msg, msg_id=msg_id))
                response = await future
        except TimeoutError:
            raise RequestTimeoutError(
                ErrorCode.REQUEST_TIMEOUT, f"no answer to {type(msg).__name__}"
            ) from None
        finally:
            self._pending.pop(msg_id, None)
        if isinstance(response, Error):
            raise RemoteError(
                response.code,
                response.message or "",
                dp=response.dp,
                retry_after_ms=response.retry_after_ms,
            )
        if not isinstance(response, Result):
            raise ProtocolError(
                ErrorCode.UNSUPPORTED_MESSAGE, f"unknown response type to {type(msg).__name__}"
            )
        return response

    # -- closing ---------------------------------------------------------------------------

    async def close(self, code: int = ErrorCode.SHUTDOWN, message: str | None = None) -> None:
        """Say BYE and close; waits until every task of the session has ended."""
        await self._finish(None, bye=Bye(code, message))

    async def _finish(self, reason: ZsdpError | None, bye: Bye | None) -> None:
        if self._closing:
            # Someone is already closing; "closed" must mean closed for this caller too.
            if asyncio.current_task() not in self._tasks:
                await self._finished.wait()
            return
        self._closing = True
        try:
            if bye is not None and not self._writer.is_closing():
                with contextlib.suppress(ZsdpError, OSError, TimeoutError):
                    async with asyncio.timeout(BYE_TIMEOUT):
                        await self._write(bye)
            if not self.closed.done():
                self.closed.set_result(reason)
            code = reason.code if reason is not None else ErrorCode.SHUTDOWN
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionClosedError(code, "session closed"))
            self._writer.close()
            current = asyncio.current_task()
            others = [t for t in self._tasks if t is not current]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
            try:
                async with asyncio.timeout(BYE_TIMEOUT):
                    await self._writer.wait_closed()
            except (OSError, TimeoutError):
                self._writer.transport.abort()
        finally:
            self._finished.set()

    # -- receiving -------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        read_exactly = self._reader.readexactly
        try:
            while True:
                header = await read_exactly(HEADER_LEN)
                kind, length = parse_header(header)
                if kind is not FrameKind.SECURE:
                    raise ProtocolError(ErrorCode.UNEXPECTED_MESSAGE, "plaintext frame in session")
                # The header as read is the AEAD's associated data: no need to build it again.
                body = self._channel.open(header, await read_exactly(length))
                now = self._loop.time()
                self._rx_gap = now - self._last_rx
                self._last_rx = now
                await self._dispatch(decode_message(body))
        except ProtocolError as exc:
            _LOGGER.warning("zsdp %s: rejected frame, closing: %s", self.label, exc)
            await self._finish(exc, bye=Bye(exc.code, exc.message or None))
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            _LOGGER.info("zsdp %s: connection lost (%s)", self.label, type(exc).__name__)
            await self._finish(
                ConnectionClosedError(ErrorCode.CONNECTION_LOST, "connection lost"), bye=None
            )
        except _PeerBye as bye:
            _LOGGER.info("zsdp %s: peer closed the session: %s", self.label, bye.error)
            await self._finish(bye.error, bye=None)
        except ConnectionClosedError as exc:
            await self._finish(exc, bye=None)
        except Exception as exc:  # a bug here must still end the session, not leave it half-alive
            _LOGGER.exception("zsdp %s: session failed", self.label)
            await self._finish(ZsdpError(ErrorCode.CONNECTION_LOST, repr(exc)), bye=None)

    async def _dispatch(self, msg: Message) -> None:
        if type(msg) is Report:  # most frames, by far
            try:
                self._notification_handler(msg)
            except Exception:
                _LOGGER.exception("zsdp %s: notification handler failed", self.label)
            return
        type_code = msg.type_code if isinstance(msg, UnknownMessage) else None
        if isinstance(msg, Result | Error) or (type_code is not None and is_response(type_code)):
            self._on_response(msg)
        elif isinstance(msg, Ping):
            await self.send(Result(msg_id=msg.msg_id))
        elif isinstance(msg, Get | Set | Invoke | Event) or (
            type_code is not None and is_request(type_code)
        ):
            try:
                self._queue.put_nowait(msg)
            except asyncio.QueueFull:
                await self.send(
                    Error(ErrorCode.BUSY, message="too many requests", msg_id=msg.msg_id)
                )
        elif isinstance(msg, Bye):
            raise _PeerBye(ConnectionClosedError(msg.code, msg.message or "peer said goodbye"))
        elif isinstance(msg, Report) or (type_code is not None and is_notification(type_code)):
            try:
                self._notification_handler(msg)
            except Exception:
                _LOGGER.exception("zsdp %s: notification handler failed", self.label)
        else:  # handshake messages have no place in a session
            raise ProtocolError(ErrorCode.UNEXPECTED_MESSAGE, f"{type(msg).__name__} in session")

    def _on_response(self, msg: Message) -> None:
        if msg.msg_id in self._ping_ids:
            self._ping_ids.discard(msg.msg_id)
            return
        future = self._pending.get(msg.msg_id)
        if future is None or future.done():
            _LOGGER.debug("zsdp %s: late or unknown response %d", self.label, msg.msg_id)
            return
        future.set_result(msg)

    async def _work_loop(self) -> None:
        while True:
            msg = await self._queue.get()
            response: Message
            try:
                if isinstance(msg, UnknownMessage):
                    raise ZsdpError(ErrorCode.UNSUPPORTED_MESSAGE, f"type 0x{msg.type_code:02x}")
                response = replace(await self._request_handler(msg), msg_id=msg.msg_id)
                # An answer that cannot be encoded or does not fit one frame becomes an ERROR.
                if len(encode_message(response)) > MAX_BODY:
                    raise ZsdpError(ErrorCode.DEVICE_FAILURE, "answer does not fit one frame")
            except ZsdpError as exc:
                response = _error_from(exc, msg.msg_id)
            except Exception:
                _LOGGER.exception("zsdp %s: request handler failed", self.label)
                response = Error(ErrorCode.DEVICE_FAILURE, msg_id=msg.msg_id)
            try:
                await self.send(response)
            except ZsdpError:
                return  # the session is closing; _finish reports why

    @property
    def liveness_tick(self) -> float:
        """How often this session's silence must be looked at."""
        period = min(self._idle_timeout, self._ping_interval or self._idle_timeout)
        if self._probe_interval is not None:
            period = min(period, self._probe_interval)
        return period / 4

    def check_liveness(self, now: float) -> bool:
        """Called by the sweeper: close a silent session, ping when we have been quiet.
        Returns False once the session no longer needs checking."""
        if self._closing:
            return False
        silent = now - self._last_rx
        probe = self._probe_interval
        # A peer that talked more often than the probe interval and fell silent.
        lapsed = probe is not None and self._rx_gap < probe and silent >= probe
        if silent >= self._idle_timeout or (lapsed and silent >= 3 * (probe or 0.0)):
            _LOGGER.warning("zsdp %s: nothing received for %.1f s, closing", self.label, silent)
            error = ZsdpError(ErrorCode.HEARTBEAT_TIMEOUT, "peer silent")
            # Kept in _tasks like the loops: _finish leaves the task it runs in alone.
            self._tasks.add(
                self._loop.create_task(
                    self._finish(error, bye=Bye(ErrorCode.HEARTBEAT_TIMEOUT)),
                    name=f"zsdp {self.label} silent",
                )
            )
            return False
        quiet_us = self._ping_interval is not None and now - self._last_tx >= self._ping_interval
        probing = lapsed and now - self._probed_at >= (probe or 0.0)
        if quiet_us or probing:
            if self._writer.is_closing():
                return False
            if probing:
                self._probed_at = now
            # The answer only refreshes _last_rx; nobody awaits it. Written without waiting
            # for the buffer to drain: a ping is tiny, and a peer that stopped reading is
            # caught by the silence check above.
            if len(self._ping_ids) > 8:
                self._ping_ids.clear()
            msg_id = self._allocate_id()
            self._ping_ids.add(msg_id)
            self._writer.write(self._channel.seal(encode_message(Ping(msg_id))))
            self._last_tx = now
        return True


class _Sweeper:
    """The liveness check of every session on one event loop, from one timer.

    A timer or task per session costs a wake-up (a heap push and pop, a task step) per session
    per tick: with 1,000 devices that was an eighth of the hub's busy time. One pass over the
    sessions' two time stamps costs a fraction of a microsecond each.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._sessions: set[Session] = set()
        self._handle: asyncio.TimerHandle | None = None
        self._tick = 0.0

    def add(self, session: Session) -> None:
        self._sessions.add(session)
        tick = max(session.liveness_tick, _MIN_TICK)
        if self._handle is None or tick < self._tick:
            self._tick = tick
            if self._handle is not None:
                self._handle.cancel()
            self._handle = self._loop.call_later(tick, self._sweep)

    def _sweep(self) -> None:
        now = self._loop.time()
        tick = _MAX_TICK
        for session in list(self._sessions):
            try:
                alive = session.check_liveness(now)
            except Exception:  # one session's bug must not stop the others' heartbeat
                _LOGGER.exception("zsdp %s: liveness check failed", session.label)
                alive = False
            if alive:
                tick = min(tick, session.liveness_tick)
            else:
                self._sessions.discard(session)
        if not self._sessions or self._loop.is_closed():
            # Forget this loop: the sweeper refers to it, so the weak map alone would keep it.
            self._handle = None
            if _SWEEPERS.get(self._loop) is self:
                del _SWEEPERS[self._loop]
            return
        self._tick = max(tick, _MIN_TICK)
        self._handle = self._loop.call_later(self._tick, self._sweep)


_MIN_TICK = 0.02
_MAX_TICK = 3600.0
_SWEEPERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Sweeper] = (
    weakref.WeakKeyDictionary()
)


def _sweeper(loop: asyncio.AbstractEventLoop) -> _Sweeper:
    sweeper = _SWEEPERS.get(loop)
    if sweeper is None:
        sweeper = _SWEEPERS[loop] = _Sweeper(loop)
    return sweeper


class _PeerBye(Exception):
    """Internal: the peer sent BYE; unwinds the read loop."""

    def __init__(self, error: ZsdpError) -> None:
        super().__init__(str(error))
        self.error = error
