"""The BLE integration: one scanner, discovery, BTHome devices, GATT links and availability.

* **Discovery:** every checked advertisement is a :class:`Sighting`. One from an address not
  in the registry becomes a :class:`DiscoveryRecord` (``key`` = the address, ``identity`` =
  :meth:`Sighting.identity`) when a profile fingerprint matches it or it carries BTHome data;
  other BLE chatter (phones, headphones) is only counted. Records are re-reported when the
  identity changes or every ``report_interval_s`` (RSSI, seen time), and reported ``gone`` after
  ``discovery_ttl_s`` of silence.
* **Adding** (``POST /api/devices``): the profile's ``bthome`` binding needs the bind key
  (secret ``bthome_bindkey``) when the device encrypts or the profile requires it; the key is
  checked against the device's last packet and refused when it does not decrypt, so nothing is
  stored for a wrong key. The key is stored as a device secret once the registry has the device.
* **Running:** BTHome packets pass :class:`BthomeReceiver` (key, downgrade, replays, repeats)
  and are decoded by the profile runtime; ``ble_gatt`` devices get a :class:`GattLink`.
* **Availability:** a device counts as present while it is heard (authenticated packets for an
  encrypted device) or connected. Silent for longer than its profile's
  ``safety.supervision.heartbeat_s`` x :attr:`BleSettings.grace` (else ``default_interval_s``),
  it becomes ``offline`` — or ``unknown`` when the profile says ``on_missing: unknown``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

from hub.core.context import Context, Origin
from hub.core.events import Event
from hub.core.integration import DeviceEvent, DiscoveryRecord, HubAccess, Integration
from hub.core.registry import DEVICE_ADDED, DEVICE_REMOVED, Availability, Device
from hub.errors import message
from integrations.ble import bthome
from integrations.ble.advertisement import Sighting
from integrations.ble.bthome import BTHOME_UUID, parse_bindkey
from integrations.ble.bthome_device import BthomeReceiver, Outcome, Verdict
from integrations.ble.gatt import ConnectionSlots, GattLink, GattSettings
from integrations.ble.problems import (
    BindkeyInvalidError,
    BindkeyMissingError,
    BindkeyWrongError,
    BleNotHeardError,
    EncryptionRequiredError,
    ProfileTransportError,
)
from integrations.ble.quietlog import QuietLog
from integrations.ble.radio import Radio, open_radio
from integrations.ble.scanner import HubScanner, ScannerSettings

if TYPE_CHECKING:
    from hub.app import Hub
    from hub.profiles.compiled import LoadedProfile
    from hub.storage.store import Storage

__all__ = ["BINDKEY_SECRET", "COUNTER_SECRET", "BleIntegration", "BleSettings"]

_LOGGER = logging.getLogger(__name__)

BINDKEY_SECRET = "bthome_bindkey"
COUNTER_SECRET = "bthome_counter"
DOMAIN = "ble"


@dataclass(frozen=True, slots=True)
class BleSettings:
    scanner: ScannerSettings = field(default_factory=ScannerSettings)
    gatt: GattSettings = field(default_factory=GattSettings)
    default_interval_s: float = 900.0  # expected gap when a profile declares no heartbeat
    grace: float = 1.25  # silent for heartbeat x grace: missing
    sweep_s: float = 5.0
    discovery_ttl_s: float = 600.0
    report_interval_s: float = 30.0
    counter_save_s: float = 300.0  # the replay counter is saved at least this often


@dataclass(slots=True)
class _Heard:
    rssi: int | None = None
    at: float | None = None  # wall clock
    packets: int = 0


@dataclass(slots=True)
class _BleDevice:
    """What the integration keeps per added device."""

    device_id: str
    address: str
    receiver: BthomeReceiver | None = None
    link: GattLink | None = None
    heard: _Heard = field(default_factory=_Heard)
    last_problem: str | None = None
    counter_saved: int | None = None
    counter_saved_at: float = 0.0


class BleIntegration(Integration):
    """Plug-in (``kind = "integration"``) for BLE advertisements and GATT devices."""

    domain: ClassVar[str] = DOMAIN
    transports: ClassVar[tuple[str, ...]] = ("ble", "bthome", "ble_gatt")
    name: str = DOMAIN
    kind: Literal["integration"] = "integration"

    def __init__(
        self,
        hub: Hub | None = None,
        *,
        settings: BleSettings | None = None,
        radio: str | None = None,
    ) -> None:
        self._hub = hub
        self.settings = settings or BleSettings()
        self._radio_spec = radio
        self.radio: Radio | None = None
        self.scanner: HubScanner | None = None
        self._config_error: str | None = None
        self._slots = ConnectionSlots(self.settings.gatt.max_connections)
        self._devices: dict[str, _BleDevice] = {}  # device id -> state
        self._by_address: dict[str, str] = {}  # address -> device id
        self._sightings: dict[str, Sighting] = {}  # address -> latest (not added)
        self._reported: dict[str, float] = {}  # address -> monotonic time of the last report
        self._pending_keys: dict[str, str] = {}  # device id -> key hex, until registered
        self._persisting: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unsubscribe: list[Any] = []
        self._sweeper: asyncio.Task[None] | None = None
        self._quiet = QuietLog(_LOGGER)
        self.unmatched = 0
        self._started = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def async_start(self, hub: HubAccess) -> None:
        if self._hub is None:
            needs = ("storage", "profiles", "discoveries", "config")
            if not all(hasattr(hub, n) for n in needs):
                raise TypeError(f"the ble integration needs a hub with {', '.join(needs)}")
            self._hub = cast("Hub", hub)
        h = self._hub
        spec = self._radio_spec if self._radio_spec is not None else _configured_radio(h)
        try:
            self.radio = open_radio(spec)
        except (ValueError, ImportError) as err:
            self._config_error = f"ble_radio {spec!r}: {err}"
            _LOGGER.error("ble: %s; BLE stays off", self._config_error)
        bus = h.bus
        self._unsubscribe = [
            bus.listen(DEVICE_ADDED, self._on_device_added, event_filter=_ours),
            bus.listen(DEVICE_REMOVED, self._on_device_removed, event_filter=_ours),
        ]
        self._started = True
        for device in list(h.registry):
            if _ours(device):
                await self._attach(device, await self._stored_key(device.id))
        if self.radio is not None:
            # A running scan may bring encrypted BTHome packets: load their cipher meanwhile.
            self.scanner = HubScanner(
                self.radio, self._on_sighting, self.settings.scanner, on_scanning=bthome.preload
            )
            self.scanner.start()
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep(), name="ble sweep")
        _LOGGER.info("ble: started with %d device(s) on the %s radio", len(self._devices), spec)

    async def async_stop(self) -> None:
        self._started = False
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        if self.scanner is not None:
            await self.scanner.stop()
        links = [d.link for d in self._devices.values() if d.link is not None]
        await asyncio.gather(*(link.stop() for link in links), return_exceptions=True)
        for state in self._devices.values():
            self._save_counter(state, force=True)
        if self._persisting:  # a key or counter write in flight: let it land
            await asyncio.wait(list(self._persisting.values()), timeout=2.0)
        tasks = [*self._tasks, *self._persisting.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._persisting.clear()
        self._devices.clear()
        self._by_address.clear()
        if self.radio is not None:
            try:
                await self.radio.close()
            except Exception:  # the radio is gone anyway
                _LOGGER.debug("ble: closing the radio failed", exc_info=True)

    def link(self, device_id: str) -> GattLink | None:
        state = self._devices.get(device_id)
        return state.link if state is not None else None

    def status(self) -> dict[str, Any]:
        scanner = self.scanner.status() if self.scanner is not None else None
        ok = self._config_error is None and self.scanner is not None and self.scanner.ok
        out: dict[str, Any] = {
            "ok": ok,
            "radio": self.radio.spec if self.radio is not None else None,
            "scanner": scanner,
            "devices": len(self._devices),
            "discovered": len(self._sightings),
            "unmatched_advertisers": self.unmatched,
            "connections": {
                "max": self._slots.size,
                "in_use": self._slots.in_use,
                "waiting": self._slots.waiting,
            },
            "links": {d.device_id: self._device_status(d) for d in self._devices.values()},
        }
        if not ok:
            detail = self._config_error or (scanner.get("error") if scanner else None) or "starting"
            zh, en = message("ble_unavailable", detail=detail)
            out["error"] = detail
            out["error_kind"] = (
                "config" if self._config_error else (scanner or {}).get("error_kind")
            )
            out["message"] = {"zh": zh, "en": en}
            out["retry_at"] = (scanner or {}).get("retry_at")
        return out

    def _device_status(self, state: _BleDevice) -> dict[str, Any]:
        out: dict[str, Any] = {
            "address": state.address,
            "rssi": state.heard.rssi,
            "last_heard": state.heard.at,
            "packets": state.heard.packets,
            "last_problem": state.last_problem,
        }
        if state.receiver is not None:
            out["bthome"] = {
                "encrypted": state.receiver.key is not None,
                "counter": state.receiver.counter,
                "verdicts": dict(state.receiver.counts),
            }
        if state.link is not None:
            out["gatt"] = state.link.status()
        return out

    # -- adding and removing -----------------------------------------------------------------

    async def async_add_device(
        self, record: DiscoveryRecord, device: Device, secrets: Mapping[str, str]
    ) -> Device:
        """Check the profile's BLE binding and, for BTHome, the bind key against the device's
        last packet; returns the device ready to register. Raises a worded error."""
        hub = self._require_hub()
        address = record.key.upper()
        loaded = hub.profiles.get(device.profile_id) if device.profile_id else None
        if loaded is None:
            raise ProfileTransportError(profile=device.profile_id, transport="BLE")
        bthome = loaded.binding("bthome")
        gatt = loaded.binding("ble_gatt")
        if bthome is None and gatt is None:
            raise ProfileTransportError(profile=loaded.id, transport="BLE")
        sighting = self._sightings.get(address)
        if sighting is None:
            raise BleNotHeardError(device=address)
        key_hex: str | None = None
        if bthome is not None:
            key_hex = self._check_bindkey(address, loaded, sighting, secrets)
        if key_hex is not None:
            self._pending_keys[device.id] = key_hex
        transport = "bthome" if bthome is not None else "ble_gatt"
        identity = {**device.identity, "key": address}
        if sighting.local_name:
            identity["local_name"] = sighting.local_name
        return replace(
            device,
            integration=DOMAIN,
            transport=transport,
            identity=identity,
            address=address,
            config={**device.config, "ble": {"encrypted": key_hex is not None}},
        )

    def _check_bindkey(
        self,
        address: str,
        loaded: LoadedProfile,
        sighting: Sighting,
        secrets: Mapping[str, str],
    ) -> str | None:
        binding = loaded.binding("bthome")
        require = bool(binding is not None and binding.require_encryption)
        text = (secrets.get(BINDKEY_SECRET) or secrets.get("bindkey") or "").strip()
        key: bytes | None = None
        if text:
            try:
                key = parse_bindkey(text)
            except ValueError:
                raise BindkeyInvalidError() from None
        data = sighting.service_data.get(BTHOME_UUID)
        if data is None:
            raise BleNotHeardError(device=address)
        verdict = BthomeReceiver(key, require).verify(data, address)
        if verdict.verdict is Verdict.NO_KEY:
            raise BindkeyMissingError()
        if verdict.verdict is Verdict.WRONG_KEY:
            _LOGGER.warning("ble %s: bind key refused: %s", address, verdict.detail)
            raise BindkeyWrongError(device=address)
        if verdict.verdict is Verdict.PLAINTEXT_REFUSED:
            raise EncryptionRequiredError(device=address)
        if verdict.verdict is Verdict.MALFORMED:
            raise BleNotHeardError(device=address)
        return key.hex() if key is not None else None

    async def async_remove_device(self, device: Device) -> None:
        state = self._detach(device.id)
        if state is not None and state.link is not None:
            await state.link.stop()
        self._pending_keys.pop(device.id, None)
        storage = self._hub.storage if self._hub is not None else None
        if storage is not None:
            await storage.delete_secret(device.id)

    async def wait_key_stored(self, device_id: str) -> None:
        """Wait until the bind key of a just-added device is in storage."""
        task = self._persisting.get(device_id)
        if task is not None:
            await asyncio.shield(task)

    # -- registry events ---------------------------------------------------------------------

    def _on_device_added(self, event: Event[Device]) -> None:
        device = event.data
        key_hex = self._pending_keys.pop(device.id, None)
        if key_hex is not None:
            self._persist(device.id, BINDKEY_SECRET, key_hex)
        self._spawn(self._attach(device, key_hex), f"ble attach {device.id}")

    def _on_device_removed(self, event: Event[Device]) -> None:
        state = self._detach(event.data.id)
        if state is not None and state.link is not None:
            self._spawn(state.link.stop(), f"ble stop link {event.data.id}")

    async def _attach(self, device: Device, key_hex: str | None) -> None:
        hub = self._require_hub()
        if not self._started or device.id in self._devices:
            return
        address = str(device.identity.get("key") or device.address or "").upper()
        if not address:
            _LOGGER.error("ble %s: no address in the registry; not attached", device.id)
            return
        loaded = hub.profiles.get(device.profile_id) if device.profile_id else None
        state = _BleDevice(device.id, address)
        if loaded is not None and loaded.binding("bthome") is not None:
            binding = loaded.binding("bthome")
            assert binding is not None
            key = bytes.fromhex(key_hex) if key_hex else None
            state.receiver = BthomeReceiver(key, binding.require_encryption)
            state.receiver.counter = await self._stored_counter(device.id)
            state.counter_saved = state.receiver.counter
        if loaded is not None and loaded.binding("ble_gatt") is not None and self.radio is not None:
            state.link = GattLink(
                hub, device.id, address, self.radio, self._slots, self.settings.gatt
            )
            state.link.start()
        if device.id in self._devices or not self._started:  # raced with another attach
            if state.link is not None:
                await state.link.stop()
            return
        self._devices[device.id] = state
        self._by_address[address] = device.id
        sighting = self._sightings.pop(address, None)
        if sighting is not None:  # it was heard before it was added: use that packet now
            self._heard_device(state, sighting)

    def _detach(self, device_id: str) -> _BleDevice | None:
        state = self._devices.pop(device_id, None)
        if state is not None and self._by_address.get(state.address) == device_id:
            del self._by_address[state.address]
        return state

    # -- advertisements ----------------------------------------------------------------------

    def _on_sighting(self, sighting: Sighting) -> None:
        device_id = self._by_address.get(sighting.address)
        if device_id is not None:
            state = self._devices.get(device_id)
            if state is not None:
                self._heard_device(state, sighting)
            return
        self._discovered(sighting)

    def _discovered(self, sighting: Sighting) -> None:
        hub = self._hub
        if hub is None:
            return
        address = sighting.address
        previous = self._sightings.get(address)
        now = time.monotonic()
        if previous is None and not self._interesting(sighting):
            self.unmatched += 1
            return
        self._sightings[address] = sighting
        last = self._reported.get(address)
        if (
            previous is not None
            and previous.same_identity(sighting)
            and last is not None
            and now - last < self.settings.report_interval_s
        ):
            return
        self._reported[address] = now
        hub.report_discovery(self._record(sighting))

    def _interesting(self, sighting: Sighting) -> bool:
        """Worth showing as discovered: a profile matches it, or it speaks BTHome."""
        if BTHOME_UUID in sighting.service_data:
            return True
        library = self._hub.profiles.library if self._hub is not None else None
        if library is None:
            return False
        return bool(library.match(self._record(sighting)).candidates)

    def _record(self, sighting: Sighting, *, gone: bool = False) -> DiscoveryRecord:
        transport = "bthome" if BTHOME_UUID in sighting.service_data else "ble"
        return DiscoveryRecord(
            integration=DOMAIN,
            transport=transport,
            key=sighting.address,
            identity={**sighting.identity(), "rssi": sighting.rssi},
            name=sighting.local_name,
            address=sighting.address,
            seen_at=sighting.seen_at,
            gone=gone,
        )

    def _heard_device(self, state: _BleDevice, sighting: Sighting) -> None:
        hub = self._require_hub()
        heard = state.heard
        heard.rssi = sighting.rssi
        heard.packets += 1
        present = True
        receiver = state.receiver
        data = sighting.service_data.get(BTHOME_UUID)
        if receiver is not None and data is not None:
            outcome = receiver.receive(data, state.address, time.monotonic())
            present = self._apply_bthome(state, outcome)
        elif receiver is not None and receiver.key is not None:
            present = False  # an encrypted device proves itself only with a packet
        if state.link is not None:
            state.link.wake()
        if present:
            heard.at = sighting.seen_at
            hub.registry.seen(state.device_id, sighting.seen_at)

    def _apply_bthome(self, state: _BleDevice, outcome: Outcome) -> bool:
        """Decode an accepted packet; log the others. True when the packet proves presence."""
        verdict = outcome.verdict
        if verdict is Verdict.REPEAT:
            return True
        if verdict is not Verdict.ACCEPTED:
            text = {
                Verdict.WRONG_KEY: "packet does not decrypt with the stored bind key "
                "(was the device re-keyed?); dropped",
                Verdict.NO_KEY: "encrypted packet but no bind key is stored; dropped",
                Verdict.PLAINTEXT_REFUSED: "plaintext packet refused (the device must encrypt)",
                Verdict.REPLAY: f"replayed packet refused: {outcome.detail}",
                Verdict.MALFORMED: f"malformed BTHome data dropped: {outcome.detail}",
            }.get(verdict, verdict.value)
            state.last_problem = text
            self._quiet.warning(
                f"{state.device_id} {verdict.value}", f"ble {state.device_id}: {text}"
            )
            return False
        packet = outcome.packet
        assert packet is not None and state.receiver is not None
        if packet.truncated:
            self._quiet.warning(
                f"{state.device_id} truncated",
                f"ble {state.device_id}: part of a BTHome packet ignored: {packet.truncated}",
            )
        hub = self._require_hub()
        device = hub.registry.get(state.device_id)
        loaded = hub.profiles.get(device.profile_id) if device and device.profile_id else None
        runtime = loaded.binding("bthome") if loaded is not None else None
        previous = state.receiver.remember(packet.objects)
        if runtime is None:
            return True
        try:
            result = runtime.decode(packet.objects, previous, self._state_lookup(state.device_id))
        except Exception as err:  # a profile/runtime problem must not stop the scanner
            self._quiet.warning(
                f"{state.device_id} decode", f"ble {state.device_id}: packet dropped: {err!r}"
            )
            return True
        context = Context(Origin.DEVICE, state.device_id)
        for path, value in result.states.items():
            hub.states.set(f"{state.device_id}/{path}", value, context)
        for path, fields in result.events:
            event = loaded.event_def(path) if loaded is not None else None
            priority = str(event.priority.value) if event is not None else "info"
            hub.fire_device_event(DeviceEvent(state.device_id, path, fields, priority), context)
        for problem in result.errors:
            self._quiet.warning(f"{state.device_id} value", f"ble {state.device_id}: {problem}")
        state.last_problem = None
        self._save_counter(state, force=bool(result.states and previous != state.receiver.objects))
        return True

    def _state_lookup(self, device_id: str) -> Any:
        states = self._require_hub().states
        return lambda path: states.value(f"{device_id}/{path}")

    # -- availability and housekeeping -------------------------------------------------------

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sweep_s)
            try:
                self.check_availability()
                self._forget_silent()
            except Exception:
                _LOGGER.exception("ble: availability check failed")

    def check_availability(self, now: float | None = None) -> None:
        """Mark devices silent for longer than their expected interval missing."""
        hub = self._hub
        if hub is None:
            return
        now = time.time() if now is None else now
        for state in list(self._devices.values()):
            device = hub.registry.get(state.device_id)
            if device is None:
                continue
            if state.link is not None and state.link.gatt_connected:
                hub.registry.seen(state.device_id)  # connected is present (at the real time)
                continue
            interval, on_missing = self._expected(device)
            last = device.last_seen
            if last is not None and now - last <= interval * self.settings.grace:
                continue
            missing = Availability.UNKNOWN if on_missing == "unknown" else Availability.OFFLINE
            if device.availability is not missing:
                _LOGGER.warning(
                    "ble %s: not heard for %s; now %s",
                    state.device_id,
                    "ever" if last is None else f"{now - last:.0f} s",
                    missing.value,
                )
                hub.registry.set_availability(
                    state.device_id, missing, Context(Origin.INTEGRATION, DOMAIN)
                )

    def _expected(self, device: Device) -> tuple[float, str]:
        hub = self._require_hub()
        loaded = hub.profiles.get(device.profile_id) if device.profile_id else None
        supervision = loaded.model.safety.supervision if loaded is not None else None
        if supervision is None:
            return self.settings.default_interval_s, "warn"
        return float(supervision.heartbeat_s), supervision.on_missing

    def _forget_silent(self) -> None:
        hub = self._hub
        cutoff = time.time() - self.settings.discovery_ttl_s
        for address, sighting in list(self._sightings.items()):
            if sighting.seen_at < cutoff:
                del self._sightings[address]
                self._reported.pop(address, None)
                if hub is not None:
                    hub.report_discovery(self._record(sighting, gone=True))

    # -- storage -----------------------------------------------------------------------------

    async def _stored_key(self, device_id: str) -> str | None:
        storage = self._storage()
        if storage is None:
            return None
        text = await storage.get_secret(device_id, BINDKEY_SECRET)
        if text is None:
            return None
        try:
            return parse_bindkey(text).hex()
        except ValueError:
            _LOGGER.error(
                "ble %s: the stored bind key is unusable; add the device again", device_id
            )
            return None

    async def _stored_counter(self, device_id: str) -> int | None:
        storage = self._storage()
        if storage is None:
            return None
        text = await storage.get_secret(device_id, COUNTER_SECRET)
        return int(text) if text is not None and text.isdigit() else None

    def _save_counter(self, state: _BleDevice, *, force: bool = False) -> None:
        """Keep the replay counter across restarts: saved when the state changed, else at
        most every ``counter_save_s`` (a write per packet would wear the disk)."""
        receiver = state.receiver
        if receiver is None or receiver.counter is None or receiver.counter == state.counter_saved:
            return
        now = time.monotonic()
        if not force and now - state.counter_saved_at < self.settings.counter_save_s:
            return
        state.counter_saved = receiver.counter
        state.counter_saved_at = now
        self._persist(state.device_id, COUNTER_SECRET, str(receiver.counter))

    def _persist(self, device_id: str, name: str, value: str) -> None:
        storage = self._storage()
        if storage is None:
            return

        async def persist() -> None:
            try:
                await storage.set_secret(device_id, name, value)
            except Exception:
                _LOGGER.exception("ble %s: could not store %s", device_id, name)
                raise

        task = asyncio.get_running_loop().create_task(persist(), name=f"ble {name} {device_id}")
        key = device_id if name == BINDKEY_SECRET else f"{device_id} {name}"
        self._persisting[key] = task

        def done(t: asyncio.Task[None]) -> None:
            if self._persisting.get(key) is t:
                del self._persisting[key]
            if not t.cancelled():
                t.exception()  # retrieved: persist() logged it

        task.add_done_callback(done)

    # -- helpers -----------------------------------------------------------------------------

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                _LOGGER.error("ble: %s failed", t.get_name(), exc_info=t.exception())

        task.add_done_callback(done)

    def _require_hub(self) -> Hub:
        if self._hub is None:
            raise RuntimeError("the ble integration is not started")
        return self._hub

    def _storage(self) -> Storage | None:
        return self._hub.storage if self._hub is not None else None

    def sightings(self) -> dict[str, Sighting]:
        """The latest advertisement per address not yet added (diagnostics, tests)."""
        return dict(self._sightings)

    def device_states(self) -> dict[str, dict[str, Any]]:
        """Per added device: address, RSSI, last heard, BTHome and GATT figures."""
        return {d.device_id: self._device_status(d) for d in self._devices.values()}


def _ours(device: Device) -> bool:
    return device.integration == DOMAIN


def _configured_radio(hub: Hub) -> str:
    return str(getattr(hub.config, "ble_radio", None) or "system")
