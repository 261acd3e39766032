"""``zshub simulate-ble`` / ``python -m integrations.ble.virtual``: virtual BLE devices in their own
process, on a TCP relay a hub reaches with ``ble_radio = "tcp:127.0.0.1:PORT"``.

Devices come from a YAML file::

    devices:
      - {id: door, kind: bthome, address: "A4:C1:38:00:00:01", local_name: ZS-MC-0001,
         bindkey: 231d39c1d7cc1ab1aee224cd096db932, objects: {0x01: 93, 0x2D: 0}}
      - {id: cooktop, kind: gatt_profile, profile: device_profiles/demo-kitchen/jzt-b2.yaml,
         address: "A4:C1:38:00:00:02", local_name: ZS-RQZ-0002,
         state: {main/battery/percent: 88}}
      - {id: tag, kind: beacon, address: "A4:C1:38:00:00:03", local_name: ZS-TAG,
         manufacturer_data: {0xFFFF: 5a5302}}

The control socket takes one JSON object per line and answers one per line::

    {"op": "list"}
    {"op": "update", "device": "door", "objects": {"0x2D": 1}}
    {"op": "set", "device": "cooktop", "state": {"burner_left/burner/ignited": true}}
    {"op": "flame_out", "device": "cooktop", "component": "burner_left"}
    {"op": "disconnect" | "silent" | "resume" | "state", "device": "cooktop"}
    {"op": "rssi", "device": "door", "rssi": -80}
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from integrations.ble.virtual.air import VirtualAir
from integrations.ble.virtual.bthome import BthomeSensor
from integrations.ble.virtual.gatt_device import GattProfileDevice
from integrations.ble.virtual.peripheral import Beacon, VirtualPeripheral
from integrations.ble.virtual.relay import AirServer

__all__ = ["BleSimulator", "SimulatorControl", "SimulatorControlError", "build_device", "main"]

_LOGGER = logging.getLogger(__name__)


class SimulatorControlError(Exception):
    """The simulator refused a control request (the message says why)."""


def _int_key(key: Any) -> int:
    if isinstance(key, int):
        return key
    return int(str(key), 0)


def _hex_bytes(value: Any, what: str) -> bytes:
    if isinstance(value, bytes):
        return value
    try:
        return bytes.fromhex(str(value))
    except ValueError:
        raise ValueError(f"{what}: {value!r} is not hex bytes") from None


def build_device(spec: Mapping[str, Any], base: Path = Path()) -> tuple[str, VirtualPeripheral]:
    """One device of a devices file -> (id, peripheral); ValueError naming the problem."""
    device_id = str(spec.get("id") or spec.get("key") or spec.get("address") or "")
    kind = {"gatt": "gatt_profile"}.get(str(spec.get("kind")), spec.get("kind"))
    if not device_id or "address" not in spec:
        raise ValueError(f"device {dict(spec)!r}: needs id and address")
    common: dict[str, Any] = {"address": str(spec["address"])}
    for key in ("local_name", "rssi", "interval_ms"):
        if key in spec:
            common[key] = spec[key]
    if kind == "bthome":
        bindkey = spec.get("bindkey")
        objects = {_int_key(k): v for k, v in dict(spec.get("objects") or {}).items()}
        return device_id, BthomeSensor(
            objects=objects,
            bindkey=None if bindkey is None else _hex_bytes(bindkey, "bindkey"),
            **common,
        )
    if kind == "gatt_profile":
        path = _profile_path(str(spec.get("profile", "")), base)
        device = GattProfileDevice.from_profile(path, **common)
        _preset(device, dict(spec.get("state") or {}))  # not on the air yet: nothing to notify
        return device_id, device
    if kind == "beacon":
        manufacturer = {
            _int_key(k): _hex_bytes(v, "manufacturer_data")
            for k, v in dict(spec.get("manufacturer_data") or {}).items()
        }
        return device_id, Beacon(
            manufacturer_data=manufacturer,
            service_uuids=list(spec.get("service_uuids") or []),
            connectable=bool(spec.get("connectable", True)),
            **common,
        )
    raise ValueError(f"device {device_id}: kind must be bthome, gatt_profile or beacon")


def _profile_path(text: str, base: Path) -> Path:
    """A profile file (absolute, or relative to the devices file or the working directory), or a
    profile id looked up in the repository's ``device_profiles``."""
    for candidate in (Path(text), base / text):
        if text and candidate.is_file():
            return candidate
    profiles = Path(__file__).resolve().parents[3] / "device_profiles"
    for path in sorted(profiles.rglob("*.yaml")):
        with path.open(encoding="utf-8") as fh:
            if any(line.strip() == f"id: {text}" for line in fh):
                return path
    raise ValueError(f"profile {text!r}: no such file or profile id")


def _preset(device: GattProfileDevice, state: Mapping[str, Any]) -> None:
    work = dict(device.fields)
    for key, value in state.items():
        address, raw = (
            (key, int(value)) if key in work else device.field_value_for(key, value, work)
        )
        work[address] = raw
    device.fields = work


class BleSimulator:
    """An air with devices, its relay, and a control server."""

    def __init__(self, devices: Mapping[str, VirtualPeripheral]) -> None:
        self.air = VirtualAir("simulator")
        self.devices = dict(devices)
        self.relay = AirServer(self.air)
        self._control: asyncio.Server | None = None

    async def start(self, listen: tuple[str, int], control: tuple[str, int] | None) -> None:
        for device in self.devices.values():
            await self.air.add(device)
        await self.relay.start(*listen)
        if control is not None:
            self._control = await asyncio.start_server(self._serve, control[0], control[1])

    @property
    def control_port(self) -> int | None:
        return None if self._control is None else int(self._control.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._control is not None:
            self._control.close()
        await self.relay.close()
        await self.air.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    request = json.loads(line)
                    if not isinstance(request, dict):
                        raise ValueError("a request is a JSON object")
                    reply: dict[str, Any] = {"ok": True, "result": await self.handle(request)}
                except (ValueError, KeyError, TypeError) as err:
                    reply = {"ok": False, "error": str(err)}
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def _device(self, request: Mapping[str, Any]) -> VirtualPeripheral:
        name = request.get("device")
        device = self.devices.get(str(name))
        if device is None:
            raise ValueError(f"unknown device {name!r} (devices: {', '.join(self.devices)})")
        return device

    async def handle(self, request: Mapping[str, Any]) -> Any:
        op = request.get("op")
        if op == "list":
            return {
                name: {
                    "address": d.address,
                    "kind": type(d).__name__,
                    "advertising": d.advertising,
                    "connections": d.connection_count,
                }
                for name, d in self.devices.items()
            }
        device = self._device(request)
        if op == "update" and isinstance(device, BthomeSensor):
            await device.update({_int_key(k): v for k, v in dict(request["objects"]).items()})
            return {f"0x{k:02X}": v for k, v in device.objects.items()}
        if op == "set" and isinstance(device, GattProfileDevice):
            await device.set_state(dict(request["state"]))
            return device.state()
        if op == "state" and isinstance(device, GattProfileDevice):
            return {"state": device.state(), "writes": [w.hex() for w in device.writes]}
        if op == "flame_out" and isinstance(device, GattProfileDevice):
            await device.flame_out(str(request.get("component", "burner_left")))
            return device.state()
        if op == "disconnect":
            await device.drop_connections()
            return None
        if op == "silent":
            await device.go_silent()
            return None
        if op == "resume":
            await device.resume()
            return None
        if op == "rssi":
            device.set_rssi(int(request["rssi"]))
            return None
        raise ValueError(f"op {op!r} does not apply to {type(device).__name__}")


class SimulatorControl:
    """Client of the control socket (tests, the demo)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    async def request(self, op: str, **fields: Any) -> Any:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(json.dumps({"op": op, **fields}).encode() + b"\n")
            await writer.drain()
            reply = json.loads(await reader.readline())
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        if not reply.get("ok"):
            raise SimulatorControlError(reply.get("error", "request failed"))
        return reply.get("result")


def _hostport(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host, int(port)


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _run(args: argparse.Namespace) -> int:
    try:
        doc = yaml.safe_load(args.devices.read_text(encoding="utf-8")) or {}
        specs = None
        if isinstance(doc, dict):
            specs = doc.get("devices", doc.get("ble_devices"))
        if not isinstance(specs, list):
            raise ValueError("the file needs a 'devices:' (or 'ble_devices:') list")
        devices = dict(build_device(s, args.devices.parent) for s in specs)
    except (OSError, ValueError, yaml.YAMLError) as err:
        sys.stderr.write(f"zshub simulate-ble: {err}\n")
        return 2
    sim = BleSimulator(devices)
    await sim.start(args.listen, args.control)
    if args.manifest is not None:
        manifest = {
            "control": {"port": sim.control_port},
            "relay": {"port": sim.relay.port},
            "radio": sim.relay.spec,
            "devices": [_manifest_entry(key, d) for key, d in devices.items()],
        }
        args.manifest.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    _out(
        json.dumps(
            {"radio": sim.relay.spec, "control": sim.control_port, "devices": sorted(devices)}
        )
    )
    _out("ready")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    eof_task = None
    if args.stop_on_eof:
        eof_task = loop.create_task(_wait_eof(stop), name="ble simulator stdin")
    try:
        await stop.wait()
    finally:
        if eof_task is not None:
            eof_task.cancel()
        await sim.close()
    return 0


def _manifest_entry(key: str, device: VirtualPeripheral) -> dict[str, Any]:
    bindkey = device.bindkey if isinstance(device, BthomeSensor) else None
    return {
        "key": key,
        "kind": type(device).__name__,
        "address": device.address,
        "local_name": device.local_name,
        "profile_id": device.profile.id if isinstance(device, GattProfileDevice) else None,
        "bindkey": None if bindkey is None else bindkey.hex(),
    }


async def _wait_eof(stop: asyncio.Event) -> None:
    """Stop when the parent closes our stdin (it died or wants us gone)."""
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(4096):
        pass
    stop.set()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="zshub simulate-ble",
        description="Virtual BLE devices on a TCP relay (hub: ble_radio = tcp:HOST:PORT).",
    )
    p.add_argument("--devices", type=Path, required=True, help="YAML file with a devices: list")
    p.add_argument("--listen", type=_hostport, default=("127.0.0.1", 0), help="relay HOST:PORT")
    p.add_argument("--control", type=_hostport, default=None, help="control socket HOST:PORT")
    p.add_argument("--manifest", type=Path, help="write ports, addresses and bind keys here (JSON)")
    p.add_argument("--stop-on-eof", action="store_true", help="exit when stdin reaches end of file")
    args = p.parse_args(list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return asyncio.run(_run(args))
