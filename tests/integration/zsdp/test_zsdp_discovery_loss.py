"""Discovery when multicast gets lost: the hub must still find every device.

Real zeroconf on 127.0.0.1 on both sides (the simulator's ``Advertiser`` and the hub's
``ZsdpBrowser``); the loss is made at the library boundary: the hub's mDNS sockets get a
:class:`LossyNetwork` protocol in front of zeroconf's, which drops or strips incoming packets
by rule. Other processes on this machine may announce ``_zsdp._tcp`` services on loopback too,
so every check counts only this test's own device ids.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from zeroconf._protocol.incoming import DNSIncoming
from zeroconf._protocol.outgoing import DNSOutgoing
from zeroconf.asyncio import AsyncZeroconf
from zsdp_testkit import LOOPBACK, wait_for

from hub.net.mdns import SharedZeroconf
from integrations.zsdp.browser import Sighting, ZsdpBrowser
from integrations.zsdp.discovery import Advertisement
from integrations.zsdp.simulator.mdns import Advertiser

DEVICES = 24
_TYPE_PTR = 12
_FLAGS_RESPONSE = 0x8400  # QR + AA, as python-zeroconf answers

Rule = Callable[[DNSIncoming], str]  # "pass", "drop" or "strip" (keep only PTR records)


class LossyNetwork(asyncio.DatagramProtocol):
    """Sits between a zeroconf socket and zeroconf's own protocol; ``rule`` decides per packet."""

    def __init__(self, inner: asyncio.DatagramProtocol, rule: Rule, tag: str) -> None:
        self.inner = inner
        self.rule = rule
        self.tag = tag
        self.dropped = 0
        self.stripped = 0

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        try:
            msg = DNSIncoming(data)
        except Exception:  # not ours to judge: zeroconf logs and drops it
            self.inner.datagram_received(data, addr)
            return
        verdict = self.rule(msg) if self.tag in _names(msg) else "pass"
        if verdict == "drop":
            self.dropped += 1
            return
        if verdict == "strip" and msg.is_response():
            self.stripped += 1
            out = DNSOutgoing(_FLAGS_RESPONSE, multicast=True)
            for record in msg.answers():
                if record.type == _TYPE_PTR:
                    out.add_answer_at_time(record, 0)
            for packet in out.packets():
                self.inner.datagram_received(packet, addr)
            return
        self.inner.datagram_received(data, addr)

    def error_received(self, exc: Exception) -> None:
        self.inner.error_received(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.inner.connection_lost(exc)


def _names(msg: DNSIncoming) -> str:
    return " ".join(
        [q.name for q in msg.questions]
        + [r.name + " " + getattr(r, "alias", "") for r in msg.answers()]
    )


async def make_lossy(aiozc: AsyncZeroconf, rule: Rule, tag: str) -> list[LossyNetwork]:
    await aiozc.zeroconf.async_wait_for_start()
    lossy = []
    for reader in aiozc.zeroconf.engine.readers:
        transport = reader.transport
        wrapper = LossyNetwork(transport.get_protocol(), rule, tag)
        transport.set_protocol(wrapper)
        lossy.append(wrapper)
    return lossy


class Found:
    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.ids: set[str] = set()

    def __call__(self, sighting: Sighting) -> None:
        if sighting.key.startswith(self.tag):
            self.ids.add(sighting.key)


@pytest.fixture
def tag() -> str:
    """A device-id prefix no other run on this machine uses."""
    return f"t{secrets.token_hex(3)}-"


@pytest.fixture
async def advertiser() -> AsyncIterator[Advertiser]:
    adv = Advertiser(LOOPBACK)
    await adv.start()
    yield adv
    await adv.close()


@pytest.fixture
async def hub_zeroconf() -> AsyncIterator[AsyncZeroconf]:
    shared = SharedZeroconf([LOOPBACK])
    yield await shared.get()
    await shared.close()


def ads(tag: str, count: int = DEVICES) -> list[Advertisement]:
    return [
        Advertisement(f"{tag}{n:03d}", 0x1A01, 0x0101, "1.0.0", (1, 0), True, "XDD-CCT-480")
        for n in range(count)
    ]


async def publish_all(advertiser: Advertiser, tag: str) -> list[str]:
    listed = ads(tag)
    await asyncio.gather(*(advertiser.publish(ad, 40000 + n) for n, ad in enumerate(listed)))
    return [ad.device_id for ad in listed]


def browser(aiozc: AsyncZeroconf, found: Found, **timing: float) -> ZsdpBrowser:
    return ZsdpBrowser(
        aiozc,
        on_found=found,
        on_gone=lambda name: None,
        on_announce=lambda name: None,
        resolve_timeout=timing.pop("resolve_timeout", 0.5),
        **timing,
    )


async def test_instances_cached_before_browsing_are_resolved(
    hub_zeroconf: AsyncZeroconf, advertiser: Advertiser, tag: str
) -> None:
    """The shared zeroconf heard the announcements before the zsdp browser started (another
    integration opened it first, or the browser was restarted): the cached ones count too."""
    ids = await publish_all(advertiser, tag)
    cache = hub_zeroconf.zeroconf.cache
    await wait_for(
        lambda: sum(1 for i in ids if any(i in r.alias for r in _ptrs(cache))) == len(ids),
        20.0,
        "the announcements in the hub's cache",
    )
    found = Found(tag)
    br = browser(hub_zeroconf, found)
    await br.start()
    try:
        await wait_for(lambda: found.ids == set(ids), 20.0, "every cached instance resolved")
    finally:
        await br.stop()


def _ptrs(cache: Any) -> list[Any]:
    return list(cache.async_all_by_details("_zsdp._tcp.local.", _TYPE_PTR, 1))


async def test_every_announcement_lost_is_recovered_by_sweeps(
    hub_zeroconf: AsyncZeroconf, advertiser: Advertiser, tag: str
) -> None:
    """Nothing reaches the hub until its own third sweep: the announcements and the answers to
    the first sweeps (and to zeroconf's start-up queries) are lost; the later sweeps find all."""
    found = Found(tag)
    br = browser(hub_zeroconf, found, sweep_min=0.3, sweep_max=0.6)
    lossy = await make_lossy(hub_zeroconf, lambda msg: "drop" if br.sweeps < 3 else "pass", tag)
    await br.start()
    try:
        ids = await publish_all(advertiser, tag)
        await wait_for(lambda: found.ids == set(ids), 30.0, "every device found")
        assert sum(w.dropped for w in lossy) >= len(ids)  # the announcements were lost
        assert br.sweeps <= 12  # bounded: the series of sweeps does not run away
    finally:
        await br.stop()


async def test_lost_srv_txt_records_are_looked_up_again(
    hub_zeroconf: AsyncZeroconf, advertiser: Advertiser, tag: str
) -> None:
    """The hub hears the PTRs but every SRV/TXT/A is lost at first: each lookup fails, and the
    retries complete every instance once the records get through."""
    found = Found(tag)
    br = browser(hub_zeroconf, found, retry_min=0.2, retry_max=0.4, sweep_max=0.6)
    lossy = await make_lossy(
        hub_zeroconf, lambda msg: "strip" if br.lookup_failures < DEVICES else "pass", tag
    )
    await br.start()
    try:
        ids = await publish_all(advertiser, tag)
        await wait_for(lambda: found.ids == set(ids), 30.0, "every device resolved")
        assert sum(w.stripped for w in lossy) > 0
        assert br.lookup_failures >= DEVICES  # every first lookup failed: retries resolved them
        assert br.status()["unresolved"] == 0
    finally:
        await br.stop()


async def test_half_known_half_lost_with_known_answers(
    hub_zeroconf: AsyncZeroconf, advertiser: Advertiser, tag: str
) -> None:
    """The announcements of every other device are lost; the sweep carries the known ones as
    known answers and still brings the missing ones."""
    found = Found(tag)
    br = browser(hub_zeroconf, found, sweep_min=0.3, sweep_max=0.6)

    def odd_lost(msg: DNSIncoming) -> str:
        if br.sweeps >= 2:
            return "pass"
        odd = any(int(r.name.split(".")[0][-1]) % 2 for r in msg.answers() if tag in r.name)
        return "drop" if odd else "pass"

    await make_lossy(hub_zeroconf, odd_lost, tag)
    await br.start()
    try:
        ids = await publish_all(advertiser, tag)
        await wait_for(lambda: found.ids == set(ids), 30.0, "every device found")
    finally:
        await br.stop()
