"""The simulator's mDNS advertisement, seen by a real zeroconf browser pinned to 127.0.0.1 asking
QM questions (docs/zsdp.md §3; see the project's testing notes for why QM)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from simrig import COOKTOP, LAMP, RigFactory
from zeroconf import DNSQuestionType, IPVersion, ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from integrations.zsdp import SERVICE_TYPE, Advertisement


class Watcher:
    """A hub-like browser: records every state change and resolves TXT records."""

    def __init__(self, aiozc: AsyncZeroconf) -> None:
        self.aiozc = aiozc
        self.changes: list[tuple[str, ServiceStateChange]] = []
        self.changed = asyncio.Event()

    def on_change(self, **kw: Any) -> None:
        self.changes.append((kw["name"], kw["state_change"]))
        self.changed.set()

    async def advertisement(self, name: str) -> Advertisement | None:
        info = AsyncServiceInfo(SERVICE_TYPE, name)
        if not await info.async_request(
            self.aiozc.zeroconf, 1000, question_type=DNSQuestionType.QM
        ):
            return None
        return Advertisement.from_txt(info.properties)

    async def wait_for(self, predicate: Any, timeout: float = 5.0) -> Any:
        async with asyncio.timeout(timeout):
            while True:
                for name, change in list(self.changes):
                    result = await predicate(name, change)
                    if result:
                        return result
                self.changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), 0.2)


@pytest.fixture
async def watcher() -> AsyncIterator[Watcher]:
    aiozc = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    w = Watcher(aiozc)
    browser = AsyncServiceBrowser(
        aiozc.zeroconf, SERVICE_TYPE, handlers=[w.on_change], question_type=DNSQuestionType.QM
    )
    yield w
    await browser.async_cancel()
    await aiozc.async_close()


async def test_advertised_with_the_profile_identity_and_pairing_state(
    make_rig: RigFactory, watcher: Watcher
) -> None:
    rig = await make_rig(LAMP, COOKTOP, mdns=True)
    lamp = rig.device(LAMP)

    async def lamp_ad(name: str, change: ServiceStateChange) -> Advertisement | None:
        if change is ServiceStateChange.Removed:
            return None
        ad = await watcher.advertisement(name)
        return ad if ad is not None and ad.device_id == lamp.device_id else None

    ad = await watcher.wait_for(lamp_ad)
    # vid/pid from the profile's mDNS fingerprint (0x1A01 / first of 0x0101|0x0102).
    assert (ad.vid, ad.pid, ad.model, ad.version) == (0x1A01, 0x0101, "XDD-CCT-480", (1, 0))
    assert ad.pairing_open
    # Each simulated device has its own instance name and id.
    for device in rig.sim.devices.values():
        name = f"{device.advertisement().instance_name()}.{SERVICE_TYPE}"
        found = await watcher.advertisement(name)
        assert found is not None and found.device_id == device.device_id
    info = AsyncServiceInfo(SERVICE_TYPE, f"{ad.instance_name()}.{SERVICE_TYPE}")
    assert await info.async_request(watcher.aiozc.zeroconf, 1000)
    assert info.port == lamp.port and info.parsed_addresses() == ["127.0.0.1"]

    # Pairing closes the window; the TXT record follows (pair=0).
    await rig.pair(LAMP)

    async def closed(name: str, change: ServiceStateChange) -> bool:
        ad = await watcher.advertisement(name)
        return ad is not None and ad.device_id == lamp.device_id and not ad.pairing_open

    await watcher.wait_for(closed)


async def test_offline_withdraws_without_goodbye_and_stop_says_goodbye(
    make_rig: RigFactory, watcher: Watcher
) -> None:
    rig = await make_rig(LAMP, mdns=True)
    lamp = rig.device(LAMP)

    async def seen(name: str, change: ServiceStateChange) -> str | None:
        if change is not ServiceStateChange.Added:
            return None
        ad = await watcher.advertisement(name)
        return name if ad is not None and ad.device_id == lamp.device_id else None

    name = await watcher.wait_for(seen)
    await rig.control.offline(lamp.device_id)
    await asyncio.sleep(1.0)
    # A pulled plug sends nothing: the browser still believes in the device (its cache).
    assert (name, ServiceStateChange.Removed) not in watcher.changes
    await rig.control.online(lamp.device_id)
    ad = await watcher.advertisement(name)
    assert ad is not None and ad.device_id == lamp.device_id

    await lamp.stop()  # a clean stop: goodbye packets

    async def removed(n: str, change: ServiceStateChange) -> bool:
        return n == name and change is ServiceStateChange.Removed

    await watcher.wait_for(removed)
