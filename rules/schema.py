"""The rule and scene file formats, ``zshub.rules/1`` and ``zshub.scenes/1``, as pydantic models.

Every trigger, condition and action is a mapping with exactly one key naming its kind::

    triggers:
      - state: {target: role:gas_source, path: burner/ignited, to: true, for: 30m}
    conditions:
      - state: {target: role:presence, room: same, path: occupancy/occupied, is: false}
    actions:
      - command: {target: role:gas_shutoff, do: valve.close}
      - notify: {priority: alert, text: {zh: …, en: …}}

Targets are a device id, ``role:<role>``, ``room:<room id>``, ``category:<prefix>`` or
``capability:<name>`` (every device that has it); paths leave out the device
(``[component/]capability/property``), so packs work in any home. A command without a component
runs on the first component that has the capability (``main`` first); ``*/burner.off`` runs on
every one (both burners of a cooktop).
Durations are seconds or ``90s``/``5m``/``1h30m``; times of day are quoted (``"22:00"``).

A file may declare ``params:`` (name -> value, with zh/en titles and bounds) and use them as
``$name`` anywhere a value goes (``${name}`` inside texts); an integrator tunes them without
editing the pack, in a ``zshub.params/1`` file (see :mod:`rules.params`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Hashable, Sequence
from datetime import time as dtime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from hub.capabilities.model import LocalText

__all__ = [
    "RULES_SCHEMA",
    "SCENES_SCHEMA",
    "ActionItem",
    "AvailabilityTrigger",
    "BlockAction",
    "BlockUntil",
    "CatchUp",
    "ParamSpec",
    "SceneTrigger",
    "ChooseAction",
    "ChooseBranch",
    "CommandAction",
    "ConditionItem",
    "EventTrigger",
    "HubStartTrigger",
    "LocalText",
    "Mode",
    "NotifyAction",
    "Retry",
    "Rule",
    "RuleFile",
    "RunIfWithin",
    "Scene",
    "SceneFile",
    "SceneState",
    "StateCondition",
    "StateTrigger",
    "TimeCondition",
    "TimeTrigger",
    "TriggerItem",
    "WaitAction",
    "parse_duration",
    "rule_problems",
    "spec_hash",
    "to_data",
]

RULES_SCHEMA = "zshub.rules/1"
SCENES_SCHEMA = "zshub.scenes/1"

Loc = tuple[Hashable, ...]

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
_DEVICE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_ROLE_RE = re.compile(r"^role:[a-z][a-z0-9_]*$")
_ROOM_RE = re.compile(r"^room:[a-z0-9][a-z0-9_-]{0,63}$")
_CATEGORY_RE = re.compile(r"^category:[a-z0-9_.]+\*?$")
_CAPABILITY_RE = re.compile(r"^capability:[a-z][a-z0-9_]*(?:\.[a-z0-9][a-z0-9_-]*)*$")
# A component name, or ``*``: every component that has the capability.
_COMPONENT = r"(?:[a-z0-9][a-z0-9_-]*|\*)"
_CAPABILITY = r"[a-z][a-z0-9_]*(?:\.[a-z0-9][a-z0-9_-]*)*"
_MEMBER_PATH_RE = re.compile(rf"^(?:{_COMPONENT}/)?{_CAPABILITY}/[a-z][a-z0-9_]*$")
_COMMAND_RE = re.compile(rf"^(?:{_COMPONENT}/)?{_CAPABILITY}\.[a-z][a-z0-9_]*$")
_DURATION_RE = re.compile(
    r"^(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m(?:in)?)?(?:(?P<s>\d+(?:\.\d+)?)s)?$"
)
_CLOCK_RE = re.compile(r"^(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# -- scalar types ----------------------------------------------------------------------------


def parse_duration(value: Any) -> float:
    """Seconds from ``30``, ``2.5``, ``"90s"``, ``"5m"``, ``"1h30m"`` or ``"01:30:00"``."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like 90s, 5m, 1h30m")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        clock = _CLOCK_RE.match(text)
        if clock is not None and clock.group("s") is not None:
            return float(
                int(clock.group("h")) * 3600 + int(clock.group("m")) * 60 + int(clock.group("s"))
            )
        match = _DURATION_RE.match(text)
        if text and match is not None and any(match.groupdict().values()):
            parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
            return parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
    raise ValueError(f"{value!r} is not a duration (use seconds or text like 90s, 5m, 1h30m)")


def _parse_time_of_day(value: Any) -> dtime:
    if isinstance(value, dtime):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML reads an unquoted 22:00 as the base-60 number 1320; refuse rather than guess.
        raise ValueError(f'write times of day in quotes, like "22:00" (YAML read {value})')
    if isinstance(value, str):
        match = _CLOCK_RE.match(value.strip())
        if match is not None:
            h, m, s = int(match.group("h")), int(match.group("m")), int(match.group("s") or 0)
            if h < 24 and m < 60 and s < 60:
                return dtime(h, m, s)
    raise ValueError(f'{value!r} is not a time of day like "07:30" or "22:00:00"')


def _check_target(value: str) -> str:
    if value.startswith("category:"):
        if _CATEGORY_RE.match(value):
            return value.removesuffix("*")
        raise ValueError(f"{value!r}: write a category prefix like category:light.")
    for prefix, rx in (("role:", _ROLE_RE), ("room:", _ROOM_RE), ("capability:", _CAPABILITY_RE)):
        if value.startswith(prefix):
            if rx.match(value):
                return value
            raise ValueError(f"{value!r} is not a valid {prefix[:-1]} target")
    if _DEVICE_RE.match(value):
        return value
    raise ValueError(
        f"{value!r} is not a target: use a device id, role:<role>, room:<room>, "
        "category:<prefix> or capability:<name>"
    )


def _as_tuple(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(value)
    return (value,)


def _check_member_path(value: str) -> str:
    if not _MEMBER_PATH_RE.match(value):
        raise ValueError(
            f"{value!r} is not a path like capability/property or component/capability/property"
        )
    return value


def _check_command(value: str) -> str:
    if not _COMMAND_RE.match(value):
        raise ValueError(f"{value!r} is not a command like fan.set_mode or main/fan.set_mode")
    return value


def _check_id(value: str) -> str:
    if not _ID_RE.match(value):
        raise ValueError(f"{value!r}: ids are lowercase letters, digits, '.', '_' or '-'")
    return value


_PARAM_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")


def _check_param_name(value: str) -> str:
    if not _PARAM_NAME_RE.match(value):
        raise ValueError(f"{value!r}: parameter names are lower_snake_case")
    return value


def _check_room(value: str) -> str:
    if value != "same" and not _DEVICE_RE.match(value):
        raise ValueError(f"{value!r} is not a room id (or 'same')")
    return value


Duration = Annotated[float, BeforeValidator(parse_duration)]
TimeOfDay = Annotated[dtime, BeforeValidator(_parse_time_of_day)]
Target = Annotated[str, AfterValidator(_check_target)]
Targets = Annotated[tuple[Target, ...], BeforeValidator(_as_tuple), Field(min_length=1)]
MemberPath = Annotated[str, AfterValidator(_check_member_path)]
CommandName = Annotated[str, AfterValidator(_check_command)]
Id = Annotated[str, AfterValidator(_check_id)]
RoomScope = Annotated[str, AfterValidator(_check_room)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Mode = Literal["single", "restart", "queued", "parallel"]
OptIn = Literal["unlock", "valve_open"]
Availability = Literal["online", "offline", "unknown"]
Priority = Literal["info", "alert", "critical"]


def _one_kind(value: Any, kinds: Sequence[str], what: str, extra: Sequence[str] = ()) -> Any:
    """The item must be ``{kind: spec}`` (plus the ``extra`` keys, like a trigger's ``id``);
    say clearly what is wrong otherwise."""
    if not isinstance(value, dict):
        raise ValueError(f"a {what} is a mapping with one of: {', '.join(kinds)}")
    present = [k for k in value if k in kinds]
    if not present:
        found = ", ".join(map(str, value)) or "nothing"
        raise ValueError(f"unknown {what} ({found}); use one of: {', '.join(kinds)}")
    if len(present) > 1:
        raise ValueError(f"a {what} has exactly one kind; found {', '.join(present)}")
    stray = [str(k) for k in value if k not in kinds and k not in extra]
    if stray:
        kind = present[0]
        raise ValueError(
            f"write the {what} as {{{kind}: {{…}}}}: {', '.join(stray)} belong inside {kind}"
        )
    return value


def _present_kind(model: BaseModel, kinds: Sequence[str]) -> str:
    for kind in kinds:
        if getattr(model, kind) is not None:
            return kind
    raise AssertionError("validated model without a kind")  # _one_kind rules this out


# -- triggers --------------------------------------------------------------------------------


class StateTrigger(_Strict):
    """A state change of ``path`` on any target device: ``from``/``to`` values (one or a list;
    null means "any"), ``not_from``/``not_to`` (any value but these), ``above``/``below``
    thresholds, and ``for``: how long it must hold."""

    target: Targets
    path: MemberPath
    room: RoomScope | None = None
    from_: Any = Field(None, alias="from")
    to: Any = None
    not_from: Any = None
    not_to: Any = None
    above: float | None = None
    below: float | None = None
    for_: Duration | None = Field(None, alias="for")

    @model_validator(mode="after")
    def _for_needs_a_state(self) -> StateTrigger:
        if self.for_ is not None and self.to is None and self.above is None and self.below is None:
            raise ValueError("for: needs to, above or below (the state that must hold)")
        return self


class EventTrigger(_Strict):
    """A device event (``gas_detector/gas_alarm``, ``burner/flame_out`` …) whose fields contain
    ``fields``; with ``count``/``within`` only the n-th event inside the window fires."""

    target: Targets
    path: MemberPath
    room: RoomScope | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    count: int = Field(1, ge=1, le=100)
    within: Duration | None = None

    @model_validator(mode="after")
    def _window(self) -> EventTrigger:
        if self.count > 1 and self.within is None:
            raise ValueError("count needs within (the window the events must fall in)")
        return self


class TimeTrigger(_Strict):
    """Clock times in the hub's time zone, optionally on some weekdays only."""

    at: Annotated[tuple[TimeOfDay, ...], BeforeValidator(_as_tuple), Field(min_length=1)]
    weekdays: tuple[Weekday, ...] = ()


class AvailabilityTrigger(_Strict):
    target: Targets
    room: RoomScope | None = None
    from_: Availability | None = Field(None, alias="from")
    to: Availability | None = None
    for_: Duration | None = Field(None, alias="for")

    @model_validator(mode="after")
    def _for_needs_to(self) -> AvailabilityTrigger:
        if self.for_ is not None and self.to is None:
            raise ValueError("for: needs to (the availability that must hold)")
        return self


class HubStartTrigger(_Strict):
    pass


class SceneTrigger(_Strict):
    """A scene was applied (by anyone: UI, API, a rule); the run sees the scene's per-device
    results, so ``failed`` conditions and the ``{failed}`` placeholder report what it could
    not do. ``- scene: leave_home`` is short for ``- scene: {scenes: [leave_home]}``."""

    scenes: Annotated[tuple[Id, ...], BeforeValidator(_as_tuple), Field(min_length=1)]


TRIGGER_KINDS = ("state", "event", "time", "availability", "hub_start", "scene")


class TriggerItem(_Strict):
    """One trigger; ``id`` names it for ``trigger:`` conditions (which trigger started the run)."""

    id: Id | None = None
    state: StateTrigger | None = None
    event: EventTrigger | None = None
    time: TimeTrigger | None = None
    availability: AvailabilityTrigger | None = None
    hub_start: HubStartTrigger | None = None
    scene: SceneTrigger | None = None

    @model_validator(mode="before")
    @classmethod
    def _one(cls, value: Any) -> Any:
        value = _one_kind(value, TRIGGER_KINDS, "trigger", extra=("id",))
        if "hub_start" in value and value["hub_start"] in (None, True):
            return {**value, "hub_start": {}}
        if "scene" in value and isinstance(value["scene"], str | list | tuple):
            return {**value, "scene": {"scenes": value["scene"]}}
        return value

    @property
    def kind(self) -> str:
        return _present_kind(self, TRIGGER_KINDS)

    @property
    def spec(
        self,
    ) -> (
        StateTrigger
        | EventTrigger
        | TimeTrigger
        | AvailabilityTrigger
        | HubStartTrigger
        | SceneTrigger
    ):
        spec = getattr(self, self.kind)
        assert spec is not None
        return spec  # type: ignore[no-any-return]


# -- conditions ------------------------------------------------------------------------------


class StateCondition(_Strict):
    """The state of ``path`` on the target devices: ``is``/``is_not`` (a value or a list),
    ``above``/``below``, held ``for`` at least that long; ``match: all`` needs every device."""

    target: Targets
    path: MemberPath
    room: RoomScope | None = None
    is_: Any = Field(None, alias="is")
    is_not: Any = None
    above: float | None = None
    below: float | None = None
    for_: Duration | None = Field(None, alias="for")
    match: Literal["any", "all"] = "any"

    @model_validator(mode="after")
    def _something_to_check(self) -> StateCondition:
        if self.is_ is None and self.is_not is None and self.above is None and self.below is None:
            raise ValueError("a state condition needs is, is_not, above or below")
        return self


class TimeCondition(_Strict):
    """A time window (it may wrap midnight: after 22:00, before 06:00) and/or weekdays."""

    after: TimeOfDay | None = None
    before: TimeOfDay | None = None
    weekdays: tuple[Weekday, ...] = ()

    @model_validator(mode="after")
    def _something_to_check(self) -> TimeCondition:
        if self.after is None and self.before is None and not self.weekdays:
            raise ValueError("a time condition needs after, before or weekdays")
        return self


CONDITION_KINDS = ("state", "time", "and", "or", "not", "trigger", "failed")


class ConditionItem(_Strict):
    """``trigger: <id>`` (or a list): the run was started by one of these triggers.
    ``failed: true``: an earlier step of this run (or the scene of a ``scene`` trigger) left a
    device refused, failed or unconfirmed; ``failed: false``: nothing did."""

    state: StateCondition | None = None
    time: TimeCondition | None = None
    and_: list[ConditionItem] | None = Field(None, alias="and", min_length=1)
    or_: list[ConditionItem] | None = Field(None, alias="or", min_length=1)
    not_: list[ConditionItem] | None = Field(None, alias="not", min_length=1)
    trigger: Annotated[tuple[Id, ...], BeforeValidator(_as_tuple), Field(min_length=1)] | None = (
        None
    )
    failed: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _one(cls, value: Any) -> Any:
        return _one_kind(value, CONDITION_KINDS, "condition")

    @property
    def kind(self) -> str:
        for kind, name in (
            ("state", "state"),
            ("time", "time"),
            ("and", "and_"),
            ("or", "or_"),
            ("not", "not_"),
            ("trigger", "trigger"),
            ("failed", "failed"),
        ):
            if getattr(self, name) is not None:
                return kind
        raise AssertionError("validated condition without a kind")


# -- actions ---------------------------------------------------------------------------------


class Retry(_Strict):
    times: int = Field(ge=1, le=10)
    every: Duration = 5.0


class CommandAction(_Strict):
    """Run ``do`` (``[component/]capability.command``; ``*/`` for every component) on every
    target device, concurrently. ``fail_safe_only``: only on devices whose profile declares the
    command's effect as their fail-safe state (``safety.fail_safe``)."""

    target: Targets
    do: CommandName
    args: dict[str, Any] = Field(default_factory=dict)
    room: RoomScope | None = None
    retry: Retry | None = None
    fail_safe_only: bool = False


class WaitAction(_Strict):
    """Wait until one of the triggers fires, at most ``timeout``; then go on or stop."""

    trigger: Annotated[tuple[TriggerItem, ...], BeforeValidator(_as_tuple), Field(min_length=1)]
    timeout: Duration | None = None
    on_timeout: Literal["continue", "stop"] = "continue"


class ChooseBranch(_Strict):
    conditions: list[ConditionItem] = Field(min_length=1)
    actions: list[ActionItem] = Field(min_length=1)


class ChooseAction(_Strict):
    """The first branch whose conditions all hold runs; otherwise ``default``."""

    branches: list[ChooseBranch] = Field(min_length=1)
    default: list[ActionItem] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _list_is_branches(cls, value: Any) -> Any:
        return {"branches": value} if isinstance(value, list) else value


class NotifyAction(_Strict):
    """A hub notification (UI + bus). Texts may use {device}, {room}, {value}, {rule}."""

    text: LocalText
    title: LocalText | None = None
    priority: Priority = "info"
    to: tuple[str, ...] = ("homeowner",)


class BlockUntil(_Strict):
    """Lift the block ``plus_s`` after ``event`` (the all-clear), or ``after`` a fixed time."""

    event: EventTrigger | None = None
    plus_s: Duration = 0.0
    after: Duration | None = None

    @model_validator(mode="after")
    def _one_way(self) -> BlockUntil:
        if (self.event is None) == (self.after is None):
            raise ValueError("until needs either event (with plus_s) or after")
        return self


class BlockAction(_Strict):
    """Ask the safety arbiter to refuse switching these targets (except switching them off)."""

    targets: Targets
    room: RoomScope | None = None
    until: BlockUntil
    reason: LocalText = LocalText(zh="燃气报警", en="Gas alarm")


ACTION_KINDS = ("command", "scene", "delay", "wait", "choose", "notify", "block")


class ActionItem(_Strict):
    command: CommandAction | None = None
    scene: Id | None = None
    delay: Duration | None = None
    wait: WaitAction | None = None
    choose: ChooseAction | None = None
    notify: NotifyAction | None = None
    block: BlockAction | None = None

    @model_validator(mode="before")
    @classmethod
    def _one(cls, value: Any) -> Any:
        return _one_kind(value, ACTION_KINDS, "action")

    @property
    def kind(self) -> str:
        return _present_kind(self, ACTION_KINDS)


# -- rules -----------------------------------------------------------------------------------


class RunIfWithin(_Strict):
    run_if_within: Duration


CatchUp = Literal["run", "skip"] | RunIfWithin


def _default_catch_up() -> CatchUp:
    return RunIfWithin(run_if_within=900.0)


class Rule(_Strict):
    id: Id
    name: LocalText
    description: LocalText | None = None
    enabled: bool = True
    mode: Mode = "single"
    max: int | None = Field(None, ge=1, le=1000)
    catch_up: CatchUp = Field(default_factory=_default_catch_up)
    opt_in: tuple[OptIn, ...] = ()
    safety: bool = False
    triggers: list[TriggerItem] = Field(min_length=1)
    conditions: list[ConditionItem] = Field(default_factory=list)
    actions: list[ActionItem] = Field(min_length=1)

    @field_validator("opt_in")
    @classmethod
    def _unique(cls, value: tuple[OptIn, ...]) -> tuple[OptIn, ...]:
        return tuple(dict.fromkeys(value))

    @property
    def max_runs(self) -> int:
        return self.max if self.max is not None else 10

    def digest(self) -> str:
        """Stable across restarts; a persisted run resumes only into the same rule."""
        return spec_hash(self)


class ParamSpec(_Strict):
    """A tunable value of a pack: ``$name`` in the file stands for it. ``type`` checks overrides
    (``duration``: seconds or 5m; ``time``: "22:30"; ``number``/``int``; ``text``; ``any``);
    ``min``/``max`` bound them (durations in duration syntax)."""

    value: Any
    type: Literal["duration", "time", "number", "int", "text", "any"] = "any"
    title: LocalText | None = None
    min: Any = None
    max: Any = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        # ``name: 5m`` is short for ``name: {value: 5m}``.
        if isinstance(value, dict) and "value" in value:
            return value
        return {"value": value}


ParamSpecs = dict[Annotated[str, AfterValidator(_check_param_name)], ParamSpec]


class PackInfo(_Strict):
    id: Id
    version: str = "1.0.0"
    name: LocalText | None = None
    notes: LocalText | None = None


class RuleFile(_Strict):
    schema_: Literal["zshub.rules/1"] = Field(alias="schema")
    pack: PackInfo | None = None
    params: ParamSpecs = Field(default_factory=dict)
    rules: list[Rule] = Field(min_length=1)


# -- scenes ----------------------------------------------------------------------------------


class SceneState(_Strict):
    """Target state for devices: ``set`` member values (turned into commands) or ``do`` one."""

    target: Targets
    room: RoomScope | None = None
    set: dict[MemberPath, Any] = Field(default_factory=dict)
    do: CommandName | None = None
    args: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _set_or_do(self) -> SceneState:
        if bool(self.set) == (self.do is not None):
            raise ValueError("a scene entry has either set (target states) or do (a command)")
        if self.room == "same":
            raise ValueError("room: same has no meaning in a scene; name the room")
        return self


class Scene(_Strict):
    id: Id
    name: LocalText
    description: LocalText | None = None
    opt_in: tuple[OptIn, ...] = ()
    states: list[SceneState] = Field(min_length=1)


class SceneFile(_Strict):
    schema_: Literal["zshub.scenes/1"] = Field(alias="schema")
    pack: PackInfo | None = None
    params: ParamSpecs = Field(default_factory=dict)
    scenes: list[Scene] = Field(min_length=1)


ChooseBranch.model_rebuild()
ChooseAction.model_rebuild()
ActionItem.model_rebuild()
ConditionItem.model_rebuild()


# -- checks pydantic cannot express per field ------------------------------------------------


def to_data(model: BaseModel) -> dict[str, Any]:
    """JSON-ready form that validates back to an equal model (None means "not given")."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def spec_hash(model: BaseModel) -> str:
    data = to_data(model)
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def rule_problems(rule: Rule) -> list[tuple[Loc, str]]:
    """Problems with a valid-looking rule; locations are relative to the rule."""
    out: list[tuple[Loc, str]] = []
    if rule.max is not None and rule.mode not in ("queued", "parallel"):
        out.append((("max",), "max only applies to mode queued or parallel"))
    ids: set[str] = set()
    for i, item in enumerate(rule.triggers):
        spec = item.spec
        if getattr(spec, "room", None) == "same":
            out.append(
                (
                    ("triggers", i, item.kind, "room"),
                    "room: same needs a run (use it in conditions, actions and waits)",
                )
            )
        if item.id is not None:
            if item.id in ids:
                out.append(((("triggers", i, "id")), f"trigger id {item.id} is used twice"))
            ids.add(item.id)
    out.extend(_condition_problems(rule.conditions, ("conditions",), ids))
    out.extend(_action_problems(rule.actions, ("actions",), ids))
    return out


def _condition_problems(
    conditions: Sequence[ConditionItem], loc: Loc, ids: set[str]
) -> list[tuple[Loc, str]]:
    out: list[tuple[Loc, str]] = []
    for i, item in enumerate(conditions):
        if item.trigger is not None:
            unknown = [t for t in item.trigger if t not in ids]
            if unknown:
                known = ", ".join(sorted(ids)) or "none: give the triggers an id"
                out.append(
                    (
                        (*loc, i, "trigger"),
                        f"no trigger has the id {', '.join(unknown)} (trigger ids: {known})",
                    )
                )
        for kind, children in (("and", item.and_), ("or", item.or_), ("not", item.not_)):
            if children:
                out.extend(_condition_problems(children, (*loc, i, kind), ids))
    return out


def _action_problems(
    actions: Sequence[ActionItem], loc: Loc, ids: set[str] | None = None
) -> list[tuple[Loc, str]]:
    out: list[tuple[Loc, str]] = []
    ids = ids if ids is not None else set()
    for i, action in enumerate(actions):
        if action.block is not None:
            for j, target in enumerate(action.block.targets):
                if target.startswith(("room:", "capability:")):
                    out.append(
                        (
                            (*loc, i, "block", "targets", j),
                            "a block names devices, roles or categories; scope it with room:",
                        )
                    )
        if action.choose is not None:
            for b, branch in enumerate(action.choose.branches):
                base = (*loc, i, "choose", "branches", b)
                out.extend(_condition_problems(branch.conditions, (*base, "conditions"), ids))
                out.extend(_action_problems(branch.actions, (*base, "actions"), ids))
            out.extend(_action_problems(action.choose.default, (*loc, i, "choose", "default"), ids))
    return out
