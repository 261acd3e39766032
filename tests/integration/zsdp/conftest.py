"""Fixtures for the ZS-DP integration tests: a real ``Hub`` (tmp data dir, SQLite, the shipped
profiles, mDNS pinned to 127.0.0.1) and in-process test devices announced on loopback.

``loop_guard`` fails a test when anything reached the loop's exception handler ("Task exception
was never retrieved" …) or a task is left running after the hub and the devices stopped.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from zsdp_sim import RogueDevice, SimDevice
from zsdp_testkit import FAST, LOOPBACK, DeviceFactory, HubFactory

from hub.app import Hub
from hub.config import HubConfig
from integrations.zsdp import generate_pairing_code
from integrations.zsdp.integration import ZsdpIntegration
from integrations.zsdp.link import LinkSettings


@pytest.fixture
async def loop_guard(caplog: pytest.LogCaptureFixture) -> AsyncIterator[list[dict[str, Any]]]:
    caplog.set_level(logging.INFO)
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    yield errors
    await asyncio.sleep(0.05)
    gc.collect()
    await asyncio.sleep(0)
    current = asyncio.current_task()
    leftover = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    assert not leftover, f"tasks still running after stop: {leftover}"
    assert not errors, f"loop exception handler called: {errors}"


@pytest.fixture
async def make_hub(tmp_path: Path, loop_guard: list[dict[str, Any]]) -> AsyncIterator[HubFactory]:
    hubs: list[Hub] = []

    async def factory(data: Path | None = None, settings: LinkSettings = FAST) -> Hub:
        def plugin(hub: Hub) -> ZsdpIntegration:
            return ZsdpIntegration(hub, settings=settings)

        config = HubConfig.load(data or tmp_path / "hub", mdns_interfaces=(LOOPBACK,), plugins=())
        hub = Hub(config, extra_plugins=[plugin])
        await hub.start()
        hubs.append(hub)
        assert "zsdp" in hub.integrations, hub.problems
        return hub

    yield factory
    for hub in hubs:
        await hub.stop()


@pytest.fixture
async def make_device(loop_guard: list[dict[str, Any]]) -> AsyncIterator[DeviceFactory]:
    devices: list[SimDevice] = []

    async def factory(preset: str = "lamp", **kwargs: Any) -> SimDevice:
        device_id = kwargs.pop("device_id", f"{preset}-{secrets.token_hex(4)}")
        code = kwargs.pop("code", generate_pairing_code())
        device = SimDevice(preset, device_id, code, host=LOOPBACK, **kwargs)
        await device.start()
        devices.append(device)
        return device

    yield factory
    for device in devices:
        await device.stop()


@pytest.fixture
async def make_rogue(loop_guard: list[dict[str, Any]]) -> AsyncIterator[Callable[..., Any]]:
    from zsdp_sim import Advertisement, Announcer

    started: list[tuple[RogueDevice, Announcer]] = []

    async def factory(seed: int) -> RogueDevice:
        rogue = RogueDevice("lamp", f"rogue-{secrets.token_hex(4)}", generate_pairing_code(), seed)
        await rogue.start(LOOPBACK)
        p = rogue.preset
        adv = Advertisement(rogue.device_id, p.vid, p.pid, "6.6.6", (1, 0), True, p.model)
        announcer = Announcer([LOOPBACK], LOOPBACK)
        await announcer.register(adv, rogue.port)
        started.append((rogue, announcer))
        return rogue

    yield factory
    for rogue, announcer in started:
        await announcer.close()
        await rogue.stop()
