"""One added Matter device: decode what its node reports, encode what the hub asks of it.

The link keeps no connection of its own: the integration's one WebSocket to the Matter server
carries every node. What it holds is the device's binding (its profile's ``matter`` runtime),
the endpoint map and the last raw value per attribute (edges for derived events).

* Reports: a full node (on connect, after an interview) or one attribute at a time; addresses
  are mapped from the node's endpoints to the profile's, decoded by the binding's codecs into
  capability states (``hub.states``) and derived events; native events go through
  :func:`~integrations.matter.events.translate_event` and the binding's event rules.
* Commands: the binding encodes a :class:`MatterInvoke` (sent with ``timed_request_timeout_ms``
  when the binding or Matter asks for a timed invoke) or a :class:`MatterWrite`. The command
  service waits for the device's report to confirm the effect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from hub.core.context import Context, Origin
from hub.core.integration import DeviceEvent, DeviceLink
from hub.profiles.runtime import BindingError, MatterInvoke, MatterRuntime, MatterWrite
from integrations.matter.client import (
    ConnectionLostError,
    MatterClientError,
    MatterCommandError,
    MatterServerClient,
    ServerErrorCode,
)
from integrations.matter.clusters import DEFAULT_TIMED_MS, catalogue
from integrations.matter.events import translate_event
from integrations.matter.nodes import EndpointMap, raw_attributes
from integrations.matter.problems import CommandFailedError, NodeOfflineError

if TYPE_CHECKING:
    from hub.app import Hub

__all__ = ["MatterLink"]

_LOGGER = logging.getLogger(__name__)
_SECURITY_CAPABILITIES = frozenset({"lock", "lock_users"})


class MatterLink(DeviceLink):
    def __init__(
        self,
        hub: Hub,
        device_id: str,
        node_id: int,
        endpoints: EndpointMap,
        client: Callable[[], MatterServerClient | None],
    ) -> None:
        self.device_id = device_id
        self.node_id = node_id
        self.endpoints = endpoints
        self._hub = hub
        self._client = client
        self._raw: dict[tuple[int, int, int], Any] = {}  # profile addresses
        self.available = False
        self.reports = 0

    # -- DeviceLink --------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        client = self._client()
        return self.available and client is not None and client.connected

    async def invoke(
        self,
        component: str,
        capability: str,
        command: str,
        args: Mapping[str, Any],
        context: Context,
    ) -> None:
        target = f"{component}/{capability}.{command}"
        binding = self._require_binding(target)
        try:
            payload = binding.encode_command(target, args, self._current_state)
        except BindingError as err:
            raise CommandFailedError(device=self.device_id, detail=str(err)) from err
        await self._send(payload, target)

    async def write(self, path: str, value: Any, context: Context) -> None:
        binding = self._require_binding(path)
        try:
            payload = binding.encode_write(path, value)
        except BindingError as err:
            raise CommandFailedError(device=self.device_id, detail=str(err)) from err
        await self._send(payload, path)

    async def refresh(self) -> None:
        client = self._require_client()
        try:
            node = await client.get_node(self.node_id)
        except MatterClientError as err:
            raise self._failure(err) from err
        self.apply_node(node)

    # -- reports -----------------------------------------------------------------------------

    def apply_node(self, node: Mapping[str, Any]) -> None:
        """A full node: availability and every attribute."""
        self.set_available(bool(node.get("available")))
        self.apply_attributes(raw_attributes(node))

    def set_available(self, available: bool) -> None:
        from hub.core.registry import Availability

        self.available = available
        self._hub.registry.set_availability(
            self.device_id,
            Availability.ONLINE if available else Availability.OFFLINE,
            Context(Origin.INTEGRATION, "matter"),
        )
        if available:
            self._hub.registry.seen(self.device_id)

    def apply_attributes(self, raw: Mapping[tuple[int, int, int], Any]) -> None:
        binding = self._binding()
        if binding is None:
            return
        values = {
            address: value
            for address, value in self.endpoints.attributes_to_profile(raw).items()
            if value is not None  # null: the device does not know (yet); keep the last state
        }
        if not values:
            return
        result = binding.decode(values, self._raw, self._current_state)
        self._raw.update(values)
        self.reports += 1
        context = Context(Origin.DEVICE, self.device_id)
        for path, value in result.states.items():
            self._hub.states.set(f"{self.device_id}/{path}", value, context)
        for path, fields in result.events:
            self._fire(path, fields, context)
        for problem in result.errors:
            _LOGGER.warning("matter %s: value dropped: %s", self.device_id, problem)
        if self.available:
            self._hub.registry.seen(self.device_id)

    def apply_event(self, endpoint: int, cluster: int, event: int, data: Any) -> None:
        binding = self._binding()
        if binding is None:
            return
        ep = self.endpoints.to_profile(endpoint)
        if ep is None:
            return
        fields = translate_event(cluster, event, data)
        if fields is None:
            _LOGGER.debug(
                "matter %s: event %s/%s/%s not mapped", self.device_id, ep, cluster, event
            )
            return
        context = Context(Origin.DEVICE, self.device_id)
        for path, out in binding.decode_event((ep, cluster, event), fields, self._current_state):
            self._fire(path, out, context)

    def _fire(self, path: str, fields: dict[str, Any], context: Context) -> None:
        self._hub.fire_device_event(
            DeviceEvent(self.device_id, path, fields, self._priority(path)), context
        )
        capability = path.split("/")[1] if path.count("/") >= 2 else ""
        storage = self._hub.storage
        if capability in _SECURITY_CAPABILITIES and storage is not None:
            # What happens at the lock itself (keypad, key, auto-lock) belongs in the audit log
            # beside the commands the hub sent it.
            from hub.storage.audit import AuditEntry

            storage.audit(
                AuditEntry.from_context(
                    context,
                    "device_event",
                    target=f"{self.device_id}/{path}",
                    detail={"fields": fields, "transport": "matter", "node_id": self.node_id},
                )
            )

    # -- commands ----------------------------------------------------------------------------

    async def _send(self, payload: Any, target: str) -> None:
        client = self._require_client()
        if not self.available:
            raise NodeOfflineError(self.device_id, "the Matter node is not available")
        try:
            if isinstance(payload, MatterInvoke):
                await self._invoke(client, payload)
            elif isinstance(payload, MatterWrite):
                await self._write(client, payload)
            else:
                raise CommandFailedError(
                    device=self.device_id, detail=f"{target} is not a Matter command here"
                )
        except MatterClientError as err:
            raise self._failure(err) from err

    async def _invoke(self, client: MatterServerClient, payload: MatterInvoke) -> None:
        spec = catalogue().command(payload.cluster, payload.command)
        if spec is None:
            raise CommandFailedError(
                device=self.device_id,
                detail=f"cluster 0x{payload.cluster:04X} has no command 0x{payload.command:02X}",
            )
        try:
            fields = spec.payload(payload.fields)
        except ValueError as err:
            raise CommandFailedError(device=self.device_id, detail=str(err)) from err
        timed = payload.timed_ms or (DEFAULT_TIMED_MS if spec.timed else None)
        await client.device_command(
            self.node_id,
            self.endpoints.to_node(payload.endpoint),
            payload.cluster,
            spec.name,
            fields,
            timed_request_timeout_ms=timed,
        )

    async def _write(self, client: MatterServerClient, payload: MatterWrite) -> None:
        value = payload.value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        path = f"{self.endpoints.to_node(payload.endpoint)}/{payload.cluster}/{payload.attribute}"
        result = await client.write_attribute(self.node_id, path, value)
        statuses = [r.get("Status") for r in result if isinstance(r, Mapping)] if result else []
        failed = [s for s in statuses if isinstance(s, int) and s != 0]
        if failed:
            raise CommandFailedError(
                device=self.device_id,
                detail=f"writing {path} failed with status 0x{failed[0]:02X}",
            )

    def _failure(self, err: MatterClientError) -> Exception:
        if isinstance(err, ConnectionLostError):
            return NodeOfflineError(self.device_id, str(err))
        if isinstance(err, MatterCommandError) and err.error_code in (
            ServerErrorCode.NODE_NOT_READY,
            ServerErrorCode.NODE_NOT_RESOLVING,
            ServerErrorCode.NODE_NOT_EXISTS,
        ):
            return NodeOfflineError(self.device_id, str(err))
        detail = err.details if isinstance(err, MatterCommandError) and err.details else str(err)
        return CommandFailedError(device=self.device_id, detail=detail)

    # -- helpers -----------------------------------------------------------------------------

    def _require_client(self) -> MatterServerClient:
        client = self._client()
        if client is None or not client.connected:
            raise NodeOfflineError(self.device_id, "not connected to the Matter server")
        return client

    def _binding(self) -> MatterRuntime | None:
        device = self._hub.registry.get(self.device_id)
        if device is None or device.profile_id is None:
            return None
        runtime = self._hub.profiles.runtime(device.profile_id)
        return runtime.loaded.binding("matter") if runtime is not None else None

    def _require_binding(self, target: str) -> MatterRuntime:
        binding = self._binding()
        if binding is None:
            raise CommandFailedError(
                device=self.device_id, detail=f"its profile has no Matter binding for {target}"
            )
        return binding

    def _current_state(self, path: str) -> Any:
        return self._hub.states.value(f"{self.device_id}/{path}")

    def _priority(self, path: str) -> str:
        device = self._hub.registry.get(self.device_id)
        if device is None or device.profile_id is None:
            return "info"
        runtime = self._hub.profiles.runtime(device.profile_id)
        event = runtime.loaded.event_def(path) if runtime is not None else None
        return str(event.priority.value) if event is not None else "info"

    def status(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "available": self.available,
            "reports": self.reports,
            "endpoints": self.endpoints.as_config(),
        }
