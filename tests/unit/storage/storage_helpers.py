"""Builders shared by the storage tests (a module name unique across the test tree)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import Engine, func, select, text

from hub.core.bus import EventBus
from hub.core.registry import Device, Room
from hub.core.state import StateStore
from hub.core.tasks import TaskKeeper


@dataclass
class Kernel:
    tasks: TaskKeeper
    bus: EventBus
    states: StateStore


def make_room(room_id: str = "kitchen") -> Room:
    return Room(room_id, "厨房", "Kitchen", order=1)


def make_device(device_id: str = "hood-1", room_id: str | None = "kitchen") -> Device:
    return Device(
        id=device_id,
        name_zh="油烟机",
        name_en="Range hood",
        profile_id="vanward.hood.x1",
        integration="zsdp",
        transport="lan",
        identity={"mac": "aa:bb:cc:00:11:22", "pid": "X1"},
        room_id=room_id,
        address="192.0.2.10:6668",
        added_at=1_700_000_000.0,
        config={"poll": 30, "tags": ["kitchen", "gas"]},
    )


def count_rows(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(text(table))).scalar() or 0)


async def count_rows_async(engine: Engine, table: str) -> int:
    return await asyncio.to_thread(count_rows, engine, table)
