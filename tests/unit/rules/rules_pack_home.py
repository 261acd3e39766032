"""The demo home's floor plan on a bare kernel, with the REAL shipped profiles and the REAL packs.

Real EventBus, StateStore, DeviceRegistry, SafetyArbiter and CommandService; profiles from
``device_profiles/`` through the hub's own ``ProfileAccess`` (roles, categories, components,
fail-safe and safety restrictions as shipped); the packs from ``rules/packs`` through the real
loader (with parameter overrides when a test gives them). Devices are fake links that confirm
a command by reporting its declared effect, or fail/refuse when told — like a device would.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hub.config import HubConfig
from hub.core.bus import EventBus
from hub.core.commands import CommandService
from hub.core.context import Context, Origin
from hub.core.integration import DEVICE_EVENT, DeviceEvent, DeviceLink, IntegrationError
from hub.core.registry import Availability, Device, DeviceRegistry, Room
from hub.core.state import StateStore
from hub.core.tasks import TaskKeeper
from hub.profile_access import ProfileAccess
from hub.safety.arbiter import SafetyArbiter
from hub.util.yamlio import load_yaml
from rules.engine import RuleEngine
from rules.kernel import RuleKernel
from rules.loader import LoadResult, load_dir
from rules.notify import NOTIFICATION, Notification, NotificationCenter
from rules.params import ParamOverrides, parse_overrides
from rules.plugin import PACKS_DIR, ProfileViews
from rules.scenes import SceneEngine
from rules.timers import SimClock

TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> float:
    """``"2025-03-10 08:00"`` (Asia/Shanghai) as POSIX seconds; 2025-03-10 is a Monday."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp()


MONDAY_8AM = at("2025-03-10 08:00")

_ACCESS: ProfileAccess | None = None


def profiles() -> ProfileAccess:
    global _ACCESS
    if _ACCESS is None:
        access = ProfileAccess()
        _catalogue, problems = access.load(HubConfig())
        assert not problems, problems
        _ACCESS = access
    return _ACCESS


LIGHTING = "cn.zs.demo-guzhen-lighting"
# The demo home (integrations/demo/demo_home.yaml): id, room, profile, zh, en
DEVICES: list[tuple[str, str, str, str, str]] = [
    ("living-ceiling", "living", f"{LIGHTING}.xdd-cct-480", "客厅吸顶灯", "Living room lamp"),
    ("living-strip", "living", f"{LIGHTING}.dt-rgb-5m", "客厅灯带", "Living room strip"),
    ("bedroom-night", "bedroom", f"{LIGHTING}.yd-n1", "卧室小夜灯", "Bedroom night lamp"),
    ("bedroom-ceiling", "bedroom", "cn.zs.demo-guzhen-lumen.xd-600", "卧室吸顶灯", "Bedroom lamp"),
    ("front-door", "entrance", "cn.zs.demo-xiaolan-lock.l8-fp", "入户门锁", "Front door lock"),
    ("door-contact", "entrance", "cn.zs.demo-safety.mc-w2", "入户门磁", "Front door contact"),
    ("entrance-pir", "entrance", "cn.zs.demo-safety.pir-w1", "玄关人体感应", "Entrance sensor"),
    ("kitchen-hood", "kitchen", "cn.zs.demo-kitchen.cxw-t9", "油烟机", "Range hood"),
    ("kitchen-hob", "kitchen", "cn.zs.demo-kitchen.jzt-b2w", "燃气灶", "Gas cooktop"),
    ("kitchen-gas", "kitchen", "cn.zs.demo-safety.jt-rq-v1", "燃气报警器", "Gas detector"),
    ("kitchen-purifier", "kitchen", "cn.zs.demo-water.ro-600g", "净水器", "Water purifier"),
    ("bath-heater", "bathroom", "cn.zs.demo-heater.jsq30-16", "燃气热水器", "Gas water heater"),
]
KITCHEN_PIR = ("kitchen-pir", "kitchen", "cn.zs.demo-safety.pir-w1", "厨房人体感应", "Kitchen PIR")

ROOMS = [
    ("living", "客厅", "Living room"),
    ("bedroom", "卧室", "Bedroom"),
    ("kitchen", "厨房", "Kitchen"),
    ("entrance", "玄关", "Entrance"),
    ("bathroom", "卫生间", "Bathroom"),
]

INITIAL: dict[str, Any] = {
    "living-ceiling/main/onoff/on": False,
    "living-ceiling/main/brightness/level": 80,
    "living-strip/main/onoff/on": False,
    "living-strip/main/brightness/level": 40,
    "bedroom-night/main/onoff/on": False,
    "bedroom-night/main/brightness/level": 60,
    "bedroom-night/sensor/occupancy/occupied": False,
    "bedroom-ceiling/main/onoff/on": False,
    "front-door/main/lock/lock_state": "locked",
    "front-door/main/lock/door_state": "closed",
    "door-contact/main/contact/open": False,
    "entrance-pir/main/occupancy/occupied": False,
    "kitchen-hood/main/fan/mode": "off",
    "kitchen-hood/light/onoff/on": False,
    "kitchen-hood/main/appliance_link/linked": False,
    "kitchen-hood/main/filter_life/percent": 60,
    "kitchen-hob/burner_left/burner/ignited": False,
    "kitchen-hob/burner_right/burner/ignited": False,
    "kitchen-hob/burner_left/burner/firepower": 0,
    "kitchen-hob/burner_right/burner/firepower": 0,
    "kitchen-hob/main/appliance_link/linked": False,
    "kitchen-gas/detector/gas_detector/gas_detected": False,
    "kitchen-gas/detector/gas_detector/sensor_state": "normal",
    "kitchen-gas/valve/valve/state": "open",
    "kitchen-purifier/pp/filter_life/percent": 35,
    "kitchen-purifier/pp/filter_life/change": "ok",
    "bath-heater/main/temperature_setpoint/setpoint": 38,
}


@dataclass
class Call:
    device: str
    target: str
    args: dict[str, Any]


class Link(DeviceLink):
    """A device: records the call, then reports the command's declared effect (burner.off also
    drops the firepower, as the cooktop does), unless told to fail or stay silent."""

    def __init__(self, home: PackHome, device_id: str) -> None:
        self.device_id = device_id
        self.home = home
        self.fail: str | None = None  # the device refuses with this message
        self.silent = False  # accepts but never reports the effect
        self.online = True

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
        self.home.calls.append(Call(self.device_id, target, dict(args)))
        if self.fail is not None:
            raise IntegrationError(self.fail)
        if self.silent:
            return
        view = self.home.views(self.home.registry.device(self.device_id))
        cmd = view.command_def(target) if view is not None else None
        for prop, effect in (cmd.effects if cmd else {}).items():
            param = effect[1:] if isinstance(effect, str) and effect[:1] == "$" else None
            value = args.get(param) if param is not None else effect
            self.home.report(f"{self.device_id}/{component}/{capability}/{prop}", value)
        if (capability, command) == ("burner", "off"):
            self.home.report(f"{self.device_id}/{component}/burner/firepower", 0)

    async def write(self, path: str, value: Any, context: Context) -> None:
        self.home.calls.append(Call(self.device_id, f"write:{path}", {"value": value}))
        self.home.report(f"{self.device_id}/{path}", value)

    async def refresh(self) -> None:
        return None


@dataclass
class PackHome:
    clock: SimClock
    tasks: TaskKeeper = field(default_factory=lambda: TaskKeeper("pack-test"))
    calls: list[Call] = field(default_factory=list)
    notes: list[Notification] = field(default_factory=list)
    links: dict[str, Link] = field(default_factory=dict)
    loaded: LoadResult = field(default_factory=LoadResult)

    def __post_init__(self) -> None:
        self.bus = EventBus(self.tasks)
        self.states = StateStore(self.bus)
        self.registry = DeviceRegistry(self.bus)
        self.arbiter = SafetyArbiter()
        access = profiles()
        self.views = ProfileViews(access)
        self.commands = CommandService(
            self.bus, self.states, self.registry, self.arbiter, access.runtime_for, self.link_of
        )
        self.kernel = RuleKernel(
            self.bus, self.states, self.registry, self.arbiter, self.commands, self.views
        )
        self.bus.listen(NOTIFICATION, lambda e: self.notes.append(e.data))
        self.engine: RuleEngine | None = None
        self.scenes: SceneEngine | None = None

    @classmethod
    async def start(
        cls,
        *,
        start: float = MONDAY_8AM,
        params: str | None = None,
        kitchen_pir: bool = False,
        states: Mapping[str, Any] | None = None,
    ) -> PackHome:
        """The home with the packs running; ``params`` is a ``zshub.params/1`` document."""
        home = cls(SimClock(start))
        for order, (room_id, zh, en) in enumerate(ROOMS):
            home.registry.upsert_room(Room(room_id, zh, en, order))
        for spec in [*DEVICES, *([KITCHEN_PIR] if kitchen_pir else [])]:
            home.add_device(*spec)
        earlier = start - 3600.0  # the home has been like this for an hour
        for path, value in {**INITIAL, **dict(states or {})}.items():
            home.states.set(path, value, Context(Origin.DEVICE, path.split("/")[0]), now=earlier)
        overrides = None
        if params is not None:
            data, lines = load_yaml(params, "params.yaml")
            overrides, problems = parse_overrides(data, lines, "params.yaml")
            assert not problems, problems
        await home.load(overrides)
        return home

    async def load(self, overrides: ParamOverrides | None) -> None:
        self.loaded = load_dir(PACKS_DIR, allow_safety=True, overrides=overrides)
        self.scenes = SceneEngine(self.kernel)
        self.scenes.load(self.loaded.scenes, "pack")
        self.engine = RuleEngine(
            self.kernel,
            clock=self.clock,
            scenes=self.scenes,
            notifier=NotificationCenter(self.bus, self.clock),
            tz=TZ,
            trace_limit=50,
        )
        self.engine.load(self.loaded.rules, "pack")
        await self.engine.start()
        await self.clock.settle()

    def add_device(self, device_id: str, room: str, profile: str, zh: str, en: str) -> None:
        assert profiles().get(profile) is not None, profile
        self.registry.add(Device(device_id, zh, en, profile, "fake", "fake", {}, room))
        self.registry.set_availability(device_id, Availability.ONLINE)
        self.links[device_id] = Link(self, device_id)

    def link_of(self, device: Device) -> DeviceLink | None:
        return self.links.get(device.id)

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.stop()
        await self.tasks.cancel_all()

    # -- what devices and people do ------------------------------------------------------------
    def report(self, path: str, value: Any) -> None:
        device = path.split("/", 1)[0]
        self.states.set(path, value, Context(Origin.DEVICE, device), now=self.clock.now())

    async def state(self, values: Mapping[str, Any]) -> None:
        """Devices report these values now; rules react before this returns."""
        for path, value in values.items():
            self.report(path, value)
        await self.clock.settle()

    async def event(self, device: str, path: str, **fields: Any) -> None:
        self.bus.fire(
            DEVICE_EVENT, DeviceEvent(device, path, fields), Context(Origin.DEVICE, device)
        )
        await self.clock.settle()

    async def availability(self, device: str, value: str) -> None:
        self.registry.set_availability(device, Availability(value))
        await self.clock.settle()

    async def wait(self, seconds: float) -> None:
        await self.clock.advance(seconds)

    async def user(self, device: str, target: str, **args: Any) -> Any:
        """A person's command from the UI (not automated): what the arbiter says."""
        return await self.commands.send(device, target, args, context=Context(Origin.USER, "owner"))

    # -- looking at what happened --------------------------------------------------------------
    def sent(self, device: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
        return [(c.device, c.target, c.args) for c in self.calls if device in (None, c.device)]

    def targets(self, device: str) -> list[str]:
        return [c.target for c in self.calls if c.device == device]

    def texts(self, rule: str | None = None, lang: str = "en") -> list[str]:
        return [
            n.text_en if lang == "en" else n.text_zh
            for n in self.notes
            if rule is None or n.rule_id == rule
        ]

    def runs(self, rule: str) -> list[str]:
        """Statuses of the rule's runs, oldest first (not-fired traces left out)."""
        assert self.engine is not None
        return [
            t["status"] for t in reversed(self.engine.traces(rule)) if t["status"] != "not_fired"
        ]

    def value(self, path: str) -> Any:
        return self.states.value(path)
