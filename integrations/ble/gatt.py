"""The link to one ``ble_gatt`` device: connect, subscribe, decode frames, write commands.

The link connects when the device is around (it was heard advertising, or a command needs it),
reads every frame of the profile once, subscribes to notifications and stays connected so
events such as a burner's flame-out arrive at once. A dropped connection is retried with
backoff. Connections are bounded hub-wide by :class:`ConnectionSlots` (BLE adapters manage a
handful at a time); a link waits for a free slot. Commands reach the link only through the
hub's command service, so the safety arbiter has ruled on them already (restrictions, step-up
for an unlock, blocks during a gas alarm); the link encodes them with the profile's runtime and
writes them. A frame that does not decode is logged quietly and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from hub.core.context import Context, Origin
from hub.core.integration import DeviceEvent, DeviceLink
from hub.profiles.runtime import BindingError, DriverOp, GattRuntime, GattWrite
from integrations.ble.problems import (
    BleCommandFailedError,
    BleDeviceOfflineError,
    BleNotSupportedError,
)
from integrations.ble.quietlog import QuietLog
from integrations.ble.radio import bleak_error, check_system_bus, load_bleak

if TYPE_CHECKING:
    from bleak import BleakClient

    from hub.app import Hub
    from integrations.ble.radio import Radio

__all__ = ["ConnectionSlots", "GattLink", "GattSettings"]

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GattSettings:
    max_connections: int = 3
    connect_timeout_s: float = 20.0
    command_wait_s: float = 15.0  # how long a command waits for the link to connect
    reachable_s: float = 60.0  # heard this recently: a command may connect on demand
    retry_initial_s: float = 1.0
    retry_max_s: float = 60.0
    operation_timeout_s: float = 10.0


class ConnectionSlots:
    """A hub-wide bound on simultaneous BLE connections (a counting semaphore with figures)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._sem = asyncio.Semaphore(size)
        self.in_use = 0
        self.waiting = 0

    @contextlib.asynccontextmanager
    async def slot(self) -> Any:
        self.waiting += 1
        try:
            await self._sem.acquire()
        finally:
            self.waiting -= 1
        self.in_use += 1
        try:
            yield
        finally:
            self.in_use -= 1
            self._sem.release()


class GattLink(DeviceLink):
    """The hub's side of one ``ble_gatt`` device."""

    kind: ClassVar[str] = "ble_gatt"

    def __init__(
        self,
        hub: Hub,
        device_id: str,
        address: str,
        radio: Radio,
        slots: ConnectionSlots,
        settings: GattSettings | None = None,
    ) -> None:
        self._hub = hub
        self.device_id = device_id
        self.address = address
        self._radio = radio
        self._slots = slots
        self._settings = settings or GattSettings()
        self._client: BleakClient | None = None
        self._ready = asyncio.Event()
        self._dropped = asyncio.Event()
        self._wake = asyncio.Event()
        self._io = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._frames: dict[str, bytes] = {}  # frame name -> last bytes (edge reference)
        self._quiet = QuietLog(_LOGGER)
        self.state = "idle"
        self.last_error: str | None = None
        self.connects = 0
        self.failures = 0
        self.frames_received = 0
        self.frames_dropped = 0
        self.writes = 0
        self.connected_since: float | None = None
        self.heard_at: float | None = None  # monotonic, last advertisement

    # -- DeviceLink --------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Can take a command: connected now, or heard advertising lately and connecting on
        demand works (the command then waits for the connection)."""
        if self.gatt_connected:
            return True
        heard = self.heard_at
        return (
            self._task is not None
            and heard is not None
            and time.monotonic() - heard < self._settings.reachable_s
            and self.failures < 3
        )

    @property
    def gatt_connected(self) -> bool:
        client = self._client
        return client is not None and self._ready.is_set() and bool(client.is_connected)

    async def invoke(
        self,
        component: str,
        capability: str,
        command: str,
        args: Mapping[str, Any],
        context: Context,
    ) -> None:
        runtime = self._require_runtime()
        path = f"{component}/{capability}.{command}"
        try:
            payload = runtime.encode_command(path, args, self._current_state)
        except BindingError as err:
            raise BleNotSupportedError(target=path, detail=str(err)) from err
        await self._send(path, payload)

    async def write(self, path: str, value: Any, context: Context) -> None:
        runtime = self._require_runtime()
        try:
            payload = runtime.encode_write(path, value)
        except BindingError as err:
            raise BleNotSupportedError(target=path, detail=str(err)) from err
        await self._send(path, payload)

    async def refresh(self) -> None:
        client = await self._connected_client()
        runtime = self._require_runtime()
        async with self._io:
            await self._read_frames(client, runtime)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            loop = asyncio.get_running_loop()
            self._task = loop.create_task(self._run(), name=f"ble gatt {self.device_id}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._disconnect()
        self.state = "stopped"

    def wake(self) -> None:
        """The device was heard: connect now if not connected (ends a backoff wait)."""
        self.heard_at = time.monotonic()
        if not self.gatt_connected and self.failures == 0:  # failing: keep to the backoff
            self._wake.set()

    def status(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "state": self.state,
            "connected": self.gatt_connected,
            "connected_since": self.connected_since,
            "last_error": self.last_error,
            "connects": self.connects,
            "failures": self.failures,
            "frames": self.frames_received,
            "frames_dropped": self.frames_dropped,
            "writes": self.writes,
        }

    # -- the connection loop -----------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            self.state = (
                "waiting_for_slot" if self._slots.waiting or self._slots.in_use else "connecting"
            )
            try:
                async with self._slots.slot():
                    await self._session()
            except asyncio.CancelledError:
                raise
            except (bleak_error(), OSError, TimeoutError) as err:
                self._failed(err)
            except Exception as err:  # a backend that misbehaves: report, retry later
                _LOGGER.exception("ble %s: connection failed", self.device_id)
                self._failed(err)
            finally:
                await self._disconnect()
            delay = self._backoff()
            self.state = "retrying" if self.failures else "reconnecting"
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def _session(self) -> None:
        self.state = "connecting"
        self._dropped.clear()
        if self._radio.is_system and sys.platform.startswith("linux"):
            check_system_bus()  # no bus: FileNotFoundError, as bleak would raise it
        await load_bleak(self._radio, client=True)  # off the loop, the first time
        from bleak import BleakClient

        kwargs: dict[str, Any] = {
            "disconnected_callback": self._on_disconnect,
            "timeout": self._settings.connect_timeout_s,
        }
        if self._radio.client_backend is not None:
            kwargs["backend"] = self._radio.client_backend
        client = BleakClient(self.address, **kwargs)
        self._client = client
        async with asyncio.timeout(self._settings.connect_timeout_s + 5):
            await client.connect()
        runtime = self._require_runtime()
        async with self._io, asyncio.timeout(self._settings.operation_timeout_s * 2):
            await self._read_frames(client, runtime)
            for name, (uuid, _layout) in runtime.frames.items():
                try:
                    await client.start_notify(uuid, self._notified)
                except bleak_error() as err:  # a read-only frame: its reads still count
                    _LOGGER.debug("ble %s: frame %s cannot notify: %s", self.device_id, name, err)
        self.connects += 1
        self.failures = 0
        self.last_error = None
        self.connected_since = time.time()
        self.state = "connected"
        self._ready.set()
        self._hub.registry.seen(self.device_id)
        _LOGGER.info("ble %s: connected to %s", self.device_id, self.address)
        await self._dropped.wait()
        self._ready.clear()
        self.connected_since = None
        self.last_error = "the connection dropped"
        _LOGGER.warning("ble %s: disconnected from %s; reconnecting", self.device_id, self.address)

    def _on_disconnect(self, client: Any) -> None:
        if client is self._client:  # not a late callback of an earlier connection
            self._ready.clear()
            self._dropped.set()

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        self._ready.clear()
        if client is None:
            return
        try:
            async with asyncio.timeout(5.0):
                await client.disconnect()
        except asyncio.CancelledError:
            raise
        except Exception as err:
            _LOGGER.debug("ble %s: disconnect: %r", self.device_id, err)

    def _failed(self, err: BaseException) -> None:
        self.failures += 1
        self._ready.clear()
        text = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        if text != self.last_error:
            _LOGGER.warning("ble %s: cannot connect to %s: %s", self.device_id, self.address, text)
        self.last_error = text

    def _backoff(self) -> float:
        s = self._settings
        if self.failures == 0:
            return s.retry_initial_s
        return float(min(s.retry_max_s, s.retry_initial_s * 2 ** min(self.failures - 1, 16)))

    # -- frames ------------------------------------------------------------------------------

    async def _read_frames(self, client: BleakClient, runtime: GattRuntime) -> None:
        for name, (uuid, _layout) in runtime.frames.items():
            try:
                data = await client.read_gatt_char(uuid)
            except bleak_error() as err:  # notify-only characteristics cannot be read
                _LOGGER.debug("ble %s: frame %s not readable: %s", self.device_id, name, err)
                continue
            self._apply(name, bytes(data))

    def _notified(self, characteristic: Any, data: bytearray) -> None:
        runtime = self._runtime()
        uuid = str(getattr(characteristic, "uuid", characteristic))
        frame = runtime.frame_for_characteristic(uuid) if runtime is not None else None
        if frame is None:
            self.frames_dropped += 1
            self._quiet.warning(
                f"{self.device_id} char", f"ble {self.device_id}: notification from {uuid} ignored"
            )
            return
        self._apply(frame, bytes(data))

    def _apply(self, frame: str, data: bytes) -> None:
        runtime = self._runtime()
        if runtime is None:
            return
        try:
            result = runtime.decode_frame(frame, data, self._frames.get(frame), self._current_state)
        except Exception as err:  # never let one frame take the link down
            self.frames_dropped += 1
            self._quiet.warning(
                f"{self.device_id} frame", f"ble {self.device_id}: frame {frame} dropped: {err!r}"
            )
            return
        if result.errors and not result.states:
            self.frames_dropped += 1
            self._quiet.warning(
                f"{self.device_id} frame",
                f"ble {self.device_id}: frame {frame} dropped ({data.hex()}): "
                + "; ".join(result.errors),
            )
            return
        for problem in result.errors:
            self._quiet.warning(f"{self.device_id} value", f"ble {self.device_id}: {problem}")
        self.frames_received += 1
        self._frames[frame] = data
        hub = self._hub
        hub.registry.seen(self.device_id)
        context = Context(Origin.DEVICE, self.device_id)
        for path, value in result.states.items():
            hub.states.set(f"{self.device_id}/{path}", value, context)
        for path, fields in result.events:
            hub.fire_device_event(
                DeviceEvent(self.device_id, path, fields, self._priority(path)), context
            )

    # -- commands ----------------------------------------------------------------------------

    async def _send(self, path: str, payload: Any) -> None:
        if isinstance(payload, DriverOp):
            raise BleNotSupportedError(
                target=path, detail=f"driver operation {payload.op} is not implemented for BLE"
            )
        if not isinstance(payload, GattWrite):
            raise BleNotSupportedError(target=path, detail="not a GATT write")
        client = await self._connected_client()
        try:
            async with self._io, asyncio.timeout(self._settings.operation_timeout_s):
                await client.write_gatt_char(payload.characteristic, payload.data, response=True)
        except (bleak_error(), OSError, TimeoutError) as err:
            raise BleCommandFailedError(
                device=self.device_id, detail=str(err) or repr(err)
            ) from err
        self.writes += 1
        _LOGGER.debug("ble %s: %s wrote %s", self.device_id, path, payload.data.hex())

    async def _connected_client(self) -> BleakClient:
        if not self.gatt_connected:
            self._wake.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._settings.command_wait_s):
                    await self._ready.wait()
        client = self._client
        if client is None or not self.gatt_connected:
            raise BleDeviceOfflineError(
                device=self.device_id, detail=self.last_error or "not connected"
            )
        return client

    # -- helpers -----------------------------------------------------------------------------

    def _runtime(self) -> GattRuntime | None:
        device = self._hub.registry.get(self.device_id)
        if device is None or device.profile_id is None:
            return None
        runtime = self._hub.profiles.runtime(device.profile_id)
        return runtime.loaded.binding("ble_gatt") if runtime is not None else None

    def _require_runtime(self) -> GattRuntime:
        runtime = self._runtime()
        if runtime is None:
            raise BleNotSupportedError(
                target=self.device_id, detail="its profile has no ble_gatt binding"
            )
        return runtime

    def _priority(self, path: str) -> str:
        device = self._hub.registry.get(self.device_id)
        runtime = (
            self._hub.profiles.runtime(device.profile_id)
            if device is not None and device.profile_id
            else None
        )
        event = runtime.loaded.event_def(path) if runtime is not None else None
        return str(event.priority.value) if event is not None else "info"

    def _current_state(self, path: str) -> Any:
        return self._hub.states.value(f"{self.device_id}/{path}")
