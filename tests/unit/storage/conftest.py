"""Fixtures for the storage tests: a real database file in tmp_path and a real kernel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from storage_helpers import Kernel

from hub.core.bus import EventBus
from hub.core.state import StateStore
from hub.core.tasks import TaskKeeper
from hub.storage import Storage


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "zshub.db"


@pytest.fixture
async def storage(db_path: Path) -> AsyncIterator[Storage]:
    store = await Storage.open(db_path)
    yield store
    await store.close()


@pytest.fixture
async def kernel() -> AsyncIterator[Kernel]:
    tasks = TaskKeeper("test")
    bus = EventBus(tasks)
    yield Kernel(tasks, bus, StateStore(bus))
    await tasks.cancel_all()
