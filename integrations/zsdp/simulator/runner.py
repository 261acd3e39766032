"""``Simulator``: runs a set of simulated devices in one process.

It starts each device on its own TCP port, advertises them over mDNS on one interface address,
drives simulated time (``speed`` simulated seconds per real second), keeps identities and keys in
a state file, writes a manifest (ids, ports, pairing codes, rooms, names) for tools and the demo
plug-in, and answers the control protocol (:mod:`.control`, documented in docs/simulator.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from integrations.zsdp.simulator.base import ActionError
from integrations.zsdp.simulator.device import DeviceSpec, SimulatedDevice, reports_json
from integrations.zsdp.simulator.home import Room
from integrations.zsdp.simulator.mdns import Advertiser
from integrations.zsdp.simulator.model import ModelError
from integrations.zsdp.simulator.state import StateFile

__all__ = ["ControlError", "Simulator"]

_LOGGER = logging.getLogger(__name__)
TICK_S = 0.25
MANIFEST_VERSION = 1
DEVICE_OPS = frozenset({"state", "actions", "act", "advance", "offline", "online"})


class ControlError(Exception):
    """A control request that failed; ``code`` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Simulator:
    def __init__(
        self,
        specs: Sequence[DeviceSpec],
        *,
        host: str = "127.0.0.1",
        advertise: bool = True,
        state: StateFile | None = None,
        rooms: Sequence[Room] = (),
        manifest: Path | None = None,
        speed: float = 1.0,
        pairing_window: float | None = 600.0,
    ) -> None:
        self.host = host
        self.speed = speed
        self.rooms = list(rooms)
        self.state = state or StateFile(None)
        self.manifest_path = manifest
        self.control_port: int | None = None
        self.advertiser = Advertiser(host) if advertise else None
        self.devices: dict[str, SimulatedDevice] = {}
        for spec in specs:
            # Without a state file the keys live in memory only (StateFile(None) never writes).
            device = SimulatedDevice(
                spec,
                key_store=self.state.keys(spec.key),
                advertiser=self.advertiser,
                host=host,
                pairing_window=pairing_window,
            )
            self.devices[device.device_id] = device
        self._ticker: asyncio.Task[None] | None = None
        self.started_at = 0.0

    async def start(self) -> None:
        self.started_at = time.monotonic()
        if self.state.dirty:
            await self.state.save()
        if self.advertiser is not None:
            await self.advertiser.start()
        try:
            # Devices come up together: each costs a listening socket and one mDNS record.
            await asyncio.gather(*(self._start_device(d) for d in self.devices.values()))
        except BaseException:
            await self.stop()
            raise
        self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="sim ticker")
        await self.write_manifest()

    async def _start_device(self, device: SimulatedDevice) -> None:
        """On the port it had before (recorded in the state file) when it is free, so a hub
        that remembers the address finds it again at once; else on any free port."""
        port = self.state.slot(device.spec.key).get("port")
        if isinstance(port, int) and port > 0:
            try:
                await device.start(port)
                return
            except OSError:
                _LOGGER.info("%s: port %d is taken; using another", device.device_id, port)
        await device.start(0)

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        await asyncio.gather(*(d.stop() for d in self.devices.values()), return_exceptions=True)
        if self.advertiser is not None:
            await self.advertiser.close()
        await self.state.close()

    async def _tick(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            for device in self.devices.values():
                try:
                    device.tick((now - last) * self.speed)
                except Exception:  # one device's bug must not stop time for the others
                    _LOGGER.exception("%s: a behaviour failed", device.device_id)
            last = now

    # ------------------------------------------------------------------ manifest

    def manifest(self) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "host": self.host,
            "control": {"host": "127.0.0.1", "port": self.control_port}
            if self.control_port
            else None,
            "mdns": self.advertiser.interface if self.advertiser is not None else None,
            "rooms": [r.as_dict() for r in self.rooms],
            "devices": [d.snapshot() for d in self.devices.values()],
        }

    async def write_manifest(self) -> None:
        for device in self.devices.values():
            slot = self.state.slot(device.spec.key)
            if slot.get("port") != device.port:
                slot["port"] = device.port
                self.state.changed()
        if self.manifest_path is None:
            return
        text = json.dumps(self.manifest(), indent=2, ensure_ascii=False)
        await asyncio.to_thread(_write_atomic, self.manifest_path, text)

    # ------------------------------------------------------------------ control

    def device(self, device_id: Any) -> SimulatedDevice:
        device = self.devices.get(str(device_id))
        if device is None:
            for candidate in self.devices.values():  # a home's device key works too
                if candidate.spec.key == device_id:
                    return candidate
            raise ControlError("unknown_device", f"no device {device_id!r}")
        return device

    async def handle(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """One control request -> its answer (``ok`` true, or false with error and message)."""
        try:
            return {"ok": True, **await self._dispatch(request)}
        except ControlError as err:
            return {"ok": False, "error": err.code, "message": err.message}
        except (ActionError, ModelError) as err:
            return {"ok": False, "error": "action_failed", "message": str(err)}

    async def _dispatch(self, request: Mapping[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "ping":
            return {}
        if op == "list":
            return {"devices": [d.snapshot() for d in self.devices.values()]}
        if op == "manifest":
            return self.manifest()
        if op not in DEVICE_OPS:
            raise ControlError("unknown_op", f"unknown op {op!r}")
        device = self.device(request.get("device"))
        match op:
            case "state":
                return {"device": device.device_id, **device.snapshot(), **device.state()}
            case "actions":
                return {"device": device.device_id, "actions": device.actions()}
            case "act":
                action = request.get("action")
                args = request.get("args") or {}
                if not isinstance(action, str) or not isinstance(args, Mapping):
                    raise ControlError("bad_request", "act needs action (text) and args (object)")
                reports = await device.act(action, args)
                return {"device": device.device_id, "reported": reports_json(reports)}
            case "advance":
                seconds = request.get("seconds")
                if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                    raise ControlError("bad_request", "advance needs seconds (a number)")
                reports = await device.advance(float(seconds))
                return {"device": device.device_id, "reported": reports_json(reports)}
            case "offline":
                await device.go_offline()
                return {"device": device.device_id, "online": False}
            case "online":
                await device.go_online()
                await self.write_manifest()
                return {"device": device.device_id, "online": True, "port": device.port}
        raise ControlError("unknown_op", f"unknown op {op!r}")


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
