"""Where rules, scenes and timers are kept: the protocol the engine needs, which
``hub.storage.Storage`` satisfies, and an in-memory store for tests and dry runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from hub.storage.tables import RuleRow, RuleTimerRow, SceneRow
from rules.timers import TimerStore

__all__ = ["MemoryRuleStore", "RuleStore", "SceneStore"]


class SceneStore(Protocol):
    async def list_scenes(self) -> Sequence[SceneRow]: ...
    async def save_scene(self, scene: SceneRow) -> None: ...
    async def delete_scene(self, scene_id: str) -> bool: ...


class RuleStore(TimerStore, SceneStore, Protocol):
    """Rules added through the API (and enabled flags of file rules), scenes, pending timers."""

    async def list_rules(self) -> Sequence[RuleRow]: ...
    async def save_rule(self, rule: RuleRow) -> None: ...
    async def delete_rule(self, rule_id: str) -> bool: ...


class MemoryRuleStore:
    """Same behaviour as the database store, kept in dicts (rows are copied in and out)."""

    def __init__(self) -> None:
        self.rules: dict[str, RuleRow] = {}
        self.scenes: dict[str, SceneRow] = {}
        self.timers: dict[tuple[str, str, str], RuleTimerRow] = {}

    async def list_rules(self) -> list[RuleRow]:
        return [r.model_copy() for _, r in sorted(self.rules.items())]

    async def save_rule(self, rule: RuleRow) -> None:
        self.rules[rule.id] = rule.model_copy()

    async def delete_rule(self, rule_id: str) -> bool:
        for key in [k for k in self.timers if k[0] == rule_id]:
            del self.timers[key]
        return self.rules.pop(rule_id, None) is not None

    async def list_scenes(self) -> list[SceneRow]:
        return [s.model_copy() for _, s in sorted(self.scenes.items())]

    async def save_scene(self, scene: SceneRow) -> None:
        self.scenes[scene.id] = scene.model_copy()

    async def delete_scene(self, scene_id: str) -> bool:
        return self.scenes.pop(scene_id, None) is not None

    async def list_timers(self, rule_id: str | None = None) -> list[RuleTimerRow]:
        rows = [t for k, t in self.timers.items() if rule_id is None or k[0] == rule_id]
        return [t.model_copy() for t in sorted(rows, key=lambda t: t.due_at)]

    async def save_timer(self, timer: RuleTimerRow) -> None:
        self.timers[(timer.rule_id, timer.run_id, timer.kind)] = timer.model_copy()

    async def delete_timer(self, rule_id: str, run_id: str, kind: str | None = None) -> int:
        keys = [
            k
            for k in self.timers
            if k[0] == rule_id and k[1] == run_id and (kind is None or k[2] == kind)
        ]
        for key in keys:
            del self.timers[key]
        return len(keys)
