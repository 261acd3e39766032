"""The demo home (``zshub run --demo``): a plug-in that brings up simulated Zhongshan devices.

When ``hub.config.demo`` is set it starts the simulator as a subprocess with the home in
``demo_home.yaml`` (mDNS on 127.0.0.1, identities and keys in ``<data>/demo/keys.json``), reads
its manifest, creates the rooms, and adds each device as the ZS-DP integration discovers it,
pairing with the code from the manifest (for the demo only: a real home pairs each device with
the code on its label). On a restart with the same data directory the devices are in the
registry already and simply reconnect. It reports when every demo device is online.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from hub.config import repo_root
from hub.core.context import Context, Origin
from hub.core.events import Event
from hub.core.integration import DISCOVERY_CHANGED, DiscoveryRecord
from hub.core.registry import AVAILABILITY_CHANGED, Availability, Device, Room

if TYPE_CHECKING:
    from hub.app import Hub

__all__ = ["HOME_FILE", "DemoHome", "setup"]

_LOGGER = logging.getLogger(__name__)

HOME_FILE = Path(__file__).with_name("demo_home.yaml")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 3.0
ADOPT_ATTEMPTS = 3
ZSDP = "zsdp"


class DemoHome:
    """Plug-in ``demo`` (kind ``service``); does nothing unless the hub runs with ``--demo``."""

    name = "demo"
    kind: Literal["service"] = "service"

    def __init__(self, hub: Hub, home_file: Path = HOME_FILE) -> None:
        self._hub = hub
        self._home_file = home_file
        self.folder = hub.config.data_dir / "demo"
        self.manifest: dict[str, Any] | None = None
        self.devices: dict[str, dict[str, Any]] = {}  # ZS-DP device id -> manifest entry
        self.ready = asyncio.Event()
        self.ready_after: float | None = None  # seconds from the plug-in's start
        self.control_port: int | None = None
        self._proc: asyncio.subprocess.Process | None = None
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
        await asyncio.to_thread(self._prepare, manifest)
        env = {**os.environ, "PYTHONPATH": _pythonpath()}
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "integrations.zsdp.simulator",
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
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        _LOGGER.info("demo: simulator started (pid %d)", self._proc.pid)
        bus = self._hub.bus
        self._unsubscribe = [
            bus.listen(DISCOVERY_CHANGED, self._poke, event_filter=_ours),
            bus.listen(AVAILABILITY_CHANGED, self._poke),
        ]
        ready_line = asyncio.get_running_loop().create_future()
        self._spawn(self._pipe(self._proc.stdout, logging.INFO, ready_line), "demo stdout")
        self._spawn(self._pipe(self._proc.stderr, logging.WARNING, None), "demo stderr")
        self._spawn(self._bring_up(manifest, ready_line), "demo bring-up")

    def _prepare(self, manifest: Path) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        manifest.unlink(missing_ok=True)  # a stale one must not be taken for this run's

    async def async_stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self._timer is not None:
            self._timer.cancel()
        await self._stop_process()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _stop_process(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)  # it says goodbye over mDNS and BYE to hubs
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            _LOGGER.warning("demo: the simulator did not stop in time; killing it")
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await asyncio.shield(proc.wait())  # reaped even when the stop is cut short
            raise
        finally:
            if proc.stdin is not None:
                proc.stdin.close()
        _LOGGER.info("demo: simulator stopped (exit %s)", proc.returncode)

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _LOGGER.error("demo: %s failed", task.get_name(), exc_info=task.exception())

    async def _pipe(
        self,
        stream: asyncio.StreamReader | None,
        level: int,
        ready: asyncio.Future[None] | None,
    ) -> None:
        """Forward the simulator's output to the log; resolve ``ready`` at its "ready" line."""
        if stream is None:
            return
        while line := await stream.readline():
            text = line.decode("utf-8", "replace").rstrip()
            if ready is not None and text == "ready" and not ready.done():
                ready.set_result(None)
            _LOGGER.log(level, "demo simulator: %s", text)
        if ready is not None and not ready.done():
            ready.set_exception(RuntimeError("the simulator exited before it was ready"))

    # -- bringing the home up ----------------------------------------------------------------

    def _poke(self, event: Event[Any]) -> None:
        self._wake.set()

    async def _bring_up(self, manifest: Path, ready_line: asyncio.Future[None]) -> None:
        try:
            await asyncio.wait_for(ready_line, START_TIMEOUT_S)
        except (TimeoutError, RuntimeError) as err:
            code = self._proc.returncode if self._proc is not None else None
            _LOGGER.error("demo: the simulator did not start (%s; exit code %s)", err, code)
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
        if not self.devices:
            return False
        for zsdp_id in self.devices:
            device = self._device_of(zsdp_id)
            if device is None or device.availability is not Availability.ONLINE:
                return False
        return True

    def _announce(self) -> None:
        self.ready_after = time.monotonic() - self._started
        self.ready.set()
        config = self._hub.config
        host = "127.0.0.1" if config.host in ("0.0.0.0", "::", "") else config.host
        where = f" — http://{host}:{config.port}/" if config.port else ""
        message = (
            f"演示家庭就绪 / demo home ready: {len(self.devices)} devices online in "
            f"{self.ready_after:.1f} s{where}"
        )
        _LOGGER.info("%s", message)
        sys.stdout.write(message + "\n")
        sys.stdout.flush()


def _ours(record: DiscoveryRecord) -> bool:
    return record.integration == ZSDP


def _pythonpath() -> str:
    """The simulator must import this source tree, wherever the hub was started from."""
    current = os.environ.get("PYTHONPATH")
    return os.pathsep.join(p for p in (str(repo_root()), current) if p)


def setup(hub: Hub) -> DemoHome:
    """Plug-in factory (entry point ``demo = "integrations.demo.plugin:setup"``)."""
    return DemoHome(hub)


setup.kind = "service"  # type: ignore[attr-defined]  # plug-in ordering reads it off the factory
