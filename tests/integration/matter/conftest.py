"""Fixtures: a fake Matter server (python-matter-server's WebSocket API) and a hub using it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from matter_env import Env, start_env, stop_env, wait_for
from matter_fake import FakeMatterServer

from hub.auth import hashing


@pytest.fixture(autouse=True)
def cheap_hashes() -> Iterator[None]:
    hashing.set_cost(time_cost=1, memory_kib=1024, parallelism=1)
    yield
    from argon2.profiles import RFC_9106_LOW_MEMORY

    hashing.set_cost(
        time_cost=RFC_9106_LOW_MEMORY.time_cost,
        memory_kib=RFC_9106_LOW_MEMORY.memory_cost,
        parallelism=RFC_9106_LOW_MEMORY.parallelism,
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeMatterServer]:
    server = FakeMatterServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def env(tmp_path: Path, fake: FakeMatterServer) -> AsyncIterator[Env]:
    e = await start_env(tmp_path, matter_url=fake.url)
    await wait_for(lambda: e.matter.status()["state"] == "connected", what="connected")
    yield e
    await stop_env(e)
