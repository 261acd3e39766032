from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from ble_kit import BleRig

from integrations.ble.virtual import VirtualAir


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[BleRig]:
    r = BleRig(tmp_path / "data")
    yield r
    await r.stop()
    await r.air.close()
    VirtualAir.forget(r.air_name)
