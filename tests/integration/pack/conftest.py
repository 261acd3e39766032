"""Fixtures for the pack end-to-end tests: the demo home with the packs running
(see pack_demo_kit.py for the helpers and the jumping clock)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pack_demo_kit import READY_S, DemoRig, JumpClock, PackDemo

from hub.app import Hub
from hub.config import HubConfig
from hub.core.commands import COMMAND_RESULT
from integrations.demo.plugin import DemoHome
from integrations.demo.plugin import setup as demo_setup
from integrations.zsdp.plugin import setup as zsdp_setup
from integrations.zsdp.simulator import SimulatorControl
from rules.notify import NOTIFICATION
from rules.plugin import setup as rules_setup


@pytest.fixture
async def pack_demo(tmp_path: Path) -> AsyncIterator[PackDemo]:
    """``await pack_demo(params=…)``: the demo home with the packs running; ``params`` is the
    text of ``<data>/rules/params.yaml`` (the home's parameter overrides)."""
    rigs: list[DemoRig] = []

    async def start(params: str | None = None) -> DemoRig:
        data = tmp_path / f"data{len(rigs)}"
        if params is not None:
            (data / "rules").mkdir(parents=True)
            (data / "rules" / "params.yaml").write_text(params, encoding="utf-8")
        clock = JumpClock()
        config = HubConfig.load(data, port=0, demo=True, mdns_interfaces=("127.0.0.1",), plugins=())
        hub = Hub(config, extra_plugins=[rules_setup.with_clock(clock), zsdp_setup, demo_setup])
        await hub.start()
        try:
            demo = next(p for p in hub.plugins if isinstance(p, DemoHome))
            await asyncio.wait_for(demo.ready.wait(), READY_S)
            assert demo.control_port is not None
            control = await SimulatorControl.connect(demo.control_port)
        except BaseException:
            await hub.stop()
            raise
        rig = DemoRig(hub, demo, control, clock)
        hub.bus.listen(NOTIFICATION, lambda e: rig.notes.append(e.data))
        hub.bus.listen(COMMAND_RESULT, lambda e: rig.results.append(e.data))
        rigs.append(rig)
        await asyncio.sleep(0.5)  # first reports settle (MISSING -> value changes)
        return rig

    yield start
    for rig in rigs:
        await rig.control.close()
        await rig.hub.stop()
