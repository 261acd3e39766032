"""The interface every transport integration implements (zsdp, matter, ble), and its fakes too.

An integration finds devices (:class:`DiscoveryRecord`), opens a :class:`DeviceLink` per added
device, and pushes what the device reports into the hub through :class:`HubAccess`. It never
talks to rules, the UI or the API: those speak capability paths only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from time import time as _now
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from hub.core.context import Context
from hub.core.events import EventType
from hub.errors import HubError, message

if TYPE_CHECKING:
    from hub.core.bus import EventBus
    from hub.core.registry import Device, DeviceRegistry
    from hub.core.state import StateStore
    from hub.core.tasks import TaskKeeper

__all__ = [
    "DEVICE_EVENT",
    "ApiRoute",
    "DISCOVERY_CHANGED",
    "DeviceEvent",
    "DeviceLink",
    "DiscoveryRecord",
    "HubAccess",
    "Integration",
    "IntegrationError",
    "WordedIntegrationError",
    "DeviceUnavailableError",
]


class IntegrationError(Exception):
    """A transport failure, worded for the user (the API shows the message)."""

    code: ClassVar[str] = "integration_error"


class DeviceUnavailableError(IntegrationError):
    code: ClassVar[str] = "device_unavailable"


class WordedIntegrationError(IntegrationError):
    """A failure with a ``hub.errors`` code, an HTTP status and zh/en texts, in the shape the API
    uses for :class:`HubError`; ``str(err)`` is the English text. Integrations subclass it once
    per code."""

    code: ClassVar[str] = "integration_error"
    status: ClassVar[int] = 422

    def __init__(self, **params: Any) -> None:
        self.params = params
        self.zh, self.en = message(self.code, **params)
        super().__init__(self.en)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": {"zh": self.zh, "en": self.en}}

    def hub_error(self) -> HubError:
        return HubError(self.code, status=self.status, **self.params)


@dataclass(slots=True, frozen=True)
class DiscoveryRecord:
    """Something found on a transport, before or after it is added as a device.

    ``key`` is stable for the physical device (ZS-DP device id, Matter node id, BLE address);
    ``identity`` holds what fingerprints match on (``service``/``txt`` for mDNS, ``vendor_id``/
    ``product_id``/``device_types`` for Matter, ``local_name``/``manufacturer_data``/… for BLE).
    """

    integration: str
    transport: str
    key: str
    identity: Mapping[str, Any]
    name: str | None = None
    address: str | None = None
    seen_at: float = field(default_factory=_now)
    gone: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "integration": self.integration,
            "transport": self.transport,
            "key": self.key,
            "identity": dict(self.identity),
            "name": self.name,
            "address": self.address,
            "seen_at": self.seen_at,
        }


@dataclass(slots=True, frozen=True)
class DeviceEvent:
    """A capability event from a device (``lock_operation``, ``flame_out``, ``gas_alarm`` …)."""

    device: str
    path: str  # component/capability/event
    fields: Mapping[str, Any]
    priority: str = "info"

    def as_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "path": self.path,
            "fields": dict(self.fields),
            "priority": self.priority,
        }


DEVICE_EVENT: EventType[DeviceEvent] = EventType("device_event")

# (method, path below /api/{domain}/, handler): an aiohttp handler ``(request) -> response``;
# typed loosely so the kernel does not import the web framework.
ApiRoute = tuple[str, str, Callable[[Any], Awaitable[Any]]]
DISCOVERY_CHANGED: EventType[DiscoveryRecord] = EventType("discovery_changed")


class DeviceLink(ABC):
    """An open channel to one device. Commands return once the device accepted them; the
    device's own report (through the state store) confirms the effect."""

    device_id: str

    @abstractmethod
    async def invoke(
        self,
        component: str,
        capability: str,
        command: str,
        args: Mapping[str, Any],
        context: Context,
    ) -> None:
        """Send a capability command (``main``, ``onoff``, ``on``, {})."""

    @abstractmethod
    async def write(self, path: str, value: Any, context: Context) -> None:
        """Write a ``component/capability/property`` that the profile marks ``rw``."""

    @abstractmethod
    async def refresh(self) -> None:
        """Ask the device for a full report."""

    @property
    @abstractmethod
    def connected(self) -> bool: ...


class HubAccess(Protocol):
    """What an integration may use of the hub (composition root passes itself)."""

    bus: EventBus
    states: StateStore
    registry: DeviceRegistry
    tasks: TaskKeeper

    def report_discovery(self, record: DiscoveryRecord) -> None: ...
    def fire_device_event(self, event: DeviceEvent, context: Context | None = None) -> None: ...


class Integration(ABC):
    """One transport. Found as a plug-in (entry point group ``zshub.integrations``)."""

    domain: ClassVar[str]
    transports: ClassVar[tuple[str, ...]]

    @abstractmethod
    async def async_start(self, hub: HubAccess) -> None:
        """Start discovery and reconnect to devices already in the registry."""

    @abstractmethod
    async def async_stop(self) -> None:
        """Close every link and cancel every task; must finish within a few seconds."""

    @abstractmethod
    def link(self, device_id: str) -> DeviceLink | None:
        """The open link to a device this integration owns, or None."""

    async def async_add_device(
        self, record: DiscoveryRecord, device: Device, secrets: Mapping[str, str]
    ) -> Device:
        """Pair with / adopt a discovered device; returns it with the config to persist."""
        raise IntegrationError(f"{self.domain} cannot add devices this way")

    async def async_remove_device(self, device: Device) -> None:  # noqa: B027 - optional hook
        """Forget a device (unpair / remove from the fabric); nothing to do by default."""

    def status(self) -> dict[str, Any]:
        """Health shown in hub info (adapter missing, server unreachable …)."""
        return {"ok": True}

    def routes(self) -> Sequence[ApiRoute]:
        """HTTP routes of this transport (``POST /api/matter/commission`` …), mounted by the API
        under ``/api/{domain}/`` behind its authentication; none by default."""
        return ()
