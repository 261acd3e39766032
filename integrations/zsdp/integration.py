"""The ZS-DP integration: mDNS discovery, pairing, and one kept link per added device.

* Discovery: ``_zsdp._tcp`` is browsed on the hub's one shared ``AsyncZeroconf`` (QM questions);
  each resolved instance becomes a :class:`DiscoveryRecord` (``key`` = the ZS-DP device id,
  ``identity`` = ``{"service": "_zsdp._tcp", "txt": {...}}``), matched by the hub against the
  profile library; a goodbye reports it ``gone``.
* Adding: :meth:`ZsdpIntegration.async_add_device` pairs with the 8-digit code under the hub's
  stable id (storage meta ``hub_id``) and returns the device with its ZS-DP identity; the
  long-term key is stored as the device secret ``zsdp_ltk`` once the registry has the device.
  :meth:`ZsdpIntegration.adopt` does the whole add (profile choice, pairing, registry).
* Running: every registry device of this integration gets a :class:`ZsdpLink`, which reconnects
  by itself, across hub restarts too, from the stored key.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

from hub.core.context import Context, Origin
from hub.core.events import Event
from hub.core.integration import DiscoveryRecord, HubAccess, Integration
from hub.core.registry import DEVICE_ADDED, DEVICE_REMOVED, Device
from hub.errors import HubError
from integrations.zsdp import crypto
from integrations.zsdp.browser import SERVICE_NAME, Sighting, ZsdpBrowser
from integrations.zsdp.errors import ZsdpError
from integrations.zsdp.handshake import LongTermKey, normalize_pairing_code
from integrations.zsdp.hub import HubConnection
from integrations.zsdp.keystore import SECRET_NAME, dump_key
from integrations.zsdp.link import LinkSettings, ZsdpLink
from integrations.zsdp.messages import is_valid_id
from integrations.zsdp.problems import (
    DeviceUnreachableError,
    PairingCodeInvalidError,
    pairing_error_from,
)

if TYPE_CHECKING:
    from hub.app import Hub
    from hub.storage.store import Storage

__all__ = ["HUB_ID_META", "ZsdpIntegration", "parse_address"]

_LOGGER = logging.getLogger(__name__)

HUB_ID_META = "hub_id"
# Handshakes under way at once: a hub restarting among hundreds of devices would otherwise start
# them all together and let the slowest time out and retry. Pairing has its own slots so that
# kept links never queue behind a batch of additions.
CONNECT_CONCURRENCY = 16
PAIRING_CONCURRENCY = 8
_ID_CLEAN = re.compile(r"[^A-Za-z0-9._:-]")


def parse_address(address: str | None) -> tuple[str, int] | None:
    """``"10.0.0.5:6690"`` -> ``("10.0.0.5", 6690)``; None when missing or malformed."""
    if not address:
        return None
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host.strip("[]"), int(port)


def zsdp_hub_id(value: str) -> str:
    """The hub id as ZS-DP needs it (1-32 of ``A-Z a-z 0-9 . _ : -``), from the stored one."""
    if is_valid_id(value):
        return value
    cleaned = _ID_CLEAN.sub("", value)[:32]
    return cleaned or "zshub-" + hashlib.sha256(value.encode()).hexdigest()[:12]


class ZsdpIntegration(Integration):
    """Plug-in (``kind = "integration"``) for ZS-DP devices on the LAN."""

    domain: ClassVar[str] = "zsdp"
    transports: ClassVar[tuple[str, ...]] = ("mdns",)
    name: str = "zsdp"
    kind: Literal["integration"] = "integration"

    def __init__(
        self,
        hub: Hub | None = None,
        *,
        settings: LinkSettings | None = None,
        resolve_timeout: float = 3.0,
        pairing_timeout: float = 10.0,
    ) -> None:
        self._hub = hub
        self.settings = settings or LinkSettings()
        self._resolve_timeout = resolve_timeout
        self._pairing_timeout = pairing_timeout
        self._links: dict[str, ZsdpLink] = {}  # hub device id -> link
        self._connect_slots = asyncio.Semaphore(CONNECT_CONCURRENCY)
        self._pairing_slots = asyncio.Semaphore(PAIRING_CONCURRENCY)
        self._sightings: dict[str, Sighting] = {}  # ZS-DP device id -> latest sighting
        self._names: dict[str, str] = {}  # mDNS instance name -> ZS-DP device id
        self._pending_keys: dict[str, LongTermKey] = {}  # paired, not yet in the registry
        self._persisting: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unsubscribe: list[Any] = []
        self._browser: ZsdpBrowser | None = None
        self._browse_error: str | None = None
        self._hub_id: str | None = None
        self._hub_id_lock = asyncio.Lock()
        self._started = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def async_start(self, hub: HubAccess) -> None:
        if self._hub is None:
            needs = ("storage", "profiles", "zeroconf", "discoveries", "matches")
            if not all(hasattr(hub, name) for name in needs):
                raise TypeError(f"the zsdp integration needs a hub with {', '.join(needs)}")
            self._hub = cast("Hub", hub)
        bus = self._hub.bus
        self._unsubscribe = [
            bus.listen(DEVICE_ADDED, self._on_device_added, event_filter=self._ours),
            bus.listen(DEVICE_REMOVED, self._on_device_removed, event_filter=self._ours),
        ]
        self._started = True
        for device in self._hub.registry:
            if device.integration == self.domain:
                self._ensure_link(device.id)
        try:
            aiozc = await self._hub.zeroconf.get()
            browser = ZsdpBrowser(
                aiozc,
                on_found=self._on_found,
                on_gone=self._on_gone,
                on_announce=self._on_announce,
                resolve_timeout=self._resolve_timeout,
            )
            await browser.start()
            self._browser = browser
        except Exception as err:  # no mDNS (no interface, no permission): links still run
            self._browse_error = f"mDNS browsing unavailable: {err!r}"
            _LOGGER.exception("zsdp: cannot browse %s", SERVICE_NAME)
        _LOGGER.info("zsdp: started with %d device(s), browsing %s", len(self._links), SERVICE_NAME)

    async def async_stop(self) -> None:
        self._started = False
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self._browser is not None:
            await self._browser.stop()
            self._browser = None
        self._sightings.clear()
        self._names.clear()
        links = list(self._links.values())
        self._links.clear()
        await asyncio.gather(*(link.stop() for link in links), return_exceptions=True)
        if self._persisting:  # let key writes finish: losing one means pairing again
            await asyncio.wait(list(self._persisting.values()), timeout=2.0)
        tasks = [*self._tasks, *self._persisting.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._persisting.clear()

    def link(self, device_id: str) -> ZsdpLink | None:
        return self._links.get(device_id)

    def status(self) -> dict[str, Any]:
        links = list(self._links.values())
        return {
            "ok": self._browse_error is None,
            "browsing": self._browser is not None and self._browser.started,
            "devices": len(links),
            "connected": sum(1 for link in links if link.connected),
            "discovered": len(self._sightings),
            "error": self._browse_error,
            "links": {link.device_id: link.status() for link in links},
        }

    # -- adding and removing -----------------------------------------------------------------

    async def hub_id(self) -> str:
        """The id devices know this hub by: created once, kept in storage meta ``hub_id``."""
        async with self._hub_id_lock:
            if self._hub_id is None:
                storage = self._storage()
                stored = await storage.get_meta(HUB_ID_META)
                if stored is None:
                    stored = f"zshub-{secrets.token_hex(6)}"
                    await storage.set_meta(HUB_ID_META, stored)
                self._hub_id = zsdp_hub_id(stored)
            return self._hub_id

    async def async_add_device(
        self, record: DiscoveryRecord, device: Device, secrets: Mapping[str, str]
    ) -> Device:
        """Pair with the device (``secrets["pairing_code"]``) and return it ready to register.

        Raises a :class:`~integrations.zsdp.problems.WordedError` (an ``IntegrationError`` with
        ``code``, ``zh``, ``en``): ``pairing_failed`` for a wrong code, ``pairing_closed``,
        ``pairing_rate_limited``, ``pairing_busy``, ``wrong_device``, ``device_unreachable``.
        """
        try:
            code = normalize_pairing_code(str(secrets.get("pairing_code") or ""))
        except ValueError:
            raise PairingCodeInvalidError() from None
        key = record.key
        targets = self._targets(key, record.address)
        if not targets:
            raise DeviceUnreachableError(device=key, address="?", detail="no address known")
        hub_id = await self.hub_id()
        host, port = targets[0]
        address = f"{host}:{port}"
        started = time.perf_counter()
        try:
            async with self._pairing_slots:  # the pairing timeout starts with our turn
                conn = await HubConnection.connect(
                    host,
                    port,
                    key,
                    code,
                    hub_id=hub_id,
                    heartbeat_interval=self.settings.heartbeat_interval,
                    request_timeout=self.settings.request_timeout,
                    handshake_timeout=self._pairing_timeout,
                )
        except ZsdpError as err:
            _LOGGER.warning("zsdp: pairing with %s at %s failed: %s", key, address, err)
            raise pairing_error_from(err, key, address) from err
        try:
            info = conn.device
            ltk = conn.long_term_key
        finally:
            await conn.close()
        _LOGGER.info(
            "zsdp: paired with %s at %s as hub %s in %.0f ms",
            key,
            address,
            hub_id,
            (time.perf_counter() - started) * 1000,
        )
        txt = record.identity.get("txt") if isinstance(record.identity, Mapping) else None
        vid, pid = f"0x{info.vid:04X}", f"0x{info.pid:04X}"
        if isinstance(txt, Mapping) and (
            str(txt.get("vid", vid)).upper() != vid.upper()
            or str(txt.get("pid", pid)).upper() != pid.upper()
        ):
            _LOGGER.warning(
                "zsdp: %s announced vid/pid %s/%s but says %s/%s after pairing",
                key,
                txt.get("vid"),
                txt.get("pid"),
                vid,
                pid,
            )
        self._pending_keys[device.id] = ltk
        link = self._links.get(device.id)
        if link is not None:  # pairing an existing device again
            link.set_key(ltk)
            self._persist(device.id, ltk)
            self._pending_keys.pop(device.id, None)
        return replace(
            device,
            integration=self.domain,
            transport="mdns",
            identity={**device.identity, "key": key, "vid": vid, "pid": pid},
            address=address,
            config={
                **device.config,
                "zsdp": {"fw": info.fw, "model": info.model, "hub_id": hub_id},
            },
        )

    async def async_remove_device(self, device: Device) -> None:
        link = self._links.pop(device.id, None)
        if link is not None:
            await link.stop()
        self._pending_keys.pop(device.id, None)
        storage = self._hub.storage if self._hub is not None else None
        if storage is not None:
            await storage.delete_secret(device.id, SECRET_NAME)

    async def async_repair_device(self, device_id: str, pairing_code: str) -> Device:
        """Pair an already added device again (after a factory reset); keeps its id, states
        and rules. Raises like :meth:`async_add_device`."""
        hub = self._require_hub()
        device = hub.registry.device(device_id)
        key = str(device.identity.get("key", ""))
        sighting = self._sightings.get(key)
        record = DiscoveryRecord(
            integration=self.domain,
            transport="mdns",
            key=key,
            identity={"service": SERVICE_NAME, "txt": sighting.txt if sighting else {}},
            address=sighting.address if sighting else device.address,
        )
        paired = await self.async_add_device(record, device, {"pairing_code": pairing_code})
        await self.wait_key_stored(device_id)
        return hub.registry.update(
            device_id, identity=paired.identity, address=paired.address, config=paired.config
        )

    async def adopt(
        self,
        hub: Hub,
        record: DiscoveryRecord | str,
        *,
        pairing_code: str,
        name_zh: str,
        name_en: str,
        room_id: str | None = None,
        profile_id: str | None = None,
        context: Context | None = None,
    ) -> Device:
        """Add a discovered device: choose its profile (the matcher's unambiguous best when
        ``profile_id`` is None), pair, register, store the key; returns the registered device.

        Checks everything that can be checked before pairing (pairing closes the device's
        window). Raises ``HubError`` for what the user asked wrongly (unknown discovery, room or
        profile; no or ambiguous match; already added) and a ``WordedError`` for pairing.
        """
        if isinstance(record, str):
            found = hub.discoveries.get((self.domain, record))
            if found is None:
                raise HubError("unknown_discovery", status=404, integration=self.domain, key=record)
            record = found
        key = record.key
        existing = hub.registry.find_by_identity(self.domain, "key", key)
        if existing is not None:
            raise HubError("already_added", status=409, key=key, device=existing.id)
        if room_id is not None and room_id not in {r.id for r in hub.registry.rooms()}:
            raise HubError("unknown_room", room=room_id)
        if not name_zh.strip() or not name_en.strip():
            raise HubError("bad_request", detail="name_zh and name_en are required")
        profile_id = self._choose_profile(hub, record, profile_id)
        draft = Device(
            id=hub.registry.new_id(name_en),
            name_zh=name_zh.strip(),
            name_en=name_en.strip(),
            profile_id=profile_id,
            integration=self.domain,
            transport="mdns",
            identity={"key": key},
            room_id=room_id,
            address=record.address,
        )
        device = await self.async_add_device(record, draft, {"pairing_code": pairing_code})
        device = hub.registry.add(device, context or Context(Origin.INTEGRATION, self.domain))
        await self.wait_key_stored(device.id)
        return device

    def _choose_profile(self, hub: Hub, record: DiscoveryRecord, profile_id: str | None) -> str:
        if profile_id is not None:
            loaded = hub.profiles.get(profile_id)
            if loaded is None:
                raise HubError("unknown_profile", profile=profile_id)
        else:
            match = hub.matches.get((self.domain, record.key))
            if match is None and hub.profiles.library is not None:
                match = hub.profiles.library.match(record)
            if match is None or not match.candidates:
                raise HubError("no_matching_profile", status=422)
            if match.best is None:
                top = ", ".join(c[0] for c in match.candidates[:3])
                raise HubError("ambiguous_profile", status=409, candidates=top)
            profile_id = match.best
            loaded = hub.profiles.get(profile_id)
        if loaded is None or loaded.binding("zsdp") is None:
            raise HubError("profile_transport", profile=profile_id, transport="ZS-DP")
        return profile_id

    async def wait_key_stored(self, device_id: str) -> None:
        """Wait until the key of a just-added device is in storage (adding returns first)."""
        task = self._persisting.get(device_id)
        if task is not None:
            await asyncio.shield(task)

    # -- registry events ---------------------------------------------------------------------

    def _ours(self, device: Device) -> bool:
        return device.integration == self.domain

    def _on_device_added(self, event: Event[Device]) -> None:
        device = event.data
        key = self._pending_keys.pop(device.id, None)
        if key is not None:
            self._persist(device.id, key)
        self._ensure_link(device.id, key)

    def _on_device_removed(self, event: Event[Device]) -> None:
        link = self._links.pop(event.data.id, None)
        self._pending_keys.pop(event.data.id, None)
        if link is not None:
            self._keep(link.stop(), f"zsdp stop link {event.data.id}")

    def _persist(self, device_id: str, key: LongTermKey) -> None:
        async def persist() -> None:
            try:
                await self._storage().set_secret(device_id, SECRET_NAME, dump_key(key))
            except Exception:
                _LOGGER.exception("zsdp %s: could not store the pairing key", device_id)
                raise

        task = asyncio.get_running_loop().create_task(persist(), name=f"zsdp key {device_id}")
        self._persisting[device_id] = task

        def done(t: asyncio.Task[None]) -> None:
            if self._persisting.get(device_id) is t:
                del self._persisting[device_id]
            if not t.cancelled():
                t.exception()  # retrieved: persist() logged it

        task.add_done_callback(done)

    def _ensure_link(self, device_id: str, key: LongTermKey | None = None) -> ZsdpLink | None:
        if not self._started or self._hub is None:
            return None
        link = self._links.get(device_id)
        if link is None:
            link = ZsdpLink(
                self._hub,
                device_id,
                settings=self.settings,
                locate=self._locate,
                key=key,
                connect_slots=self._connect_slots,
                fleet_size=self._fleet_size,
            )
            self._links[device_id] = link
            link.start()
        elif key is not None:
            link.set_key(key)
        return link

    def _fleet_size(self) -> int:
        # Devices on the network count too: while a large home connects, the sessions made
        # first would otherwise get the short heartbeat of a small home and keep it (1,000
        # lamps: 250 pings a second where the budget is 100).
        return max(len(self._links), len(self._sightings))

    def _keep(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- discovery ---------------------------------------------------------------------------

    def _targets(self, key: str, address: str | None) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        sighting = self._sightings.get(key)
        if sighting is not None:
            out.append((sighting.host, sighting.port))
        known = parse_address(address)
        if known is not None and known not in out:
            out.append(known)
        return out

    def _locate(self, device: Device) -> list[tuple[str, int]]:
        return self._targets(str(device.identity.get("key", "")), device.address)

    def _link_for_key(self, key: str) -> ZsdpLink | None:
        if self._hub is None:
            return None
        device = self._hub.registry.find_by_identity(self.domain, "key", key)  # indexed
        return self._links.get(device.id) if device is not None else None

    def _on_found(self, sighting: Sighting) -> None:
        key = sighting.key
        previous = self._sightings.get(key)
        if previous is not None and previous.name != sighting.name:
            self._names.pop(previous.name, None)
        self._sightings[key] = sighting
        self._names[sighting.name] = key
        if previous is None:
            crypto.preload()  # a pairing or a session may follow: import the ciphers off the loop
        if previous != sighting and self._hub is not None:
            self._hub.report_discovery(
                DiscoveryRecord(
                    integration=self.domain,
                    transport="mdns",
                    key=key,
                    identity={"service": SERVICE_NAME, "txt": dict(sighting.txt)},
                    name=sighting.label,
                    address=sighting.address,
                )
            )
        link = self._link_for_key(key)
        if link is not None:
            link.wake()

    def _on_gone(self, name: str) -> None:
        key = self._names.pop(name, None)
        if key is None:
            return
        sighting = self._sightings.get(key)
        if sighting is None or sighting.name != name:
            return
        del self._sightings[key]
        if self._hub is not None:
            self._hub.report_discovery(
                DiscoveryRecord(
                    integration=self.domain,
                    transport="mdns",
                    key=key,
                    identity={"service": SERVICE_NAME, "txt": dict(sighting.txt)},
                    name=sighting.label,
                    address=sighting.address,
                    gone=True,
                )
            )

    def _on_announce(self, name: str) -> None:
        key = self._names.get(name)
        if key is not None:
            link = self._link_for_key(key)
            if link is not None and not link.connected:
                link.wake()

    # -- helpers -----------------------------------------------------------------------------

    def _require_hub(self) -> Hub:
        if self._hub is None:
            raise RuntimeError("the zsdp integration is not started")
        return self._hub

    def _storage(self) -> Storage:
        storage = self._require_hub().storage
        if storage is None:
            raise RuntimeError("the hub's storage is not open")
        return storage

    def sightings(self) -> dict[str, Sighting]:
        """The latest resolved announcement per ZS-DP device id (diagnostics, tests)."""
        return dict(self._sightings)
