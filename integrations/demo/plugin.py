"""The demo home (``zshub run --demo``): a plug-in that brings up simulated Zhongshan devices.

When ``hub.config.demo`` is set it starts the simulator as a subprocess with the home in
``demo_home.yaml`` (mDNS on 127.0.0.1, identities and keys in ``<data>/demo/keys.json``), reads
its manifest, creates the rooms, and adds each device as the ZS-DP integration discovers it,
pairing with the code from the manifest (for the demo only: a real home pairs each device with
the code on its label). When the BLE plug-in runs too, the home's ``ble_devices`` live in a
``zshub simulate-ble`` subprocess on a virtual radio and are added as the BLE integration hears
them (``ble_home.py``). On a restart with the same data directory the devices are in the
registry already and simply reconnect. It reports when every demo device is online.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from hub.core.context import Context, Origin
from hub.core.events import Event
from hub.core.integration import DISCOVERY_CHANGED, DiscoveryRecord
from hub.core.registry import AVAILABILITY_CHANGED, Availability, Device, Room
from hub.plugins import ENTRY_POINT_GROUP
from integrations.demo import ble_home
from integrations.demo.ble_home import BLE, BleDemoDevice
from integrations.demo.child import SimulatorProcess

if TYPE_CHECKING:
    from hub.app import Hub

__all__ = ["HOME_FILE", "DemoHome", "demo_factory", "setup"]

_LOGGER = logging.getLogger(__name__)

HOME_FILE = Path(__file__).with_name("demo_home.yaml")
START_TIMEOUT_S = 30.0
ADOPT_ATTEMPTS = 3
ZSDP = "zsdp"


class DemoHome:
    """Plug-in ``demo`` (kind ``service``); does nothing unless the hub runs with ``--demo``."""

    name = "demo"
    kind: Literal["service"] = "service"

    def __init__(self, hub: Hub, home_file: Path = HOME_FILE, *, ble: bool | None = None) -> None:
        """``ble``: run the home's BLE devices (None: when the ``ble`` plug-in is enabled)."""
        self._hub = hub
        self._home_file = home_file
        self._ble_wanted = ble
        self.folder = hub.config.data_dir / "demo"
        self.manifest: dict[str, Any] | None = None
        self.devices: dict[str, dict[str, Any]] = {}  # ZS-DP device id -> manifest entry
        self.ready = asyncio.Event()
        self.ready_after: float | None = None  # seconds from the plug-in's start
        self.control_port: int | None = None
        # BLE: the simulator's manifest and control port; None while it starts, or without BLE
        self.ble_manifest: dict[str, Any] | None = None
        self.ble_control_port: int | None = None
        self.ble_devices: dict[str, BleDemoDevice] = {}  # home key -> device (with bind key)
        self._ble_starting = False  # readiness waits for the BLE devices while this is set
        # BLE devices the demo added once: one the owner removed stays discovered (to be added
        # by hand with its bind key) instead of coming back by itself
        self._ble_added: set[str] = set()
        self.simulator: SimulatorProcess | None = None
        self.ble_simulator: SimulatorProcess | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unsubscribe: list[Any] = []
        self._wake = asyncio.Event()
        self._adopting: set[str] = set()
        self._failures: dict[str, int] = {}
        self._started = 0.0
        self._missing_logged = False
        self._timer: asyncio.TimerHandle | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def async_start(self, hub: Any) -> None:
        if not self._hub.config.demo:
            return
        self._started = time.monotonic()
        manifest = self.folder / "manifest.json"
        ble_devices = await asyncio.to_thread(self._prepare, manifest)
        bus = self._hub.bus
        self._unsubscribe = [
            bus.listen(DISCOVERY_CHANGED, self._poke, event_filter=_ours),
            bus.listen(AVAILABILITY_CHANGED, self._poke),
        ]
        if ble_devices:
            await self._start_ble(ble_devices)
        self.simulator = SimulatorProcess(
            "simulator",
            "integrations.zsdp.simulator",
            [
                "--home",
                str(self._home_file),
                "--manifest",
                str(manifest),
                "--state",
                str(self.folder / "keys.json"),
                "--control",
                "0",
                "--host",
                "127.0.0.1",
                "--stop-on-eof",
            ],
            self._spawn,
        )
        await self.simulator.start()
        self._spawn(self._bring_up(manifest), "demo bring-up")

    async def _start_ble(self, devices: list[BleDemoDevice]) -> None:
        """Start the BLE simulator on a relay port the hub's radio is pointed at first (the BLE
        integration starts after this plug-in and reads ``ble_radio`` then)."""
        port = ble_home.free_loopback_port()
        if not ble_home.point_radio_at(self._hub, port):
            return
        manifest = self.folder / "ble_manifest.json"
        self._ble_starting = True
        self.ble_simulator = SimulatorProcess(
            "BLE simulator",
            "integrations.ble.virtual",
            [
                "--devices",
                str(self.folder / "ble_devices.json"),
                "--listen",
                f"127.0.0.1:{port}",
                "--control",
                "127.0.0.1:0",
                "--manifest",
                str(manifest),
                "--stop-on-eof",
            ],
            self._spawn,
        )
        await self.ble_simulator.start()
        self._spawn(self._ble_up(manifest, devices), "demo BLE bring-up")

    async def _ble_up(self, manifest: Path, devices: list[BleDemoDevice]) -> None:
        simulator = self.ble_simulator
        try:
            if simulator is None or not await simulator.wait_ready(START_TIMEOUT_S):
                return
            data = json.loads(await asyncio.to_thread(manifest.read_text, encoding="utf-8"))
            self.ble_manifest = data
            self.ble_control_port = (data.get("control") or {}).get("port")
            self.ble_devices = {d.key: d for d in ble_home.with_manifest(devices, data)}
            ble_home.retry_scanner_now(self._hub)
        finally:
            self._ble_starting = False  # ready or given up: readiness no longer waits for it
            self._wake.set()

    def _prepare(self, manifest: Path) -> list[BleDemoDevice]:
        """Blocking file work (in a thread): the folder, no stale manifests, the BLE devices
        file when this demo runs its BLE devices."""
        self.folder.mkdir(parents=True, exist_ok=True)
        manifest.unlink(missing_ok=True)  # a stale one must not be taken for this run's
        (self.folder / "ble_manifest.json").unlink(missing_ok=True)
        if not self._ble_enabled():
            return []
        self._ble_added = ble_home.load_added(self.folder / ble_home.ADDED_FILE)
        try:
            devices = ble_home.load_ble_devices(self._home_file)
        except (OSError, ValueError) as err:
            _LOGGER.error("demo: BLE devices left out: %s", err)
            return []
        ble_home.write_simulator_devices(devices, self.folder / "ble_devices.json")
        return devices

    def _ble_enabled(self) -> bool:
        if self._ble_wanted is not None:
            return self._ble_wanted
        enabled = self._hub.config.plugins
        if enabled is not None and BLE not in enabled:
            return False
        return any(ep.name == BLE for ep in entry_points(group=ENTRY_POINT_GROUP))

    async def async_stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self._timer is not None:
            self._timer.cancel()
        for simulator in (self.simulator, self.ble_simulator):
            if simulator is not None:
                await simulator.stop()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _LOGGER.error("demo: %s failed", task.get_name(), exc_info=task.exception())

    # -- bringing the home up ----------------------------------------------------------------

    def _poke(self, event: Event[Any]) -> None:
        self._wake.set()

    async def _bring_up(self, manifest: Path) -> None:
        if self.simulator is None or not await self.simulator.wait_ready(START_TIMEOUT_S):
            return
        data = json.loads(await asyncio.to_thread(manifest.read_text, encoding="utf-8"))
        self.manifest = data
        self.control_port = (data.get("control") or {}).get("port")
        self.devices = {d["id"]: d for d in data["devices"]}
        self._create_rooms(data.get("rooms", []))
        while True:
            self._wake.clear()
            await self._adopt_discovered()
            if not self.ready.is_set() and self._all_online():
                self._announce()
            await self._wake.wait()

    def _create_rooms(self, rooms: list[dict[str, str]]) -> None:
        registry = self._hub.registry
        known = {r.id for r in registry.rooms()}
        context = Context(Origin.INTEGRATION, "demo")
        for order, room in enumerate(rooms):
            if room["id"] not in known:
                registry.upsert_room(
                    Room(room["id"], room["name_zh"], room["name_en"], order), context
                )

    def _device_of(self, zsdp_id: str) -> Device | None:
        return self._hub.registry.find_by_identity(ZSDP, "key", zsdp_id)

    async def _adopt_discovered(self) -> None:
        integration = self._hub.integrations.get(ZSDP)
        if integration is None:  # still starting (it starts after this service plug-in)
            waited = time.monotonic() - self._started
            if waited > START_TIMEOUT_S and not self._missing_logged:
                self._missing_logged = True
                _LOGGER.error("demo: no zsdp integration after %.0f s; is it installed?", waited)
            self._later(0.1 if waited < START_TIMEOUT_S else 2.0)
            return
        for zsdp_id, entry in self.devices.items():
            if zsdp_id in self._adopting or self._device_of(zsdp_id) is not None:
                continue
            record = self._hub.discoveries.get((ZSDP, zsdp_id))
            if record is None or self._failures.get(zsdp_id, 0) >= ADOPT_ATTEMPTS:
                continue
            self._adopting.add(zsdp_id)
            self._spawn(self._adopt(integration, record, entry), f"demo adopt {zsdp_id}")
        self._adopt_ble_discovered()

    def _adopt_ble_discovered(self) -> None:
        """Add each demo BLE device once the BLE integration has heard it."""
        if BLE not in self._hub.integrations:
            return
        for device in self.ble_devices.values():
            key = f"{BLE} {device.address}"
            if key in self._adopting or device.key in self._ble_added:
                continue
            if ble_home.find_device(self._hub, device) is not None:
                continue
            if self._hub.discoveries.get((BLE, device.address)) is None:
                continue
            if self._failures.get(key, 0) >= ADOPT_ATTEMPTS:
                continue
            self._adopting.add(key)
            self._spawn(self._adopt_ble(key, device), f"demo adopt {device.key}")

    async def _adopt_ble(self, key: str, device: BleDemoDevice) -> None:
        try:
            await ble_home.add_device(self._hub, device)
            self._ble_added.add(device.key)
            path = self.folder / ble_home.ADDED_FILE
            await asyncio.to_thread(ble_home.save_added, path, self._ble_added)
        except Exception as err:
            failures = self._failures[key] = self._failures.get(key, 0) + 1
            _LOGGER.warning("demo: adding %s failed (%d): %s", device.key, failures, err)
            self._later(0.5 * failures)
        finally:
            self._adopting.discard(key)
            self._wake.set()

    async def _adopt(
        self, integration: Any, record: DiscoveryRecord, entry: dict[str, Any]
    ) -> None:
        zsdp_id = record.key
        try:
            await integration.adopt(
                self._hub,
                record,
                pairing_code=entry["pairing_code"],
                name_zh=entry["name"]["zh"],
                name_en=entry["name"]["en"],
                room_id=entry.get("room"),
                profile_id=entry["profile_id"],
                context=Context(Origin.INTEGRATION, "demo"),
            )
            _LOGGER.info("demo: added %s (%s)", entry["name"]["en"], zsdp_id)
        except Exception as err:
            failures = self._failures[zsdp_id] = self._failures.get(zsdp_id, 0) + 1
            _LOGGER.warning("demo: adding %s failed (%d): %s", zsdp_id, failures, err)
            if getattr(err, "code", None) == "pairing_closed":
                await self._open_pairing(zsdp_id)  # removed earlier: hold its pairing button
            self._later(0.5 * failures)
        finally:
            self._adopting.discard(zsdp_id)
            self._wake.set()

    async def _open_pairing(self, zsdp_id: str) -> None:
        if self.control_port is None:
            return
        from integrations.zsdp.simulator.control import SimulatorControl, SimulatorControlError

        try:
            async with await SimulatorControl.connect(self.control_port) as control:
                await control.act(zsdp_id, "open_pairing")
        except (OSError, SimulatorControlError) as err:
            _LOGGER.warning("demo: could not open pairing on %s: %s", zsdp_id, err)

    def _later(self, delay: float) -> None:
        """Wake the bring-up loop in ``delay`` s (one timer: the earliest wins)."""
        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        timer = self._timer
        if timer is not None and not timer.cancelled() and loop.time() < timer.when() <= when:
            return
        if timer is not None:
            timer.cancel()
        self._timer = loop.call_at(when, self._wake.set)

    def _all_online(self) -> bool:
        if not self.devices or self._ble_starting:
            return False
        devices = [self._device_of(zsdp_id) for zsdp_id in self.devices]
        if BLE in self._hub.integrations:
            devices += [
                ble_home.find_device(self._hub, d)
                for d in self.ble_devices.values()
                if d.key not in self._ble_added or ble_home.find_device(self._hub, d) is not None
            ]  # not one the owner removed
        return all(d is not None and d.availability is Availability.ONLINE for d in devices)

    def demo_devices(self) -> list[Device]:
        """The hub's devices of the demo home that are in the registry (ZS-DP and BLE)."""
        found = [self._device_of(zsdp_id) for zsdp_id in self.devices]
        found += [ble_home.find_device(self._hub, d) for d in self.ble_devices.values()]
        return [d for d in found if d is not None]

    def _announce(self) -> None:
        self.ready_after = time.monotonic() - self._started
        self.ready.set()
        config = self._hub.config
        host = "127.0.0.1" if config.host in ("0.0.0.0", "::", "") else config.host
        where = f" — http://{host}:{config.port}/" if config.port else ""
        message = (
            f"演示家庭就绪 / demo home ready: {len(self.demo_devices())} devices online in "
            f"{self.ready_after:.1f} s{where}"
        )
        _LOGGER.info("%s", message)
        sys.stdout.write(message + "\n")
        sys.stdout.flush()


def _ours(record: DiscoveryRecord) -> bool:
    return record.integration in (ZSDP, BLE)


def setup(hub: Hub) -> DemoHome:
    """Plug-in factory (entry point ``demo = "integrations.demo.plugin:setup"``)."""
    return DemoHome(hub)


setup.kind = "service"  # type: ignore[attr-defined]  # plug-in ordering reads it off the factory


def demo_factory(*, ble: bool | None = None) -> Callable[[Hub], DemoHome]:
    """A factory for hubs built in code (tests): ``ble=True`` runs the BLE devices even though
    the ``ble`` plug-in is passed as an extra plug-in rather than enabled by name."""

    def factory(hub: Hub) -> DemoHome:
        return DemoHome(hub, ble=ble)

    factory.kind = "service"  # type: ignore[attr-defined]
    return factory
