"""Fixtures: a fresh named air per test and a radio on it (the hub side)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from integrations.ble.virtual import VirtualAir, VirtualRadio, radio_from_spec

_names = itertools.count()

KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
JZT_B2 = "device_profiles/demo-kitchen/jzt-b2.yaml"
STATUS = "5a530002-0000-1000-8000-00805f9b34fb"
CONTROL = "5a530003-0000-1000-8000-00805f9b34fb"


@pytest.fixture
async def air() -> AsyncIterator[VirtualAir]:
    name = f"test-{next(_names)}"
    air = VirtualAir.named(name)
    yield air
    await air.close()


@pytest.fixture
async def radio(air: VirtualAir) -> AsyncIterator[VirtualRadio]:
    radio = radio_from_spec(f"virtual:{air.name}")
    assert radio is not None
    yield radio
    await radio.close()


class Heard:
    """Collects advertisements; ``await heard.next(pred)`` waits for a matching one."""

    def __init__(self) -> None:
        self.items: list[tuple[BLEDevice, AdvertisementData]] = []
        self._waiters: list[
            tuple[Callable[[BLEDevice, AdvertisementData], bool], asyncio.Future[AdvertisementData]]
        ] = []

    def __call__(self, device: BLEDevice, adv: AdvertisementData) -> None:
        self.items.append((device, adv))
        for pred, fut in list(self._waiters):
            if not fut.done() and pred(device, adv):
                fut.set_result(adv)

    async def next(
        self, pred: Callable[[BLEDevice, AdvertisementData], bool], timeout: float = 5.0
    ) -> AdvertisementData:
        fut: asyncio.Future[AdvertisementData] = asyncio.get_running_loop().create_future()
        self._waiters.append((pred, fut))
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._waiters.remove((pred, fut))


@pytest.fixture
def heard() -> Heard:
    return Heard()
