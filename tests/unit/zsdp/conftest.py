"""Fixtures for the ZS-DP tests: real loopback TCP (127.0.0.1, port 0), no mocks.

Modules that run sockets use ``loop_hygiene``: nothing may reach the loop's exception handler
("Task exception was never retrieved", "Future exception was never retrieved", ...) and no task
may be left running after the fixtures have closed their endpoints and connections.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from zsdp_helpers import DEVICE_ID, HUB_ID, DPTable, FrameProxy, lamp_table

from integrations.zsdp import (
    DeviceEndpoint,
    DeviceInfo,
    HubConnection,
    LongTermKey,
    generate_pairing_code,
)


@pytest.fixture
async def loop_hygiene(caplog: pytest.LogCaptureFixture) -> AsyncIterator[None]:
    caplog.set_level(logging.INFO, logger="integrations.zsdp")
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    yield
    # Other fixtures are torn down before this one (it was set up first).
    await asyncio.sleep(0.01)
    gc.collect()
    await asyncio.sleep(0)
    current = asyncio.current_task()
    leftover = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    assert not leftover, f"tasks still running after close: {leftover}"
    assert not errors, f"loop exception handler called: {errors}"


@pytest.fixture
def code() -> str:
    return generate_pairing_code()


@pytest.fixture
def table() -> DPTable:
    return lamp_table()


DeviceFactory = Callable[..., Awaitable[DeviceEndpoint]]


@pytest.fixture
async def make_device(code: str, table: DPTable) -> AsyncIterator[DeviceFactory]:
    started: list[DeviceEndpoint] = []

    async def factory(**kwargs: Any) -> DeviceEndpoint:
        handler = kwargs.pop("handler", table)
        info = kwargs.pop(
            "info", DeviceInfo(DEVICE_ID, 0x1A01, 0x0101, "1.0.0", model="XDD-CCT-480")
        )
        kwargs.setdefault("pairing_code", code)
        device = DeviceEndpoint(info, handler, **kwargs)
        if isinstance(handler, DPTable):
            handler.endpoint = device
        await device.start("127.0.0.1", 0)
        started.append(device)
        return device

    yield factory
    for device in started:
        await device.stop()


@pytest.fixture
async def device(make_device: DeviceFactory) -> DeviceEndpoint:
    return await make_device()


ConnFactory = Callable[..., Awaitable[HubConnection]]


@pytest.fixture
async def connect() -> AsyncIterator[ConnFactory]:
    """Opens hub connections and closes whatever is still open at the end of the test."""
    opened: list[HubConnection] = []

    async def factory(port: int, credential: LongTermKey | str, **kwargs: Any) -> HubConnection:
        kwargs.setdefault("hub_id", HUB_ID if isinstance(credential, str) else None)
        device_id = kwargs.pop("device_id", DEVICE_ID)
        conn = await HubConnection.connect("127.0.0.1", port, device_id, credential, **kwargs)
        opened.append(conn)
        return conn

    yield factory
    for conn in opened:
        await conn.close()


@pytest.fixture
async def paired(device: DeviceEndpoint, connect: ConnFactory, code: str) -> HubConnection:
    return await connect(device.port, code)


@pytest.fixture
async def make_proxy() -> AsyncIterator[Callable[[int], Awaitable[FrameProxy]]]:
    proxies: list[FrameProxy] = []

    async def factory(target_port: int) -> FrameProxy:
        proxy = FrameProxy(target_port)
        await proxy.start()
        proxies.append(proxy)
        return proxy

    yield factory
    for proxy in proxies:
        await proxy.stop()
