"""Blocks rules place on the safety arbiter (a gas alarm: no switching of the hood, lights or gas
appliances in that room, except switching them off) and lift later: ``plus_s`` after the
all-clear event, or after a fixed time. Blocks are persisted like timers, so a hub restart in
the middle of a gas alarm does not lift them; an expired one is lifted at start.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from hub.core.bus import Unsubscribe
from hub.core.context import Context
from hub.core.events import EventType
from hub.safety.arbiter import Block
from rules.messages import Note, note
from rules.schema import BlockAction, BlockUntil, TriggerItem, to_data
from rules.targets import Selector, scope_room
from rules.timers import NO_DUE, PersistedTimer
from rules.triggers import EventTriggerImpl, TriggerData, TriggerEnv, TriggerHost

__all__ = ["BLOCK_CHANGED", "BlockChange", "BlockKeeper"]

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BlockChange:
    """Payload of ``rule_block_changed``: a block was placed (``active``) or lifted."""

    block_id: str
    active: bool
    rule_id: str
    room_id: str | None
    reason_zh: str
    reason_en: str
    until: str
    lifts_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "block_id": self.block_id,
            "active": self.active,
            "rule_id": self.rule_id,
            "room_id": self.room_id,
            "reason": {"zh": self.reason_zh, "en": self.reason_en},
            "until": self.until,
            "lifts_at": self.lifts_at,
        }


BLOCK_CHANGED: EventType[BlockChange] = EventType("rule_block_changed")


@dataclass(slots=True)
class _Active:
    block: Block
    rule_id: str
    until: BlockUntil
    phase: str  # "alarm": waiting for the all-clear; "clearing": counting down
    lifts_at: float | None = None
    remove: Any = None  # the arbiter's remover
    watcher: Unsubscribe | None = None
    task: asyncio.Task[None] | None = None
    notes: list[Note] = field(default_factory=list)

    def describe_until(self) -> str:
        if self.until.event is not None:
            return f"{self.until.event.path} + {self.until.plus_s:g} s"
        return f"{self.until.after:g} s"


def _block_from(payload: dict[str, Any]) -> Block:
    return Block(
        id=str(payload["id"]),
        reason_zh=str(payload.get("reason_zh", "")),
        reason_en=str(payload.get("reason_en", "")),
        room_id=payload.get("room_id"),
        roles=frozenset(payload.get("roles") or ()),
        categories=tuple(payload.get("categories") or ()),
        devices=frozenset(payload.get("devices") or ()),
    )


def _block_payload(block: Block) -> dict[str, Any]:
    return {
        "id": block.id,
        "reason_zh": block.reason_zh,
        "reason_en": block.reason_en,
        "room_id": block.room_id,
        "roles": sorted(block.roles),
        "categories": list(block.categories),
        "devices": sorted(block.devices),
    }


class BlockKeeper:
    def __init__(self, env: TriggerEnv) -> None:
        self._env = env
        self._active: dict[str, _Active] = {}

    # -- placing -------------------------------------------------------------------------------
    def add(
        self,
        rule_id: str,
        spec: BlockAction,
        action_path: str,
        trigger: TriggerData | None,
        context: Context | None,
    ) -> dict[str, Any]:
        """Place (or renew) the block; returns what the trace shows."""
        notes: list[Note] = []
        room, unresolved = scope_room(spec.room, trigger.room_id if trigger is not None else None)
        if unresolved:
            notes.append(note("block_whole_home"))  # safer to block too much than too little
        selectors = Selector.parse_all(spec.targets)
        block = Block(
            id=f"rule:{rule_id}:{action_path}:{room or 'home'}",
            reason_zh=spec.reason.zh,
            reason_en=spec.reason.en,
            room_id=room,
            roles=frozenset(s.value for s in selectors if s.kind == "role"),
            categories=tuple(s.value for s in selectors if s.kind == "category"),
            devices=frozenset(s.value for s in selectors if s.kind == "device"),
        )
        self._stop_watching(block.id)
        active = _Active(block, rule_id, spec.until, "alarm", notes=notes)
        if spec.until.after is not None:
            # A fixed-time block counts down from the start.
            active.phase, active.lifts_at = "clearing", self._env.clock.now() + spec.until.after
        self._install(active, context)
        if active.lifts_at is not None:
            self._count_down(active)
        else:
            self._watch(active)
        self._persist(active)
        return {
            "block_id": block.id,
            "room_id": room,
            "roles": sorted(block.roles),
            "categories": list(block.categories),
            "devices": sorted(block.devices),
            "until": active.describe_until(),
            "notes": notes,
        }

    def _install(self, active: _Active, context: Context | None) -> None:
        active.remove = self._env.kernel.arbiter.add_block(active.block)
        self._active[active.block.id] = active
        self._announce(active, True, context)

    def _watch(self, active: _Active) -> None:
        event = active.until.event
        assert event is not None
        host = TriggerHost(
            active.rule_id, "run", first=True, persist=False, scope_room=active.block.room_id
        )
        trigger = EventTriggerImpl(TriggerItem(event=event), None, host, self._env)

        def all_clear(data: TriggerData) -> None:
            current = self._active.get(active.block.id)
            if current is not active or active.phase != "alarm":
                return
            self._stop_watching(active.block.id)
            self._clear_at(active, self._env.clock.now() + active.until.plus_s, data.context)

        active.watcher = trigger.attach(all_clear)

    def _clear_at(self, active: _Active, when: float, context: Context | None) -> None:
        """The all-clear came: count down to lifting (announced, persisted)."""
        active.phase = "clearing"
        active.lifts_at = when
        self._persist(active)
        self._announce(active, True, context)
        self._count_down(active)

    def _count_down(self, active: _Active) -> None:
        assert active.lifts_at is not None
        active.task = self._env.tasks.create(
            self._lift_later(active, active.lifts_at), name=f"rules:block:{active.block.id}"
        )

    async def _lift_later(self, active: _Active, when: float) -> None:
        await self._env.clock.sleep_until(when)
        if self._active.get(active.block.id) is active:
            active.task = None  # this very task: do not cancel it while lifting
            self.lift(active.block.id)

    def _persist(self, active: _Active) -> None:
        self._env.journal.save(
            PersistedTimer(
                active.rule_id,
                active.block.id,
                "block",
                active.lifts_at if active.lifts_at is not None else NO_DUE,
                {
                    "block": _block_payload(active.block),
                    "until": to_data(active.until),
                    "phase": active.phase,
                },
            )
        )

    def _stop_watching(self, block_id: str) -> None:
        active = self._active.get(block_id)
        if active is None:
            return
        if active.watcher is not None:
            active.watcher()
            active.watcher = None
        if active.task is not None:
            active.task.cancel()
            active.task = None

    def _announce(self, active: _Active, on: bool, context: Context | None) -> None:
        block = active.block
        self._env.kernel.bus.fire(
            BLOCK_CHANGED,
            BlockChange(
                block.id,
                on,
                active.rule_id,
                block.room_id,
                block.reason_zh,
                block.reason_en,
                active.describe_until(),
                active.lifts_at,
            ),
            context,
        )

    # -- lifting -------------------------------------------------------------------------------
    def lift(self, block_id: str, context: Context | None = None) -> bool:
        active = self._active.get(block_id)
        if active is None:
            return False
        self._stop_watching(block_id)
        del self._active[block_id]
        if active.remove is not None:
            active.remove()
        self._env.journal.delete(active.rule_id, block_id, "block")
        _LOGGER.info("Lifted block %s", block_id)
        self._announce(active, False, context)
        return True

    # -- views and lifecycle -------------------------------------------------------------------
    def active(self) -> list[dict[str, Any]]:
        return [
            {
                "block_id": a.block.id,
                "rule_id": a.rule_id,
                "room_id": a.block.room_id,
                "reason": {"zh": a.block.reason_zh, "en": a.block.reason_en},
                "phase": a.phase,
                "until": a.describe_until(),
                "lifts_at": a.lifts_at,
            }
            for a in self._active.values()
        ]

    def restore(self, records: list[PersistedTimer]) -> None:
        now = self._env.clock.now()
        for record in records:
            if record.kind != "block":
                continue
            try:
                block = _block_from(dict(record.payload["block"]))
                until = BlockUntil.model_validate(record.payload["until"])
            except (KeyError, TypeError, ValueError):
                _LOGGER.warning("Dropping an unreadable persisted block %s", record.key)
                self._env.journal.delete(record.rule_id, record.key, "block")
                continue
            phase = str(record.payload.get("phase", "alarm"))
            active = _Active(block, record.rule_id, until, phase)
            if phase == "clearing":
                active.lifts_at = record.due_at
            self._install(active, None)
            if phase == "clearing":
                if record.due_at <= now:
                    self.lift(block.id)  # ran out while the hub was off
                else:
                    self._count_down(active)
            elif until.event is not None:
                self._watch(active)
            else:  # an "after" block is always clearing; a record without a phase: lift it
                self.lift(block.id)

    def stop(self) -> None:
        """Engine stop: watchers end, blocks and their records stay (restored next start)."""
        for block_id in list(self._active):
            self._stop_watching(block_id)
