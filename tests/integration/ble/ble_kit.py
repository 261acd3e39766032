"""A real hub with the BLE integration on a virtual radio (bumble), and virtual peripherals."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.app import Hub
from hub.config import HubConfig
from integrations.ble.gatt import GattSettings
from integrations.ble.integration import BleIntegration, BleSettings
from integrations.ble.scanner import ScannerSettings
from integrations.ble.virtual import BthomeSensor, GattProfileDevice, VirtualAir

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "ble"
CONTACT = "cn.zs.demo-safety.mc-b2"
COOKTOP = "cn.zs.demo-kitchen.jzt-b2"
PLAIN = "test.ble.plain-thermo"
LOCK = "test.ble.gatt-lock"
KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
DOOR_MAC = "A4:C1:38:00:00:01"
COOKTOP_MAC = "A4:C1:38:00:00:02"
THERMO_MAC = "A4:C1:38:00:00:03"
LOCK_MAC = "A4:C1:38:00:00:04"

FAST = BleSettings(
    scanner=ScannerSettings(retry_initial_s=0.1, retry_max_s=0.5, start_timeout_s=5.0),
    gatt=GattSettings(retry_initial_s=0.1, retry_max_s=0.5, connect_timeout_s=5.0),
    sweep_s=3600.0,  # tests call check_availability() with their own clock
)


async def until(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy (an upper bound, not a timing claim)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def door(**kw: Any) -> BthomeSensor:
    args: dict[str, Any] = {
        "address": DOOR_MAC,
        "local_name": "ZS-MC-0001",
        "objects": {0x01: 93, 0x2D: 0, 0x2B: 0},
        "bindkey": KEY,
        "counter": 1000,
    }
    args.update(kw)
    return BthomeSensor(**args)


def cooktop(**kw: Any) -> GattProfileDevice:
    return GattProfileDevice.from_profile(
        REPO / "device_profiles/demo-kitchen/jzt-b2.yaml",
        address=COOKTOP_MAC,
        local_name="ZS-RQZ-0002",
        **kw,
    )


@dataclass
class BleRig:
    data: Path
    air_name: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:8]}")
    hub: Hub | None = None

    @property
    def air(self) -> VirtualAir:
        return VirtualAir.named(self.air_name)

    @property
    def radio(self) -> str:
        return f"virtual:{self.air_name}"

    @property
    def ble(self) -> BleIntegration:
        assert self.hub is not None
        integration = self.hub.integrations["ble"]
        assert isinstance(integration, BleIntegration)
        return integration

    def config(self, radio: str | None = None) -> HubConfig:
        return HubConfig.load(
            self.data,
            port=0,
            plugins=(),
            ble_radio=radio or self.radio,
            profile_dirs=[str(FIXTURES / "profiles")],
        )

    async def start(self, radio: str | None = None, settings: BleSettings = FAST) -> Hub:
        hub = Hub(
            self.config(radio), extra_plugins=[lambda h: BleIntegration(h, settings=settings)]
        )
        await hub.start()
        self.hub = hub
        return hub

    async def stop(self) -> None:
        if self.hub is not None:
            await self.hub.stop()
            self.hub = None

    async def discovered(self, address: str) -> Any:
        hub = self.hub
        assert hub is not None
        return await until(lambda: hub.discoveries.get(("ble", address)), what=f"{address} found")

    def state(self, path: str) -> Any:
        assert self.hub is not None
        return self.hub.states.value(path)
