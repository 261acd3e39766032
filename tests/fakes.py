"""A fake transport implementing the real Integration/DeviceLink interface.

It keeps a raw DP map per device and runs commands through the device profile's real `zsdp`
binding (encode -> apply -> decode), so the hub sees reports exactly as from a ZS-DP device.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from hub.core import (
    Context,
    Device,
    DeviceEvent,
    DeviceLink,
    DeviceUnavailableError,
    DiscoveryRecord,
    Integration,
    IntegrationError,
    Origin,
)


class FakeLink(DeviceLink):
    def __init__(self, integration: FakeIntegration, device_id: str) -> None:
        self.device_id = device_id
        self._integration = integration
        self.online = True
        self.sent: list[tuple[str, Mapping[str, Any]]] = []

    @property
    def connected(self) -> bool:
        return self.online

    def _binding(self) -> Any:
        hub = self._integration.hub
        device = hub.registry.device(self.device_id)
        return hub.profiles.get(device.profile_id).binding("zsdp")

    def _current(self, path: str) -> Any:
        return self._integration.hub.states.value(f"{self.device_id}/{path}")

    async def invoke(
        self,
        component: str,
        capability: str,
        command: str,
        args: Mapping[str, Any],
        context: Context,
    ) -> None:
        if not self.online:
            raise DeviceUnavailableError(f"{self.device_id} is offline")
        target = f"{component}/{capability}.{command}"
        self.sent.append((target, dict(args)))
        writes = self._binding().encode_command(target, dict(args), self._current)
        if self._integration.refuse:
            raise IntegrationError(self._integration.refuse)
        if not self._integration.silent:
            dps = dict(writes)
            device = self._integration.hub.registry.device(self.device_id)
            effect = self._integration.effects.get(device.profile_id or "")
            self.report({**dps, **(effect(dps) if effect else {})})

    async def write(self, path: str, value: Any, context: Context) -> None:
        writes = self._binding().encode_write(path, value)
        self.report(dict(writes))

    async def refresh(self) -> None:
        self.report({})

    def report(self, dps: Mapping[int, Any]) -> None:
        """The device reports raw DPs (as after a command or a physical action)."""
        hub = self._integration.hub
        raw = self._integration.raw.setdefault(self.device_id, {})
        previous = dict(raw)
        raw.update(dps)
        result = self._binding().decode(dict(dps), previous, self._current)
        ctx = Context(Origin.DEVICE, self.device_id)
        for path, value in result.states.items():
            hub.states.set(f"{self.device_id}/{path}", value, ctx)
        for path, fields in result.events:
            hub.fire_device_event(DeviceEvent(self.device_id, path, fields), ctx)
        hub.registry.seen(self.device_id)


class FakeIntegration(Integration):
    domain: ClassVar[str] = "fake"
    transports: ClassVar[tuple[str, ...]] = ("mdns",)
    name = "fake"
    kind = "integration"

    def __init__(self) -> None:
        self.hub: Any = None
        self.links: dict[str, FakeLink] = {}
        self.raw: dict[str, dict[int, Any]] = {}
        self.silent = False  # accept commands but never report (to test confirmation timeouts)
        self.refuse: str | None = None
        # profile id -> what the device's firmware does with written DPs (write-only channels)
        self.effects: dict[str, Callable[[dict[int, Any]], dict[int, Any]]] = {}
        self.started = False
        self.stopped = False

    async def async_start(self, hub: Any) -> None:
        self.hub = hub
        self.started = True
        for device in hub.registry:
            if device.integration == self.domain:
                self.links[device.id] = FakeLink(self, device.id)

    async def async_stop(self) -> None:
        self.stopped = True

    def link(self, device_id: str) -> DeviceLink | None:
        return self.links.get(device_id)

    async def async_add_device(
        self, record: DiscoveryRecord, device: Device, secrets: Mapping[str, str]
    ) -> Device:
        if secrets.get("pairing_code") != "12345678":
            raise IntegrationError("wrong pairing code")
        self.links[device.id] = FakeLink(self, device.id)
        return device

    def add(self, device: Device) -> FakeLink:
        """Register a device directly (tests that don't go through discovery)."""
        self.hub.registry.add(device)
        link = self.links[device.id] = FakeLink(self, device.id)
        return link
