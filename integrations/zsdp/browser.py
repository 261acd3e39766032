"""Browsing ``_zsdp._tcp`` on the hub's shared ``AsyncZeroconf`` (docs/zsdp.md §3).

The browser asks with QM questions (a second process on the same host may otherwise receive the
unicast answer, see the project's testing notes), resolves every added or updated instance and
hands a parsed :class:`Sighting` to the integration. It also watches raw record traffic for the
instances it knows, so a device that comes back and re-announces records identical to the cached
ones (no browser event) still wakes its reconnect loop.

Multicast gets lost: a home where hundreds of devices power up together sends thousands of
announcements at once and receive buffers overflow. python-zeroconf's browser asks four times in
its first ten seconds and then only when records near expiry (about an hour for PTRs), and an
``AsyncServiceInfo`` lookup gives up after its timeout. So this browser adds two things:

* sweeps: a PTR query carrying every instance already known (RFC 6762 §7.1 known-answer
  suppression: only the devices we miss answer), repeated with a doubling interval that starts
  over whenever a new instance appears or a lookup fails, i.e. while a burst is still arriving;
* lookups from the cache first (an announcement carries PTR, SRV, TXT and A together), at most
  ``RESOLVE_CONCURRENCY`` network lookups at once, and every failed lookup retried with backoff
  (``RETRY_ATTEMPTS`` times, then parked until any of its records shows up); records that arrive
  unasked (another host's query answered, a re-announcement) complete a waiting instance at once.

Discovery is a hint, not liveness: a device that dies without a goodbye stays in the cache for
minutes; the session heartbeat decides online/offline.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zeroconf import (
    DNSQuestionType,
    IPVersion,
    RecordUpdate,
    RecordUpdateListener,
    ServiceStateChange,
    Zeroconf,
    current_time_millis,
)
from zeroconf._services.browser import generate_service_query
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from integrations.zsdp.discovery import SERVICE_TYPE, Advertisement
from integrations.zsdp.errors import ProtocolError

__all__ = ["SERVICE_NAME", "Sighting", "ZsdpBrowser"]

_LOGGER = logging.getLogger(__name__)

SERVICE_NAME = "_zsdp._tcp"  # as profiles' fingerprints write it
_SUFFIX = "." + SERVICE_TYPE.lower()
_TYPE_SRV = 33
_TYPE_TXT = 16
MALFORMED_LOG_INTERVAL = 300.0
RESOLVE_CONCURRENCY = 8  # network lookups at once; cache hits need none
RETRY_MIN = 1.0  # s before a failed lookup is tried again; doubles up to RETRY_MAX
RETRY_MAX = 60.0
# Lookups of one instance before it is parked: a device that died without a goodbye keeps its
# PTR cached for up to 75 minutes, and asking for it all that time (a thousand of them after a
# power cut) would be a steady stream of queries. A parked instance is looked up again as
# soon as any of its records arrives (browser update, announcement, answer to a sweep).
RETRY_ATTEMPTS = 7
SWEEP_MIN = 2.0  # s from a reason to sweep (start, a new instance) to the first sweep
SWEEP_MAX = 300.0  # the interval doubles up to this while nothing new turns up
# Sweeps in a row that found nothing new before the series stops until the next reason (a new
# instance, a failed lookup), with one sweep every SWEEP_IDLE s meanwhile. A sweep is not free
# in a large home: responders keep at most 16 packets of known answers (python-zeroconf's
# reassembly limit, ~600 PTRs), so beyond that every sweep brings hundreds of known records back.
SWEEP_FRUITLESS = 4
SWEEP_IDLE = 1800.0


@dataclass(frozen=True, slots=True)
class Sighting:
    """One resolved ``_zsdp._tcp`` instance."""

    name: str  # full instance name, e.g. "XDD-CCT-480 lamp-0001._zsdp._tcp.local."
    host: str
    port: int
    advertisement: Advertisement
    txt: dict[str, str] = field(default_factory=dict)  # decoded text, keys lower-case

    @property
    def key(self) -> str:
        return self.advertisement.device_id

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def label(self) -> str:
        """Something to show for an unadded device: the model, else the instance label."""
        if self.advertisement.model:
            return self.advertisement.model
        return self.name.removesuffix(_SUFFIX).removesuffix(SERVICE_TYPE)


def decode_txt(properties: dict[bytes, bytes | None]) -> dict[str, str]:
    """TXT as text for the discovery record (first occurrence of a key wins, as in RFC 6763)."""
    out: dict[str, str] = {}
    for raw_key, raw_value in properties.items():
        key = raw_key.decode("utf-8", "replace").lower()
        if key not in out:
            out[key] = "" if raw_value is None else raw_value.decode("utf-8", "replace")
    return out


class _Announcements(RecordUpdateListener):
    """Calls back with the instance name of every SRV/TXT record of our type that arrives."""

    def __init__(self, callback: Callable[[str], None]) -> None:
        super().__init__()
        self._callback = callback

    def async_update_records(self, zc: Zeroconf, now: float, records: list[RecordUpdate]) -> None:
        names: set[str] = set()
        for update in records:
            record = update.new
            if record.type in (_TYPE_SRV, _TYPE_TXT) and record.name.lower().endswith(_SUFFIX):
                names.add(record.name)
        for name in names:
            try:
                self._callback(name)
            except Exception:
                _LOGGER.exception("zsdp: announcement callback failed for %s", name)


class _Retry:
    """When an unresolved instance is looked up again."""

    __slots__ = ("attempts", "delay", "handle")

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.attempts = 0
        self.handle: asyncio.TimerHandle | None = None


class ZsdpBrowser:
    """Keeps ``_zsdp._tcp`` browsing going on one shared zeroconf; every task is kept."""

    def __init__(
        self,
        aiozc: AsyncZeroconf,
        *,
        on_found: Callable[[Sighting], None],
        on_gone: Callable[[str], None],
        on_announce: Callable[[str], None],
        resolve_timeout: float = 3.0,
        sweep_min: float = SWEEP_MIN,
        sweep_max: float = SWEEP_MAX,
        retry_min: float = RETRY_MIN,
        retry_max: float = RETRY_MAX,
    ) -> None:
        self._aiozc = aiozc
        self._on_found = on_found
        self._on_gone = on_gone
        self._on_announce = on_announce
        self._resolve_timeout = resolve_timeout
        self._sweep_min = sweep_min
        self._sweep_max = sweep_max
        self._retry_min = retry_min
        self._retry_max = retry_max
        self._browser: AsyncServiceBrowser | None = None
        self._listener: _Announcements | None = None
        self._queue: deque[str] = deque()  # instances waiting for a network lookup
        self._queued: set[str] = set()
        self._looking_up: set[str] = set()
        self._again: set[str] = set()  # records arrived during the lookup: look once more
        self._withdrawn: set[str] = set()  # removed (goodbye) while its lookup ran
        self._retries: dict[str, _Retry] = {}  # unresolved instances (PTR known, SRV/TXT/A not)
        self._parked: set[str] = set()  # unresolved after RETRY_ATTEMPTS lookups
        self._resolved: set[str] = set()
        self._wake_workers = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._sweeper: asyncio.Task[None] | None = None
        self._sweep_soon = asyncio.Event()
        self._malformed_logged: dict[str, float] = {}
        self.started = False
        self.sweeps = 0  # PTR queries this browser sent (diagnostics)
        self.lookups = 0  # network lookups started
        self.lookup_failures = 0

    async def start(self) -> None:
        zc = self._aiozc.zeroconf
        # Before the browser exists: it reports the instances already cached at once.
        self.started = True
        loop = asyncio.get_running_loop()
        self._workers = [
            loop.create_task(self._lookup_worker(), name=f"zsdp lookup {n}")
            for n in range(RESOLVE_CONCURRENCY)
        ]
        self._sweeper = loop.create_task(self._sweep_loop(), name="zsdp sweep")
        self._listener = _Announcements(self._announced)
        zc.async_add_listener(self._listener, None)
        self._browser = AsyncServiceBrowser(
            zc,
            SERVICE_TYPE,
            handlers=[self._on_state_change],
            question_type=DNSQuestionType.QM,
        )

    async def stop(self) -> None:
        self.started = False
        if self._browser is not None:
            await self._browser.async_cancel()
            self._browser = None
        if self._listener is not None:
            self._aiozc.zeroconf.async_remove_listener(self._listener)
            self._listener = None
        for retry in self._retries.values():
            if retry.handle is not None:
                retry.handle.cancel()
        self._retries.clear()
        tasks = [*self._workers, *([self._sweeper] if self._sweeper is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers = []
        self._sweeper = None
        self._queue.clear()
        self._queued.clear()
        self._looking_up.clear()
        self._again.clear()
        self._withdrawn.clear()
        self._resolved.clear()
        self._parked.clear()

    # -- browser callbacks (called in the loop by zeroconf) ----------------------------------

    def _on_state_change(
        self,
        zeroconf: Zeroconf,
        service_type: str,
        name: str,
        state_change: ServiceStateChange,
    ) -> None:
        if state_change is ServiceStateChange.Removed:
            self._forget(name)
            self._on_gone(name)
            return
        if state_change is ServiceStateChange.Added and name not in self._resolved:
            self._sweep_soon.set()  # one new instance: others of the same burst may be missing
        self._resolve_soon(name)

    def _announced(self, name: str) -> None:
        """SRV/TXT records of an instance arrived, asked for or not."""
        if name in self._retries or name in self._queued or name in self._parked:
            self._resolve_soon(name)  # an instance we are waiting for: complete it now
        self._on_announce(name)

    def _forget(self, name: str) -> None:
        retry = self._retries.pop(name, None)
        if retry is not None and retry.handle is not None:
            retry.handle.cancel()
        self._resolved.discard(name)
        self._parked.discard(name)
        self._again.discard(name)
        if name in self._looking_up:
            self._withdrawn.add(name)
        if name in self._queued:
            self._queued.discard(name)
            self._queue.remove(name)

    def _resolve_soon(self, name: str) -> None:
        """From the cache now when it holds SRV, TXT and A; else queue a network lookup."""
        if not self.started:
            return
        if name in self._looking_up:
            self._again.add(name)  # look once more when the running lookup ends
            return
        info = AsyncServiceInfo(SERVICE_TYPE, name)
        if info.load_from_cache(self._aiozc.zeroconf):
            self._done(name, info)
            return
        if name not in self._queued:
            self._queued.add(name)
            self._queue.append(name)
            self._wake_workers.set()

    async def _lookup_worker(self) -> None:
        while True:
            while not self._queue:
                self._wake_workers.clear()
                await self._wake_workers.wait()
            name = self._queue.popleft()
            self._queued.discard(name)
            self._looking_up.add(name)
            info = AsyncServiceInfo(SERVICE_TYPE, name)
            self.lookups += 1
            try:
                found = await info.async_request(
                    self._aiozc.zeroconf,
                    int(self._resolve_timeout * 1000),
                    question_type=DNSQuestionType.QM,
                )
            except Exception:
                _LOGGER.exception("zsdp: looking up %s failed", name)
                found = False
            finally:
                self._looking_up.discard(name)
            if not self.started:
                return
            if name in self._withdrawn:  # said goodbye meanwhile: this answer is stale
                self._withdrawn.discard(name)
                if name not in self._again:  # (unless it came back meanwhile too)
                    continue
                found = False
            if found:
                self._done(name, info)
            elif name in self._again:
                self._again.discard(name)
                self._resolve_soon(name)
            else:
                self._failed(name)

    def _failed(self, name: str) -> None:
        """No SRV/TXT/A in time: try again later, for as long as the PTR is cached."""
        self.lookup_failures += 1
        _LOGGER.debug("zsdp: %s did not resolve; trying again", name)
        retry = self._retries.get(name)
        if retry is None:
            retry = self._retries[name] = _Retry(self._retry_min)
        retry.attempts += 1
        if retry.attempts >= RETRY_ATTEMPTS:
            del self._retries[name]
            self._parked.add(name)
            _LOGGER.debug("zsdp: %s parked after %d lookups", name, retry.attempts)
            return
        delay = retry.delay * (
            0.5 + 0.5 * random.random()
        )  # jitter: instances lost together retry apart
        retry.delay = min(self._retry_max, retry.delay * 2)
        if retry.handle is not None:
            retry.handle.cancel()
        retry.handle = asyncio.get_running_loop().call_later(delay, self._resolve_soon, name)
        self._sweep_soon.set()

    def _done(self, name: str, info: AsyncServiceInfo) -> None:
        retry = self._retries.pop(name, None)
        if retry is not None and retry.handle is not None:
            retry.handle.cancel()
        self._parked.discard(name)
        self._again.discard(name)
        self._resolved.add(name)
        self._found(name, info)

    def _found(self, name: str, info: AsyncServiceInfo) -> None:
        if info.port is None:
            _LOGGER.debug("zsdp: %s has no port", name)
            return
        addresses = info.parsed_addresses(IPVersion.V4Only)
        if not addresses:
            _LOGGER.debug("zsdp: %s has no IPv4 address", name)
            return
        properties: dict[bytes, bytes | None] = dict(info.properties)
        try:
            adv = Advertisement.from_txt(properties)
        except ProtocolError as err:
            self._log_malformed(name, str(err))
            return
        self._on_found(
            Sighting(
                name=name,
                host=addresses[0],
                port=int(info.port),
                advertisement=adv,
                txt=decode_txt(properties),
            )
        )

    # -- sweeps ------------------------------------------------------------------------------

    async def _sweep_loop(self) -> None:
        """Ask for instances we do not know, at ``sweep_min`` doubling to ``sweep_max``;
        a new instance or a failed lookup starts the series over (a burst is arriving).
        After ``SWEEP_FRUITLESS`` sweeps that brought nothing new, one every ``SWEEP_IDLE``."""
        interval = self._sweep_min
        fruitless = 0
        while True:
            self._sweep_soon.clear()
            wait = interval if fruitless < SWEEP_FRUITLESS else max(interval, SWEEP_IDLE)
            try:
                async with asyncio.timeout(wait):
                    await self._sweep_soon.wait()
            except TimeoutError:
                # Nothing new since the last sweep (news would have cut the wait short).
                fruitless += 1
                self.sweep()
                interval = min(self._sweep_max, interval * 2)
                continue
            # Something new: wait the short interval from now (the rest of the burst lands
            # meanwhile), then sweep and double again.
            interval = self._sweep_min
            fruitless = 0

    def sweep(self) -> None:
        """Send one PTR query for ``_zsdp._tcp`` with every cached instance as known answer."""
        zc = self._aiozc.zeroconf
        if zc.done:
            return
        now = current_time_millis()
        for out in generate_service_query(zc, now, {SERVICE_TYPE}, True, DNSQuestionType.QM):
            zc.async_send(out)
        self.sweeps += 1

    def _log_malformed(self, name: str, problem: str) -> None:
        now = time.monotonic()
        last = self._malformed_logged.get(name)
        if last is not None and now - last < MALFORMED_LOG_INTERVAL:
            _LOGGER.debug("zsdp: ignoring announcement %s: %s", name, problem)
            return
        if len(self._malformed_logged) > 256:
            self._malformed_logged.clear()
        self._malformed_logged[name] = now
        _LOGGER.warning("zsdp: ignoring malformed announcement %s: %s", name, problem)

    def status(self) -> dict[str, Any]:
        return {
            "browsing": self.started,
            "resolving": len(self._looking_up) + len(self._queue),
            "unresolved": len(self._retries),
            "parked": len(self._parked),
            "sweeps": self.sweeps,
            "lookups": self.lookups,
            "lookup_failures": self.lookup_failures,
        }
