"""The Matter integration: one WebSocket to a Matter server, nodes mapped to hub devices.

* Configuration (``hub.config``): ``matter_url`` (an external python-matter-server) or
  ``matter_server = true`` (the hub runs ``matter-server`` itself, :mod:`.supervisor`). With
  neither the integration is loaded but idle and imports nothing of Matter.
* Connection: :class:`~integrations.matter.client.WsMatterClient` (swappable through
  ``client_factory``); lost or refused connections are retried with a growing pause (0.5 s to
  30 s, woken early when the supervised server starts again). ``start_listening`` returns every
  node, so devices come back, with their states, after a server restart without anyone acting.
* Nodes: a registry device of this integration has ``identity.node_id`` and a
  :class:`~integrations.matter.link.MatterLink`; availability follows the node's ``available``
  (and goes offline with the connection). Nodes on the server that the hub has not added (added
  by another controller, or a commissioning whose answer was lost) are offered as discoveries
  with key ``node-<id>`` and can be added without a code.
* Commissioning: :meth:`MatterIntegration.commission` checks the code first
  (:mod:`.codes`), then ``commission_with_code(network_only=True)``; failures are explained
  (:mod:`.problems`). :meth:`register_node` picks the profile (product profile by vendor/product
  id, else the generic one by device type) and adds the device.
* Discovery: ``_matterc._udp`` on the shared zeroconf (:mod:`.discovery`), as pending devices.
* Removal takes the node off the fabric (``remove_node``); :meth:`dump` exports a node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

from hub.core.context import Context, Origin
from hub.core.events import Event
from hub.core.integration import ApiRoute, DiscoveryRecord, HubAccess, Integration
from hub.core.registry import DEVICE_ADDED, DEVICE_REMOVED, Device
from hub.errors import HubError
from integrations.matter.codes import CodeError, parse_code
from integrations.matter.nodes import (
    EndpointMap,
    endpoint_of_types,
    node_identity,
    node_label,
    parse_path,
)
from integrations.matter.problems import (
    CommissionTimeoutError,
    UnavailableError,
    WrongCodeError,
    commissioning_problem,
)

if TYPE_CHECKING:
    import aiohttp

    from hub.app import Hub
    from integrations.matter.client import ClientFactory, MatterServerClient
    from integrations.matter.discovery import Commissionable, CommissionableBrowser
    from integrations.matter.link import MatterLink
    from integrations.matter.supervisor import ServerSupervisor

__all__ = ["MatterIntegration", "MatterSettings", "node_key"]

_LOGGER = logging.getLogger(__name__)
DOMAIN = "matter"


def node_key(node_id: int) -> str:
    """The stable key of a node on this hub's fabric (device identity and discovery key)."""
    return f"node-{node_id}"


@dataclass(frozen=True, slots=True)
class MatterSettings:
    commission_timeout: float = 50.0  # below the CLI's 60 s HTTP timeout
    request_timeout: float = 30.0
    backoff_min: float = 0.5
    backoff_max: float = 30.0
    stable_after: float = 30.0  # a connection that lasted this long resets the backoff
    log_settle: float = 0.3  # wait for the server's log lines of a failed commissioning
    server_stop_timeout: float = 3.0  # SIGKILL after this, inside the hub's 5 s stop stage


class MatterIntegration(Integration):
    domain: ClassVar[str] = DOMAIN
    transports: ClassVar[tuple[str, ...]] = ("matter",)
    name: str = DOMAIN
    kind: Literal["integration"] = "integration"

    def __init__(
        self,
        hub: Hub | None = None,
        *,
        settings: MatterSettings | None = None,
        client_factory: ClientFactory | None = None,
    ) -> None:
        self._hub = hub
        self.settings = settings or MatterSettings()
        self._client_factory = client_factory
        self.url: str | None = None
        self.configured = False
        self._config_note: str | None = None
        self._config_error: str | None = None  # configured, but cannot run (no matter-server)
        self._client: MatterServerClient | None = None
        self._session: aiohttp.ClientSession | None = None
        self._supervisor: ServerSupervisor | None = None
        self._browser: CommissionableBrowser | None = None
        self._browse_error: str | None = None
        self._links: dict[str, MatterLink] = {}  # device id -> link
        self._by_node: dict[int, str] = {}  # node id -> device id
        self._nodes: dict[int, dict[str, Any]] = {}  # node id -> latest dump
        self._commissionable: dict[str, Commissionable] = {}  # mDNS name -> sighting
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._buffer: list[tuple[str, Any]] | None = None  # events while syncing
        self._commission_lock = asyncio.Lock()
        self._unsubscribe: list[Any] = []
        self.last_error: str | None = None
        self.connects = 0
        self.connected_since: float | None = None
        self._started = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def async_start(self, hub: HubAccess) -> None:
        if self._hub is None:
            self._hub = cast("Hub", hub)
        config = self._hub.config
        self._started = True
        if config.matter_server:
            self._setup_supervisor()
            if config.matter_url:
                self._config_note = "matter_url is ignored: matter_server = true runs a local one"
        elif config.matter_url:
            self.url = config.matter_url
        self.configured = self.url is not None or self._supervisor is not None
        bus = self._hub.bus
        self._unsubscribe = [
            bus.listen(DEVICE_ADDED, self._on_device_added, event_filter=self._ours),
            bus.listen(DEVICE_REMOVED, self._on_device_removed, event_filter=self._ours),
        ]
        for device in self._hub.registry:
            if device.integration == self.domain:
                self._ensure_link(device)
        if not self.configured or self._config_error is not None:
            for link in self._links.values():  # nothing will report for them
                link.set_available(False)
            if not self.configured:
                _LOGGER.info("matter: not configured (set matter_url or matter_server)")
            return
        import aiohttp

        self._session = aiohttp.ClientSession()
        if self._supervisor is not None:
            self._supervisor.start()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="matter connection")
        await self._start_browsing()
        _LOGGER.info("matter: started with %d device(s), server %s", len(self._links), self.url)

    def _setup_supervisor(self) -> None:
        from integrations.matter.supervisor import ServerSupervisor, server_argv

        hub = self._require_hub()
        config = hub.config
        storage = Path(config.data_dir) / "matter"
        host = config.matter_server_host
        argv = server_argv(
            config.matter_server_command,
            storage,
            config.matter_server_port,
            config.matter_paa_dir,
            host,
        )
        shown = f"[{host}]" if ":" in host else host
        self.url = f"ws://{shown}:{config.matter_server_port}/ws"
        if argv is None:
            self._config_error = "matter-server is not installed (not on PATH)"
            self.last_error = self._config_error
            _LOGGER.error("matter: %s; set matter_server_command", self._config_error)
            return
        self._supervisor = ServerSupervisor(
            argv,
            storage,
            on_started=self._wake.set,
            stop_timeout=self.settings.server_stop_timeout,
        )

    async def _start_browsing(self) -> None:
        hub = self._require_hub()
        try:
            from integrations.matter.discovery import CommissionableBrowser

            aiozc = await hub.zeroconf.get()
            browser = CommissionableBrowser(
                aiozc, on_found=self._on_commissionable, on_gone=self._on_commissionable_gone
            )
            await browser.start()
            self._browser = browser
        except Exception as err:  # no mDNS here: commissioning by code still works
            self._browse_error = f"mDNS browsing unavailable: {err!r}"
            _LOGGER.exception("matter: cannot browse _matterc._udp")

    async def async_stop(self) -> None:
        self._started = False
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self._browser is not None:
            await self._browser.stop()
            self._browser = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        client, self._client = self._client, None
        if client is not None:
            await client.close()
        if self._supervisor is not None:
            await self._supervisor.stop()
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._links.clear()
        self._by_node.clear()

    def link(self, device_id: str) -> MatterLink | None:
        return self._links.get(device_id)

    @property
    def client(self) -> MatterServerClient | None:
        return self._client

    @property
    def supervisor(self) -> ServerSupervisor | None:
        return self._supervisor

    # -- the connection ----------------------------------------------------------------------

    def _new_client(self) -> MatterServerClient:
        assert self.url is not None and self._session is not None
        if self._client_factory is not None:
            return self._client_factory(self.url, self._session, self._on_event)
        from integrations.matter.client import WsMatterClient

        return WsMatterClient(
            self.url,
            self._session,
            self._on_event,
            request_timeout=self.settings.request_timeout,
        )

    async def _run(self) -> None:
        from integrations.matter.client import MatterClientError

        loop = asyncio.get_running_loop()
        delay = self.settings.backoff_min
        while True:
            self._wake.clear()
            client = self._new_client()
            started = loop.time()
            try:
                await client.connect()
                self._buffer = []
                nodes = await client.start_listening()
            except MatterClientError as err:
                self._buffer = None
                await client.close()
                self._note_error(str(err))
            except Exception as err:  # a bug must cost this attempt, never the loop
                self._buffer = None
                await client.close()
                _LOGGER.exception("matter: connecting failed")
                self._note_error(repr(err))
            else:
                await self._serve(client, nodes)
                if loop.time() - started >= self.settings.stable_after:
                    delay = self.settings.backoff_min
            wait = delay * (0.5 + 0.5 * random.random())
            delay = min(self.settings.backoff_max, delay * 2)
            supervised = self._supervisor
            if supervised is not None and supervised.running and self._client is None:
                # Our own server is up but not listening yet (it takes 3-7 s to start): poll it
                # briskly instead of backing off for tens of seconds.
                wait, delay = min(wait, 1.0), min(delay, 1.0)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    async def _serve(self, client: MatterServerClient, nodes: list[dict[str, Any]]) -> None:
        self._client = client
        self.connects += 1
        self.connected_since = time.time()
        self.last_error = None
        info = client.server_info or {}
        _LOGGER.info(
            "matter: connected to %s (schema %s, SDK %s) with %d node(s)",
            self.url,
            info.get("schema_version"),
            info.get("sdk_version"),
            len(nodes),
        )
        try:
            self._sync(nodes)
            buffered, self._buffer = self._buffer or [], None
            for event, data in buffered:
                self._handle_event(event, data)
            await client.wait_closed()
        finally:
            self._buffer = None
            self._client = None
            self.connected_since = None
            await client.close()
            for link in self._links.values():
                link.set_available(False)
        self._note_error("the connection to the Matter server was lost")

    def _note_error(self, text: str) -> None:
        if text != self.last_error:
            _LOGGER.warning("matter: %s (%s)", text, self.url)
        self.last_error = text
        for link in self._links.values():  # no server: nothing can reach them
            link.set_available(False)

    def _sync(self, nodes: list[dict[str, Any]]) -> None:
        self._nodes = {int(n["node_id"]): n for n in nodes}
        for node_id, device_id in list(self._by_node.items()):
            link = self._links.get(device_id)
            if link is None:
                continue
            node = self._nodes.get(node_id)
            if node is None:
                _LOGGER.warning(
                    "matter %s: node %d is not on the Matter server (removed there?)",
                    device_id,
                    node_id,
                )
                link.set_available(False)
            else:
                link.apply_node(node)
        for node in nodes:
            self._offer_node(node)

    # -- server events -----------------------------------------------------------------------

    def _on_event(self, event: str, data: Any) -> None:
        if self._buffer is not None:
            self._buffer.append((event, data))
            return
        self._handle_event(event, data)

    def _handle_event(self, event: str, data: Any) -> None:
        if event in ("node_added", "node_updated"):
            if isinstance(data, dict) and isinstance(data.get("node_id"), int):
                self._on_node(data)
        elif event == "node_removed":
            if isinstance(data, int):
                self._on_node_removed(data)
        elif event == "attribute_updated":
            if isinstance(data, list) and len(data) == 3 and isinstance(data[0], int):
                self._on_attribute(data[0], str(data[1]), data[2])
        elif event == "node_event":
            if isinstance(data, dict):
                self._on_node_event(data)
        elif event == "server_shutdown":
            _LOGGER.info("matter: the Matter server is shutting down")

    def _on_node(self, node: dict[str, Any]) -> None:
        node_id = int(node["node_id"])
        self._nodes[node_id] = node
        link = self._link_for_node(node_id)
        if link is not None:
            link.apply_node(node)
        else:
            self._offer_node(node)

    def _on_node_removed(self, node_id: int) -> None:
        self._nodes.pop(node_id, None)
        link = self._link_for_node(node_id)
        if link is not None:
            _LOGGER.warning("matter %s: node %d was removed on the server", link.device_id, node_id)
            link.set_available(False)
        elif self._hub is not None:
            self._hub.report_discovery(
                DiscoveryRecord(DOMAIN, "matter", node_key(node_id), {}, gone=True)
            )

    def _on_attribute(self, node_id: int, path: str, value: Any) -> None:
        node = self._nodes.get(node_id)
        if node is not None:
            attributes = node.setdefault("attributes", {})
            if isinstance(attributes, dict):
                attributes[path] = value
        address = parse_path(path)
        link = self._link_for_node(node_id)
        if link is None or address is None:
            return
        try:
            link.apply_attributes({address: value})
        except Exception:  # one bad value must not end the connection
            _LOGGER.exception("matter %s: attribute %s not applied", link.device_id, path)

    def _on_node_event(self, data: Mapping[str, Any]) -> None:
        node_id = data.get("node_id")
        link = self._link_for_node(node_id) if isinstance(node_id, int) else None
        if link is None:
            return
        try:
            link.apply_event(
                int(data.get("endpoint_id", 0)),
                int(data.get("cluster_id", 0)),
                int(data.get("event_id", 0)),
                data.get("data"),
            )
        except (TypeError, ValueError):
            _LOGGER.warning("matter %s: malformed node event dropped: %.200s", link.device_id, data)
        except Exception:
            _LOGGER.exception("matter %s: node event not applied", link.device_id)

    def _link_for_node(self, node_id: int) -> MatterLink | None:
        device_id = self._by_node.get(node_id)
        return self._links.get(device_id) if device_id is not None else None

    def _offer_node(self, node: Mapping[str, Any]) -> None:
        """A node on the server that no device of the hub stands for: offer it for adding."""
        node_id = int(node["node_id"])
        if node_id in self._by_node or self._hub is None:
            return
        identity = node_identity(node)
        self._hub.report_discovery(
            DiscoveryRecord(
                DOMAIN,
                "matter",
                node_key(node_id),
                identity,
                name=node_label(node) or f"Matter node {node_id}",
            )
        )

    # -- discovery (mDNS) --------------------------------------------------------------------

    def _on_commissionable(self, found: Commissionable) -> None:
        if found.commissioning_mode == 0:  # advertised, but its window is closed
            self._on_commissionable_gone(found.name)
            return
        previous = self._commissionable.get(found.name)
        self._commissionable[found.name] = found
        if previous != found and self._hub is not None:
            self._hub.report_discovery(
                DiscoveryRecord(
                    DOMAIN,
                    "matter",
                    found.instance,
                    found.identity(),
                    name=found.label,
                    address=found.address,
                )
            )

    def _on_commissionable_gone(self, name: str) -> None:
        found = self._commissionable.pop(name, None)
        if found is not None and self._hub is not None:
            self._hub.report_discovery(
                DiscoveryRecord(
                    DOMAIN, "matter", found.instance, found.identity(), name=found.label, gone=True
                )
            )

    # -- commissioning -----------------------------------------------------------------------

    def _require_client(self) -> MatterServerClient:
        client = self._client
        if client is None or not client.connected:
            raise UnavailableError(detail=self.unavailable_reason())
        return client

    def unavailable_reason(self) -> str:
        if not self.configured:
            return "Matter is not configured on this hub (matter_url or matter_server)"
        if self._config_error is not None:
            return self._config_error
        return f"not connected to the Matter server at {self.url}: {self.last_error or 'starting'}"

    async def commission(self, code: str) -> dict[str, Any]:
        """Commission a device with its manual code or QR payload; returns its node (dump
        format) once the server has interviewed it. Raises a :class:`MatterProblem`."""
        try:
            parsed = parse_code(code)
        except CodeError as err:
            raise WrongCodeError(detail=str(err), detail_zh=err.zh) from None
        from integrations.matter.client import ConnectionLostError, MatterCommandError

        client = self._require_client()
        async with self._commission_lock:
            started_wall = time.time()
            started = time.perf_counter()
            timeout = self.settings.commission_timeout
            try:
                async with asyncio.timeout(timeout):
                    node = await client.commission_with_code(parsed.text, network_only=True)
            except TimeoutError:
                raise CommissionTimeoutError(seconds=f"{timeout:.0f}") from None
            except ConnectionLostError as err:
                raise UnavailableError(detail=f"the Matter server went away: {err}") from None
            except MatterCommandError as err:
                lines: list[str] = []
                if self._supervisor is not None:
                    await asyncio.sleep(self.settings.log_settle)  # let its log lines arrive
                    lines = self._supervisor.lines_since(started_wall)
                _LOGGER.warning("matter: commissioning failed: %s", err)
                raise commissioning_problem(
                    err.details,
                    lines,
                    seconds=time.perf_counter() - started,
                    error_name=str(err),
                ) from None
        node_id = int(node["node_id"])
        self._nodes[node_id] = node
        _LOGGER.info(
            "matter: commissioned node %d in %.1f s",
            node_id,
            time.perf_counter() - started,
        )
        return node

    def _choose_profile(self, node: Mapping[str, Any], preferred: str | None) -> str | None:
        """The product profile for the node's vendor/product id, else ``preferred`` (what the
        user or the discovery match chose), else the generic profile for its device type."""
        hub = self._require_hub()
        library = hub.profiles.library
        if library is None:
            return preferred
        record = DiscoveryRecord(
            DOMAIN, "matter", node_key(int(node["node_id"])), node_identity(node)
        )
        match = library.match(record)
        best = match.best
        if best is None and match.candidates:
            # Several endpoints with their own device types (a hood with a light): the first
            # application endpoint is the device's primary function.
            for device_type in record.identity.get("device_types") or ():
                single = replace(
                    record, identity={**record.identity, "device_types": [device_type]}
                )
                best = library.match(single).best
                if best is not None:
                    break
            else:
                best = match.candidates[0][0]
            _LOGGER.info("matter: several profiles fit node %s; using %s", node["node_id"], best)
        if preferred is not None and hub.profiles.get(preferred) is not None:
            loaded = hub.profiles.get(best) if best is not None else None
            if loaded is None or loaded.generic:
                return preferred
        return best

    def _endpoint_map(self, node: Mapping[str, Any], profile_id: str | None) -> EndpointMap:
        """For a one-endpoint profile: where the node really has the profile's device type."""
        from hub.profiles.schema import MatterFingerprint

        hub = self._require_hub()
        loaded = hub.profiles.get(profile_id) if profile_id is not None else None
        binding = loaded.binding("matter") if loaded is not None else None
        if loaded is None or binding is None or len(binding.endpoints) != 1:
            return EndpointMap()
        types = [
            t
            for fp in loaded.fingerprints
            if isinstance(fp, MatterFingerprint)
            for t in fp.device_types
        ]
        actual = endpoint_of_types(node, types) if types else None
        (profile_ep,) = binding.endpoints.values()
        if actual is None or actual == profile_ep:
            return EndpointMap()
        return EndpointMap(((profile_ep, actual),))

    def device_for_node(self, node: Mapping[str, Any], draft: Device) -> Device:
        """``draft`` completed with the node's identity, profile and endpoint map."""
        node_id = int(node["node_id"])
        identity = node_identity(node)
        profile_id = self._choose_profile(node, draft.profile_id)
        endpoints = self._endpoint_map(node, profile_id)
        return replace(
            draft,
            profile_id=profile_id,
            integration=DOMAIN,
            transport="matter",
            identity={
                **{k: v for k, v in identity.items() if v is not None},
                "key": node_key(node_id),
            },
            config={
                **draft.config,
                DOMAIN: {"node_id": node_id, "endpoints": endpoints.as_config()},
            },
        )

    def default_names(self, node: Mapping[str, Any], profile_id: str | None) -> tuple[str, str]:
        hub = self._require_hub()
        label = node_label(node)
        loaded = hub.profiles.get(profile_id) if profile_id is not None else None
        if loaded is not None:
            zh, en = loaded.model.name.zh, loaded.model.name.en
        else:
            zh, en = f"Matter 设备 {node['node_id']}", f"Matter device {node['node_id']}"
        return (label or zh, label or en)

    async def register_node(
        self,
        node: Mapping[str, Any],
        *,
        name_zh: str | None = None,
        name_en: str | None = None,
        room_id: str | None = None,
        context: Context | None = None,
    ) -> Device:
        """Add a commissioned node to the registry (its link starts with it)."""
        hub = self._require_hub()
        node_id = int(node["node_id"])
        self._nodes[node_id] = dict(node)  # the link starts from it
        existing = hub.registry.find_by_identity(DOMAIN, "key", node_key(node_id))
        if existing is not None:
            return existing
        draft = Device(
            id="",
            name_zh="",
            name_en="",
            profile_id=None,
            integration=DOMAIN,
            transport="matter",
            room_id=room_id,
        )
        device = self.device_for_node(node, draft)
        default_zh, default_en = self.default_names(node, device.profile_id)
        zh = (name_zh or "").strip() or default_zh
        en = (name_en or "").strip() or default_en
        device = replace(device, id=hub.registry.new_id(en), name_zh=zh, name_en=en)
        return hub.registry.add(device, context or Context(Origin.INTEGRATION, DOMAIN))

    async def async_add_device(
        self, record: DiscoveryRecord, device: Device, secrets: Mapping[str, str]
    ) -> Device:
        """Add from a discovery: a commissionable device (commissioned with
        ``secrets["pairing_code"]``) or a node already on the server (no code needed)."""
        node: dict[str, Any] | None = None
        if record.key.startswith("node-"):
            try:
                node = self._nodes.get(int(record.key.removeprefix("node-")))
            except ValueError:
                node = None
        if node is None:
            node = await self.commission(str(secrets.get("pairing_code") or ""))
        return self.device_for_node(node, device)

    async def async_remove_device(self, device: Device) -> None:
        """Take the node off the fabric (the server tells the device to forget this fabric)."""
        from integrations.matter.client import (
            MatterClientError,
            MatterCommandError,
            ServerErrorCode,
        )

        node_id = _node_id_of(device)
        self._drop_link(device.id)
        if node_id is None:
            return
        client = self._require_client()
        try:
            await client.remove_node(node_id)
        except MatterCommandError as err:
            if err.error_code != ServerErrorCode.NODE_NOT_EXISTS:
                raise UnavailableError(detail=str(err)) from err
        except MatterClientError as err:
            raise UnavailableError(detail=str(err)) from err
        self._nodes.pop(node_id, None)
        _LOGGER.info("matter %s: node %d removed from the fabric", device.id, node_id)

    async def dump(self, device: Device) -> dict[str, Any]:
        """The node as the server has it (fresh when connected, else the last one seen)."""
        from integrations.matter.client import MatterClientError

        node_id = _node_id_of(device)
        if node_id is None:
            raise HubError("matter_not_a_node", status=404, device=device.id)
        client = self._client
        if client is not None and client.connected:
            try:
                node = await client.get_node(node_id)
                self._nodes[node_id] = node
                return node
            except MatterClientError as err:
                _LOGGER.debug("matter %s: get_node failed: %s", device.id, err)
        cached = self._nodes.get(node_id)
        if cached is None:
            raise UnavailableError(detail=self.unavailable_reason())
        return cached

    # -- registry events ---------------------------------------------------------------------

    def _ours(self, device: Device) -> bool:
        return device.integration == self.domain

    def _on_device_added(self, event: Event[Device]) -> None:
        link = self._ensure_link(event.data)
        if link is not None:
            node = self._nodes.get(link.node_id)
            if node is not None:
                link.apply_node(node)
            if self._hub is not None:  # no longer a node waiting to be added
                gone = DiscoveryRecord(DOMAIN, "matter", node_key(link.node_id), {}, gone=True)
                self._hub.report_discovery(gone)

    def _on_device_removed(self, event: Event[Device]) -> None:
        self._drop_link(event.data.id)

    def _drop_link(self, device_id: str) -> None:
        link = self._links.pop(device_id, None)
        if link is not None:
            self._by_node.pop(link.node_id, None)

    def _ensure_link(self, device: Device) -> MatterLink | None:
        from integrations.matter.link import MatterLink

        if not self._started or self._hub is None:
            return None
        node_id = _node_id_of(device)
        if node_id is None:
            _LOGGER.error("matter %s: the device has no node id", device.id)
            return None
        link = self._links.get(device.id)
        if link is None:
            config = device.config.get(DOMAIN) if isinstance(device.config, dict) else None
            endpoints = EndpointMap.from_config(
                config.get("endpoints") if isinstance(config, dict) else None
            )
            link = MatterLink(self._hub, device.id, node_id, endpoints, lambda: self._client)
            self._links[device.id] = link
            self._by_node[node_id] = device.id
        return link

    # -- API, status, helpers ----------------------------------------------------------------

    def routes(self) -> Sequence[ApiRoute]:
        from integrations.matter.routes import routes

        return routes(self)

    def status(self) -> dict[str, Any]:
        links = list(self._links.values())
        connected = self._client is not None and self._client.connected
        if not self.configured:
            state = "not_configured"
        elif connected:
            state = "connected"
        else:
            state = "connecting" if self.last_error is None else "disconnected"
        zh, en = _STATE_TEXT[state]
        out: dict[str, Any] = {
            "ok": connected or not self.configured,
            "configured": self.configured,
            "state": state,
            "message": {"zh": zh, "en": en},
            "url": self.url,
            "error": self.last_error,
            "connects": self.connects,
            "nodes": len(self._nodes),
            "devices": len(links),
            "available": sum(1 for link in links if link.available),
            "commissionable": len(self._commissionable),
            "browsing": self._browser is not None and self._browser.started,
        }
        if self._browse_error:
            out["browse_error"] = self._browse_error
        if self._config_note:
            out["note"] = self._config_note
        if self._supervisor is not None:
            out["server"] = self._supervisor.status()
        info = self._client.server_info if self._client is not None else None
        if info:
            out["server_info"] = {
                k: info.get(k)
                for k in ("schema_version", "sdk_version", "fabric_id", "compressed_fabric_id")
            }
        return out

    def _require_hub(self) -> Hub:
        if self._hub is None:
            raise RuntimeError("the matter integration is not started")
        return self._hub


_STATE_TEXT = {
    "not_configured": (
        "未配置 Matter：请设置 matter_url 或 matter_server",
        "Matter is not configured: set matter_url or matter_server",
    ),
    "connected": ("已连接 Matter 服务", "Connected to the Matter server"),
    "connecting": ("正在连接 Matter 服务", "Connecting to the Matter server"),
    "disconnected": ("与 Matter 服务的连接已断开，正在重试", "Matter server unreachable; retrying"),
}


def _node_id_of(device: Device) -> int | None:
    value = device.identity.get("node_id")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    config = device.config.get(DOMAIN) if isinstance(device.config, dict) else None
    if isinstance(config, dict) and isinstance(config.get("node_id"), int):
        return int(config["node_id"])
    return None
