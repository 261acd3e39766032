"""The kernel's public API: what integrations, rules and the API layer may import."""

from hub.core.bus import EventBus, Unsubscribe
from hub.core.commands import COMMAND_RESULT, CommandResult, CommandService, CommandStatus
from hub.core.context import Context, Origin
from hub.core.events import Event, EventType
from hub.core.integration import (
    DEVICE_EVENT,
    DISCOVERY_CHANGED,
    DeviceEvent,
    DeviceLink,
    DeviceUnavailableError,
    DiscoveryRecord,
    HubAccess,
    Integration,
    IntegrationError,
)
from hub.core.registry import (
    AVAILABILITY_CHANGED,
    DEVICE_ADDED,
    DEVICE_REMOVED,
    DEVICE_UPDATED,
    ROOM_CHANGED,
    Availability,
    AvailabilityChange,
    Device,
    DeviceRegistry,
    RegistryError,
    Room,
)
from hub.core.state import STATE_CHANGED, State, StateChange, StateStore, split_path
from hub.core.tasks import TaskKeeper

__all__ = [
    "AVAILABILITY_CHANGED",
    "COMMAND_RESULT",
    "DEVICE_ADDED",
    "DEVICE_EVENT",
    "DEVICE_REMOVED",
    "DEVICE_UPDATED",
    "DISCOVERY_CHANGED",
    "ROOM_CHANGED",
    "STATE_CHANGED",
    "Availability",
    "AvailabilityChange",
    "CommandResult",
    "CommandService",
    "CommandStatus",
    "Context",
    "Device",
    "DeviceEvent",
    "DeviceLink",
    "DeviceRegistry",
    "DeviceUnavailableError",
    "DiscoveryRecord",
    "Event",
    "EventBus",
    "EventType",
    "HubAccess",
    "Integration",
    "IntegrationError",
    "Origin",
    "RegistryError",
    "Room",
    "State",
    "StateChange",
    "StateStore",
    "TaskKeeper",
    "Unsubscribe",
    "split_path",
]
