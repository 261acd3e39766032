"""The safety arbiter: one decision point between every command source and the devices.

Static policy comes from the profile's ``safety`` section (restrictions, limits) and from the
capability catalogue (``confirm`` commands need a step-up). Hard rules hold whatever a profile
says: rules and scenes never unlock a door or open a valve unless the owner opted in for that
rule. Dynamic blocks (e.g. during a gas alarm: no switching of electrical loads in that room,
except switching them off) are added and removed by the rule engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from hub.capabilities.model import CommandDef
from hub.core.context import Context, Origin
from hub.errors import message

__all__ = ["Block", "CommandIntent", "ProfilePolicy", "SafetyArbiter", "Verdict"]

# Commands that only make a device safer; a block never stops them.
SHUTOFF_COMMANDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("onoff", "off"),
        ("burner", "off"),
        ("valve", "close"),
        ("lock", "lock"),
        ("timer", "cancel"),
        ("operational_state", "stop"),
        ("alarm_sounder", "mute"),
    }
)
# (capability, command) pairs automation may only send with an explicit owner opt-in per rule.
OPT_IN_COMMANDS: frozenset[tuple[str, str]] = frozenset({("lock", "unlock"), ("valve", "open")})
_AUTOMATED = (Origin.RULE, Origin.SCENE)
_RULE, _SCENE = _AUTOMATED


def is_shutoff(capability: str, command: str, args: Mapping[str, Any]) -> bool:
    if (capability, command) in SHUTOFF_COMMANDS:
        return True
    return capability == "fan" and command == "set_mode" and args.get("mode") == "off"


@dataclass(slots=True, frozen=True)
class Verdict:
    allowed: bool
    code: str = "ok"
    message_zh: str = ""
    message_en: str = ""
    needs: str | None = None  # "pin" | "owner_confirmation" when the user can still proceed

    @classmethod
    def refuse(cls, code: str, needs: str | None = None, **params: Any) -> Verdict:
        zh, en = message(code, **params)
        return cls(False, code, zh, en, needs)


ALLOW = Verdict(True)


class CommandIntent(NamedTuple):
    """One command as the arbiter sees it. Immutable: a named tuple, which CPython builds in C
    from one tuple — a frozen dataclass of these 13 fields cost ~2.5 µs per command to build
    (every field through ``object.__setattr__``), more than the rest of the decision."""

    device_id: str
    room_id: str | None
    profile_id: str
    roles: frozenset[str]
    category: str
    component: str
    capability: str
    command: str
    args: Mapping[str, Any]
    context: Context
    step_up: bool = False  # the user re-entered the PIN for this very command
    owner_confirmed: bool = False
    # Rule-level opt-ins: full targets ("main/lock.unlock") or capability commands ("lock.unlock").
    opt_in: frozenset[str] = frozenset()

    @property
    def target(self) -> str:
        return f"{self.component}/{self.capability}.{self.command}"

    @property
    def automated(self) -> bool:
        """A rule or scene anywhere in the causal chain (walked without building a list)."""
        ctx: Context | None = self.context
        while ctx is not None:
            origin = ctx.origin
            if origin is _RULE or origin is _SCENE:
                return True
            ctx = ctx.parent
        return False


@dataclass(slots=True, frozen=True)
class _Limit:
    param_property: str  # component/capability/property
    default_max: float | None
    absolute_max: float | None
    unit: str


@dataclass(slots=True)
class ProfilePolicy:
    """A profile's safety section, indexed for cheap lookups per command target."""

    not_available: frozenset[str] = frozenset()
    confirm: frozenset[str] = frozenset()
    automation_denied: frozenset[str] = frozenset()
    limits: dict[str, _Limit] = field(default_factory=dict)

    @classmethod
    def from_safety(
        cls, safety: Mapping[str, Any], units: Mapping[str, str] | None = None
    ) -> ProfilePolicy:
        not_available: set[str] = set()
        confirm: set[str] = set()
        denied: set[str] = set()
        for r in safety.get("restrictions") or ():
            target = str(r.get("target", ""))
            if r.get("rule") == "not_available":
                not_available.add(target)
            require = set(r.get("require") or ())
            if require & {"user_confirmation", "local_presence_or_user_confirmation"}:
                confirm.add(target)
            if r.get("scenes") == "deny_by_default":
                denied.add(target)
        limits: dict[str, _Limit] = {}
        for path, spec in (safety.get("limits") or {}).items():
            limits[str(path)] = _Limit(
                str(path),
                _num(spec.get("default_max")),
                _num(spec.get("absolute_max")),
                (units or {}).get(str(path), ""),
            )
        return cls(frozenset(not_available), frozenset(confirm), frozenset(denied), limits)


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass(slots=True, frozen=True)
class Block:
    """A temporary ban, e.g. during a gas alarm: which devices, and why (zh/en)."""

    id: str
    reason_zh: str
    reason_en: str
    room_id: str | None = None  # None: the whole home
    roles: frozenset[str] = frozenset()  # any of these roles …
    categories: tuple[str, ...] = ()  # … or a category prefix like "light."
    devices: frozenset[str] = frozenset()
    allow_shutoff: bool = True

    def applies(self, intent: CommandIntent) -> bool:
        if self.room_id is not None and intent.room_id != self.room_id:
            return False
        if intent.device_id in self.devices or intent.roles & self.roles:
            return True
        return any(intent.category.startswith(prefix) for prefix in self.categories)


class SafetyArbiter:
    def __init__(self) -> None:
        self._blocks: dict[str, Block] = {}
        # The same dict, read-only for callers: "is any block active?" in one truth test.
        self.active_blocks: Mapping[str, Block] = self._blocks

    # -- dynamic blocks ------------------------------------------------------------------------
    def add_block(self, block: Block) -> Callable[[], None]:
        self._blocks[block.id] = block

        def remove() -> None:
            if self._blocks.get(block.id) is block:
                del self._blocks[block.id]

        return remove

    def blocks(self) -> list[Block]:
        return list(self._blocks.values())

    # -- the decision --------------------------------------------------------------------------
    @staticmethod
    def always_allows(
        policy: ProfilePolicy, command: CommandDef, component: str, capability: str, name: str
    ) -> bool:
        """True when :meth:`check` allows *every* intent for this target under ``policy`` (any
        context, arguments, step-up or owner confirmation) while no block is active: the
        target is available, needs no step-up, is not kept from automation, and none of its
        parameters has a limit. Callers may then skip building an intent (``hub.core
        .commands`` plans); with a block active they must call :meth:`check`."""
        target = f"{component}/{capability}.{name}"
        if target in policy.not_available:
            return False
        if (capability, name) in OPT_IN_COMMANDS or target in policy.automation_denied:
            return False
        if command.confirm or target in policy.confirm:
            return False
        if policy.limits:
            for pdef in command.params.values():
                if pdef.ref is not None and f"{component}/{capability}/{pdef.ref}" in policy.limits:
                    return False
        return True

    def check(self, intent: CommandIntent, policy: ProfilePolicy, command: CommandDef) -> Verdict:
        # Hot path (bench/: command). The same rules in the same order as ever; what is cheap
        # is how: the target string is built only when a rule needs it (a policy set to look
        # it up in, an automated command, a refusal message), empty policy sets are skipped,
        # and the causal chain is walked without building a list (``intent.automated``).
        target: str | None = None
        not_available = policy.not_available
        if not_available:
            target = intent.target
            if target in not_available:
                return Verdict.refuse("not_available", target=target)
        automated = False
        ctx: Context | None = intent.context
        while ctx is not None:
            origin = ctx.origin
            if origin is _RULE or origin is _SCENE:
                automated = True
                break
            ctx = ctx.parent
        if automated:
            capability, name = intent.capability, intent.command
            if target is None:
                target = intent.target
            if (
                ((capability, name) in OPT_IN_COMMANDS or target in policy.automation_denied)
                and target not in intent.opt_in
                and f"{capability}.{name}" not in intent.opt_in
            ):
                return Verdict.refuse("automation_denied", target=target)
        elif command.confirm or policy.confirm:
            if target is None:
                target = intent.target
            if (command.confirm or target in policy.confirm) and not intent.step_up:
                return Verdict.refuse("step_up_required", needs="pin", target=target)
        if policy.limits:
            verdict = self._check_limits(intent, policy, command)
            if verdict is not ALLOW:
                return verdict
        if self._blocks and not is_shutoff(intent.capability, intent.command, intent.args):
            for block in self._blocks.values():
                if block.applies(intent):
                    return Verdict.refuse(
                        "blocked",
                        target=intent.target,
                        reason_zh=block.reason_zh,
                        reason_en=block.reason_en,
                    )
        return ALLOW

    def _check_limits(
        self, intent: CommandIntent, policy: ProfilePolicy, command: CommandDef
    ) -> Verdict:
        for pname, pdef in command.params.items():
            if pdef.ref is None or pname not in intent.args:
                continue
            limit = policy.limits.get(f"{intent.component}/{intent.capability}/{pdef.ref}")
            value = intent.args[pname]
            if limit is None or not isinstance(value, int | float):
                continue
            if limit.absolute_max is not None and value > limit.absolute_max:
                return Verdict.refuse(
                    "limit_exceeded", param=pname, limit=_fmt(limit.absolute_max), unit=limit.unit
                )
            if (
                limit.default_max is not None
                and value > limit.default_max
                and not intent.owner_confirmed
            ):
                return Verdict.refuse(
                    "owner_confirmation_required",
                    needs="owner_confirmation",
                    param=pname,
                    limit=_fmt(limit.default_max),
                    unit=limit.unit,
                )
        return ALLOW


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)
