"""Conditions: state (with ``for``), time windows and weekdays, and/or/not, which trigger
started the run (``trigger``), and whether earlier steps left devices undone (``failed``).

Evaluation is synchronous and side-effect free. Every condition of a run is evaluated (not only
up to the first false one), so a trace shows the whole picture when a run was stopped; the
text that explains each result is written only when the trace is read (most never are).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from datetime import time as dtime
from typing import Any

from rules.kernel import RuleKernel
from rules.messages import Note, note
from rules.schema import WEEKDAYS, ConditionItem, StateCondition, TimeCondition
from rules.targets import MemberPattern, Selector, TargetResolver, scope_room
from rules.timers import Clock
from rules.triggers import MISSING, TriggerData, as_values, in_range, one_of

__all__ = ["ConditionResult", "ConditionScope", "check", "check_all"]


@dataclass(slots=True)
class ConditionResult:
    path: str  # conditions/0, conditions/1/and/0 …
    kind: str
    result: bool
    detail: str | Callable[[], str] = ""  # a callable writes the text when it is read
    notes: list[Note] = field(default_factory=list)
    children: list[ConditionResult] = field(default_factory=list)

    def text(self) -> str:
        detail = self.detail
        return detail if isinstance(detail, str) else detail()

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "result": self.result,
            "detail": self.text(),
            "notes": list(self.notes),
            "children": [c.as_dict() for c in self.children],
        }


@dataclass(slots=True)
class ConditionScope:
    kernel: RuleKernel
    resolver: TargetResolver
    clock: Clock
    tz: tzinfo
    trigger: TriggerData | None = None
    # What earlier steps of the run (and a scene trigger's scene) could not do.
    problems: Sequence[dict[str, Any]] = ()


def check_all(
    items: Sequence[ConditionItem], base: str, scope: ConditionScope
) -> tuple[bool, list[ConditionResult]]:
    results = [check(item, f"{base}/{i}", scope) for i, item in enumerate(items)]
    return all(r.result for r in results), results


def check(item: ConditionItem, path: str, scope: ConditionScope) -> ConditionResult:
    kind = item.kind
    if item.state is not None:
        return _state(item.state, path, scope)
    if item.time is not None:
        return _time(item.time, path, scope)
    if item.trigger is not None:
        fired = scope.trigger.trigger_id if scope.trigger is not None else None
        return ConditionResult(
            path,
            "trigger",
            fired in item.trigger,
            f"started by trigger {fired or '(no id)'}; wanted {', '.join(item.trigger)}",
        )
    if item.failed is not None:
        count = len(scope.problems)
        detail = f"{count} device command(s) not done so far; wanted failed: " + (
            "true" if item.failed else "false"
        )
        return ConditionResult(path, "failed", (count > 0) == item.failed, detail)
    children_items = item.and_ or item.or_ or item.not_ or []
    children = [check(c, f"{path}/{kind}/{i}", scope) for i, c in enumerate(children_items)]
    values = [c.result for c in children]
    if kind == "and":
        result = all(values)
    elif kind == "or":
        result = any(values)
    else:  # not: none of them holds
        result = not any(values)
    return ConditionResult(path, kind, result, children=children)


def _value_ok(spec: StateCondition, value: Any) -> bool:
    if value is MISSING:
        return False
    if spec.is_ is not None and not one_of(value, as_values(spec.is_)):
        return False
    if spec.is_not is not None and one_of(value, as_values(spec.is_not)):
        return False
    return in_range(value, spec.above, spec.below)


def _wanted(spec: StateCondition) -> str:
    parts = []
    if spec.is_ is not None:
        parts.append(f"is {spec.is_}")
    if spec.is_not is not None:
        parts.append(f"is not {spec.is_not}")
    if spec.above is not None:
        parts.append(f"above {spec.above:g}")
    if spec.below is not None:
        parts.append(f"below {spec.below:g}")
    if spec.for_ is not None:
        parts.append(f"for {spec.for_:g} s")
    return ", ".join(parts)


def _state(spec: StateCondition, path: str, scope: ConditionScope) -> ConditionResult:
    trigger_room = scope.trigger.room_id if scope.trigger is not None else None
    room, unresolved = scope_room(spec.room, trigger_room)
    if unresolved:
        return ConditionResult(
            path, "state", False, lambda: f"wanted {_wanted(spec)}", [note("no_same_room")]
        )
    resolution = scope.resolver.resolve(Selector.parse_all(spec.target), room)
    if not resolution.devices:
        return ConditionResult(
            path, "state", False, lambda: f"wanted {_wanted(spec)}", resolution.notes
        )
    pattern = MemberPattern.parse(spec.path)
    now = scope.clock.now()
    states = scope.kernel.states
    # What was seen, kept for the trace's text: (device, path or None, value, held seconds).
    seen: list[tuple[str, str | None, Any, float]] = []
    per_device: list[bool] = []
    for device_id in resolution.devices:
        ok = False
        paths = scope.resolver.member_paths(device_id, pattern, states)
        for state_path in paths:
            state = states.get(state_path)
            value = state.value if state is not None else MISSING
            held = now - state.last_changed if state is not None else 0.0
            ok = ok or (_value_ok(spec, value) and (spec.for_ is None or held >= spec.for_))
            seen.append((device_id, state_path, value, held))
        if not paths:
            seen.append((device_id, None, MISSING, 0.0))
        per_device.append(ok)
    result = all(per_device) if spec.match == "all" else any(per_device)
    return ConditionResult(
        path, "state", result, lambda: _state_text(spec, pattern, seen), resolution.notes
    )


def _state_text(
    spec: StateCondition, pattern: MemberPattern, seen: list[tuple[str, str | None, Any, float]]
) -> str:
    details: list[str] = []
    for device_id, state_path, value, held in seen:
        if state_path is None:
            details.append(f"{device_id}: no {pattern}")
            continue
        shown = "(none)" if value is MISSING else repr(value)
        details.append(
            f"{state_path} = {shown}" + (f" for {held:.0f} s" if spec.for_ is not None else "")
        )
    return "; ".join(details) + f" (wanted {_wanted(spec)}, match {spec.match})"


def _in_window(now: dtime, after: dtime | None, before: dtime | None) -> bool:
    if after is not None and before is not None:
        if after <= before:
            return after <= now < before
        return now >= after or now < before  # wraps midnight: 22:00–06:00
    if after is not None:
        return now >= after
    if before is not None:
        return now < before
    return True


def _time(spec: TimeCondition, path: str, scope: ConditionScope) -> ConditionResult:
    local = datetime.fromtimestamp(scope.clock.now(), scope.tz)
    day = WEEKDAYS[local.weekday()]
    day_ok = not spec.weekdays or day in spec.weekdays
    window_ok = _in_window(local.time(), spec.after, spec.before)
    return ConditionResult(path, "time", day_ok and window_ok, lambda: _time_text(spec, local))


def _time_text(spec: TimeCondition, local: datetime) -> str:
    day = WEEKDAYS[local.weekday()]
    window = f"{spec.after or ''}–{spec.before or ''}"
    detail = f"now {local:%a %H:%M:%S} ({day}); window {window}"
    if spec.weekdays:
        detail += f"; days {','.join(spec.weekdays)}"
    return detail
