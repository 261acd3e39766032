"""The rule engine: holds the rules (packs, config files, API), attaches their triggers, runs
them by mode, keeps their traces, persists and resumes their timers, and offers dry runs.

Safety rules (``safety: true``, only from ``rules/packs`` or added by the owner) are dispatched
before other rules, and only the owner may edit, disable or delete them. A rule with opt-ins
(``unlock``, ``valve_open``) can only be added or edited by the owner.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.core.bus import Unsubscribe
from hub.core.context import Context, Origin
from hub.core.tasks import TaskKeeper
from hub.storage.tables import RuleRow
from hub.util.yamlio import LineMap
from rules.actions import RunEnv, execute, restore_context
from rules.blocks import BlockKeeper
from rules.conditions import ConditionScope, check
from rules.kernel import RuleKernel
from rules.loader import LoadedRule, parse_data, parse_text
from rules.messages import Note, RuleError, note
from rules.notify import NotificationCenter
from rules.runs import ResumePoint, RuleRunner, Run
from rules.scenes import SceneEngine
from rules.schema import ActionItem, ConditionItem, Rule, to_data
from rules.store import RuleStore
from rules.targets import TargetResolver
from rules.timers import GRACE_S, Clock, PersistedTimer, SystemClock, TimerJournal, catch_up
from rules.traces import RunStatus, Trace, TraceBook
from rules.triggers import TriggerData, TriggerDispatch, TriggerEnv, TriggerHost, make_trigger

if TYPE_CHECKING:
    from rules.dryrun import DryRunReport, ScriptedEvent

__all__ = ["RuleEngine", "RuleInfo", "RuleOrigin", "local_tz"]

_LOGGER = logging.getLogger(__name__)

RuleOrigin = Literal["pack", "file", "api"]


def local_tz() -> tzinfo:
    """``$TZ`` if it names a zone, else the system's current offset."""
    name = os.environ.get("TZ")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            _LOGGER.warning("TZ=%s is not a known time zone; using the system offset", name)
    tz = datetime.now().astimezone().tzinfo
    assert tz is not None
    return tz


@dataclass(slots=True)
class RuleInfo:
    rule: Rule
    origin: RuleOrigin
    source: str  # file path or "api"
    enabled: bool
    text: str | None = None  # YAML as written through the API (comments kept)
    shadows: str | None = None  # the file or pack rule an API edit replaced

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def safety(self) -> bool:
        return self.rule.safety

    def as_dict(self) -> dict[str, Any]:
        rule = self.rule
        return {
            "id": rule.id,
            "name": rule.name.model_dump(),
            "description": rule.description.model_dump() if rule.description else None,
            "origin": self.origin,
            "source": self.source,
            "enabled": self.enabled,
            "safety": rule.safety,
            "mode": rule.mode,
            "opt_in": list(rule.opt_in),
            "shadows": self.shadows,
            "text": self.text,
            "rule": to_data(rule),
        }


@dataclass(slots=True)
class _Entry:
    info: RuleInfo
    runner: RuleRunner
    detach: list[Unsubscribe] = field(default_factory=list)
    # The rule's top-level time conditions, with their positions: see RuleEngine._gated.
    time_gates: tuple[tuple[int, ConditionItem], ...] = ()


def _parse_rule(
    value: Rule | str | Mapping[str, Any], *, allow_safety: bool
) -> tuple[Rule, str | None]:
    if isinstance(value, Rule):
        if value.safety and not allow_safety:
            raise RuleError("safety_reserved")
        return value, None
    result = (
        parse_text(value, "api", allow_safety=allow_safety)
        if isinstance(value, str)
        else parse_data(dict(value), LineMap(), "api", allow_safety=allow_safety)
    )
    if result.problems or len(result.rules) != 1:
        detail = "; ".join(str(p) for p in result.problems) or "expected exactly one rule"
        raise RuleError("invalid_rule", detail=detail)
    return result.rules[0].rule, value if isinstance(value, str) else None


def position_path(actions: Sequence[ActionItem], position: Sequence[int]) -> str:
    """``(2, 0, 1)`` -> ``actions/2/branches/0/actions/1`` (for trace notes)."""
    path, items, rest = "actions", actions, list(position)
    while rest:
        i = rest.pop(0)
        path += f"/{i}"
        if not rest or not 0 <= i < len(items):
            break
        choose = items[i].choose
        if choose is None:
            break
        b = rest.pop(0)
        if b == -1:
            path, items = path + "/default", choose.default
        elif 0 <= b < len(choose.branches):
            path, items = path + f"/branches/{b}/actions", choose.branches[b].actions
        else:
            break
    return path


class RuleEngine:
    def __init__(
        self,
        kernel: RuleKernel,
        *,
        store: RuleStore | None = None,
        clock: Clock | None = None,
        scenes: SceneEngine | None = None,
        notifier: NotificationCenter | None = None,
        tz: tzinfo | None = None,
        trace_limit: int = 20,
        on_trace: Callable[[Trace], None] | None = None,
    ) -> None:
        self.kernel = kernel
        self.clock: Clock = clock or SystemClock()
        self.tz = tz or local_tz()
        self.scenes = scenes
        self.notifier = notifier or NotificationCenter(kernel.bus, self.clock)
        self.book = TraceBook(trace_limit, trace_limit, on_trace)
        self.problems: list[str] = []
        self._store = store
        self._tasks = TaskKeeper("rules")
        self._journal = TimerJournal(store, self._tasks)
        self._dispatch = TriggerDispatch(kernel.bus)
        self._resolver = TargetResolver(
            kernel.registry, kernel.profile_of, assume_unknown=kernel.dry_run
        )
        self._unwatch: Unsubscribe | None = None
        self._tenv = TriggerEnv(
            kernel,
            self._resolver,
            self._dispatch,
            self.clock,
            self._journal,
            self._tasks,
            self.tz,
        )
        self._blocks = BlockKeeper(self._tenv)
        self._env = RunEnv(self._tenv, self.notifier, scenes, self._blocks, self.book)
        self._entries: dict[str, _Entry] = {}
        self._shadowed: dict[str, RuleInfo] = {}
        self._started = False

    # -- lifecycle -----------------------------------------------------------------------------
    def load(self, rules: Sequence[LoadedRule], origin: RuleOrigin) -> None:
        """Add rules read from files (packs first, then the config folder)."""
        for loaded in rules:
            rule = loaded.rule
            if rule.id in self._entries:
                where = self._entries[rule.id].info.source
                self.problems.append(
                    f"{loaded.source}:{loaded.line or '?'}: id: rule {rule.id} is already "
                    f"loaded from {where}; this one is set aside"
                )
                continue
            entry = self._install(RuleInfo(rule, origin, loaded.source, rule.enabled))
            self._activate(entry, ())  # a no-op before start(): start attaches everything

    async def start(self) -> None:
        """Read API rules and pending timers, attach triggers (safety rules first), resume
        persisted runs and blocks, and drop timers nothing claims."""
        self._journal.start()
        self._dispatch.start()
        if self._unwatch is None:
            self._unwatch = self._resolver.watch(self.kernel.bus)
        await self._load_stored()
        records = await self._journal.load()
        self._started = True
        claimed: set[tuple[str, str, str]] = set()
        for entry in sorted(self._entries.values(), key=lambda e: not e.info.safety):
            claimed |= self._activate(entry, records)
        for record in records:
            if record.kind in ("delay", "wait"):
                self._resume(record)
            elif record.kind in ("for", "time") and (
                (record.rule_id, record.key, record.kind) not in claimed
            ):
                self._journal.delete(record.rule_id, record.key, record.kind)
        self._blocks.restore([r for r in records if r.kind == "block"])

    async def _load_stored(self) -> None:
        if self._store is None:
            return
        for row in await self._store.list_rules():
            entry = self._entries.get(row.id)
            if row.origin != "api":
                if entry is not None and entry.info.origin == row.origin:
                    entry.info.enabled = row.enabled  # owner's on/off for a file or pack rule
                continue
            shadowed = entry.info if entry is not None else None
            try:
                rule, _ = _parse_rule(
                    row.source,
                    allow_safety=True,  # stored only after the owner check
                )
            except RuleError as err:
                self.problems.append(f"rule {row.id} (stored): {err.en}")
                continue
            if shadowed is not None:
                self._shadowed[row.id] = shadowed
                del self._entries[row.id]
            text = row.source if row.format == "yaml" else None
            info = RuleInfo(
                rule, "api", "api", row.enabled, text, shadowed.source if shadowed else None
            )
            self._install(info)

    async def stop(self) -> None:
        """Stop triggers and runs; persisted delays, waits, ``for:`` timers and blocks stay for
        the next start (the blocks also stay in the arbiter until the hub itself stops)."""
        self._tenv.stopping = True
        running: list[asyncio.Task[None]] = []
        for entry in self._entries.values():
            running.extend(self._deactivate(entry, None))
        self._blocks.stop()
        self._dispatch.stop()
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        await self._ended(running)
        await self._journal.close()
        left = await self._tasks.cancel_all()
        if left:
            _LOGGER.warning("Rule tasks still running after stop: %s", ", ".join(left))
        self._started = False

    async def flush(self) -> None:
        """Wait until every timer write queued so far reached the store."""
        await self._journal.flush()

    # -- rules: reading and editing ------------------------------------------------------------
    def rules(self) -> list[RuleInfo]:
        return sorted((e.info for e in self._entries.values()), key=lambda i: i.id)

    def get(self, rule_id: str) -> RuleInfo:
        return self._entry(rule_id).info

    def _entry(self, rule_id: str) -> _Entry:
        entry = self._entries.get(rule_id)
        if entry is None:
            raise RuleError("unknown_rule", rule=rule_id)
        return entry

    async def add(
        self, value: Rule | str | Mapping[str, Any], *, by_owner: bool = False
    ) -> RuleInfo:
        """Add a rule through the API (YAML text keeps its comments)."""
        rule, text = _parse_rule(value, allow_safety=by_owner)
        if rule.id in self._entries:
            raise RuleError("rule_exists", rule=rule.id)
        self._check_opt_in(rule, by_owner)
        info = RuleInfo(rule, "api", "api", rule.enabled, text)
        await self._save(info)
        self._activate(self._install(info), ())
        return info

    async def update(
        self, rule_id: str, value: Rule | str | Mapping[str, Any], *, by_owner: bool = False
    ) -> RuleInfo:
        """Replace a rule; a file or pack rule is shadowed by the API version until removed."""
        entry = self._entry(rule_id)
        old = entry.info
        if old.safety and not by_owner:
            raise RuleError("owner_required", action="edit", rule=rule_id)
        rule, text = _parse_rule(value, allow_safety=by_owner)
        if rule.id != rule_id:
            raise RuleError("invalid_rule", detail=f"the rule id must stay {rule_id}")
        if old.rule.opt_in and not by_owner:
            raise RuleError(
                "owner_required_opt_in", rule=rule_id, opt_in=", ".join(old.rule.opt_in)
            )
        self._check_opt_in(rule, by_owner)
        shadows = old.shadows if old.origin == "api" else old.source
        info = RuleInfo(rule, "api", "api", rule.enabled, text, shadows)
        await self._save(info)
        await self._ended(self._deactivate(entry, note("cancelled_rule_changed")))
        if old.origin != "api":
            self._shadowed[rule_id] = old
        del self._entries[rule_id]
        self._activate(self._install(info), ())
        return info

    async def remove(self, rule_id: str, *, by_owner: bool = False) -> None:
        """Delete an API rule (a file or pack rule it shadowed comes back)."""
        entry = self._entry(rule_id)
        if entry.info.safety and not by_owner:
            raise RuleError("owner_required", action="delete", rule=rule_id)
        if entry.info.origin != "api":
            raise RuleError("rule_from_file", rule=rule_id, source=entry.info.source)
        await self._ended(self._deactivate(entry, note("cancelled_rule_changed")))
        del self._entries[rule_id]
        if self._store is not None:
            await self._store.delete_rule(rule_id)
        shadowed = self._shadowed.pop(rule_id, None)
        if shadowed is not None:
            self._activate(self._install(shadowed), ())

    async def enable(self, rule_id: str, *, by_owner: bool = False) -> RuleInfo:
        return await self._set_enabled(rule_id, True, by_owner)

    async def disable(self, rule_id: str, *, by_owner: bool = False) -> RuleInfo:
        return await self._set_enabled(rule_id, False, by_owner)

    async def _set_enabled(self, rule_id: str, enabled: bool, by_owner: bool) -> RuleInfo:
        entry = self._entry(rule_id)
        info = entry.info
        if not enabled and info.safety and not by_owner:
            raise RuleError("owner_required", action="disable", rule=rule_id)
        if info.enabled == enabled:
            return info
        info.enabled = enabled
        await self._save(info)
        if enabled:
            self._activate(entry, ())
        else:
            await self._ended(self._deactivate(entry, note("cancelled_rule_changed")))
        return info

    def _check_opt_in(self, rule: Rule, by_owner: bool) -> None:
        if rule.opt_in and not by_owner:
            raise RuleError("owner_required_opt_in", rule=rule.id, opt_in=", ".join(rule.opt_in))

    async def _save(self, info: RuleInfo) -> None:
        if self._store is None:
            return
        source = (
            info.text
            if info.text is not None
            else json.dumps(to_data(info.rule), ensure_ascii=False)
        )
        await self._store.save_rule(
            RuleRow(
                id=info.id,
                source=source,
                format="yaml" if info.text is not None else "json",
                enabled=info.enabled,
                origin=info.origin,
            )
        )

    # -- attaching -----------------------------------------------------------------------------
    def _install(self, info: RuleInfo) -> _Entry:
        gates = tuple((i, c) for i, c in enumerate(info.rule.conditions) if c.time is not None)
        entry = _Entry(
            info,
            RuleRunner(info.rule, self._start_run, self.book, self.clock.now),
            time_gates=gates,
        )
        self._entries[info.id] = entry
        return entry

    def _activate(
        self, entry: _Entry, records: Sequence[PersistedTimer]
    ) -> set[tuple[str, str, str]]:
        """Attach the triggers of an enabled rule (once started); returns the claimed timers."""
        claimed: set[tuple[str, str, str]] = set()
        if not self._started or not entry.info.enabled or entry.detach:
            return claimed
        rule = entry.info.rule
        host = TriggerHost(
            rule.id,
            rule.catch_up,
            first=rule.safety,
            persist=True,
            not_fired=lambda data, why: self._not_fired(rule, data, why),
        )
        own = [r for r in records if r.rule_id == rule.id]
        for i, item in enumerate(rule.triggers):
            trigger = make_trigger(item, i, host, self._tenv)
            mine = [r for r in own if trigger.claims(r)]
            claimed.update((r.rule_id, r.key, r.kind) for r in mine)
            entry.detach.append(trigger.attach(self._firer(entry), mine))
        return claimed

    def _firer(self, entry: _Entry) -> Callable[[TriggerData], None]:
        def fire(data: TriggerData) -> None:
            self._fire(entry, data)

        return fire

    def _deactivate(self, entry: _Entry, reason: Note | None) -> list[asyncio.Task[None]]:
        """Detach the triggers and cancel the runs; returns their tasks to await."""
        for unsub in entry.detach:
            unsub()
        entry.detach.clear()
        tasks = [r.task for r in entry.runner.active if r.task is not None]
        entry.runner.cancel_all(reason)
        return tasks

    @staticmethod
    async def _ended(tasks: list[asyncio.Task[None]]) -> None:
        # The caller sees the cancelled runs' traces closed when its call returns.
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- runs ----------------------------------------------------------------------------------
    def _new_run(self, rule: Rule, data: TriggerData) -> Run:
        ctx = Context(Origin.RULE, rule.id, data.context)
        # The trace keeps the trigger and the Context as they are: JSON and ids when read.
        trace = Trace(
            rule.id, ctx, RunStatus.RUNNING, data, ctx, self.clock.now(), notes=list(data.notes)
        )
        return Run(rule, data, ctx, trace)

    def _fire(self, entry: _Entry, data: TriggerData) -> None:
        if self._entries.get(entry.info.id) is not entry:
            return  # a trigger firing during the rule's replacement
        if entry.time_gates and self._gated(entry, data):
            return
        entry.runner.submit(self._new_run(entry.info.rule, data))

    def _gated(self, entry: _Entry, data: TriggerData) -> bool:
        """A rule whose time window is closed stops here, without a task: the night-light rule
        watches every motion sensor all day, and a run per motion outside its hours was a
        quarter of the time from a sensor's report to another rule's command.

        Only when no run of the rule is going or queued, so the mode decides nothing (a new
        trigger of a ``restart`` rule still cancels the going run first, as before). Time does
        not change between here and the run's first step, so the outcome is the run's. The
        trace (status ``stopped``) shows the time conditions, the closed window among them; the
        rule's other conditions were not looked at (they would not have changed the outcome,
        and resolving a night-light rule's room-scoped targets on every motion was most of the
        cost).
        """
        runner = entry.runner
        if runner.active or runner.queue:
            return False
        env = self._env
        scope = ConditionScope(env.kernel, env.resolver, self.clock, self.tz, data)
        results = [check(item, f"conditions/{i}", scope) for i, item in entry.time_gates]
        if all(r.result for r in results):
            return False
        rule = entry.info.rule
        now = self.clock.now()
        ctx = Context(Origin.RULE, rule.id, data.context)
        trace = Trace(
            rule.id, ctx, RunStatus.STOPPED, data, ctx, now, now, now, notes=list(data.notes)
        )
        trace.conditions = list(results)
        trace.notes.append(note("stopped_by_condition"))
        self.book.add(trace)
        return True

    def _start_run(self, run: Run) -> asyncio.Task[None]:
        return self._tasks.create(execute(self._env, run), name=f"rules:{run.rule.id}:run")

    def _not_fired(self, rule: Rule, data: TriggerData, why: Note) -> None:
        now = self.clock.now()
        miss = Trace(rule.id, None, RunStatus.NOT_FIRED, data, data.context, now, now, now)
        miss.notes.append(why)
        self.book.add(miss)

    def _resume(self, record: PersistedTimer) -> None:
        payload = record.payload
        entry = self._entries.get(record.rule_id)
        context = restore_context(list(payload.get("chain") or []))
        trigger = TriggerData.from_dict(dict(payload.get("trigger") or {}), context.parent)
        now = self.clock.now()
        trace = Trace(
            record.rule_id,
            context,
            RunStatus.RUNNING,
            trigger,
            context,
            float(payload.get("started_at") or now),
            started_at=float(payload.get("started_at") or now),
            conditions=list(payload.get("conditions") or []),
            resumed=True,
            prior_steps=list(payload.get("steps") or []),
        )
        if (
            entry is None
            or not entry.info.enabled
            or payload.get("hash") != entry.info.rule.digest()
        ):
            self._journal.delete(record.rule_id, record.key, record.kind)
            if entry is not None:
                trace.status, trace.finished_at = RunStatus.CANCELLED, now
                trace.notes.append(note("not_resumed_changed"))
                self.book.add(trace)
            return
        rule = entry.info.rule
        late = now - record.due_at
        position = tuple(int(i) for i in payload.get("position") or [0])
        if late > GRACE_S:
            run_it, why = catch_up(rule.catch_up, late)
            trace.notes.append(why)
            if not run_it:
                self._journal.delete(record.rule_id, record.key, record.kind)
                trace.status, trace.finished_at = RunStatus.STOPPED, now
                self.book.add(trace)
                return
        due_text = datetime.fromtimestamp(record.due_at, self.tz).isoformat(timespec="seconds")
        trace.notes.append(
            note(
                "resumed",
                position=position_path(rule.actions, position),
                due=due_text,
                late=round(max(late, 0.0), 1),
            )
        )
        resume = ResumePoint(position, record.kind, record.due_at, max(late, 0.0))
        run = Run(rule, trigger, context, trace, resume)
        run.problems = list(payload.get("problems") or run.problems)
        entry.runner.adopt(run)

    async def trigger(
        self, rule_id: str, *, context: Context | None = None, wait: bool = True
    ) -> dict[str, Any]:
        """Run a rule by hand. Its conditions are checked like for any trigger (testing a rule
        must not skip its conditions and open the garage); use a dry run to try it safely."""
        entry = self._entry(rule_id)
        data = TriggerData(
            "manual",
            self.clock.now(),
            description="run by hand",
            context=context,
            notes=[note("manual")],
        )
        run = self._new_run(entry.info.rule, data)
        entry.runner.submit(run)
        if wait and run.task is not None:
            await asyncio.gather(run.task, return_exceptions=True)
        return run.trace.as_dict()

    def traces(self, rule_id: str) -> list[dict[str, Any]]:
        """The rule's recent runs and near misses, newest first."""
        self._entry(rule_id)
        return self.book.traces(rule_id)

    def running(self, rule_id: str) -> list[str]:
        """Run ids going right now."""
        return [r.id for r in self._entry(rule_id).runner.active]

    # -- blocks --------------------------------------------------------------------------------
    def blocks(self) -> list[dict[str, Any]]:
        return self._blocks.active()

    def lift_block(
        self, block_id: str, *, by_owner: bool = False, context: Context | None = None
    ) -> None:
        """Lift a rule's block early (e.g. after the gas company checked the kitchen)."""
        found = next((b for b in self._blocks.active() if b["block_id"] == block_id), None)
        if found is None:
            raise RuleError("unknown_block", block=block_id)
        if not by_owner:
            raise RuleError("owner_required", action="lift", rule=found["rule_id"])
        self._blocks.lift(block_id, context)

    # -- dry run -------------------------------------------------------------------------------
    async def dry_run(
        self,
        rules: Rule | str | Mapping[str, Any] | Sequence[Rule],
        events: Sequence[ScriptedEvent] | Sequence[Mapping[str, Any]] | Mapping[str, Any],
        initial_state: Mapping[str, Any] | None = None,
        *,
        start: float | None = None,
        duration: float | None = None,
    ) -> DryRunReport:
        """Replay scripted events against a copy of the current state on a simulated clock;
        touches no device. ``rules`` may be a rule id of this engine, a rule or rule text."""
        from rules.dryrun import dry_run, parse_script

        if isinstance(rules, str) and rules in self._entries:
            chosen: list[Rule] = [self._entries[rules].info.rule]
        elif isinstance(rules, Rule):
            chosen = [rules]
        elif isinstance(rules, str | Mapping):
            chosen = [_parse_rule(rules, allow_safety=True)[0]]
        else:
            chosen = list(rules)
        script = parse_script(events)
        if start is None and script.start is None:
            start = self.clock.now()  # "now" is the engine's now (simulated in tests)
        return await dry_run(
            self.kernel,
            chosen,
            script,
            initial_state=initial_state,
            scenes=self.scenes,
            tz=self.tz,
            start=start,
            duration=duration,
        )
