"""Browsing ``_zsdp._tcp`` on the hub's shared ``AsyncZeroconf`` (docs/zsdp.md §3).

The browser asks with QM questions (a second process on the same host may otherwise receive the
unicast answer, see the project's testing notes), resolves every added or updated instance with
``AsyncServiceInfo`` and hands a parsed :class:`Sighting` to the integration. It also watches raw
record traffic for the instances it knows, so a device that comes back and re-announces records
identical to the cached ones (no browser event) still wakes its reconnect loop.

Discovery is a hint, not liveness: a device that dies without a goodbye stays in the cache for
minutes; the session heartbeat decides online/offline.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
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
)
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
    ) -> None:
        self._aiozc = aiozc
        self._on_found = on_found
        self._on_gone = on_gone
        self._on_announce = on_announce
        self._resolve_timeout = resolve_timeout
        self._browser: AsyncServiceBrowser | None = None
        self._listener: _Announcements | None = None
        self._resolving: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._malformed_logged: dict[str, float] = {}
        self.started = False

    async def start(self) -> None:
        zc = self._aiozc.zeroconf
        self._listener = _Announcements(self._on_announce)
        zc.async_add_listener(self._listener, None)
        self._browser = AsyncServiceBrowser(
            zc,
            SERVICE_TYPE,
            handlers=[self._on_state_change],
            question_type=DNSQuestionType.QM,
        )
        self.started = True

    async def stop(self) -> None:
        self.started = False
        if self._browser is not None:
            await self._browser.async_cancel()
            self._browser = None
        if self._listener is not None:
            self._aiozc.zeroconf.async_remove_listener(self._listener)
            self._listener = None
        tasks = list(self._resolving.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._resolving.clear()

    # -- browser callbacks (called in the loop by zeroconf) ----------------------------------

    def _on_state_change(
        self,
        zeroconf: Zeroconf,
        service_type: str,
        name: str,
        state_change: ServiceStateChange,
    ) -> None:
        if state_change is ServiceStateChange.Removed:
            task = self._resolving.pop(name, None)
            if task is not None:
                task.cancel()
            self._on_gone(name)
            return
        self._resolve_soon(service_type, name)

    def _resolve_soon(self, service_type: str, name: str) -> None:
        if not self.started:
            return
        if name in self._resolving:
            self._again.add(name)  # resolve once more when the running lookup ends
            return
        task = asyncio.get_running_loop().create_task(
            self._resolve(service_type, name), name=f"zsdp resolve {name}"
        )
        self._resolving[name] = task
        task.add_done_callback(functools.partial(self._resolved, name, service_type))

    def _resolved(self, name: str, service_type: str, task: asyncio.Task[None]) -> None:
        if self._resolving.get(name) is task:
            del self._resolving[name]
        if not task.cancelled() and task.exception() is not None:
            _LOGGER.error("zsdp: resolving %s failed", name, exc_info=task.exception())
        if name in self._again:
            self._again.discard(name)
            self._resolve_soon(service_type, name)

    async def _resolve(self, service_type: str, name: str) -> None:
        info = AsyncServiceInfo(service_type, name)
        found = await info.async_request(
            self._aiozc.zeroconf,
            int(self._resolve_timeout * 1000),
            question_type=DNSQuestionType.QM,
        )
        if not found or info.port is None:
            _LOGGER.debug("zsdp: %s did not resolve", name)
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
        return {"browsing": self.started, "resolving": len(self._resolving)}
