"""The composition root: builds the kernel, starts storage, profiles, plug-ins and the API in
order, and stops them in reverse with a timeout per stage."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub.capabilities.catalogue import Catalogue
from hub.config import HubConfig
from hub.core.bus import EventBus
from hub.core.commands import COMMAND_RESULT, CommandResult, CommandService, CommandStatus
from hub.core.context import Context, Origin
from hub.core.events import Event, EventType
from hub.core.integration import (
    DEVICE_EVENT,
    DISCOVERY_CHANGED,
    DeviceEvent,
    DeviceLink,
    DiscoveryRecord,
    Integration,
    IntegrationError,
)
from hub.core.registry import Device, DeviceRegistry
from hub.core.state import StateStore
from hub.core.tasks import TaskKeeper
from hub.errors import HubError
from hub.net.mdns import SharedZeroconf
from hub.plugins import Plugin, PluginFactory, discover_plugins, plugin_order
from hub.profile_access import ProfileAccess
from hub.profiles.matcher import MatchResult
from hub.safety.arbiter import SafetyArbiter
from hub.storage.audit import AuditEntry, AuditResult
from hub.storage.recorder import Recorder
from hub.storage.store import Storage
from hub.util import yamlio

__all__ = ["HUB_STARTED", "HUB_STOPPING", "Hub", "HubInfo"]

_LOGGER = logging.getLogger(__name__)

HUB_STARTED: EventType[None] = EventType("hub_started")
HUB_STOPPING: EventType[None] = EventType("hub_stopping")


@dataclass(slots=True)
class HubInfo:
    version: str
    started_at: float
    startup_ms: float
    plugins: list[str]
    problems: list[str]


class Hub:
    """Everything the rest of the code reaches the kernel through (``HubAccess`` for plug-ins)."""

    def __init__(self, config: HubConfig, extra_plugins: Sequence[PluginFactory] = ()) -> None:
        self.config = config
        self._extra_plugins = list(extra_plugins)
        self.tasks = TaskKeeper("hub")
        self.bus = EventBus(self.tasks)
        self.states = StateStore(self.bus)
        self.registry = DeviceRegistry(self.bus)
        self.arbiter = SafetyArbiter()
        self.profiles = ProfileAccess()
        self.catalogue: Catalogue | None = None
        self.storage: Storage | None = None
        self.recorder: Recorder | None = None
        self.integrations: dict[str, Integration] = {}
        self.plugins: list[Plugin] = []
        self.discoveries: dict[tuple[str, str], DiscoveryRecord] = {}
        self.matches: dict[tuple[str, str], MatchResult] = {}
        self.zeroconf = SharedZeroconf(config.mdns_interfaces)
        self.problems: list[str] = []
        # Services plug-ins offer to the API, looked up at request time ("rules", "scenes",
        # "notifications" from the rules plug-in); absent ones answer 503.
        self.services: dict[str, Any] = {}
        self.commands = CommandService(
            self.bus,
            self.states,
            self.registry,
            self.arbiter,
            self.profiles.runtime_for,
            self._link_of,
        )
        self.started_at = 0.0
        self.startup_ms = 0.0
        self._stop_hooks: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        self._stopped = asyncio.Event()
        self._running = False
        self._yaml_cache = config.data_dir / "cache" / "yaml"

    # -- HubAccess for integrations ------------------------------------------------------------
    def report_discovery(self, record: DiscoveryRecord) -> None:
        """An integration saw (or lost) something; match it against the profile library."""
        key = (record.integration, record.key)
        if record.gone:
            self.discoveries.pop(key, None)
            self.matches.pop(key, None)
        else:
            self.discoveries[key] = record
            library = self.profiles.library
            if library is not None:
                self.matches[key] = library.match(record)
        self.bus.fire(DISCOVERY_CHANGED, record, Context(Origin.INTEGRATION, record.integration))

    def pending_discoveries(self) -> list[tuple[DiscoveryRecord, MatchResult | None]]:
        """Discovered things not yet added as devices, with their profile candidates."""
        out = []
        for key, record in self.discoveries.items():
            if self.registry.find_by_identity(record.integration, "key", record.key) is None:
                out.append((record, self.matches.get(key)))
        return out

    def fire_device_event(self, event: DeviceEvent, context: Context | None = None) -> None:
        self.bus.fire(DEVICE_EVENT, event, context or Context(Origin.DEVICE, event.device))

    async def add_discovered(
        self,
        integration: str,
        key: str,
        *,
        secrets: Mapping[str, str],
        name_zh: str,
        name_en: str,
        room_id: str | None = None,
        profile_id: str | None = None,
        context: Context | None = None,
    ) -> Device:
        """Add a discovered device: pick its profile (the matcher's unambiguous best unless one
        is given), let the integration pair with it, then register it. Raises HubError."""
        record = self.discoveries.get((integration, key))
        if record is None:
            raise HubError("unknown_discovery", status=404, integration=integration, key=key)
        existing = self.registry.find_by_identity(integration, "key", key)
        if existing is not None:
            raise HubError("already_added", status=409, key=key, device=existing.id)
        plugin = self.integrations.get(integration)
        if plugin is None:
            raise HubError("integration_missing", status=409, integration=integration)
        if room_id is not None and room_id not in {r.id for r in self.registry.rooms()}:
            raise HubError("unknown_room", room=room_id)
        if profile_id is None:
            match = self.matches.get((integration, key))
            if match is None or not match.candidates:
                raise HubError("no_matching_profile", status=422)
            if match.best is None:
                top = ", ".join(c[0] for c in match.candidates[:3])
                raise HubError("ambiguous_profile", status=409, candidates=top)
            profile_id = match.best
        elif self.profiles.get(profile_id) is None:
            raise HubError("unknown_profile", profile=profile_id)
        if not name_zh.strip() or not name_en.strip():
            raise HubError("bad_request", detail="name_zh and name_en are required")
        draft = Device(
            id=self.registry.new_id(name_en),
            name_zh=name_zh.strip(),
            name_en=name_en.strip(),
            profile_id=profile_id,
            integration=integration,
            transport=record.transport,
            identity={"key": key},
            room_id=room_id,
            address=record.address,
        )
        try:
            device = await plugin.async_add_device(record, draft, secrets)
        except IntegrationError as err:
            params = getattr(err, "params", None)
            if isinstance(params, dict):  # the integration worded it in zh and en: keep that
                raise HubError(err.code, status=getattr(err, "status", 422), **params) from err
            raise HubError("add_failed", status=422, detail=str(err)) from err
        device.identity.setdefault("key", key)
        added = self.registry.add(device, context)
        # The pairing window on the device is closed now: make sure its key is on disk before
        # answering, or a crash in between would mean pairing by hand again.
        wait_key_stored = getattr(plugin, "wait_key_stored", None)
        if wait_key_stored is not None:
            await wait_key_stored(added.id)
        return added

    def _link_of(self, device: Device) -> DeviceLink | None:
        integration = self.integrations.get(device.integration)
        return integration.link(device.id) if integration is not None else None

    def add_stop_hook(self, name: str, hook: Callable[[], Awaitable[None]]) -> None:
        """Run ``hook`` on stop, before storage closes (reverse order of registration)."""
        self._stop_hooks.append((name, hook))

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        started = time.perf_counter()
        self.started_at = time.time()
        loop = asyncio.get_running_loop()
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        # Parsed YAML (catalogue, profiles, rule packs) is cached by content for the next start.
        yamlio.use_cache(self._yaml_cache)

        # 1. storage: migrations, then the registry and the last known states (with their age).
        self.storage = await Storage.open(
            self.config.database, retention_days=self.config.retention_days
        )
        rooms, devices = await self.storage.load_registry()
        self.registry.restore(rooms, devices)
        self.registry.attach_store(self.storage)
        self.states.restore(await self.storage.load_last_states())
        self.recorder = Recorder(self.storage, self.bus, self.tasks)
        self.recorder.start()
        self.bus.listen(COMMAND_RESULT, self._audit_command)

        # 2. catalogue and profiles (file I/O off the loop); broken ones are set aside.
        catalogue, problems = await loop.run_in_executor(None, self.profiles.load, self.config)
        self.catalogue = catalogue
        self.problems.extend(problems)
        for problem in problems:
            _LOGGER.warning("%s", problem)

        # 3. plug-ins: rules first, then integrations.
        factories, plugin_problems = discover_plugins(self.config.plugins)
        factories.extend(
            (getattr(f, "name", getattr(f, "__name__", "extra")), f) for f in self._extra_plugins
        )
        factories.sort(key=lambda item: plugin_order(item[1]))
        self.problems.extend(plugin_problems)
        for name, factory in factories:
            try:
                plugin = factory(self)
                await asyncio.wait_for(plugin.async_start(self), timeout=30)
            except Exception as err:  # one broken plug-in must not keep the hub down
                msg = f"plug-in {name} failed to start: {err}"
                _LOGGER.exception("Plug-in %s failed to start", name)
                self.problems.append(msg)
                continue
            self.plugins.append(plugin)
            if isinstance(plugin, Integration):
                self.integrations[plugin.domain] = plugin
        await loop.run_in_executor(None, yamlio.prune_cache)
        self._running = True
        self.startup_ms = (time.perf_counter() - started) * 1000
        self.bus.fire(HUB_STARTED, None)
        _LOGGER.info("Hub started in %.0f ms with %d devices", self.startup_ms, len(self.registry))
        # What exists now (modules, catalogue, profiles, rules: ~100,000 objects) lives as long
        # as the hub: keep it out of the collector's full passes, each ~30-70 ms of CPU with the
        # loop stalled. Undone on stop, so a process that starts many hubs (tests) frees them.
        gc.freeze()

    async def stop(self) -> None:
        if not self._running and self.storage is None:
            return
        self._running = False
        self.bus.fire(HUB_STOPPING, None)
        timeout = self.config.stop_timeout_s
        for name, hook in reversed(self._stop_hooks):
            await self._stage(name, hook(), timeout)
        for plugin in reversed(self.plugins):
            await self._stage(f"plug-in {plugin.name}", plugin.async_stop(), timeout)
        self.plugins.clear()
        self.integrations.clear()
        await self._stage("mdns", self.zeroconf.close(), timeout)
        if self.recorder is not None:
            await self._stage("recorder", self.recorder.stop(), timeout)
        left = await self.tasks.cancel_all(timeout)
        if left:
            _LOGGER.warning("Tasks still running after stop: %s", ", ".join(left))
        if self.storage is not None:
            await self._stage("storage", self.storage.close(), timeout)
            self.storage = None
        gc.unfreeze()
        if yamlio.cache_folder() == self._yaml_cache:
            yamlio.use_cache(None)
        self._stopped.set()

    async def _stage(self, name: str, awaitable: Awaitable[None], timeout: float) -> None:
        try:
            await asyncio.wait_for(awaitable, timeout)
        except TimeoutError:
            _LOGGER.error("Stopping %s took longer than %.0f s; moving on", name, timeout)
        except Exception:
            _LOGGER.exception("Stopping %s failed", name)

    async def wait_stopped(self) -> None:
        await self._stopped.wait()

    # -- helpers -------------------------------------------------------------------------------
    def _audit_command(self, event: Event[CommandResult]) -> None:
        """Every lock/valve/burner command and every refusal lands in the audit log."""
        result = event.data
        if self.storage is None or not (result.audited or result.status is CommandStatus.REFUSED):
            return
        outcome = {
            CommandStatus.REFUSED: AuditResult.REFUSED,
            CommandStatus.FAILED: AuditResult.FAILED,
            CommandStatus.TIMEOUT: AuditResult.FAILED,
        }.get(result.status, AuditResult.OK)
        self.storage.audit(
            AuditEntry.from_context(
                event.context,
                "command",
                outcome,
                target=f"{result.device}/{result.target}",
                detail={
                    "status": result.status.value,
                    "code": result.code,
                    "args": dict(result.args),
                    "message": result.message_en,
                    # how the user came in (session, token:<name>), set by the API
                    "via": next(
                        (c.actor for c in event.context.chain() if c.origin is Origin.API), None
                    ),
                },
            )
        )

    def info(self) -> HubInfo:
        from hub import __version__

        return HubInfo(
            __version__,
            self.started_at,
            self.startup_ms,
            [p.name for p in self.plugins],
            list(self.problems),
        )

    def describe(self) -> dict[str, Any]:
        info = self.info()
        return {
            "version": info.version,
            "started_at": info.started_at,
            "startup_ms": round(info.startup_ms, 1),
            "plugins": info.plugins,
            "problems": info.problems,
            "devices": len(self.registry),
            "integrations": {name: i.status() for name, i in self.integrations.items()},
        }
