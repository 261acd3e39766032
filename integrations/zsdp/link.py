"""One kept connection per added ZS-DP device: reconnect, decode, command.

:class:`ZsdpLink` runs a task that keeps a session with its device: it resumes with the stored
long-term key, reads every DP, decodes them through the profile's ``zsdp`` binding into capability
states and derived events, then follows the device's reports until the session ends. A lost session
marks the device offline at once; the session heartbeat (PING every ``heartbeat_interval``, dead
after three silent intervals) makes a vanished device offline within seconds rather than after
the mDNS TTLs. Reconnection backs off exponentially with jitter and is woken early when the
device's mDNS records arrive again. In a large home the heartbeat stretches so that all links
together send at most ``ping_budget`` PINGs a second (1,000 devices: 10 s, offline within 30 s;
up to 200 devices keep the 2 s heartbeat).

Commands go through the binding's encoders and become one SET; the device's RESULT means
"accepted" and its REPORT confirms the change (the kernel's command service waits for that).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hub.core.context import Context, Origin
from hub.core.integration import DeviceEvent, DeviceLink
from hub.core.registry import Availability, Device
from hub.profiles.runtime import BindingError, DpRuntime, DriverOp
from integrations.zsdp.dpconvert import (
    ConversionError,
    dp_types_from_binding,
    values_from_wire,
    values_to_wire,
)
from integrations.zsdp.errors import (
    ConnectionClosedError,
    ErrorCode,
    HandshakeError,
    RemoteError,
    RequestTimeoutError,
    ZsdpError,
)
from integrations.zsdp.handshake import LongTermKey
from integrations.zsdp.hub import HubConnection, Update
from integrations.zsdp.keystore import SECRET_NAME, load_key
from integrations.zsdp.messages import Event, Report
from integrations.zsdp.problems import (
    DeviceOfflineError,
    DeviceRefusedError,
    DeviceTimeoutError,
    NotSupportedError,
)
from integrations.zsdp.wire import DPType, DPValue

if TYPE_CHECKING:
    from hub.app import Hub

__all__ = ["Backoff", "LinkSettings", "LinkState", "ZsdpLink"]

_LOGGER = logging.getLogger(__name__)

# Where a device may be: the latest mDNS sighting first, then its last known address.
Locator = Callable[[Device], list[tuple[str, int]]]


@dataclass(frozen=True, slots=True)
class LinkSettings:
    heartbeat_interval: float = 2.0  # PING period; dead after 3 silent periods (6 s)
    # PINGs a second all links of the hub send at most: with more than ping_budget × interval
    # devices each new session gets a longer heartbeat (the spec's default is 15 s).
    ping_budget: float = 100.0
    heartbeat_max: float = 15.0
    request_timeout: float = 5.0
    handshake_timeout: float = 5.0
    backoff_min: float = 0.5
    backoff_max: float = 30.0
    stable_after: float = 10.0  # a session that lasted this long resets the backoff
    # After AUTH_FAILED / NOT_PAIRED on resume (device reset or re-paired elsewhere, or a forged
    # refusal): shown as needs_pairing, retried no faster than this, never in a tight loop.
    refused_retry: float = 30.0
    problem_log_interval: float = 60.0  # same decode problem logged at most once a minute


class LinkState:
    STARTING = "starting"
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"
    NO_ADDRESS = "no_address"
    NEEDS_PAIRING = "needs_pairing"
    STOPPED = "stopped"


class Backoff:
    """Exponential delays from ``low`` to ``high`` with jitter (each delay is 50-100 % of the
    nominal one, so many devices lost together do not come back in lockstep)."""

    def __init__(self, low: float, high: float, rng: Callable[[], float] = random.random) -> None:
        self._low = low
        self._high = high
        self._rng = rng
        self._nominal = low

    def next(self) -> float:
        delay = self._nominal * (0.5 + 0.5 * self._rng())
        self._nominal = min(self._high, self._nominal * 2)
        return delay

    def reset(self) -> None:
        self._nominal = self._low


class _QuietLog:
    """Logs a message at WARNING the first time, then at DEBUG for ``interval`` seconds (with a
    count of what was held back), so a device that sends junk cannot flood the log."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._last: dict[str, tuple[float, int]] = {}

    def warning(self, key: str, text: str) -> None:
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last[0] < self._interval:
            self._last[key] = (last[0], last[1] + 1)
            _LOGGER.debug("%s", text)
            return
        held = last[1] if last is not None else 0
        if len(self._last) > 512:
            self._last.clear()
        self._last[key] = (now, 0)
        if held:
            _LOGGER.warning("%s (%d similar messages held back)", text, held)
        else:
            _LOGGER.warning("%s", text)


class ZsdpLink(DeviceLink):
    """The hub's side of one paired device."""

    def __init__(
        self,
        hub: Hub,
        device_id: str,
        *,
        settings: LinkSettings,
        locate: Locator,
        key: LongTermKey | None = None,
        connect_slots: asyncio.Semaphore | None = None,
        fleet_size: Callable[[], int] | None = None,
    ) -> None:
        self.device_id = device_id
        self._fleet_size = fleet_size or (lambda: 1)
        # Shared by the integration's links: bounds the handshakes under way at once.
        self._connect_slots = connect_slots or asyncio.Semaphore(1)
        self._hub = hub
        self._settings = settings
        self._locate = locate
        self._key = key
        self._conn: HubConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._rekeyed = asyncio.Event()
        self._raw: dict[int, Any] = {}  # last raw value of every DP (edges for derived events)
        # Updates of a session that arrive while its first read is under way, applied after it.
        self._early: list[Update] | None = None
        self._types: tuple[str, dict[int, DPType]] | None = None  # (profile id, DP types)
        self._quiet = _QuietLog(settings.problem_log_interval)
        self.state = LinkState.STARTING
        self.last_error: str | None = None
        self.address: str | None = None
        self.connects = 0
        self.online_since: float | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"zsdp link {self.device_id}"
            )
            self._task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            _LOGGER.error("zsdp %s: link task failed", self.device_id, exc_info=task.exception())

    async def stop(self) -> None:
        """Cancel the task and close the session (BYE); returns when both are done."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()
        self.state = LinkState.STOPPED

    @property
    def running(self) -> bool:
        """The connection task is alive (it only ends on stop or when the device is removed)."""
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        """The device was (re)announced: stop waiting and try now."""
        self._wake.set()

    def set_key(self, key: LongTermKey) -> None:
        """A new pairing gave a new key: use it from the next connection on."""
        self._key = key
        self._rekeyed.set()
        self._wake.set()

    # -- DeviceLink --------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        conn = self._conn
        return conn is not None and not conn.is_closed

    async def invoke(
        self,
        component: str,
        capability: str,
        command: str,
        args: Mapping[str, Any],
        context: Context,
    ) -> None:
        conn = self._require_conn()
        binding, types = self._require_binding()
        target = f"{component}/{capability}.{command}"
        try:
            payload = binding.encode_command(target, args, self._current_state)
        except BindingError as err:
            raise NotSupportedError(target=target, transport="ZS-DP", detail=str(err)) from err
        if isinstance(payload, DriverOp):
            raise NotSupportedError(
                target=target,
                transport="ZS-DP",
                detail=f"driver operation {payload.op} is not implemented by this integration",
            )
        if not isinstance(payload, list):
            raise NotSupportedError(
                target=target, transport="ZS-DP", detail="not a DP write in the profile"
            )
        await self._set(conn, payload, types)

    async def write(self, path: str, value: Any, context: Context) -> None:
        conn = self._require_conn()
        binding, types = self._require_binding()
        try:
            payload = binding.encode_write(path, value)
        except BindingError as err:
            raise NotSupportedError(target=path, transport="ZS-DP", detail=str(err)) from err
        if not isinstance(payload, list):
            raise NotSupportedError(target=path, transport="ZS-DP", detail="not a DP write")
        await self._set(conn, payload, types)

    async def refresh(self) -> None:
        conn = self._require_conn()
        try:
            values = await conn.get()
        except ZsdpError as err:
            raise self._request_failure(err) from err
        self._apply(values)

    # -- the connection loop -----------------------------------------------------------------

    async def _run(self) -> None:
        settings = self._settings
        backoff = Backoff(settings.backoff_min, settings.backoff_max)
        loop = asyncio.get_running_loop()
        while True:
            device = self._hub.registry.get(self.device_id)
            if device is None:
                return
            self._wake.clear()
            self._rekeyed.clear()
            targets = self._locate(device)
            if not targets:
                self._went_offline(LinkState.NO_ADDRESS, "no address known: waiting for mDNS")
                await self._wait(None)
                continue
            key = await self._load_key()
            if key is None:
                self._went_offline(LinkState.NEEDS_PAIRING, "no stored key: add the device again")
                await self._wait_for_key(None)
                continue
            if self.state != LinkState.ONLINE:
                self.state = LinkState.CONNECTING
            conn, refused, failure = await self._connect(targets, key)
            if conn is None:
                if refused:
                    # Every address refused the stored key: the device was reset or re-paired
                    # elsewhere. Never retry that in a tight loop.
                    self._went_offline(
                        LinkState.NEEDS_PAIRING,
                        f"{failure}; pair the device again",
                        level=logging.ERROR,
                    )
                    await self._wait_for_key(max(backoff.next(), settings.refused_retry))
                else:
                    self._went_offline(LinkState.OFFLINE, failure)
                    await self._wait(backoff.next())
                continue
            started = loop.time()
            reason: str
            try:
                reason = await self._serve(conn)
            except ZsdpError as err:
                reason = str(err)
            except Exception as err:  # a bug must cost this session, never the link task
                _LOGGER.exception("zsdp %s: session failed", self.device_id)
                reason = repr(err)
            finally:
                self._conn = None
                await conn.close()
            self._went_offline(LinkState.OFFLINE, f"session ended: {reason}")
            if loop.time() - started >= settings.stable_after:
                backoff.reset()
            await self._wait(backoff.next())

    async def _connect(
        self, targets: list[tuple[str, int]], key: LongTermKey
    ) -> tuple[HubConnection | None, bool, str]:
        """Try each candidate address; returns (connection, all refused the key, last failure).
        A forged announcement of our device's id cannot lock us out: the last address that
        worked is still tried, and only a refusal from every address means "pair again"."""
        settings = self._settings
        heartbeat = self.heartbeat_interval()
        refused = True
        failure = ""
        self._early = []  # from the first byte of the session on, until _serve's first read
        for host, port in targets:
            address = f"{host}:{port}"
            try:
                async with self._connect_slots:  # the handshake timeout starts with our turn
                    conn = await HubConnection.connect(
                        host,
                        port,
                        key.device_id,
                        key,
                        heartbeat_interval=heartbeat,
                        # A large home's long heartbeat must not hide a lamp that reported every
                        # second and went silent: such a session is probed at the short one.
                        probe_interval=settings.heartbeat_interval
                        if heartbeat > settings.heartbeat_interval
                        else None,
                        request_timeout=settings.request_timeout,
                        handshake_timeout=settings.handshake_timeout,
                        on_update=self._on_update,
                        queue_updates=False,
                    )
            except HandshakeError as err:
                failure = f"{address} refused the connection: {err}"
                if err.code not in (ErrorCode.AUTH_FAILED, ErrorCode.NOT_PAIRED):
                    refused = False
            except (ZsdpError, OSError) as err:
                failure = f"{address}: {err}"
                refused = False
            else:
                self.address = address
                return conn, False, ""
        self._early = None
        return None, refused, failure

    def heartbeat_interval(self) -> float:
        """The heartbeat for the next session: the configured one, longer in a large home."""
        settings = self._settings
        spread = self._fleet_size() / settings.ping_budget
        return min(max(settings.heartbeat_interval, spread), settings.heartbeat_max)

    async def _serve(self, conn: HubConnection) -> str:
        """Initial read, then follow reports until the session ends; returns why it ended.
        Updates are applied by ``_on_update`` as they arrive (no queue, no task switch)."""
        try:
            values = await self._read_all(conn)
            self._conn = conn
            self.connects += 1
            self._apply(values)
            early, self._early = self._early or [], None
            for update in early:
                self._handle(update)
        finally:
            self._early = None
        registry = self._hub.registry
        registry.seen(self.device_id)
        if self.state != LinkState.ONLINE:
            _LOGGER.info("zsdp %s: online at %s", self.device_id, self.address)
        self.state = LinkState.ONLINE
        self.last_error = None
        self.online_since = time.time()
        device = registry.get(self.device_id)
        if device is not None and self.address is not None and device.address != self.address:
            registry.update(self.device_id, address=self.address)
        await conn.wait_closed()
        closed = conn.closed
        error = closed.result() if closed.done() else None
        return "closed by the hub" if error is None else str(error)

    def _on_update(self, update: Update) -> None:
        """From the session's read loop, for every report and event."""
        if self._early is not None:
            self._early.append(update)  # the first read is still under way: keep the order
            return
        self._handle(update)

    def _handle(self, update: Update) -> None:
        if isinstance(update, Report):
            if update.skipped:
                self._quiet.warning(
                    "skipped",
                    f"zsdp {self.device_id}: DP(s) {list(update.skipped)} of unknown type skipped",
                )
            self._apply(update.dps)
        elif isinstance(update, Event):
            # The profile format derives events from DP changes; native ZS-DP events have
            # no binding yet, so they are acknowledged (by the session) and logged.
            self._quiet.warning(
                "event",
                f"zsdp {self.device_id}: native event {update.event} has no profile mapping; "
                "ignored",
            )
        self._hub.registry.seen(self.device_id)

    async def _read_all(self, conn: HubConnection) -> dict[int, DPValue]:
        """GET all DPs; a device whose state does not fit one frame answers DEVICE_FAILURE and
        is read in smaller lists of the DPs the profile uses (docs/zsdp.md §7.4)."""
        try:
            return await conn.get()
        except RemoteError as err:
            if err.code != ErrorCode.DEVICE_FAILURE:
                raise
        binding = self._binding()
        dps = sorted(a for a in (binding[0].addresses() if binding else ()) if isinstance(a, int))
        values: dict[int, DPValue] = {}
        for start in range(0, len(dps), 16):
            chunk = [dp for dp in dps[start : start + 16] if 1 <= dp <= 255]
            while chunk:
                try:
                    values.update(await conn.get(chunk))
                    break
                except RemoteError as err:
                    if err.code != ErrorCode.UNKNOWN_DP or err.dp not in chunk:
                        raise
                    chunk.remove(err.dp)
        return values

    # -- decoding ----------------------------------------------------------------------------

    def _apply(self, values: Mapping[int, DPValue]) -> None:
        try:
            self._decode_and_store(values)
        except Exception as err:  # drop this report, keep the session
            self._quiet.warning("apply", f"zsdp {self.device_id}: report dropped: {err!r}")
            _LOGGER.debug("zsdp %s: report dropped", self.device_id, exc_info=True)

    def _decode_and_store(self, values: Mapping[int, DPValue]) -> None:
        binding = self._binding()
        if binding is None:
            self._quiet.warning(
                "binding",
                f"zsdp {self.device_id}: its profile has no zsdp binding; reports ignored",
            )
            return
        runtime, types = binding
        raw, problems = values_from_wire(values, types)
        result = runtime.decode(raw, self._raw, self._current_state)
        self._raw.update(raw)
        context = Context(Origin.DEVICE, self.device_id)
        states = self._hub.states
        for path, value in result.states.items():
            states.set(f"{self.device_id}/{path}", value, context)
        for path, fields in result.events:
            self._hub.fire_device_event(
                DeviceEvent(self.device_id, path, fields, self._priority(path)), context
            )
        for problem in (*problems, *result.errors):
            # One category per device: a device sending junk cannot flood the log.
            self._quiet.warning("values", f"zsdp {self.device_id}: value dropped: {problem}")

    def _binding(self) -> tuple[DpRuntime, dict[int, DPType]] | None:
        device = self._hub.registry.get(self.device_id)
        if device is None or device.profile_id is None:
            return None
        runtime = self._hub.profiles.runtime(device.profile_id)
        if runtime is None:
            return None
        binding = runtime.loaded.binding("zsdp")
        if binding is None:
            return None
        if self._types is None or self._types[0] != device.profile_id:
            doc_binding = runtime.loaded.model.bindings.zsdp
            self._types = (device.profile_id, dp_types_from_binding(doc_binding))
        return binding, self._types[1]

    def _priority(self, path: str) -> str:
        device = self._hub.registry.get(self.device_id)
        if device is None or device.profile_id is None:
            return "info"
        runtime = self._hub.profiles.runtime(device.profile_id)
        event = runtime.loaded.event_def(path) if runtime is not None else None
        return str(event.priority.value) if event is not None else "info"

    def _current_state(self, path: str) -> Any:
        return self._hub.states.value(f"{self.device_id}/{path}")

    # -- commands ----------------------------------------------------------------------------

    def _require_conn(self) -> HubConnection:
        conn = self._conn
        if conn is None or conn.is_closed:
            raise DeviceOfflineError(self.device_id, self.last_error or self.state)
        return conn

    def _require_binding(self) -> tuple[DpRuntime, dict[int, DPType]]:
        binding = self._binding()
        if binding is None:
            raise NotSupportedError(
                target=self.device_id, transport="ZS-DP", detail="the profile has no zsdp binding"
            )
        return binding

    async def _set(
        self, conn: HubConnection, writes: list[tuple[int, Any]], types: Mapping[int, DPType]
    ) -> None:
        if not writes:
            return  # every item used an optional argument the caller left out
        try:
            values = values_to_wire(writes, types)
        except ConversionError as err:
            raise NotSupportedError(
                target=self.device_id, transport="ZS-DP", detail=str(err)
            ) from err
        try:
            await conn.set(values)
        except ZsdpError as err:
            raise self._request_failure(err) from err

    def _request_failure(self, err: ZsdpError) -> Exception:
        if isinstance(err, RemoteError):
            return DeviceRefusedError(err)
        if isinstance(err, RequestTimeoutError):
            return DeviceTimeoutError(
                device=self.device_id, seconds=f"{self._settings.request_timeout:g}"
            )
        if isinstance(err, ConnectionClosedError):
            return DeviceOfflineError(self.device_id, str(err))
        return DeviceRefusedError(err)

    # -- helpers -----------------------------------------------------------------------------

    async def _load_key(self) -> LongTermKey | None:
        if self._key is not None:
            return self._key
        storage = self._hub.storage
        if storage is None:
            return None
        text = await storage.get_secret(self.device_id, SECRET_NAME)
        if text is None:
            return None
        try:
            self._key = load_key(text)
        except ValueError as err:
            _LOGGER.error("zsdp %s: stored key unusable: %s", self.device_id, err)
            return None
        return self._key

    def _went_offline(self, state: str, reason: str, level: int = logging.WARNING) -> None:
        was = self.state
        self.state = state
        # Logged once per distinct reason; retries that fail the same way stay quiet.
        if was == LinkState.ONLINE:
            _LOGGER.warning("zsdp %s: offline: %s", self.device_id, reason)
        elif reason != self.last_error:
            _LOGGER.log(level, "zsdp %s: %s", self.device_id, reason)
        else:
            _LOGGER.debug("zsdp %s: %s", self.device_id, reason)
        self.last_error = reason
        self.online_since = None
        self._hub.registry.set_availability(self.device_id, Availability.OFFLINE)

    async def _wait(self, timeout: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()

    async def _wait_for_key(self, timeout: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._rekeyed.wait()

    def status(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "address": self.address,
            "last_error": self.last_error,
            "connects": self.connects,
        }
