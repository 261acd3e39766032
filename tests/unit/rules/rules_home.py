"""A small home on a bare kernel for the rule tests (module name unique across the test tree).

Real EventBus, StateStore, DeviceRegistry, SafetyArbiter and CommandService; profiles built from
the real capability catalogue; a fake DeviceLink (the real interface) that records every call
and reports the command's declared effect like a device would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hub.capabilities.catalogue import Catalogue, default_catalogue_dir
from hub.capabilities.model import CapabilityDef, CommandDef, PropertyDef
from hub.core.bus import EventBus
from hub.core.commands import CommandService
from hub.core.context import Context, Origin
from hub.core.integration import DEVICE_EVENT, DeviceEvent, DeviceLink, IntegrationError
from hub.core.registry import Availability, Device, DeviceRegistry, Room
from hub.core.state import StateStore
from hub.core.tasks import TaskKeeper
from hub.safety.arbiter import ProfilePolicy, SafetyArbiter
from hub.util.yamlio import LineMap
from rules.engine import RuleEngine
from rules.kernel import RuleKernel
from rules.loader import LoadedRule, parse_data, parse_text
from rules.notify import NotificationCenter
from rules.scenes import SceneEngine
from rules.schema import Rule, Scene
from rules.store import MemoryRuleStore
from rules.timers import SimClock

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2025, 3, 10, 8, 0, 0, tzinfo=TZ).timestamp()  # a Monday, 08:00

_CATALOGUE: Catalogue | None = None


def catalogue() -> Catalogue:
    global _CATALOGUE
    if _CATALOGUE is None:
        cat, errors = Catalogue.load_dir(default_catalogue_dir())
        assert not errors, errors
        _CATALOGUE = cat
    return _CATALOGUE


class FakeProfile:
    """CommandProfile + ProfileView from the real catalogue: components -> capabilities."""

    def __init__(
        self,
        profile_id: str,
        category: str,
        components: Mapping[str, Sequence[str]],
        roles: Sequence[str] = (),
        safety: Mapping[str, Any] | None = None,
    ) -> None:
        self.id = profile_id
        self.category = category
        self.roles = frozenset(roles)
        self.policy = ProfilePolicy.from_safety(safety or {})
        self._components = {c: list(caps) for c, caps in components.items()}

    def _cap(self, component: str, capability: str) -> CapabilityDef | None:
        if capability not in self._components.get(component, ()):
            return None
        found = catalogue().find(capability)
        return found[1] if found else None

    def command_def(self, target: str) -> CommandDef | None:
        component, _, rest = target.partition("/")
        capability, _, command = rest.partition(".")
        cap = self._cap(component, capability)
        return cap.commands.get(command) if cap else None

    def property_def(self, path: str) -> PropertyDef | None:
        parts = path.split("/")
        if len(parts) != 3:
            return None
        cap = self._cap(parts[0], parts[1])
        return cap.properties.get(parts[2]) if cap else None

    def reported_paths(self, transport: str) -> frozenset[str] | None:
        return None  # no transport binding here: every declared effect is reported

    def components_with(self, capability: str) -> list[str]:
        return [c for c, caps in self._components.items() if capability in caps]

    def commands_of(self, component: str, capability: str) -> dict[str, CommandDef]:
        cap = self._cap(component, capability)
        return dict(cap.commands) if cap else {}


LOCK_SAFETY = {
    "restrictions": [
        {
            "target": "main/lock.unlock",
            "require": ["user_confirmation", "timed_command"],
            "scenes": "deny_by_default",
        }
    ]
}

PROFILES = {
    "gas": FakeProfile(
        "test.gas",
        "safety.gas_detector",
        {"main": ["gas_detector"], "valve": ["valve"]},
        ["gas_detector", "gas_shutoff"],
    ),
    "hob": FakeProfile(
        "test.hob", "kitchen.cooktop", {"main": ["burner", "appliance_link"]}, ["gas_source"]
    ),
    "hood": FakeProfile(
        "test.hood", "kitchen.range_hood", {"main": ["onoff", "fan"]}, ["ventilation"]
    ),
    "light": FakeProfile("test.light", "light.ceiling", {"main": ["onoff", "brightness"]}),
    "pir": FakeProfile("test.pir", "sensor.presence", {"main": ["occupancy"]}, ["presence"]),
    "lock": FakeProfile(
        "test.lock", "security.lock", {"main": ["lock"]}, ["entry_lock"], LOCK_SAFETY
    ),
}

# id, room, profile
DEVICES = [
    ("kitchen-gas", "kitchen", "gas"),
    ("kitchen-hob", "kitchen", "hob"),
    ("kitchen-hood", "kitchen", "hood"),
    ("kitchen-light", "kitchen", "light"),
    ("kitchen-pir", "kitchen", "pir"),
    ("hall-light", "hall", "light"),
    ("hall-pir", "hall", "pir"),
    ("bath-gas", "bath", "gas"),
    ("bath-light", "bath", "light"),
    ("front-door", "hall", "lock"),
]

INITIAL_STATES: dict[str, Any] = {
    "kitchen-gas/valve/valve/state": "open",
    "kitchen-gas/main/gas_detector/gas_detected": False,
    "kitchen-gas/main/gas_detector/concentration": 0,
    "kitchen-hob/main/burner/ignited": False,
    "kitchen-hood/main/onoff/on": False,
    "kitchen-hood/main/fan/mode": "off",
    "kitchen-light/main/onoff/on": False,
    "kitchen-pir/main/occupancy/occupied": False,
    "hall-light/main/onoff/on": False,
    "hall-pir/main/occupancy/occupied": False,
    "bath-light/main/onoff/on": False,
    "front-door/main/lock/lock_state": "locked",
}


@dataclass
class Call:
    device: str
    target: str
    args: dict[str, Any]
    context: Context


class FakeLink(DeviceLink):
    """Records every call; reports the command's effect through the state store (the device
    confirming), unless told to fail or stay silent."""

    def __init__(self, home: Home, device_id: str) -> None:
        self.device_id = device_id
        self.home = home
        self.fail = False
        self.silent = False
        self.online = True
        self.gate: asyncio.Event | None = None  # when set, invoke waits for it (slow device)
        self.calls: list[Call] = []

    @property
    def connected(self) -> bool:
        return self.online

    async def invoke(
        self,
        component: str,
        capability: str,
        command: str,
        args: Mapping[str, Any],
        context: Context,
    ) -> None:
        target = f"{component}/{capability}.{command}"
        self.calls.append(Call(self.device_id, target, dict(args), context))
        self.home.all_calls.append(self.calls[-1])
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise IntegrationError("the device said no")
        if self.silent:
            return
        profile = self.home.profile_of(self.home.registry.device(self.device_id))
        cmd = profile.command_def(target) if profile else None
        for prop, effect in (cmd.effects if cmd else {}).items():
            value = (
                args.get(effect[1:]) if isinstance(effect, str) and effect[:1] == "$" else effect
            )
            self.home.report(f"{self.device_id}/{component}/{capability}/{prop}", value)

    async def write(self, path: str, value: Any, context: Context) -> None:
        self.calls.append(Call(self.device_id, f"write:{path}", {"value": value}, context))
        self.home.report(f"{self.device_id}/{path}", value)

    async def refresh(self) -> None:
        return None


@dataclass
class Home:
    tasks: TaskKeeper
    bus: EventBus
    states: StateStore
    registry: DeviceRegistry
    arbiter: SafetyArbiter
    clock: SimClock
    commands: CommandService = field(init=False)
    links: dict[str, FakeLink] = field(default_factory=dict)
    all_calls: list[Call] = field(default_factory=list)
    engines: list[RuleEngine] = field(default_factory=list)

    @classmethod
    def build(cls, *, start: float = START, after: Home | None = None) -> Home:
        """A fresh kernel; ``after``: a hub restart — the last states of that home come back
        (as the hub restores them from storage) and nothing else does."""
        tasks = TaskKeeper("test")
        bus = EventBus(tasks)
        home = cls(
            tasks, bus, StateStore(bus), DeviceRegistry(bus), SafetyArbiter(), SimClock(start)
        )
        home.commands = CommandService(
            bus, home.states, home.registry, home.arbiter, home.profile_of, home.link_of
        )
        for room_id, zh, en in (
            ("kitchen", "厨房", "Kitchen"),
            ("hall", "玄关", "Hall"),
            ("bath", "卫生间", "Bathroom"),
        ):
            home.registry.upsert_room(Room(room_id, zh, en))
        for device_id, room, profile in DEVICES:
            home.add_device(device_id, room, profile)
        if after is not None:
            home.states.restore(after.states)
            return home
        for path, value in INITIAL_STATES.items():
            home.states.set(path, value, Context(Origin.DEVICE, path.split("/")[0]), now=start - 60)
        return home

    def add_device(self, device_id: str, room: str | None, profile: str) -> None:
        self.registry.add(
            Device(
                id=device_id,
                name_zh=f"设备{device_id}",
                name_en=f"Device {device_id}",
                profile_id=profile,
                integration="fake",
                transport="fake",
                room_id=room,
            )
        )
        self.registry.set_availability(device_id, Availability.ONLINE)
        self.links[device_id] = FakeLink(self, device_id)

    def profile_of(self, device: Device) -> FakeProfile | None:
        return PROFILES.get(device.profile_id or "")

    def link_of(self, device: Device) -> DeviceLink | None:
        return self.links.get(device.id)

    @property
    def kernel(self) -> RuleKernel:
        return RuleKernel(
            self.bus, self.states, self.registry, self.arbiter, self.commands, self.profile_of
        )

    # -- what devices do -----------------------------------------------------------------------
    def report(self, path: str, value: Any) -> None:
        device = path.split("/", maxsplit=1)[0]
        self.states.set(path, value, Context(Origin.DEVICE, device), now=self.clock.now())

    def event(self, device: str, path: str, **fields: Any) -> None:
        self.bus.fire(
            DEVICE_EVENT, DeviceEvent(device, path, fields), Context(Origin.DEVICE, device)
        )

    def calls(self, device: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
        return [(c.device, c.target, c.args) for c in self.all_calls if device in (None, c.device)]

    # -- engines -------------------------------------------------------------------------------
    async def engine(
        self,
        *rules: str | Rule,
        store: MemoryRuleStore | Any | None = None,
        scenes: SceneEngine | None = None,
        origin: str = "pack",
        trace_limit: int = 20,
        start: bool = True,
    ) -> RuleEngine:
        engine = RuleEngine(
            self.kernel,
            store=store,
            clock=self.clock,
            scenes=scenes,
            notifier=NotificationCenter(self.bus, self.clock),
            tz=TZ,
            trace_limit=trace_limit,
        )
        engine.load([LoadedRule(make_rule(r), "test") for r in rules], origin)  # type: ignore[arg-type]
        if start:
            await engine.start()
        self.engines.append(engine)
        return engine

    def scenes(self, *scenes: str, store: Any = None) -> SceneEngine:
        engine = SceneEngine(self.kernel, store=store)
        from rules.loader import LoadedScene

        engine.load([LoadedScene(make_scene(s), "test") for s in scenes], "file")
        return engine

    async def close(self) -> None:
        for engine in self.engines:
            await engine.stop()
        await self.tasks.cancel_all()


def make_rule(value: str | Rule) -> Rule:
    if isinstance(value, Rule):
        return value
    result = parse_text(value, "test", allow_safety=True)
    assert not result.problems, [str(p) for p in result.problems]
    assert len(result.rules) == 1
    return result.rules[0].rule


def make_scene(value: str) -> Scene:
    result = parse_text(value, "test")
    assert not result.problems, [str(p) for p in result.problems]
    return result.scenes[0].scene


def rule_from(data: dict[str, Any]) -> Rule:
    result = parse_data(data, LineMap(), "test", allow_safety=True)
    assert not result.problems, [str(p) for p in result.problems]
    return result.rules[0].rule


def statuses(engine: RuleEngine, rule_id: str) -> list[str]:
    """Oldest first."""
    return [t["status"] for t in reversed(engine.traces(rule_id))]
