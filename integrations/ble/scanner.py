"""The hub's one BLE scanner, kept running whatever the machine's Bluetooth does.

No adapter, no BlueZ, no D-Bus, no permission: the scanner reports it (:meth:`status`, shown
in ``GET /api/info`` and the UI), waits with exponential backoff and tries again, so an adapter
plugged in (or BlueZ started) later is picked up without a restart. While scanning, a watchdog
restarts the scan when nothing at all was heard for ``watchdog_s`` (an adapter that went away
or a stack that stopped reporting; bleak does not tell). The rest of the hub never waits for it.

Every advertisement passes :func:`~integrations.ble.advertisement.sighting_from_bleak`;
malformed ones are counted, logged quietly and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from integrations.ble.advertisement import AdvertisementError, Sighting, sighting_from_bleak
from integrations.ble.quietlog import QuietLog
from integrations.ble.radio import Radio, check_system_bus, load_bleak, unavailable_reason

if TYPE_CHECKING:
    from bleak import BleakScanner

__all__ = ["HubScanner", "ScannerSettings", "ScannerState"]

_LOGGER = logging.getLogger(__name__)


class ScannerState(StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"
    SCANNING = "scanning"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class ScannerSettings:
    retry_initial_s: float = 2.0
    retry_max_s: float = 60.0
    start_timeout_s: float = 15.0
    watchdog_s: float = 180.0
    scanning_mode: str = "active"


class HubScanner:
    """Runs one ``BleakScanner`` on ``radio`` and hands each checked advertisement on."""

    def __init__(
        self,
        radio: Radio,
        on_sighting: Callable[[Sighting], None],
        settings: ScannerSettings | None = None,
        *,
        on_scanning: Callable[[], object] | None = None,
    ) -> None:
        """``on_scanning`` is called each time a scan starts running (e.g. to load, off the
        loop, what decoding advertisements will need)."""
        self.radio = radio
        self.settings = settings or ScannerSettings()
        self._on_sighting = on_sighting
        self._on_scanning = on_scanning
        self.state = ScannerState.STOPPED
        self.error_kind: str | None = None
        self.error: str | None = None
        self.failures = 0
        self.retry_at: float | None = None  # wall clock
        self.scanning_since: float | None = None
        self.received = 0
        self.malformed = 0
        self.last_heard: float | None = None  # monotonic
        self._scanner: BleakScanner | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._lost = False
        self._quiet = QuietLog(_LOGGER)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self.radio.on_lost(self, self._radio_lost)
            self.state = ScannerState.STARTING
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ble scanner")

    async def stop(self) -> None:
        self.radio.forget(self)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._stop_scanner()
        self.state = ScannerState.STOPPED

    def retry_now(self) -> None:
        """Try the adapter again at once (instead of at the end of the backoff)."""
        self._wake.set()

    @property
    def ok(self) -> bool:
        return self.state is ScannerState.SCANNING

    def status(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "radio": self.radio.spec,
            "error_kind": self.error_kind,
            "error": self.error,
            "failures": self.failures,
            "retry_at": self.retry_at,
            "scanning_since": self.scanning_since,
            "advertisements": self.received,
            "malformed": self.malformed,
        }

    # -- the loop ----------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self._start_scanner()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # any failure to start: report it and try again later
                await self._stop_scanner()
                self._unavailable(err)
                await self._sleep(self._backoff())
                continue
            await self._watch()

    async def _start_scanner(self) -> None:
        self.state = ScannerState.STARTING if self.failures == 0 else self.state
        if self.radio.is_system and sys.platform.startswith("linux"):
            check_system_bus()  # no bus: FileNotFoundError, as bleak would raise it
        await load_bleak(self.radio)
        from bleak import BleakScanner

        kwargs: dict[str, Any] = {"scanning_mode": self.settings.scanning_mode}
        if self.radio.scanner_backend is not None:
            kwargs["backend"] = self.radio.scanner_backend
        scanner = BleakScanner(self._detected, **kwargs)
        self._scanner = scanner
        async with asyncio.timeout(self.settings.start_timeout_s):
            await scanner.start()
        # A loss reported while a failed attempt was closing down is history once a start works.
        self._lost = False
        self._wake.clear()
        if self.state is ScannerState.UNAVAILABLE:
            _LOGGER.warning("ble: the Bluetooth adapter is usable again; scanning")
        else:
            _LOGGER.info("ble: scanning (%s radio)", self.radio.spec)
        if self._on_scanning is not None:
            self._on_scanning()
        self.state = ScannerState.SCANNING
        self.error_kind = self.error = None
        self.failures = 0
        self.retry_at = None
        self.scanning_since = time.time()
        self.last_heard = time.monotonic()

    async def _watch(self) -> None:
        """Hold the scan; restart it when nothing was heard for ``watchdog_s``."""
        watchdog = self.settings.watchdog_s
        while True:
            await self._sleep(watchdog / 4)
            if self._lost:
                self._lost = False
                self.state = ScannerState.UNAVAILABLE
                self.error_kind, self.error = "adapter_lost", "the Bluetooth adapter went away"
                _LOGGER.warning("ble: the Bluetooth adapter went away; reopening it")
                break
            heard = self.last_heard or 0.0
            if time.monotonic() - heard >= watchdog or self._wake.is_set():
                _LOGGER.info("ble: nothing heard for %.0f s; restarting the scan", watchdog)
                break
            self._wake.clear()
        await self._stop_scanner()

    def _radio_lost(self) -> None:
        self._lost = True
        self._wake.set()

    async def _stop_scanner(self) -> None:
        scanner, self._scanner = self._scanner, None
        if scanner is None:
            return
        try:
            async with asyncio.timeout(5.0):
                await scanner.stop()
        except asyncio.CancelledError:
            raise
        except Exception as err:  # a scanner that never started or lost its adapter
            _LOGGER.debug("ble: stopping the scanner: %r", err)

    def _unavailable(self, err: BaseException) -> None:
        kind, detail = unavailable_reason(err)
        self.failures += 1
        if self.state is not ScannerState.UNAVAILABLE or detail != self.error:
            _LOGGER.warning(
                "ble: Bluetooth unavailable (%s): %s; the hub runs on without BLE and retries",
                kind,
                detail,
            )
        self.state = ScannerState.UNAVAILABLE
        self.error_kind, self.error = kind, detail
        self.scanning_since = None

    def _backoff(self) -> float:
        s = self.settings
        delay = float(min(s.retry_max_s, s.retry_initial_s * 2 ** min(self.failures - 1, 16)))
        self.retry_at = time.time() + delay
        return delay

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()

    # -- advertisements ----------------------------------------------------------------------

    def _detected(self, device: Any, adv: Any) -> None:
        self.last_heard = time.monotonic()
        self.received += 1
        try:
            sighting = sighting_from_bleak(device, adv)
        except AdvertisementError as err:
            self.malformed += 1
            address = getattr(device, "address", "?")
            self._quiet.warning(
                f"adv {address}", f"ble: advertisement from {address} dropped: {err}"
            )
            return
        try:
            self._on_sighting(sighting)
        except Exception:  # one bad packet must never stop the scanner's callbacks
            self.malformed += 1
            _LOGGER.exception("ble: advertisement from %s could not be handled", sighting.address)
