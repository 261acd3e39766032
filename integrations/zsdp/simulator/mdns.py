"""Advertising simulated devices as ``_zsdp._tcp`` services (docs/zsdp.md §3).

One ``AsyncZeroconf`` per simulator process, pinned to the address the devices listen on
(127.0.0.1 by default: never the machine's real network unless asked). Registration skips
probing (``cooperating_responders``: each simulated device owns its name), so a device is
discoverable within milliseconds. ``withdraw(goodbye=False)`` drops a service the way a device
whose plug is pulled disappears: it stops answering, and other hosts keep it cached until the
records expire.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import Any

from integrations.zsdp.discovery import SERVICE_TYPE, Advertisement

__all__ = ["Advertiser"]

_LOGGER = logging.getLogger(__name__)
_HOST_LABEL = re.compile(r"[^A-Za-z0-9-]+")


@dataclass(slots=True)
class _Entry:
    info: Any  # zeroconf.ServiceInfo
    ad: Advertisement
    port: int


class Advertiser:
    def __init__(self, interface: str) -> None:
        self.interface = interface
        self._zc: Any = None  # zeroconf.asyncio.AsyncZeroconf
        self._entries: dict[str, _Entry] = {}
        # One lock per device: a device's updates stay in order, devices announce in parallel
        # (each announcement takes ~0.5 s of mDNS timing; fourteen in a row would take seconds).
        self._locks: dict[str, asyncio.Lock] = {}

    async def start(self) -> None:
        from zeroconf import IPVersion
        from zeroconf.asyncio import AsyncZeroconf

        from hub.net.mdns import enlarge_receive_buffers

        self._zc = AsyncZeroconf(interfaces=[self.interface], ip_version=IPVersion.V4Only)
        # A thousand devices answer the hubs' queries from this one process: room for bursts.
        await enlarge_receive_buffers(self._zc)
        _LOGGER.info("simulator mDNS on %s", self.interface)

    def _info(self, ad: Advertisement, port: int) -> Any:
        from zeroconf import ServiceInfo

        label = _HOST_LABEL.sub("-", f"zs-{ad.device_id}").strip("-")[:63]
        return ServiceInfo(
            SERVICE_TYPE,
            f"{ad.instance_name()}.{SERVICE_TYPE}",
            port=port,
            properties=ad.to_txt(),
            server=f"{label}.local.",
            parsed_addresses=[self.interface],
        )

    async def publish(self, ad: Advertisement, port: int) -> None:
        """Register the device, or update its TXT record when it is registered already."""
        async with self._lock(ad.device_id):
            if self._zc is None:
                return
            entry = self._entries.get(ad.device_id)
            info = self._info(ad, port)
            if entry is not None and entry.port == port:
                entry.ad, entry.info = ad, info
                await (await self._zc.async_update_service(info))
                return
            if entry is not None:
                await (await self._zc.async_unregister_service(entry.info))
            # Awaited twice: the first await registers, the second waits for the announcements.
            await (await self._zc.async_register_service(info, cooperating_responders=True))
            self._entries[ad.device_id] = _Entry(info, ad, port)

    def _lock(self, device_id: str) -> asyncio.Lock:
        return self._locks.setdefault(device_id, asyncio.Lock())

    async def withdraw(self, device_id: str, *, goodbye: bool = True) -> None:
        async with self._lock(device_id):
            entry = self._entries.pop(device_id, None)
            if entry is None or self._zc is None:
                return
            if goodbye:
                await (await self._zc.async_unregister_service(entry.info))
            else:
                # No goodbye packets: the service simply stops being answered.
                self._zc.zeroconf.registry.async_remove(entry.info)

    async def close(self) -> None:
        await asyncio.gather(*(self.withdraw(d) for d in list(self._entries)))
        if self._zc is not None:
            zc, self._zc = self._zc, None
            await zc.async_close()
