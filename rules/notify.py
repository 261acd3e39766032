"""Hub notifications: fired on the bus as ``notification`` (the WebSocket API forwards them) and
kept in a bounded list the UI shows until dismissed. Priority follows the capability model:
info, alert, critical."""

from __future__ import annotations

import itertools
import os
from collections import deque
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from hub.core.bus import EventBus
from hub.core.context import Context
from hub.core.events import EventType
from rules.timers import Clock, SystemClock

__all__ = ["NOTIFICATION", "Notification", "NotificationCenter", "Priority"]


class Priority(StrEnum):
    INFO = "info"
    ALERT = "alert"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Notification:
    id: str
    priority: Priority
    text_zh: str
    text_en: str
    created_at: float
    title_zh: str | None = None
    title_en: str | None = None
    audience: tuple[str, ...] = ("homeowner",)
    rule_id: str | None = None
    device_id: str | None = None
    room_id: str | None = None
    context_id: str | None = None
    dismissed: bool = field(default=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "priority": self.priority.value,
            "text": {"zh": self.text_zh, "en": self.text_en},
            "title": (
                {"zh": self.title_zh, "en": self.title_en} if self.title_zh is not None else None
            ),
            "audience": list(self.audience),
            "rule_id": self.rule_id,
            "device_id": self.device_id,
            "room_id": self.room_id,
            "context_id": self.context_id,
            "created_at": self.created_at,
        }


NOTIFICATION: EventType[Notification] = EventType("notification")


class NotificationCenter:
    def __init__(self, bus: EventBus, clock: Clock | None = None, keep: int = 200) -> None:
        self._bus = bus
        self._clock = clock or SystemClock()
        self._recent: deque[Notification] = deque(maxlen=keep)
        self._ids = itertools.count(1)
        self._prefix = os.urandom(3).hex()

    def notify(
        self,
        text_zh: str,
        text_en: str,
        *,
        priority: Priority | str = Priority.INFO,
        title_zh: str | None = None,
        title_en: str | None = None,
        audience: tuple[str, ...] = ("homeowner",),
        rule_id: str | None = None,
        device_id: str | None = None,
        room_id: str | None = None,
        context: Context | None = None,
    ) -> Notification:
        item = Notification(
            id=f"n-{self._prefix}-{next(self._ids)}",
            priority=Priority(priority),
            text_zh=text_zh,
            text_en=text_en,
            created_at=self._clock.now(),
            title_zh=title_zh,
            title_en=title_en,
            audience=audience,
            rule_id=rule_id,
            device_id=device_id,
            room_id=room_id,
            context_id=context.id if context is not None else None,
        )
        self._recent.append(item)
        self._bus.fire(NOTIFICATION, item, context)
        return item

    def recent(self, *, include_dismissed: bool = False) -> list[Notification]:
        """Newest first."""
        return [n for n in reversed(self._recent) if include_dismissed or not n.dismissed]

    def dismiss(self, notification_id: str) -> bool:
        for i, item in enumerate(self._recent):
            if item.id == notification_id and not item.dismissed:
                self._recent[i] = replace(item, dismissed=True)
                return True
        return False
