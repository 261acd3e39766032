"""Helpers for the pack end-to-end tests (conftest.py has the fixture).

The rule packs end to end in the demo home: a real Hub with the rules plug-in (packs from
rules/packs), the ZS-DP integration and the demo plug-in, which runs the simulator as a
subprocess on 127.0.0.1; the tests act on the simulated devices through its control socket
(docs/simulator.md §3) and watch what the hub and the devices report.

The rule engine runs on a :class:`JumpClock`: real time, plus jumps a test makes, so a test can
skip the 30 minutes of an unattended burner. Devices and the hub's state store keep real time,
so "held for" conditions only ever see more time than really passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hub.app import Hub
from hub.core.commands import CommandResult
from hub.core.context import Context, Origin
from hub.core.registry import Device
from integrations.demo.plugin import DemoHome
from integrations.zsdp.simulator import SimulatorControl
from rules.engine import RuleEngine
from rules.notify import Notification
from rules.plugin import RulesPlugin

READY_S = 40.0


class JumpClock:
    """The wall clock plus an offset the test moves forward (``jump``)."""

    def __init__(self) -> None:
        self.offset = 0.0
        self._jumped = asyncio.Event()

    def now(self) -> float:
        return time.time() + self.offset

    async def sleep_until(self, when: float) -> None:
        while True:
            left = when - self.now()
            if left <= 0:
                return
            self._jumped.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._jumped.wait(), min(left, 0.5))

    async def jump(self, seconds: float) -> None:
        """Move time forward; what falls due runs (and what it causes) before this returns."""
        self.offset += seconds
        self._jumped.set()
        await asyncio.sleep(0.3)


@dataclass
class DemoRig:
    hub: Hub
    demo: DemoHome
    control: SimulatorControl
    clock: JumpClock
    notes: list[Notification] = field(default_factory=list)
    results: list[CommandResult] = field(default_factory=list)

    @property
    def engine(self) -> RuleEngine:
        plugin = next(p for p in self.hub.plugins if isinstance(p, RulesPlugin))
        assert plugin.engine is not None
        return plugin.engine

    @property
    def rules_plugin(self) -> RulesPlugin:
        return next(p for p in self.hub.plugins if isinstance(p, RulesPlugin))

    def device(self, key: str) -> Device:
        """The hub's device for a demo home key (``kitchen-cooktop`` …)."""
        assert self.demo.manifest is not None
        zsdp_id = next(d["id"] for d in self.demo.manifest["devices"] if d["key"] == key)
        found = self.hub.registry.find_by_identity("zsdp", "key", zsdp_id)
        assert found is not None, key
        return found

    def id(self, key: str) -> str:
        return self.device(key).id

    async def act(self, key: str, action: str, **args: Any) -> list[dict[str, Any]]:
        """Do something to a simulated device by hand (its key names it, docs/simulator.md)."""
        return await self.control.act(key, action, **args)

    async def sim_state(self, key: str) -> dict[str, Any]:
        state: dict[str, Any] = (await self.control.state(key))["state"]
        return state

    def value(self, key: str, path: str) -> Any:
        return self.hub.states.value(f"{self.id(key)}/{path}")

    async def until(
        self, predicate: Callable[[], Any], timeout: float = 10.0, what: str = ""
    ) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s: {what or predicate}")
            await asyncio.sleep(0.02)

    async def reported(self, key: str, path: str, value: Any, timeout: float = 10.0) -> None:
        await self.until(
            lambda: self.value(key, path) == value,
            timeout,
            f"{key}/{path} == {value!r} (is {self.value(key, path)!r})",
        )

    def texts(self, rule: str, lang: str = "en") -> list[str]:
        return [n.text_en if lang == "en" else n.text_zh for n in self.notes if n.rule_id == rule]

    def commands_to(self, key: str) -> list[CommandResult]:
        device_id = self.id(key)
        return [r for r in self.results if r.device == device_id]

    async def user(self, key: str, target: str, **args: Any) -> CommandResult:
        """A person's command from the app."""
        return await self.hub.commands.send(
            self.id(key), target, args, context=Context(Origin.USER, "owner")
        )

    def runs(self, rule: str) -> list[str]:
        return [
            t["status"] for t in reversed(self.engine.traces(rule)) if t["status"] != "not_fired"
        ]


PackDemo = Callable[..., Any]
