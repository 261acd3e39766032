"""CommandService.send after its hot-path rework: the same results, refusals, redaction and
COMMAND_RESULT events as before, the target cache only holding targets a profile knows."""

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from hub.capabilities.catalogue import Catalogue, apply_instance, default_catalogue_dir
from hub.capabilities.model import CommandDef, PropertyDef
from hub.core.bus import EventBus
from hub.core.commands import COMMAND_RESULT, CommandResult, CommandService, CommandStatus
from hub.core.context import Context, Origin
from hub.core.events import Event
from hub.core.integration import DeviceLink, IntegrationError
from hub.core.registry import Availability, Device, DeviceRegistry
from hub.core.state import StateStore
from hub.core.tasks import TaskKeeper
from hub.safety.arbiter import Block, ProfilePolicy, SafetyArbiter

ROOT = Path(__file__).resolve().parents[3]


class Profile:
    id = "test.lock-lamp"
    category = "security.lock"
    roles: frozenset[str] = frozenset()

    def __init__(self) -> None:
        catalogue, errors = Catalogue.load_dir(default_catalogue_dir())
        assert not errors
        self.policy = ProfilePolicy()
        self._commands: dict[str, CommandDef] = {}
        self._props: dict[str, PropertyDef] = {}
        for key, name in (("brightness@1", "brightness"), ("lock@1", "lock")):
            inst = apply_instance(key, catalogue.get(key), None)
            self._commands.update({f"main/{name}.{c}": d for c, d in inst.commands.items()})
            self._props.update({f"main/{name}/{p}": d for p, d in inst.properties.items()})

    def command_def(self, target: str) -> CommandDef | None:
        return self._commands.get(target)

    def property_def(self, path: str) -> PropertyDef | None:
        return self._props.get(path)

    def reported_paths(self, transport: str) -> frozenset[str] | None:
        return None  # no transport binding here: every declared effect is reported


class Link(DeviceLink):
    def __init__(self, states: StateStore, fail: bool = False) -> None:
        self.device_id = "dev"
        self.states = states
        self.fail = fail
        self.calls: list[tuple[str, str, str, dict[str, Any]]] = []

    async def invoke(
        self,
        component: str,
        capability: str,
        command: str,
        args: Mapping[str, Any],
        context: Context,
    ) -> None:
        self.calls.append((component, capability, command, dict(args)))
        if self.fail:
            raise IntegrationError("radio silence")
        if capability == "brightness":
            self.states.set("dev/main/brightness/level", args["level"])

    async def write(self, path: str, value: Any, context: Context) -> None:
        pass

    async def refresh(self) -> None:
        pass

    @property
    def connected(self) -> bool:
        return True


@pytest.fixture
def setup() -> tuple[CommandService, Link, list[CommandResult]]:
    bus = EventBus(TaskKeeper("t"))
    states = StateStore(bus)
    registry = DeviceRegistry(bus)
    device = registry.add(Device("dev", "灯", "Lamp", "test.lock-lamp", "x", "none"))
    device.availability = Availability.ONLINE
    profile = Profile()
    link = Link(states)
    results: list[CommandResult] = []

    def on_result(event: Event[CommandResult]) -> None:
        results.append(event.data)

    bus.listen(COMMAND_RESULT, on_result)
    service = CommandService(
        bus, states, registry, SafetyArbiter(), lambda d: profile, lambda d: link
    )
    return service, link, results


async def test_confirmed_command_with_canonical_args(setup: Any) -> None:
    service, link, results = setup
    ctx = Context(Origin.USER, "alice")
    result = await service.send("dev", "main/brightness.set_level", {"level": 40.0}, context=ctx)
    assert result.status is CommandStatus.CONFIRMED and result.ok
    assert result.context is ctx and result.duration_ms >= 0
    assert result.code == "ok" and not result.audited
    assert link.calls == [("main", "brightness", "set_level", {"level": 40})]
    assert results == [result]


async def test_pin_is_redacted_and_lock_commands_audited(setup: Any) -> None:
    service, link, results = setup
    ctx = Context(Origin.USER, "alice")
    refused = await service.send("dev", "main/lock.unlock", {"pin": "1234"}, context=ctx)
    assert refused.status is CommandStatus.REFUSED and refused.code == "step_up_required"
    assert refused.args == {"pin": "***"} and refused.audited
    assert link.calls == []
    sent = await service.send(
        "dev", "main/lock.unlock", {"pin": "1234"}, context=ctx, step_up=True, confirm_timeout=0
    )
    assert sent.status is CommandStatus.TIMEOUT and sent.args == {"pin": "***"}
    assert link.calls[-1][3] == {"pin": "1234"}  # the device itself gets the PIN
    assert sent.audited and [r.code for r in results] == ["step_up_required", "not_confirmed"]


async def test_refusals_before_the_arbiter(setup: Any) -> None:
    service, _, results = setup
    ctx = Context(Origin.USER, "alice")
    assert (await service.send("nope", "main/lock.lock", context=ctx)).code == "unknown_device"
    r = await service.send("dev", "main/brightness.set_level", {"level": "x"}, context=ctx)
    assert r.code == "bad_argument" and r.status is CommandStatus.REFUSED
    r = await service.send("dev", "main/brightness.set_level", context=ctx)
    assert r.code == "missing_argument"
    r = await service.send("dev", "main/lock.lock", {"speed": 1}, context=ctx)
    assert r.code == "bad_argument" and r.audited
    assert [x.code for x in results] == [
        "unknown_device",
        "bad_argument",
        "missing_argument",
        "bad_argument",
    ]
    assert all(x.message_zh and x.message_en for x in results)


async def test_plans_hold_only_known_targets(setup: Any) -> None:
    service, _, _ = setup
    ctx = Context(Origin.USER, "alice")
    r = await service.send("dev", "main/bogus.thing", context=ctx)
    assert r.code == "unknown_command"
    r = await service.send("dev", "nocomponent", context=ctx)
    assert r.code == "unknown_command"
    assert service._plans == {}  # junk targets are never kept
    await service.send("dev", "main/lock.lock", context=ctx, confirm_timeout=0)
    [plan] = service._plans.values()
    assert (plan.component, plan.capability, plan.command) == ("main", "lock", "lock")
    again = await service.send("dev", "main/lock.lock", context=ctx, confirm_timeout=0)
    assert again.target == "main/lock.lock" and again.code == "not_confirmed"
    assert len(service._plans) == 1


async def test_plans_follow_policy_profile_and_block_changes() -> None:
    """A plan made while a command was always allowed must not outlive what made it so: a new
    policy, a reloaded profile (a new object) or a block added later all apply at once."""
    bus = EventBus(TaskKeeper("t"))
    states = StateStore(bus)
    registry = DeviceRegistry(bus)
    device = registry.add(Device("dev", "灯", "Lamp", "test.lock-lamp", "x", "none"))
    device.availability = Availability.ONLINE
    arbiter = SafetyArbiter()
    current = {"profile": Profile()}
    link = Link(states)
    service = CommandService(
        bus, states, registry, arbiter, lambda d: current["profile"], lambda d: link
    )
    ctx = Context(Origin.USER, "alice")
    target = "main/brightness.set_level"
    ok = await service.send("dev", target, {"level": 20}, context=ctx)
    assert ok.status is CommandStatus.CONFIRMED

    # The same profile object, a new policy: the target is not available any more.
    current["profile"].policy = ProfilePolicy(not_available=frozenset({target}))
    r = await service.send("dev", target, {"level": 30}, context=ctx)
    assert r.status is CommandStatus.REFUSED and r.code == "not_available"

    # A reloaded profile (a new object) whose limit the argument exceeds.
    reloaded = Profile()
    reloaded.policy = ProfilePolicy.from_safety(
        {"limits": {"main/brightness/level": {"absolute_max": 50}}}, {}
    )
    current["profile"] = reloaded
    r = await service.send("dev", target, {"level": 60}, context=ctx)
    assert r.code == "limit_exceeded"
    ok = await service.send("dev", target, {"level": 40}, context=ctx)
    assert ok.status is CommandStatus.CONFIRMED

    # A block added after the plan was made, and removed again.
    current["profile"] = Profile()
    assert (await service.send("dev", target, {"level": 10}, context=ctx)).ok
    remove = arbiter.add_block(
        Block("gas", "燃气报警", "Gas alarm", devices=frozenset({"dev"}), allow_shutoff=True)
    )
    r = await service.send("dev", target, {"level": 15}, context=ctx)
    assert r.code == "blocked" and "Gas alarm" in r.message_en
    remove()
    assert (await service.send("dev", target, {"level": 25}, context=ctx)).ok


async def test_link_failure_is_a_result(setup: Any) -> None:
    service, link, _ = setup
    link.fail = True
    r = await service.send("dev", "main/lock.lock", context=Context(Origin.USER, "a"))
    assert r.status is CommandStatus.FAILED and "radio silence" in r.message_en


def test_safety_can_be_imported_before_the_kernel() -> None:
    """hub.safety.arbiter imports hub.core, whose __init__ imports hub.core.commands, which
    needs the arbiter: importing hub.safety first must work."""
    subprocess.run(
        [sys.executable, "-c", "import hub.safety, hub.core; hub.core.CommandService"],
        cwd=ROOT,
        check=True,
        timeout=60,
    )


async def test_results_carry_every_field_of_the_dataclass(setup: Any) -> None:
    """Results are built field by field (cheaper than the dataclass call): a field added to
    CommandResult later must be set there too, or reading it would fail."""
    import dataclasses

    service, _, results = setup
    ctx = Context(Origin.USER, "alice")
    ok = await service.send("dev", "main/brightness.set_level", {"level": 10}, context=ctx)
    refused = await service.send("dev", "main/lock.unlock", {"pin": "1"}, context=ctx)
    names = [f.name for f in dataclasses.fields(CommandResult)]
    for result in (ok, refused):
        built = {name: getattr(result, name) for name in names}  # AttributeError if unset
        assert CommandResult(**built) == result
    assert ok.args == {"level": 10} and ok.needs is None and ok.duration_ms >= 0
    assert refused.needs == "pin" and refused.args == {"pin": "***"}
    assert results == [ok, refused]
