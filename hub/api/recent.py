"""The last device events of each device, in memory, for ``GET /api/devices/{id}/events``."""

from __future__ import annotations

from collections import deque
from typing import Any

from hub.core.bus import EventBus, Unsubscribe
from hub.core.events import Event
from hub.core.integration import DEVICE_EVENT, DeviceEvent
from hub.core.registry import DEVICE_REMOVED, Device

__all__ = ["RecentEvents"]


class RecentEvents:
    def __init__(self, bus: EventBus, keep: int = 100) -> None:
        self._keep = keep
        self._events: dict[str, deque[dict[str, Any]]] = {}
        self._unsubs: list[Unsubscribe] = [
            bus.listen(DEVICE_EVENT, self._on_event),
            bus.listen(DEVICE_REMOVED, self._on_removed),
        ]

    def _on_event(self, event: Event[DeviceEvent]) -> None:
        data = event.data
        items = self._events.get(data.device)
        if items is None:
            items = self._events[data.device] = deque(maxlen=self._keep)
        items.append(
            {
                **data.as_dict(),
                "time": event.when.isoformat(),
                "context_id": event.context.id,
            }
        )

    def _on_removed(self, event: Event[Device]) -> None:
        self._events.pop(event.data.id, None)

    def recent(self, device_id: str, limit: int) -> list[dict[str, Any]]:
        """Newest first."""
        items = self._events.get(device_id)
        if not items:
            return []
        return list(reversed(items))[:limit]

    def close(self) -> None:
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
