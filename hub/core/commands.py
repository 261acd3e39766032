"""Commands: validate, pass the safety arbiter, send through the device's link, and wait until
the device's own report confirms the effect (state is never assumed from a sent command)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from time import perf_counter as _perf
from typing import TYPE_CHECKING, Any, Protocol

from hub.capabilities.catalogue import check_value
from hub.capabilities.model import CommandDef, PropertyDef, ValueType
from hub.core.bus import EventBus
from hub.core.context import Context
from hub.core.events import Event, EventType
from hub.core.integration import DeviceLink, IntegrationError
from hub.core.registry import Availability, Device, DeviceRegistry
from hub.core.state import StateChange, StateStore
from hub.errors import message

# A module import, not ``from … import``: ``hub.safety.arbiter`` imports ``hub.core``, whose
# ``__init__`` imports this module, so importing ``hub.safety`` first must not find a half-made
# ``CommandIntent`` here. Names are looked up when a CommandService is made.
from hub.safety import arbiter as _arbiter

if TYPE_CHECKING:
    from hub.safety.arbiter import ProfilePolicy, SafetyArbiter

__all__ = ["COMMAND_RESULT", "CommandProfile", "CommandResult", "CommandService", "CommandStatus"]

# Capabilities whose every command lands in the audit log, whatever the outcome.
AUDITED_CAPABILITIES = frozenset({"lock", "lock_users", "valve", "burner", "gas_detector"})


class CommandStatus(StrEnum):
    CONFIRMED = "confirmed"  # the device reported the expected state
    SENT = "sent"  # accepted by the device; the command has no state effect to confirm
    REFUSED = "refused"  # stopped before the device (validation or safety)
    FAILED = "failed"  # the device or its transport failed
    TIMEOUT = "timeout"  # sent, but the device did not report the effect in time


@dataclass(slots=True)
class CommandResult:
    status: CommandStatus
    device: str
    target: str
    code: str = "ok"
    message_zh: str = ""
    message_en: str = ""
    needs: str | None = None
    duration_ms: float = 0.0
    context: Context | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    audited: bool = False

    @property
    def ok(self) -> bool:
        return self.status in (CommandStatus.CONFIRMED, CommandStatus.SENT)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "device": self.device,
            "target": self.target,
            "code": self.code,
            "message": {"zh": self.message_zh, "en": self.message_en},
            "needs": self.needs,
            "duration_ms": round(self.duration_ms, 3),
            "context_id": self.context.id if self.context is not None else None,
        }


COMMAND_RESULT: EventType[CommandResult] = EventType("command_result")

_SENT = CommandStatus.SENT
_CONFIRMED = CommandStatus.CONFIRMED
_REFUSED = CommandStatus.REFUSED
_FAILED = CommandStatus.FAILED
_OFFLINE = Availability.OFFLINE
_new_tuple = tuple.__new__  # CommandIntent is a named tuple: built in C, as ``_make`` does
_PLANS_MAX = 4096  # (profile, target) plans kept; all are dropped when there are more


class CommandProfile(Protocol):
    """What the command path needs of a device's profile (see hub.profiles runtime)."""

    @property
    def id(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def roles(self) -> frozenset[str]: ...
    @property
    def policy(self) -> ProfilePolicy: ...
    def command_def(self, target: str) -> CommandDef | None: ...
    def property_def(self, path: str) -> PropertyDef | None: ...
    def reported_paths(self, transport: str) -> frozenset[str] | None:
        """The ``component/capability/property`` paths the transport's binding reports (None:
        no binding, assume all): a command waits only for effects the device can report."""
        ...


class _Plan:
    """What a command to one target of one profile needs, worked out once: the parsed target,
    its definition, whether it is audited, and whether the arbiter allows it whatever the
    intent (then, while no block is active, no intent is built). Kept per profile object, so a
    reloaded profile (a new object) gets new plans; ``policy`` is checked on every use."""

    __slots__ = (
        "audited",
        "capability",
        "cmd",
        "command",
        "component",
        "effects",
        "free",
        "params",
        "policy",
        "profile",
    )

    def __init__(self, profile: CommandProfile, target: str, arbiter: SafetyArbiter) -> None:
        component, _, rest = target.partition("/")
        capability, _, command = rest.partition(".")
        cmd = profile.command_def(target)
        if cmd is not None and (not component or not command):
            cmd = None
        self.profile = profile  # keeps the object (and so its id, the plan's key) alive
        self.policy = profile.policy
        self.cmd = cmd
        self.component = component
        self.capability = capability
        self.command = command
        self.audited = capability in AUDITED_CAPABILITIES
        self.params = bool(cmd.params) if cmd is not None else False
        self.effects = bool(cmd.effects) if cmd is not None else False
        self.free = cmd is not None and arbiter.always_allows(
            self.policy, cmd, component, capability, command
        )


class CommandService:
    def __init__(
        self,
        bus: EventBus,
        states: StateStore,
        registry: DeviceRegistry,
        arbiter: SafetyArbiter,
        profile_of: Callable[[Device], CommandProfile | None],
        link_of: Callable[[Device], DeviceLink | None],
    ) -> None:
        self._bus = bus
        self._states = states
        self._registry = registry
        self._arbiter = arbiter
        self._profile_of = profile_of
        self._link_of = link_of
        self._intent = _arbiter.CommandIntent
        self._device = registry.get
        self._blocks = arbiter.active_blocks
        self._plans: dict[tuple[int, str], _Plan] = {}

    def _plan(self, profile: CommandProfile, target: str) -> _Plan:
        plan = _Plan(profile, target, self._arbiter)
        if plan.cmd is not None:  # only targets the profile knows: junk must not fill it
            plans = self._plans
            if len(plans) >= _PLANS_MAX:
                plans.clear()
            plans[(id(profile), target)] = plan
        return plan

    async def send(
        self,
        device_id: str,
        target: str,
        args: Mapping[str, Any] | None = None,
        *,
        context: Context,
        step_up: bool = False,
        owner_confirmed: bool = False,
        opt_in: frozenset[str] = frozenset(),
        confirm_timeout: float = 5.0,
    ) -> CommandResult:
        """Run one command ``component/capability.command`` on a device; never raises for
        refusals or device failures — the result says what happened, in zh and en.

        Hot path (``bench/``: command): one coroutine besides the link's; a plan per (profile,
        target) made once (parsed target, definition, audit flag, whether the arbiter allows
        it whatever the intent — then, while no block is active, no intent is built);
        argument checks and the effect table only when the command has parameters or effects;
        the result built once, complete."""
        started = _perf()
        args = dict(args) if args else {}
        device = self._device(device_id)
        if device is None:
            return self._refuse(started, device_id, target, args, context, "unknown_device")
        profile = self._profile_of(device)
        if profile is None:
            return self._refuse(started, device_id, target, args, context, "no_profile")
        plan = self._plans.get((id(profile), target))
        if plan is None or plan.policy is not profile.policy:
            plan = self._plan(profile, target)
        cmd = plan.cmd
        if cmd is None:
            return self._refuse(started, device_id, target, args, context, "unknown_command")
        audited = plan.audited
        component, capability, command = plan.component, plan.capability, plan.command
        if args or plan.params:
            problem = self._check_args(profile, component, capability, cmd, args)
            if problem is not None:
                code, params = problem
                return self._refuse(
                    started, device_id, target, args, context, code, audited=audited, **params
                )
        if not plan.free or self._blocks:
            intent = _new_tuple(
                self._intent,
                (
                    device_id,
                    device.room_id,
                    profile.id,
                    profile.roles,
                    profile.category,
                    component,
                    capability,
                    command,
                    args,
                    context,
                    step_up,
                    owner_confirmed,
                    opt_in,
                ),
            )
            verdict = self._arbiter.check(intent, plan.policy, cmd)
            if not verdict.allowed:
                return self._finish(
                    started,
                    args,
                    context,
                    _REFUSED,
                    device_id,
                    target,
                    verdict.code,
                    verdict.message_zh,
                    verdict.message_en,
                    verdict.needs,
                    True,
                )
        link = self._link_of(device)
        if link is None or not link.connected or device.availability is _OFFLINE:
            zh, en = message("device_offline", device=device_id)
            return self._finish(
                started,
                args,
                context,
                _FAILED,
                device_id,
                target,
                "device_offline",
                zh,
                en,
                None,
                audited,
            )
        waiter = None
        if plan.effects:
            expected = self._expected(device_id, component, capability, cmd, args)
            reported = profile.reported_paths(device.transport)
            if reported is not None and expected:
                cut = len(device_id) + 1
                expected = {p: v for p, v in expected.items() if p[cut:] in reported}
            if expected:
                waiter = _ConfirmWaiter(self._states, device_id, expected)
        code, zh, en = "ok", "", ""
        try:
            await link.invoke(component, capability, command, args, context)
            if waiter is None:
                status = _SENT
            elif await waiter.wait(confirm_timeout):
                status = _CONFIRMED
            else:
                status, code = CommandStatus.TIMEOUT, "not_confirmed"
                zh, en = message(code, device=device_id, seconds=f"{confirm_timeout:g}")
        except IntegrationError as err:
            status = CommandStatus.FAILED
            code = getattr(err, "code", "device_error")
            zh, en = message(
                "device_error" if code != "device_unavailable" else "device_offline",
                device=device_id,
                detail=str(err),
            )
        finally:
            if waiter is not None:
                waiter.close()
        # _result, inlined: the path every command that reached its device takes.
        result: CommandResult = _new_result(CommandResult)
        result.status = status
        result.device = device_id
        result.target = target
        result.code = code
        result.message_zh = zh
        result.message_en = en
        result.needs = None
        result.duration_ms = (_perf() - started) * 1000.0
        result.context = context
        result.args = {k: ("***" if k == "pin" else v) for k, v in args.items()} if args else args
        result.audited = audited
        self._bus.fire(COMMAND_RESULT, result, context)
        return result

    def _refuse(
        self,
        started: float,
        device_id: str,
        target: str,
        args: dict[str, Any],
        context: Context,
        code: str,
        *,
        audited: bool = False,
        **params: Any,
    ) -> CommandResult:
        zh, en = message(code, device=device_id, target=target, **params)
        return self._finish(
            started, args, context, _REFUSED, device_id, target, code, zh, en, None, audited
        )

    def _finish(
        self,
        started: float,
        args: dict[str, Any],
        context: Context,
        status: CommandStatus,
        device_id: str,
        target: str,
        code: str,
        zh: str,
        en: str,
        needs: str | None,
        audited: bool,
    ) -> CommandResult:
        """Build the complete result (duration, context, redacted args), announce it."""
        result = _result(
            status, device_id, target, code, zh, en, needs, started, context, args, audited
        )
        self._bus.fire(COMMAND_RESULT, result, context)
        return result

    def _check_args(
        self,
        profile: CommandProfile,
        component: str,
        capability: str,
        cmd: CommandDef,
        args: dict[str, Any],
    ) -> tuple[str, dict[str, Any]] | None:
        for name in args:
            if name not in cmd.params:
                return "bad_argument", {"param": name, "detail": "unknown parameter"}
        for name, pdef in cmd.params.items():
            if name not in args:
                if pdef.required and pdef.type is not ValueType.SECRET:
                    return "missing_argument", {"param": name}
                continue
            if pdef.type is ValueType.SECRET:
                if not isinstance(args[name], str):
                    return "bad_argument", {"param": name, "detail": "must be text"}
                continue
            prop = (
                profile.property_def(f"{component}/{capability}/{pdef.ref}")
                if pdef.ref is not None
                else None
            )
            try:
                if prop is not None:
                    args[name] = check_value(prop, args[name])
                else:
                    args[name] = check_value(
                        PropertyDef(type=pdef.type, range=pdef.range, values=pdef.values),
                        args[name],
                    )
            except ValueError as err:
                return "bad_argument", {"param": name, "detail": str(err)}
        return None

    @staticmethod
    def _expected(
        device_id: str, component: str, capability: str, cmd: CommandDef, args: Mapping[str, Any]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for prop, effect in cmd.effects.items():
            value = effect
            if isinstance(effect, str) and effect.startswith("$"):
                if effect[1:] not in args:
                    continue
                value = args[effect[1:]]
            out[f"{device_id}/{component}/{capability}/{prop}"] = value
        return out


_new_result = object.__new__


def _result(
    status: CommandStatus,
    device_id: str,
    target: str,
    code: str,
    zh: str,
    en: str,
    needs: str | None,
    started: float,
    context: Context,
    args: dict[str, Any],
    audited: bool,
) -> CommandResult:
    """The complete result: duration since ``started``, the context, the arguments with the
    PIN redacted. Set field by field: calling the slotted dataclass goes through CPython's
    generic class call and a nested ``__init__`` frame, 1.6x the machine instructions."""
    result: CommandResult = _new_result(CommandResult)
    result.status = status
    result.device = device_id
    result.target = target
    result.code = code
    result.message_zh = zh
    result.message_en = en
    result.needs = needs
    result.duration_ms = (_perf() - started) * 1000.0
    result.context = context
    # No arguments: the command's own empty dict (made for this command, not shared).
    result.args = {k: ("***" if k == "pin" else v) for k, v in args.items()} if args else args
    result.audited = audited
    return result


class _ConfirmWaiter:
    """Resolves once every expected path reports its expected value (subscribed before sending,
    so a fast device's report cannot slip past)."""

    def __init__(self, states: StateStore, device_id: str, expected: dict[str, Any]) -> None:
        self._states = states
        self._pending = {p: v for p, v in expected.items() if not _matches(states.value(p), v)}
        self._future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._unsub = states.track_devices([device_id], self._on_change)
        # Already in the expected state (e.g. "off" while off): the device's next report confirms.
        self._already = not self._pending
        if self._already:
            self._pending = dict(expected)

    def _on_change(self, event: Event[StateChange]) -> None:
        new = event.data.new
        if new is None or event.data.path not in self._pending:
            return
        if _matches(new.value, self._pending[event.data.path]):
            del self._pending[event.data.path]
            if not self._pending and not self._future.done():
                self._future.set_result(None)

    async def wait(self, timeout: float) -> bool:
        if self._already:
            # Nothing will change: accept the device's acknowledgement of an idempotent command.
            return True
        try:
            await asyncio.wait_for(asyncio.shield(self._future), timeout)
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        # Drop the unsubscribe closure (it refers back to ``_on_change``, a cycle): the waiter
        # is then freed at once instead of by the collector, whose passes stall the loop.
        unsub, self._unsub = self._unsub, _nothing
        unsub()


def _nothing() -> None:
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _matches(actual: Any, expected: Any) -> bool:
    if _is_number(actual) and _is_number(expected):
        # Raw scales quantise (brightness 37 % -> DP 370 -> 37.0; 2700 K -> 370 mireds -> 2703 K).
        return abs(float(actual) - float(expected)) <= max(1.0, abs(float(expected)) * 0.01)
    if isinstance(expected, list | tuple | frozenset) and isinstance(
        actual, list | tuple | frozenset
    ):
        return sorted(map(str, actual)) == sorted(map(str, expected))
    return bool(actual == expected)
