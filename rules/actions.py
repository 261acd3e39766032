"""Executing a run: its conditions, then its actions, each step recorded in the trace.

Actions: ``command`` (every target device concurrently, through ``hub.commands`` so the safety
arbiter decides), ``scene``, ``delay``, ``wait`` (for a trigger, with a timeout), ``choose``,
``notify`` and ``block``. A delay or wait is persisted with the run's position, trigger and
Context chain, so after a restart the run continues where it was.

Commands and scenes that leave a device refused, failed or unconfirmed are collected on the run
(``run.problems``): a later ``failed`` condition sees them and a notification lists them with
``{failed}`` ("离家: the front door lock could not lock: the door is open").

Notification texts may use ``{device}``, ``{room}``, ``{component}`` (the triggering component's
label), ``{value}`` (the new value, as its zh/en label when the capability has one), ``{rule}``,
the triggering event's fields by name (``{code}`` → "防撬报警" / "Tamper"), ``{failed}`` and
``{failed_count}``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from hub.core.commands import CommandResult, CommandStatus
from hub.core.context import Context, Origin
from rules.blocks import BlockKeeper
from rules.conditions import ConditionScope, check_all
from rules.kernel import RuleKernel
from rules.messages import Note, note
from rules.notify import NotificationCenter
from rules.runs import Run
from rules.scenes import SceneEngine, opt_in_for
from rules.schema import (
    ActionItem,
    ChooseAction,
    CommandAction,
    NotifyAction,
    WaitAction,
)
from rules.targets import ResolvedCommand, Selector, TargetResolver, scope_room
from rules.timers import NO_DUE, Clock, PersistedTimer, TimerJournal
from rules.traces import RunStatus, StepTrace, TraceBook, context_chain, jsonable
from rules.triggers import (
    MISSING,
    PROBLEM_STATUSES,
    TriggerData,
    TriggerEnv,
    TriggerHost,
    command_problem,
    make_trigger,
    scene_problems,
)

__all__ = ["RunEnv", "execute", "restore_context"]

_LOGGER = logging.getLogger(__name__)


@dataclass(slots=True)
class RunEnv:
    """What a run may use; one per engine."""

    triggers: TriggerEnv
    notifier: NotificationCenter
    scenes: SceneEngine | None
    blocks: BlockKeeper
    book: TraceBook

    @property
    def kernel(self) -> RuleKernel:
        return self.triggers.kernel

    @property
    def resolver(self) -> TargetResolver:
        return self.triggers.resolver

    @property
    def clock(self) -> Clock:
        return self.triggers.clock

    @property
    def journal(self) -> TimerJournal:
        return self.triggers.journal

    @property
    def tz(self) -> tzinfo:
        return self.triggers.tz


class _StopRun(Exception):
    def __init__(self, why: Note) -> None:
        super().__init__(why["en"])
        self.why = why


def restore_context(chain: Sequence[dict[str, Any]]) -> Context:
    """Rebuild a persisted Context chain (nearest first) with its original ids."""
    parent: Context | None = None
    for item in reversed(chain):
        try:
            origin = Origin(str(item.get("origin")))
        except ValueError:
            origin = Origin.HUB
        parent = Context(origin, item.get("actor"), parent, id=str(item.get("id")))
    return parent if parent is not None else Context(Origin.RULE)


async def execute(env: RunEnv, run: Run) -> None:
    """The body of a run's task; the trace ends in a final status whatever happens."""
    trace = run.trace
    clock = env.clock
    trace.started_at = trace.started_at or clock.now()
    try:
        if run.resume is None:
            scope = ConditionScope(
                env.kernel, env.resolver, clock, env.tz, run.trigger, run.problems
            )
            ok, results = check_all(run.rule.conditions, "conditions", scope)
            trace.conditions = list(results)  # as_dict() when the trace is read
            if not ok:
                trace.status = RunStatus.STOPPED
                trace.notes.append(note("stopped_by_condition"))
                return
        await _Actions(env, run).run_list(
            run.rule.actions, "actions", (), run.resume.position if run.resume else None
        )
        trace.status = RunStatus.FINISHED
    except _StopRun as stop:
        trace.status = RunStatus.STOPPED
        trace.notes.append(stop.why)
    except asyncio.CancelledError:
        if run.cancel_reason is not None:
            trace.status = RunStatus.CANCELLED
            trace.notes.append(run.cancel_reason)
        else:
            trace.status = RunStatus.INTERRUPTED
            trace.notes.append(note("interrupted_shutdown"))
        raise
    except Exception as err:
        _LOGGER.exception("Rule %s run %s failed", run.rule.id, run.id)
        trace.status = RunStatus.FAILED
        trace.error = f"{type(err).__name__}: {err}"
    finally:
        trace.finished_at = clock.now()
        env.book.done(trace)


class _Actions:
    def __init__(self, env: RunEnv, run: Run) -> None:
        self.env = env
        self.run = run
        self.trigger: TriggerData = run.trigger

    async def run_list(
        self,
        actions: Sequence[ActionItem],
        path: str,
        position: tuple[int, ...],
        resume: tuple[int, ...] | None,
    ) -> None:
        """Run ``actions``; ``resume`` (a position below this list) skips what ran before."""
        start = resume[0] if resume else 0
        for i in range(start, len(actions)):
            below = resume[1:] if resume and i == start else None
            await self._one(actions[i], f"{path}/{i}", (*position, i), below)

    async def _one(
        self,
        action: ActionItem,
        path: str,
        position: tuple[int, ...],
        resume: tuple[int, ...] | None,
    ) -> None:
        if action.choose is not None and resume:
            # Resuming inside a branch: the choice was made (and traced) before the restart.
            await self._branch(action.choose, path, position, resume[0], resume[1:])
            return
        clock = self.env.clock
        step = StepTrace(path, action.kind, clock.now())
        self.run.trace.steps.append(step)
        wall = time.perf_counter()
        try:
            if action.command is not None:
                await self._command(action.command, step)
            elif action.scene is not None:
                await self._scene(action.scene, step)
            elif action.delay is not None:
                await self._delay(action.delay, position, resume is not None, step)
            elif action.wait is not None:
                await self._wait(action.wait, position, resume is not None, step)
            elif action.choose is not None:
                await self._choose(action.choose, path, position, step)
            elif action.notify is not None:
                self._notify(action.notify, step)
            elif action.block is not None:
                step.result = self.env.blocks.add(
                    self.run.rule.id, action.block, path, self.trigger, self.run.context
                )
        except Exception as err:
            if not isinstance(err, _StopRun):
                step.error = f"{type(err).__name__}: {err}"
            raise
        finally:
            step.finished_at = clock.now()
            step.wall_ms = (time.perf_counter() - wall) * 1000.0

    # -- command -------------------------------------------------------------------------------
    async def _command(self, spec: CommandAction, step: StepTrace) -> None:
        room, unresolved = scope_room(spec.room, self.trigger.room_id)
        step.result = {"command": spec.do, "args": dict(spec.args), "devices": []}
        if unresolved:
            step.notes.extend([note("no_same_room"), note("no_targets")])
            return
        resolution = self.env.resolver.resolve(Selector.parse_all(spec.target), room)
        step.notes.extend(resolution.notes)
        if not resolution.devices:
            step.notes.append(note("no_targets"))
            return
        # Per device and component: the command to send, or why it is skipped.
        planned: list[ResolvedCommand | dict[str, Any]] = []
        for device_id in resolution.devices:
            found = self.env.resolver.commands(device_id, spec.do)
            if isinstance(found, dict):
                planned.append({"device": device_id, "status": "skipped", "notes": [found]})
                continue
            for resolved in found:
                why = self._not_fail_safe(resolved) if spec.fail_safe_only else None
                if why is None:
                    planned.append(resolved)
                    continue
                planned.append(
                    {
                        "device": device_id,
                        "target": resolved.target,
                        "status": "skipped",
                        "notes": [why],
                    }
                )
        to_send = [p for p in planned if isinstance(p, ResolvedCommand)]
        entries: list[_Sent | BaseException]
        if len(to_send) == 1:
            # One device (the usual case): no task per command, so the command leaves now
            # rather than on the loop's next turn.
            try:
                entries = [await self._send(to_send[0], spec)]
            except Exception as err:
                entries = [err]
        else:
            entries = await asyncio.gather(
                *(self._send(resolved, spec) for resolved in to_send), return_exceptions=True
            )
        sent = dict(zip(map(id, to_send), entries, strict=True))
        results: list[dict[str, Any] | _Sent] = []
        for item in planned:
            if isinstance(item, dict):
                results.append(item)
                continue
            outcome = sent[id(item)]
            if isinstance(outcome, _Sent):
                results.append(outcome)
                problem = outcome.problem()
                if problem is not None:
                    self.run.problems.append(problem)
                continue
            entry = {
                "device": item.device_id,
                "target": item.target,
                "status": "failed",
                "code": "error",
                "message": {"zh": repr(outcome), "en": repr(outcome)},
            }
            results.append(entry)
            problem = command_problem(entry)
            if problem is not None:
                self.run.problems.append(problem)
        step.result["devices"] = results

    def _not_fail_safe(self, resolved: ResolvedCommand) -> Note | None:
        """Why this command is not the device's declared fail-safe action (None: it is)."""
        if resolved.definition is None:
            return None  # a dry run without the profile: shown as "would send, not checked"
        view = self.env.resolver.profile_of_id(resolved.device_id)
        fail_safe = getattr(view, "fail_safe", None) or {}
        component = resolved.target.split("/", 1)[0]
        effects = resolved.definition.effects
        declared = {
            path: value
            for path, value in fail_safe.items()
            if str(path).startswith(f"{component}/{resolved.capability}/")
        }
        if declared and all(
            effects.get(str(path).rsplit("/", 1)[1]) == value for path, value in declared.items()
        ):
            return None
        return note("not_fail_safe", device=resolved.device_id, command=resolved.target)

    async def _send(self, resolved: ResolvedCommand, spec: CommandAction) -> _Sent:
        device_id = resolved.device_id
        attempts = 1 + (spec.retry.times if spec.retry is not None else 0)
        result: CommandResult | None = None
        for attempt in range(1, attempts + 1):
            result = await self.env.kernel.commands.send(
                device_id,
                resolved.target,
                spec.args,
                context=self.run.context,
                opt_in=opt_in_for(
                    resolved.capability, resolved.command, resolved.target, self.run.rule.opt_in
                ),
            )
            if result.status not in (CommandStatus.FAILED, CommandStatus.TIMEOUT):
                break
            if attempt < attempts and spec.retry is not None:
                await self.env.clock.sleep_until(self.env.clock.now() + spec.retry.every)
        assert result is not None
        return _Sent(result, attempt)

    # -- scene ---------------------------------------------------------------------------------
    async def _scene(self, scene_id: str, step: StepTrace) -> None:
        scenes = self.env.scenes
        if scenes is None:
            step.notes.append(note("no_scene_engine"))
            return
        if scenes.get(scene_id) is None:
            step.notes.append(note("unknown_scene", scene=scene_id))
            return
        step.result = (await scenes.apply(scene_id, self.run.context)).as_dict()
        self.run.problems.extend(scene_problems(step.result))

    # -- delay and wait (persisted) ------------------------------------------------------------
    def _persist(self, kind: str, position: tuple[int, ...], due: float, **extra: Any) -> None:
        run = self.run
        self.env.journal.save(
            PersistedTimer(
                run.rule.id,
                run.id,
                kind,
                due,
                {
                    "hash": run.rule.digest(),
                    "position": list(position),
                    "trigger": run.trigger.as_dict(),
                    "chain": context_chain(run.context),
                    "started_at": run.trace.started_at,
                    "conditions": jsonable(run.trace.conditions),
                    "problems": jsonable(run.problems),
                    "steps": [
                        *run.trace.prior_steps,
                        *(s.as_dict() for s in run.trace.steps[:-1]),
                    ],
                    **extra,
                },
            )
        )

    def _forget(self, kind: str) -> None:
        # On hub stop the record stays, so the run resumes at the next start.
        if self.env.triggers.stopping and self.run.cancel_reason is None:
            return
        self.env.journal.delete(self.run.rule.id, self.run.id, kind)

    async def _delay(
        self, seconds: float, position: tuple[int, ...], resuming: bool, step: StepTrace
    ) -> None:
        resume = self.run.resume
        due = resume.due_at if resuming and resume is not None else self.env.clock.now() + seconds
        step.result = {"seconds": seconds, "due_at": due}
        self._persist("delay", position, due)
        try:
            await self.env.clock.sleep_until(due)
        finally:
            self._forget("delay")

    async def _wait(
        self, spec: WaitAction, position: tuple[int, ...], resuming: bool, step: StepTrace
    ) -> None:
        clock = self.env.clock
        resume = self.run.resume
        now = clock.now()
        if resuming and resume is not None:
            due = resume.due_at
        else:
            due = now + spec.timeout if spec.timeout is not None else NO_DUE
        step.result = {"timeout": spec.timeout, "due_at": None if due == NO_DUE else due}
        fired: asyncio.Future[TriggerData] = asyncio.get_running_loop().create_future()

        def on_fire(data: TriggerData) -> None:
            if not fired.done():
                fired.set_result(data)

        host = TriggerHost(
            self.run.rule.id,
            self.run.rule.catch_up,
            first=self.run.rule.safety,
            persist=False,
            scope_room=self.trigger.room_id,
        )
        detach = [
            make_trigger(item, None, host, self.env.triggers).attach(on_fire)
            for item in spec.trigger
        ]
        self._persist("wait", position, due)
        timeout = self.env.triggers.tasks.create(
            clock.sleep_until(due), name=f"rules:{self.run.rule.id}:wait:{self.run.id}"
        )
        try:
            waiters: list[asyncio.Future[Any]] = [fired, timeout]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timeout.cancel()
            for unsub in detach:
                unsub()
            self._forget("wait")
        step.result["waited_s"] = round(clock.now() - now, 3)
        if fired.done():
            step.result["fired"] = True
            step.result["trigger"] = fired.result().as_dict()
            return
        step.result["fired"] = False
        if spec.on_timeout == "stop":
            raise _StopRun(note("stopped_by_wait"))

    # -- choose --------------------------------------------------------------------------------
    async def _choose(
        self, spec: ChooseAction, path: str, position: tuple[int, ...], step: StepTrace
    ) -> None:
        scope = ConditionScope(
            self.env.kernel,
            self.env.resolver,
            self.env.clock,
            self.env.tz,
            self.trigger,
            self.run.problems,
        )
        tried: list[dict[str, Any]] = []
        chosen: int | None = None
        for b, branch in enumerate(spec.branches):
            ok, results = check_all(branch.conditions, f"{path}/branches/{b}/conditions", scope)
            tried.append({"branch": b, "result": ok, "conditions": [r.as_dict() for r in results]})
            if ok:
                chosen = b
                break
        if chosen is None and spec.default:
            chosen = -1
        step.result = {"chosen": chosen, "branches": tried}
        if chosen is not None:
            await self._branch(spec, path, position, chosen, None)

    async def _branch(
        self,
        spec: ChooseAction,
        path: str,
        position: tuple[int, ...],
        chosen: int,
        resume: tuple[int, ...] | None,
    ) -> None:
        if chosen == -1:
            await self.run_list(spec.default, f"{path}/default", (*position, -1), resume)
        else:
            await self.run_list(
                spec.branches[chosen].actions,
                f"{path}/branches/{chosen}/actions",
                (*position, chosen),
                resume,
            )

    # -- notify --------------------------------------------------------------------------------
    def _notify(self, spec: NotifyAction, step: StepTrace) -> None:
        zh, en = self._placeholders()
        item = self.env.notifier.notify(
            _render(spec.text.zh, zh),
            _render(spec.text.en, en),
            priority=spec.priority,
            title_zh=_render(spec.title.zh, zh) if spec.title else None,
            title_en=_render(spec.title.en, en) if spec.title else None,
            audience=spec.to,
            rule_id=self.run.rule.id,
            device_id=self.trigger.device_id,
            room_id=self.trigger.room_id,
            context=self.run.context,
        )
        step.result = item.as_dict()

    def _placeholders(self) -> tuple[_Fill, _Fill]:
        registry = self.env.kernel.registry
        rule = self.run.rule
        trigger = self.trigger
        device = registry.get(trigger.device_id) if trigger.device_id else None
        room = None
        if trigger.room_id is not None:
            room = next((r for r in registry.rooms() if r.id == trigger.room_id), None)
        view = self.env.resolver.profile_of_id(trigger.device_id) if trigger.device_id else None
        member = _member_path(trigger)
        value = "" if trigger.new is None or trigger.new is MISSING else trigger.new
        value_zh, value_en = _label(view, member, value)
        component_zh = component_en = ""
        if member is not None:
            component = member.split("/", 1)[0]
            text = _component_label(view, component)
            component_zh, component_en = text if text is not None else (component, component)
        failed_zh, failed_en = self._failed_lists()
        zh = _Fill(
            device=device.name_zh if device else (trigger.device_id or ""),
            room=room.name_zh if room else (trigger.room_id or ""),
            component=component_zh,
            value=value_zh,
            rule=rule.name.zh,
            failed=failed_zh,
            failed_count=len(self.run.problems),
        )
        en = _Fill(
            device=device.name_en if device else (trigger.device_id or ""),
            room=room.name_en if room else (trigger.room_id or ""),
            component=component_en,
            value=value_en,
            rule=rule.name.en,
            failed=failed_en,
            failed_count=len(self.run.problems),
        )
        for name, field_value in trigger.fields.items():
            if name in zh or not isinstance(name, str):
                continue
            label = _field_label(view, member, name, field_value)
            zh[name], en[name] = label if label is not None else (field_value, field_value)
        return zh, en

    def _failed_lists(self) -> tuple[str, str]:
        """The run's problems as one line per language: "入户门锁（门未关）；燃气阀（离线）"."""
        registry = self.env.kernel.registry
        zh_parts: list[str] = []
        en_parts: list[str] = []
        seen: set[tuple[str, str, str]] = set()
        for problem in self.run.problems:
            device_id = str(problem.get("device") or "")
            device = registry.get(device_id) if device_id else None
            message = problem.get("message") or {}
            why_zh = str(message.get("zh") or problem.get("code") or problem.get("status"))
            why_en = str(message.get("en") or problem.get("code") or problem.get("status"))
            key = (device_id, why_zh, why_en)
            if key in seen:
                continue
            seen.add(key)
            zh_parts.append(f"{device.name_zh if device else device_id}（{why_zh}）")
            en_parts.append(f"{device.name_en if device else device_id} ({why_en})")
        return "；".join(zh_parts) or "无", "; ".join(en_parts) or "none"


class _Sent:
    """A command step's outcome on one device; the trace turns it into JSON when read (so no
    Context id is made for a trace nobody reads)."""

    __slots__ = ("attempts", "result")

    def __init__(self, result: CommandResult, attempts: int) -> None:
        self.result = result
        self.attempts = attempts

    def problem(self) -> dict[str, Any] | None:
        result = self.result
        if result.status.value not in PROBLEM_STATUSES:
            return None
        return command_problem(self.as_dict())

    def as_dict(self) -> dict[str, Any]:
        result = self.result
        return {**result.as_dict(), "args": dict(result.args), "attempts": self.attempts}


def _member_path(trigger: TriggerData) -> str | None:
    """``component/capability/member`` of a state or event trigger's path (no device)."""
    if trigger.path is None or trigger.device_id is None:
        return None
    prefix = f"{trigger.device_id}/"
    if not trigger.path.startswith(prefix):
        return None
    rest = trigger.path[len(prefix) :]
    return rest if rest.count("/") == 2 else None


def _label_key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _label(view: Any, member: str | None, value: Any) -> tuple[Any, Any]:
    """A property value as its zh/en label (``locked`` → 已上锁 / Locked), else as it is."""
    if view is None or member is None or value == "":
        return value, value
    try:
        definition = view.property_def(member)
    except Exception:  # a view without the method or a path it does not know
        definition = None
    labels = getattr(definition, "labels", None) or {}
    text = labels.get(_label_key(value))
    if text is None:
        return value, value
    return text.zh, text.en


def _field_label(view: Any, member: str | None, name: str, value: Any) -> tuple[str, str] | None:
    """An event field's value as its zh/en label, when the view knows the event."""
    event_def = getattr(view, "event_def", None)
    if event_def is None or member is None:
        return None
    try:
        definition = event_def(member)
    except Exception:
        return None
    field_def = definition.fields.get(name) if definition is not None else None
    text = field_def.labels.get(_label_key(value)) if field_def is not None else None
    return (text.zh, text.en) if text is not None else None


def _component_label(view: Any, component: str) -> tuple[str, str] | None:
    lookup = getattr(view, "component_label", None)
    if lookup is None:
        return None
    try:
        text = lookup(component)
    except Exception:
        return None
    return (text.zh, text.en) if text is not None else None


def _render(text: str, fill: _Fill) -> str:
    try:
        return text.format_map(fill)
    except (ValueError, IndexError, AttributeError):
        return text  # a stray brace: show the text as written rather than fail the run


class _Fill(dict[str, Any]):
    """Unknown placeholders stay as written instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
