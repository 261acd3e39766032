"""Fixtures for the simulator tests: real simulated devices on 127.0.0.1, a real control socket,
real ``HubConnection`` sessions. mDNS only where a test asks for it, and then on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from simrig import Rig, RigFactory, load_profiles

from integrations.zsdp.simulator import (
    ControlServer,
    Simulator,
    SimulatorControl,
    build_specs,
    home_from_profiles,
)
from integrations.zsdp.simulator.state import StateFile


@pytest.fixture(autouse=True)
async def loop_hygiene() -> AsyncIterator[None]:
    """Nothing reaches the loop's exception handler and no task outlives the test's fixtures."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    yield
    await asyncio.sleep(0.01)
    gc.collect()
    current = asyncio.current_task()
    leftover = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    assert not leftover, f"tasks still running after the test: {leftover}"
    assert not errors, f"loop exception handler called: {errors}"


@pytest.fixture
async def make_rig(tmp_path: Path) -> AsyncIterator[RigFactory]:
    """Start a simulator (in this process) with a control socket; everything stops after."""
    rigs: list[tuple[Rig, ControlServer]] = []

    async def factory(
        *profiles: str,
        options: dict[str, Any] | None = None,
        mdns: bool = False,
        state: Path | None = None,
        **kw: Any,
    ) -> Rig:
        home = home_from_profiles(list(profiles))
        for device in home.devices:
            device.options = dict(options or {})
        loaded = await asyncio.to_thread(load_profiles, *profiles)
        state_file = StateFile.load(state)
        specs = build_specs(home, loaded, state_file)
        sim = Simulator(specs, advertise=mdns, state=state_file, **kw)
        server = ControlServer(sim.handle)
        await server.start()
        sim.control_port = server.port
        await sim.start()
        control = await SimulatorControl.connect(server.port)
        rig = Rig(sim, control, server.port)
        rigs.append((rig, server))
        return rig

    yield factory
    for rig, server in rigs:
        for session in rig.sessions:
            await session.conn.close()
        await rig.control.close()
        await server.stop()
        await rig.sim.stop()
