"""Devices waiting to be commissioned: ``_matterc._udp`` on the hub's shared zeroconf.

A commissionable Matter device advertises an instance (a random 64-bit hex name) with TXT keys
(Matter Core spec §4.3.1): ``VP`` vendor+product (decimal, ``"65521+32769"``), ``D`` the 12-bit
discriminator, ``CM`` commissioning mode (0: not open, 1: basic, 2: enhanced), ``DT`` device
type, ``DN`` device name, ``PH``/``PI`` pairing hint and instruction. Each open one becomes a
discovery record the hub matches against profiles (vendor/product exactly, else the device
type's generic profile) and shows as pending; it goes away with the service's goodbye, which a
device sends when it is commissioned or its window closes.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zeroconf import DNSQuestionType, IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

__all__ = ["SERVICE_NAME", "SERVICE_TYPE", "Commissionable", "CommissionableBrowser", "parse_txt"]

_LOGGER = logging.getLogger(__name__)

SERVICE_TYPE = "_matterc._udp.local."
SERVICE_NAME = "_matterc._udp"


@dataclass(frozen=True, slots=True)
class Commissionable:
    name: str  # full instance name
    instance: str  # the instance label (the record's key)
    address: str | None
    txt: dict[str, str] = field(default_factory=dict)
    vendor_id: int | None = None
    product_id: int | None = None
    discriminator: int | None = None
    device_type: int | None = None
    device_name: str | None = None
    commissioning_mode: int | None = None

    @property
    def label(self) -> str:
        if self.device_name:
            return self.device_name
        if self.vendor_id is not None:
            product = f"0x{self.product_id:04X}" if self.product_id is not None else "?"
            return f"Matter 0x{self.vendor_id:04X}/{product}"
        return f"Matter {self.instance}"

    def identity(self) -> dict[str, Any]:
        out: dict[str, Any] = {"service": SERVICE_NAME, "txt": dict(self.txt)}
        if self.vendor_id is not None:
            out["vendor_id"] = self.vendor_id
        if self.product_id is not None:
            out["product_id"] = self.product_id
        if self.device_type is not None:
            out["device_types"] = [self.device_type]
        if self.discriminator is not None:
            out["discriminator"] = self.discriminator
        return out


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip(), 10)
    except ValueError:
        return None


def parse_txt(name: str, address: str | None, txt: Mapping[str, str]) -> Commissionable:
    """Read the TXT keys (upper-cased); malformed values are left out, never fatal."""
    keys = {k.upper(): v for k, v in txt.items()}
    vendor = product = None
    vp = keys.get("VP")
    if vp:
        head, _, tail = vp.partition("+")
        vendor, product = _int(head), _int(tail) if tail else None
    instance = name.split(".", 1)[0]
    dn = keys.get("DN")
    return Commissionable(
        name=name,
        instance=instance,
        address=address,
        txt={k.lower(): v for k, v in keys.items()},
        vendor_id=vendor,
        product_id=product,
        discriminator=_int(keys.get("D")),
        device_type=_int(keys.get("DT")),
        device_name=dn.strip() if dn and dn.strip() else None,
        commissioning_mode=_int(keys.get("CM")),
    )


def _decode_txt(properties: Mapping[bytes, bytes | None]) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw_key, raw_value in properties.items():
        key = raw_key.decode("utf-8", "replace")
        if key not in out:
            out[key] = "" if raw_value is None else raw_value.decode("utf-8", "replace")
    return out


class CommissionableBrowser:
    """Browses ``_matterc._udp``; calls back with each resolved instance and each goodbye."""

    def __init__(
        self,
        aiozc: AsyncZeroconf,
        *,
        on_found: Callable[[Commissionable], None],
        on_gone: Callable[[str], None],
        resolve_timeout: float = 3.0,
    ) -> None:
        self._aiozc = aiozc
        self._on_found = on_found
        self._on_gone = on_gone
        self._resolve_timeout = resolve_timeout
        self._browser: AsyncServiceBrowser | None = None
        self._resolving: dict[str, asyncio.Task[None]] = {}
        self.started = False

    async def start(self) -> None:
        self._browser = AsyncServiceBrowser(
            self._aiozc.zeroconf,
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
        tasks = list(self._resolving.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._resolving.clear()

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
        if not self.started or name in self._resolving:
            return
        task = asyncio.get_running_loop().create_task(
            self._resolve(service_type, name), name=f"matter resolve {name}"
        )
        self._resolving[name] = task
        task.add_done_callback(functools.partial(self._resolved, name))

    def _resolved(self, name: str, task: asyncio.Task[None]) -> None:
        if self._resolving.get(name) is task:
            del self._resolving[name]
        if not task.cancelled() and task.exception() is not None:
            _LOGGER.error("matter: resolving %s failed", name, exc_info=task.exception())

    async def _resolve(self, service_type: str, name: str) -> None:
        info = AsyncServiceInfo(service_type, name)
        found = await info.async_request(
            self._aiozc.zeroconf,
            int(self._resolve_timeout * 1000),
            question_type=DNSQuestionType.QM,
        )
        if not found:
            _LOGGER.debug("matter: %s did not resolve", name)
            return
        addresses = info.parsed_addresses(IPVersion.V4Only)
        address = f"{addresses[0]}:{info.port}" if addresses and info.port else None
        self._on_found(parse_txt(name, address, _decode_txt(dict(info.properties))))
