"""Scenes: named target states over devices, roles, rooms or categories, applied concurrently
(one task per device, that device's commands in order) with a result per device.

A target state (``onoff/on: true``, ``brightness/level: 40``, ``fan/mode: low``) becomes the
capability command whose declared effect produces it. Unlocking a door or opening a gas valve is
never part of a scene unless the owner opted the scene in (``opt_in: [unlock]``); the safety
arbiter checks every command again.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from hub.capabilities.model import ValueType
from hub.core.commands import CommandResult
from hub.core.context import Context, Origin
from hub.core.events import EventType
from hub.storage.tables import SceneRow
from hub.util.yamlio import LineMap
from rules.kernel import RuleKernel
from rules.loader import LoadedScene, parse_data, parse_text
from rules.messages import Note, RuleError, note
from rules.schema import Scene, SceneState, to_data
from rules.store import SceneStore
from rules.targets import CommandRef, MemberPattern, Selector, TargetResolver, main_first
from rules.traces import jsonable
from rules.triggers import values_equal

__all__ = [
    "OPT_IN_COMMANDS",
    "SCENE_APPLIED",
    "DeviceOutcome",
    "SceneEngine",
    "SceneInfo",
    "SceneResult",
    "opt_in_for",
]

Origin_ = Literal["pack", "file", "api"]

# (capability, command) -> the opt-in that allows automation to send it.
OPT_IN_COMMANDS: dict[tuple[str, str], str] = {
    ("lock", "unlock"): "unlock",
    ("valve", "open"): "valve_open",
}


def opt_in_for(
    capability: str, command: str, target: str, opt_ins: Sequence[str]
) -> frozenset[str]:
    """The arbiter's opt-in set for one command: only what this command needs, and only when
    the owner opted the rule or scene in (both spellings the arbiter may compare against)."""
    name = OPT_IN_COMMANDS.get((capability, command))
    if name is None or name not in opt_ins:
        return frozenset()
    return frozenset({target, f"{capability}.{command}"})


@dataclass(slots=True)
class _Planned:
    target: str
    capability: str
    command: str
    args: dict[str, Any]
    source: str  # "onoff/on=true" or the command as written
    refused: Note | None = None


@dataclass(slots=True)
class DeviceOutcome:
    device_id: str
    status: str  # ok | partial | refused | failed | timeout | skipped
    commands: list[dict[str, Any]] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def as_dict(self) -> dict[str, Any]:
        return {
            "device": self.device_id,
            "status": self.status,
            "commands": jsonable(self.commands),
            "notes": list(self.notes),
        }


@dataclass(slots=True)
class SceneResult:
    scene_id: str
    context_id: str
    started_at: float
    duration_ms: float = 0.0
    devices: list[DeviceOutcome] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.devices) and all(d.ok for d in self.devices)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scene_id": self.scene_id,
            "context_id": self.context_id,
            "ok": self.ok,
            "started_at": self.started_at,
            "duration_ms": round(self.duration_ms, 3),
            "devices": [d.as_dict() for d in self.devices],
            "notes": list(self.notes),
        }


SCENE_APPLIED: EventType[SceneResult] = EventType("scene_applied")


@dataclass(slots=True)
class SceneInfo:
    scene: Scene
    origin: Origin_
    source: str
    text: str | None = None  # the YAML as written (API scenes keep their comments)

    @property
    def id(self) -> str:
        return self.scene.id

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.scene.id,
            "name": self.scene.name.model_dump(),
            "origin": self.origin,
            "source": self.source,
            "opt_in": list(self.scene.opt_in),
            "scene": to_data(self.scene),
        }


def _parse_scene(value: Scene | str | Mapping[str, Any]) -> tuple[Scene, str | None]:
    if isinstance(value, Scene):
        return value, None
    result = (
        parse_text(value, "api") if isinstance(value, str) else parse_data(value, LineMap(), "api")
    )
    if result.problems or len(result.scenes) != 1:
        detail = "; ".join(str(p) for p in result.problems) or "expected exactly one scene"
        raise RuleError("invalid_rule", detail=detail)
    return result.scenes[0].scene, value if isinstance(value, str) else None


def _status(results: list[CommandResult], planned: int) -> str:
    if planned == 0:
        return "skipped"
    if results and all(r.ok for r in results) and len(results) == planned:
        return "ok"
    if any(r.ok for r in results):
        return "partial"
    failed = next((r for r in results if not r.ok), None)
    return failed.status.value if failed is not None else "refused"


class SceneEngine:
    def __init__(self, kernel: RuleKernel, *, store: SceneStore | None = None) -> None:
        self.kernel = kernel
        self._store = store
        self._resolver = TargetResolver(
            kernel.registry, kernel.profile_of, assume_unknown=kernel.dry_run
        )
        self._scenes: dict[str, SceneInfo] = {}
        self._shadowed: dict[str, SceneInfo] = {}  # file scenes an API scene replaced
        self.problems: list[str] = []

    # -- loading and editing -------------------------------------------------------------------
    def load(self, scenes: Sequence[LoadedScene], origin: Origin_) -> None:
        for loaded in scenes:
            self._scenes[loaded.scene.id] = SceneInfo(loaded.scene, origin, loaded.source)

    async def start(self) -> None:
        """Add the scenes stored through the API (they replace a file scene of the same id)."""
        if self._store is None:
            return
        for row in await self._store.list_scenes():
            if row.origin != "api":
                continue
            try:
                scene, text = _parse_scene(row.source)
            except RuleError as err:
                self.problems.append(f"scene {row.id} (stored): {err.en}")
                continue
            self._put(SceneInfo(scene, "api", "api", text))

    def _put(self, info: SceneInfo) -> None:
        old = self._scenes.get(info.id)
        if old is not None and old.origin != "api":
            self._shadowed[info.id] = old
        self._scenes[info.id] = info

    def scenes(self) -> list[SceneInfo]:
        return sorted(self._scenes.values(), key=lambda s: s.id)

    def get(self, scene_id: str) -> SceneInfo | None:
        return self._scenes.get(scene_id)

    async def add(
        self, value: Scene | str | Mapping[str, Any], *, by_owner: bool = False
    ) -> SceneInfo:
        scene, text = _parse_scene(value)
        if scene.id in self._scenes:
            raise RuleError("scene_exists", scene=scene.id)
        return await self._save(scene, text, by_owner)

    async def update(
        self, scene_id: str, value: Scene | str | Mapping[str, Any], *, by_owner: bool = False
    ) -> SceneInfo:
        if scene_id not in self._scenes:
            raise RuleError("unknown_scene_id", scene=scene_id)
        scene, text = _parse_scene(value)
        if scene.id != scene_id:
            raise RuleError("invalid_rule", detail=f"the scene id must stay {scene_id}")
        return await self._save(scene, text, by_owner)

    async def _save(self, scene: Scene, text: str | None, by_owner: bool) -> SceneInfo:
        if scene.opt_in and not by_owner:
            raise RuleError("owner_required_opt_in", rule=scene.id, opt_in=", ".join(scene.opt_in))
        info = SceneInfo(scene, "api", "api", text)
        if self._store is not None:
            source = text if text is not None else _json(to_data(scene))
            await self._store.save_scene(
                SceneRow(
                    id=scene.id,
                    source=source,
                    format="yaml" if text is not None else "json",
                    origin="api",
                )
            )
        self._put(info)
        return info

    async def remove(self, scene_id: str) -> None:
        info = self._scenes.get(scene_id)
        if info is None:
            raise RuleError("unknown_scene_id", scene=scene_id)
        if info.origin != "api":
            raise RuleError("scene_from_file", scene=scene_id, source=info.source)
        if self._store is not None:
            await self._store.delete_scene(scene_id)
        del self._scenes[scene_id]
        shadowed = self._shadowed.pop(scene_id, None)
        if shadowed is not None:
            self._scenes[scene_id] = shadowed

    def copy_for(self, kernel: RuleKernel) -> SceneEngine:
        """The same scenes over another kernel (the dry run's copy), with no store."""
        copy = SceneEngine(kernel)
        copy._scenes = dict(self._scenes)
        return copy

    # -- applying ------------------------------------------------------------------------------
    def _plan_set(self, device_id: str, member: str, value: Any) -> list[_Planned | Note]:
        """The command that brings ``member`` to ``value``: on the first component that has
        the capability, or with ``*/`` on every one (each planned, or a note why not)."""
        profile = self.kernel.profile(device_id)
        if profile is None:
            return [note("no_profile", device=device_id)]
        pattern = MemberPattern.parse(member)
        components = (
            [pattern.component]
            if pattern.component
            else main_first(profile.components_with(pattern.capability))
        )
        source = f"{member}={value!r}"
        out: list[_Planned | Note] = []
        for component in components:
            planned = self._plan_component(profile, component, pattern, value, source)
            if planned is not None:
                out.append(planned)
                if not pattern.every:
                    break
        if not out:
            return [note("no_command_for_state", device=device_id, path=member, value=value)]
        return out

    @staticmethod
    def _plan_component(
        profile: Any, component: str, pattern: MemberPattern, value: Any, source: str
    ) -> _Planned | None:
        commands = profile.commands_of(component, pattern.capability)
        head = f"{component}/{pattern.capability}"
        # A command whose fixed effect is exactly this value (onoff.on for on: true) …
        for name, cmd in commands.items():
            effect = cmd.effects.get(pattern.member)
            if effect is None or (isinstance(effect, str) and effect.startswith("$")):
                continue
            needs = [
                p for p in cmd.params.values() if p.required and p.type is not ValueType.SECRET
            ]
            if values_equal(effect, value) and not needs:
                return _Planned(f"{head}.{name}", pattern.capability, name, {}, source)
        # … else one that takes the value as its parameter (fan.set_mode for mode: low).
        for name, cmd in commands.items():
            effect = cmd.effects.get(pattern.member)
            if not (isinstance(effect, str) and effect.startswith("$")):
                continue
            param = effect[1:]
            others = [n for n, p in cmd.params.items() if n != param and p.required]
            if not others:
                return _Planned(f"{head}.{name}", pattern.capability, name, {param: value}, source)
        return None

    def _plan(
        self, scene: Scene
    ) -> tuple[dict[str, list[_Planned]], dict[str, list[Note]], list[Note]]:
        plans: dict[str, list[_Planned]] = {}
        device_notes: dict[str, list[Note]] = {}
        notes: list[Note] = []
        for entry in scene.states:
            selectors = Selector.parse_all(entry.target)
            named = {s.value for s in selectors if s.kind == "device"}
            resolution = self._resolver.resolve(selectors, entry.room)
            notes.extend(resolution.notes)
            for device_id in resolution.devices:
                if device_id not in named and not self._has_capabilities(device_id, entry):
                    continue  # "the kitchen's lights off" means the devices that have lights
                for item in self._entry_plan(device_id, entry, device_id in named):
                    if isinstance(item, _Planned):
                        opt = OPT_IN_COMMANDS.get((item.capability, item.command))
                        if opt is not None and opt not in scene.opt_in:
                            item.refused = note("scene_opt_in", target=item.target)
                        plans.setdefault(device_id, []).append(item)
                    else:
                        device_notes.setdefault(device_id, []).append(item)
        return plans, device_notes, notes

    def _has_capabilities(self, device_id: str, entry: SceneState) -> bool:
        profile = self.kernel.profile(device_id)
        if profile is None:
            return False
        if entry.do is not None:
            return bool(profile.components_with(CommandRef.parse(entry.do).capability))
        return any(
            profile.components_with(MemberPattern.parse(member).capability) for member in entry.set
        )

    def _entry_plan(self, device_id: str, entry: SceneState, named: bool) -> list[_Planned | Note]:
        if entry.do is not None:
            found = self._resolver.commands(device_id, entry.do)
            if isinstance(found, dict):
                return [found]
            ref = CommandRef.parse(entry.do)
            return [
                _Planned(r.target, ref.capability, ref.command, dict(entry.args), entry.do)
                for r in found
            ]
        profile = self.kernel.profile(device_id)
        return [
            planned
            for member, value in entry.set.items()
            # A room or category target sets what each device has; a named device must do all.
            if named
            or (
                profile is not None
                and profile.components_with(MemberPattern.parse(member).capability)
            )
            for planned in self._plan_set(device_id, member, value)
        ]

    async def apply(self, scene_id: str, context: Context | None = None) -> SceneResult:
        """Apply a scene; never raises for device problems (see each device's outcome)."""
        info = self._scenes.get(scene_id)
        if info is None:
            raise RuleError("unknown_scene_id", scene=scene_id)
        scene = info.scene
        ctx = Context(Origin.SCENE, scene_id, context)
        started = time.perf_counter()
        result = SceneResult(scene_id, ctx.id, time.time())
        plans, device_notes, result.notes = self._plan(scene)
        device_ids = list(dict.fromkeys([*plans, *device_notes]))
        outcomes = await asyncio.gather(
            *(
                self._apply_device(d, plans.get(d, []), device_notes.get(d, []), scene, ctx)
                for d in device_ids
            ),
            return_exceptions=True,
        )
        result.devices = [
            o
            if isinstance(o, DeviceOutcome)
            else DeviceOutcome(d, "failed", notes=[note("device_error", device=d, detail=repr(o))])
            for d, o in zip(device_ids, outcomes, strict=True)
        ]
        if not device_ids:
            result.notes.append(note("no_targets"))
        result.duration_ms = (time.perf_counter() - started) * 1000.0
        self.kernel.bus.fire(SCENE_APPLIED, result, ctx)
        return result

    async def _apply_device(
        self,
        device_id: str,
        planned: list[_Planned],
        notes: list[Note],
        scene: Scene,
        ctx: Context,
    ) -> DeviceOutcome:
        outcome = DeviceOutcome(device_id, "skipped", notes=list(notes))
        results: list[CommandResult] = []
        for item in planned:
            entry: dict[str, Any] = {"target": item.target, "args": item.args, "from": item.source}
            if item.refused is not None:
                entry.update(status="refused", code="scene_opt_in", message=item.refused)
                outcome.commands.append(entry)
                continue
            res = await self.kernel.commands.send(
                device_id,
                item.target,
                item.args,
                context=ctx,
                opt_in=opt_in_for(item.capability, item.command, item.target, scene.opt_in),
            )
            results.append(res)
            entry.update(res.as_dict())
            outcome.commands.append(entry)
        outcome.status = _status(results, len(planned))
        if notes and outcome.status == "ok":
            outcome.status = "partial"  # a named device could not take every target state
        return outcome


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True)
