"""Dry runs: replay a scripted event sequence on a simulated clock against a copy of the current
state, and report what the rules would do — commands (with the safety arbiter's verdicts),
notifications, blocks — in order with their simulated times. No device is touched: the copy's
command path ends in recording links that never reach a transport.

Script format (YAML), a list or a mapping with ``start``/``duration``/``state``/``events``::

    - {at: 0, state: {kitchen-hob/main/burner/ignited: true}}
    - {at: 5, event: {device: kitchen-gas, path: main/gas_detector/gas_alarm, fields: {}}}
    - {at: 10, availability: {kitchen-gas: offline}}
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hub.core.bus import EventBus
from hub.core.commands import COMMAND_RESULT, CommandResult, CommandService, CommandStatus
from hub.core.context import Context, Origin
from hub.core.events import Event
from hub.core.integration import DEVICE_EVENT, DeviceEvent, DeviceLink
from hub.core.registry import Availability, Device, DeviceRegistry
from hub.core.state import State, StateStore
from hub.core.tasks import TaskKeeper
from hub.safety.arbiter import SafetyArbiter
from hub.util.yamlio import YamlError, load_yaml_file
from rules.blocks import BLOCK_CHANGED, BlockChange
from rules.kernel import ProfileView, RuleKernel
from rules.loader import LoadedRule
from rules.messages import note
from rules.notify import NOTIFICATION, Notification, NotificationCenter
from rules.scenes import SceneEngine
from rules.schema import Rule, parse_duration
from rules.timers import SimClock
from rules.traces import Trace, jsonable

__all__ = [
    "DryRunEntry",
    "DryRunReport",
    "Script",
    "ScriptError",
    "ScriptedEvent",
    "dry_run",
    "load_script",
    "parse_script",
]

DEFAULT_TAIL_S = 3600.0  # after the last scripted event, let pending delays play out this long


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScriptedDeviceEvent(_Strict):
    device: str
    path: str  # component/capability/event
    fields: dict[str, Any] = Field(default_factory=dict)
    priority: str = "info"


class ScriptedEvent(_Strict):
    at: float = 0.0  # seconds after the start
    state: dict[str, Any] | None = None
    event: ScriptedDeviceEvent | None = None
    availability: dict[str, Literal["online", "offline", "unknown"]] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            kinds = [k for k in ("state", "event", "availability") if k in value]
            if len(kinds) != 1:
                raise ValueError("each step has at and one of state, event, availability")
            if "at" in value:
                return {**value, "at": parse_duration(value["at"])}
        return value


class Script(_Strict):
    start: datetime | None = None
    duration: float | None = None
    state: dict[str, Any] = Field(default_factory=dict)
    events: list[ScriptedEvent] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and value.get("duration") is not None:
            return {**value, "duration": parse_duration(value["duration"])}
        return value


class ScriptError(ValueError):
    """An events file that cannot be read; ``problems`` are ``file:line: field: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_script(
    data: Script | Sequence[ScriptedEvent] | Sequence[Mapping[str, Any]] | Mapping[str, Any],
) -> Script:
    if isinstance(data, Script):
        return data
    if isinstance(data, Mapping):
        return Script.model_validate(data)
    return Script.model_validate({"events": list(data)})


def load_script(path: Path) -> Script:
    """Read an events file (blocking)."""
    try:
        data, lines = load_yaml_file(path)
    except (YamlError, OSError) as err:
        raise ScriptError([f"{path}:{getattr(err, 'line', None) or '?'}: (file): {err}"]) from err
    try:
        return parse_script(data if data is not None else [])
    except ValidationError as err:
        problems = []
        for detail in err.errors(include_url=False):
            loc = tuple(detail["loc"])
            if isinstance(data, list) and loc and loc[0] == "events":
                loc = loc[1:]  # a bare list: lines are keyed without "events"
            line = lines.get(loc)
            msg = str(detail["msg"]).removeprefix("Value error, ")
            problems.append(f"{path}:{line or '?'}: {'.'.join(map(str, loc))}: {msg}")
        raise ScriptError(problems) from err


@dataclass(slots=True)
class DryRunEntry:
    t: float  # seconds since the start of the dry run
    at: float
    kind: str  # input | command | notify | block | unblock | run
    text: str
    detail: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        return f"+{self.t:8.1f}s  {self.kind:<8} {self.text}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "t": round(self.t, 3),
            "at": self.at,
            "kind": self.kind,
            "text": self.text,
            "detail": jsonable(self.detail),
        }


@dataclass(slots=True)
class DryRunReport:
    rule_ids: list[str]
    start: float
    end: float
    entries: list[DryRunEntry] = field(default_factory=list)
    traces: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    link_calls: list[dict[str, Any]] = field(default_factory=list)  # what devices would receive

    def commands(self) -> list[DryRunEntry]:
        return [e for e in self.entries if e.kind == "command"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rules": list(self.rule_ids),
            "start": self.start,
            "end": self.end,
            "entries": [e.as_dict() for e in self.entries],
            "traces": self.traces,
            "would_send": jsonable(self.link_calls),
        }

    def lines(self) -> list[str]:
        return [e.line() for e in self.entries]


class _RecordingLink(DeviceLink):
    """Stands in for a device: records the command and reports its declared effect (as a
    device confirming it would), so the command path and later triggers behave as for real."""

    def __init__(
        self,
        device_id: str,
        states: StateStore,
        profile: ProfileView | None,
        clock: SimClock,
        calls: list[dict[str, Any]],
    ) -> None:
        self.device_id = device_id
        self._states = states
        self._profile = profile
        self._clock = clock
        self._calls = calls

    @property
    def connected(self) -> bool:
        return True

    async def invoke(
        self,
        component: str,
        capability: str,
        command: str,
        args: Mapping[str, Any],
        context: Context,
    ) -> None:
        target = f"{component}/{capability}.{command}"
        self._calls.append(
            {
                "at": self._clock.now(),
                "device": self.device_id,
                "target": target,
                "args": {k: ("***" if k == "pin" else v) for k, v in args.items()},
            }
        )
        cmd = self._profile.command_def(target) if self._profile is not None else None
        if cmd is None:
            return
        reported = Context(Origin.DEVICE, self.device_id, context)
        for prop, effect in cmd.effects.items():
            value = effect
            if isinstance(effect, str) and effect.startswith("$"):
                if effect[1:] not in args:
                    continue
                value = args[effect[1:]]
            self._states.set(
                f"{self.device_id}/{component}/{capability}/{prop}",
                value,
                reported,
                now=self._clock.now(),
            )

    async def write(self, path: str, value: Any, context: Context) -> None:
        self._calls.append(
            {"at": self._clock.now(), "device": self.device_id, "write": path, "value": value}
        )
        self._states.set(f"{self.device_id}/{path}", value, context, now=self._clock.now())

    async def refresh(self) -> None:
        return None


class _DryRunSender:
    """The copy's command path; a device or profile the copy does not know is reported as
    "would send, not checked" instead of a refusal, so scripts work without a full registry."""

    def __init__(self, service: CommandService, kernel: RuleKernel) -> None:
        self._service = service
        self._kernel = kernel

    async def send(
        self,
        device_id: str,
        target: str,
        args: Mapping[str, Any] | None = None,
        *,
        context: Context,
        opt_in: frozenset[str] = frozenset(),
    ) -> CommandResult:
        if self._kernel.profile(device_id) is None:
            text = note("dry_run_unchecked")
            result = CommandResult(
                CommandStatus.SENT,
                device_id,
                target,
                "dry_run_unchecked",
                text["zh"],
                text["en"],
                context=context,
                args=dict(args or {}),
            )
            self._kernel.bus.fire(COMMAND_RESULT, result, context)
            return result
        return await self._service.send(
            device_id, target, args, context=context, opt_in=opt_in, confirm_timeout=1.0
        )


def _copy_kernel(
    kernel: RuleKernel, clock: SimClock, calls: list[dict[str, Any]], tasks: TaskKeeper
) -> RuleKernel:
    bus = EventBus(tasks)
    states = StateStore(bus)
    states.restore(
        State(s.path, s.device, s.value, s.last_changed, s.last_reported, s.context)
        for s in kernel.states
    )
    registry = DeviceRegistry(bus)
    originals = {d.id: d.availability for d in kernel.registry}
    copies = [replace(d, identity=dict(d.identity), config=dict(d.config)) for d in kernel.registry]
    registry.restore(kernel.registry.rooms(), copies)
    for device in copies:
        device.availability = originals.get(device.id, Availability.UNKNOWN)
    arbiter = SafetyArbiter()
    for block in kernel.arbiter.blocks():
        arbiter.add_block(block)
    links: dict[str, _RecordingLink] = {}

    def link_of(device: Device) -> DeviceLink:
        link = links.get(device.id)
        if link is None:
            link = links[device.id] = _RecordingLink(
                device.id, states, kernel.profile_of(device), clock, calls
            )
        return link

    service = CommandService(bus, states, registry, arbiter, kernel.profile_of, link_of)
    sim = RuleKernel(bus, states, registry, arbiter, service, kernel.profile_of, dry_run=True)
    sim.commands = _DryRunSender(service, sim)
    return sim


def _describe(script_event: ScriptedEvent) -> str:
    if script_event.state is not None:
        return ", ".join(f"{p} = {v!r}" for p, v in script_event.state.items())
    if script_event.event is not None:
        ev = script_event.event
        return f"event {ev.device}/{ev.path} {dict(ev.fields) or ''}".rstrip()
    assert script_event.availability is not None
    return ", ".join(f"{d} {a}" for d, a in script_event.availability.items())


async def dry_run(
    kernel: RuleKernel,
    rules: Sequence[Rule],
    script: Script,
    *,
    initial_state: Mapping[str, Any] | None = None,
    scenes: SceneEngine | None = None,
    tz: tzinfo | None = None,
    start: float | None = None,
    duration: float | None = None,
) -> DryRunReport:
    from rules.engine import RuleEngine, local_tz

    tz = tz or local_tz()
    if start is None and script.start is not None:
        when = script.start if script.start.tzinfo else script.start.replace(tzinfo=tz)
        start = when.timestamp()
    clock = SimClock(start if start is not None else time.time())
    t0 = clock.now()
    tasks = TaskKeeper("dry-run")
    calls: list[dict[str, Any]] = []
    sim = _copy_kernel(kernel, clock, calls, tasks)
    for path, value in {**script.state, **dict(initial_state or {})}.items():
        sim.states.set(path, value, Context(Origin.DEVICE, path.split("/")[0]), now=t0)

    report = DryRunReport([r.id for r in rules], t0, t0)

    def add(kind: str, text: str, detail: dict[str, Any]) -> None:
        now = clock.now()
        report.entries.append(DryRunEntry(now - t0, now, kind, text, detail))

    def on_command(event: Event[CommandResult]) -> None:
        r = event.data
        args = f" {dict(r.args)}" if r.args else ""
        why = f" ({r.code}: {r.message_en})" if r.code != "ok" else ""
        add("command", f"{r.device} {r.target}{args} → {r.status.value}{why}", r.as_dict())

    def on_notify(event: Event[Notification]) -> None:
        n = event.data
        add("notify", f"[{n.priority.value}] {n.text_zh} / {n.text_en}", n.as_dict())

    def on_block(event: Event[BlockChange]) -> None:
        b = event.data
        if b.active:
            where = b.room_id or "whole home"
            if b.lifts_at is None:
                add("block", f"{b.block_id} in {where} until {b.until}", b.as_dict())
            else:
                left = b.lifts_at - clock.now()
                add("block", f"{b.block_id} in {where}: lifts in {left:.0f} s", b.as_dict())
        else:
            add("unblock", b.block_id, b.as_dict())

    def on_trace(trace: Trace) -> None:
        why = "; ".join(n["en"] for n in trace.notes)
        add(
            "run",
            f"{trace.rule_id} {trace.status.value}" + (f" — {why}" if why else ""),
            {
                "run_id": trace.run_id,
                "status": trace.status.value,
                "rule_id": trace.rule_id,
                "trigger_context": trace.trigger.get("context_id"),
            },
        )

    sim.bus.listen(COMMAND_RESULT, on_command)
    sim.bus.listen(NOTIFICATION, on_notify)
    sim.bus.listen(BLOCK_CHANGED, on_block)
    engine = RuleEngine(
        sim,
        clock=clock,
        scenes=scenes.copy_for(sim) if scenes is not None else None,
        notifier=NotificationCenter(sim.bus, clock),
        tz=tz,
        on_trace=on_trace,
    )
    engine.load(
        [LoadedRule(r.model_copy(update={"enabled": True}), "dry-run") for r in rules], "api"
    )
    try:
        await engine.start()
        last = 0.0
        for step in sorted(script.events, key=lambda e: e.at):
            await clock.advance_to(t0 + step.at)
            last = step.at
            add("input", _describe(step), {})
            _apply(sim, step, clock.now())
            await clock.settle()
        tail = duration if duration is not None else script.duration
        await clock.advance_to(t0 + (tail if tail is not None else last + DEFAULT_TAIL_S))
        report.traces = {r.id: engine.traces(r.id) for r in rules}
        _drop_answered_misses(report)
    finally:
        await engine.stop()
        await tasks.cancel_all()
    report.end = clock.now()
    report.link_calls = calls
    return report


def _drop_answered_misses(report: DryRunReport) -> None:
    """A rule with several triggers (``to: true`` and ``from: true, to: false``) sees each change
    with all of them; when one fired, the others' "did not match" is noise: leave it out."""
    fired = {
        (rule_id, t["trigger"].get("context_id"))
        for rule_id, traces in report.traces.items()
        for t in traces
        if t["status"] != "not_fired" and t["trigger"].get("context_id")
    }

    def answered(rule_id: str, context_id: Any) -> bool:
        return context_id is not None and (rule_id, context_id) in fired

    report.traces = {
        rule_id: [
            t
            for t in traces
            if t["status"] != "not_fired" or not answered(rule_id, t["trigger"].get("context_id"))
        ]
        for rule_id, traces in report.traces.items()
    }
    report.entries = [
        e
        for e in report.entries
        if not (
            e.kind == "run"
            and e.detail.get("status") == "not_fired"
            and answered(str(e.detail.get("rule_id")), e.detail.get("trigger_context"))
        )
    ]


def _apply(sim: RuleKernel, step: ScriptedEvent, now: float) -> None:
    if step.state is not None:
        for path, value in step.state.items():
            sim.states.set(path, value, Context(Origin.DEVICE, path.split("/")[0]), now=now)
    elif step.event is not None:
        ev = step.event
        sim.bus.fire(
            DEVICE_EVENT,
            DeviceEvent(ev.device, ev.path, dict(ev.fields), ev.priority),
            Context(Origin.DEVICE, ev.device),
        )
    elif step.availability is not None:
        for device_id, availability in step.availability.items():
            sim.registry.set_availability(device_id, Availability(availability))
