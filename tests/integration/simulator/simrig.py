"""Shared pieces of the simulator tests: profile ids, a paired hub ``Session`` that decodes what
the device reports, and the ``Rig`` (a simulator with its control client)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from hub.config import repo_root
from hub.profiles.compiled import LoadedProfile
from hub.profiles.runtime import DpRuntime
from integrations.zsdp import HubConnection, Update
from integrations.zsdp.messages import Report
from integrations.zsdp.simulator import (
    SimulatedDevice,
    Simulator,
    SimulatorControl,
    resolve_profiles,
)
from integrations.zsdp.simulator.table import from_dp_value

PROFILES = repo_root() / "device_profiles"
LAMP = "cn.zs.demo-guzhen-lighting.xdd-cct-480"
LOCK = "cn.zs.demo-xiaolan-lock.l8-fp"
COOKTOP = "cn.zs.demo-kitchen.jzt-b2w"
GAS = "cn.zs.demo-safety.jt-rq-v1"
RICE = "cn.zs.demo-kitchen.dfb-40"
HEATER = "cn.zs.demo-heater.jsq30-16"
PURIFIER = "cn.zs.demo-water.ro-600g"
HOOD = "cn.zs.demo-kitchen.cxw-t9"
CONTACT = "cn.zs.demo-safety.mc-w2"
HUB_ID = "hub-test"


@dataclass
class Session:
    """A paired hub session with one simulated device, decoding what it reports."""

    conn: HubConnection
    device: SimulatedDevice
    updates: asyncio.Queue[Update] = field(default_factory=asyncio.Queue)
    raw: dict[int, Any] = field(default_factory=dict)  # what the hub knows, as raw values

    @property
    def binding(self) -> DpRuntime:
        binding = self.device.profile.binding("zsdp")
        assert binding is not None
        return binding

    async def report(self, timeout: float = 3.0) -> tuple[dict[int, Any], Any]:
        """The next REPORT as raw values, and its decoding against what the hub knew before."""
        async with asyncio.timeout(timeout):
            while True:
                update = await self.updates.get()
                if isinstance(update, Report):
                    break
        raw = {dp: from_dp_value(v) for dp, v in update.dps.items()}
        decoded = self.binding.decode(raw, dict(self.raw))
        self.raw.update(raw)
        return raw, decoded

    async def report_until(
        self, predicate: Callable[[dict[int, Any]], bool], timeout: float = 5.0
    ) -> list[tuple[dict[int, Any], Any]]:
        seen = []
        async with asyncio.timeout(timeout):
            while True:
                raw, decoded = await self.report(timeout)
                seen.append((raw, decoded))
                if predicate(raw):
                    return seen

    def value(self, path: str) -> Any:
        return self.binding.decode(self.raw).states.get(path)


@dataclass
class Rig:
    sim: Simulator
    control: SimulatorControl
    control_port: int
    sessions: list[Session] = field(default_factory=list)

    def device(self, profile_id: str, n: int = 0) -> SimulatedDevice:
        found = [d for d in self.sim.devices.values() if d.profile.id == profile_id]
        return found[n]

    async def pair(self, profile_id: str, n: int = 0) -> Session:
        device = self.device(profile_id, n)
        holder: list[Session] = []
        conn = await HubConnection.connect(
            "127.0.0.1",
            device.port,
            device.device_id,
            device.spec.pairing_code,
            hub_id=HUB_ID,
            on_update=lambda u: holder[0].updates.put_nowait(u) if holder else None,
        )
        session = Session(conn, device)
        holder.append(session)
        session.raw = {dp: from_dp_value(v) for dp, v in (await conn.get()).items()}
        self.sessions.append(session)
        return session


@functools.cache
def load_profiles(*refs: str) -> dict[str, LoadedProfile]:
    """Profiles load once per test run (they are read-only once loaded)."""
    return resolve_profiles(list(refs), None)


RigFactory = Callable[..., Awaitable[Rig]]
