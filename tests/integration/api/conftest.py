"""Fixtures for the API tests: a real hub and API server per test, cheap argon2 hashes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from api_helpers import Api, start_api, stop_api

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
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    a = await start_api(tmp_path)
    yield a
    await stop_api(a)
