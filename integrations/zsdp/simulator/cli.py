"""``zshub simulate`` / ``python -m integrations.zsdp.simulator``.

Run simulated devices::

    zshub simulate PROFILE… [--count N] [--host 127.0.0.1] [--control PORT]
                   [--pairing-code CODE] [--id ID] [--manifest FILE] [--state FILE] [--speed X]
    zshub simulate --home FILE [--manifest FILE] [--state FILE] [--control PORT]

Act on running ones through their control socket::

    zshub simulate list|manifest --control PORT
    zshub simulate state|actions|offline|online --control PORT DEVICE
    zshub simulate act --control PORT DEVICE ACTION [name=value …]
    zshub simulate advance --control PORT DEVICE SECONDS

Check a device (real firmware, or a simulator) against the ZS-DP conformance checks::

    zshub simulate check HOST:PORT --device-id ID --pairing-code CODE [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

CLIENT_COMMANDS = frozenset(
    {"list", "manifest", "state", "actions", "act", "advance", "offline", "online"}
)


def _out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in CLIENT_COMMANDS:
        return _client_main(args)
    if args and args[0] == "check":
        from integrations.zsdp.simulator.conformance import main as check_main

        return int(check_main(args[1:]))
    return _run_main(args)


# ---------------------------------------------------------------------------- running


def _run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zshub simulate",
        description="Simulated ZS-DP devices from device profiles (docs/simulator.md). "
        "Other forms: zshub simulate list|state|actions|act|advance|offline|online|check …",
    )
    p.add_argument("profiles", nargs="*", help="profile files or profile ids from the library")
    p.add_argument("--home", type=Path, help="a home file with rooms and devices instead")
    p.add_argument("--count", type=int, default=1, help="devices per profile (default 1)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen and advertise on")
    p.add_argument(
        "--control", type=int, default=0, help="control socket port on 127.0.0.1 (0: any free)"
    )
    p.add_argument("--pairing-code", help="8-digit pairing code for every device")
    p.add_argument("--id", dest="device_id", help="device id (with --count N: ID-1 … ID-N)")
    p.add_argument("--manifest", type=Path, help="write ids, ports, codes and rooms here (JSON)")
    p.add_argument("--state", type=Path, help="keep ids, codes and paired keys in this file")
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    p.add_argument("--no-mdns", action="store_true", help="do not advertise over mDNS")
    p.add_argument(
        "--stop-on-eof",
        action="store_true",
        help="stop when standard input closes (a parent process that dies takes us along)",
    )
    p.add_argument(
        "--profiles-dir", type=Path, action="append", default=[], help="extra profile folder"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def _run_main(argv: list[str]) -> int:
    args = _run_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.profiles and args.home is None:
        _err("zshub simulate: give profile files or ids, or --home FILE")
        return 2
    if args.count < 1 or args.speed <= 0:
        _err("zshub simulate: --count must be at least 1 and --speed positive")
        return 2
    from integrations.zsdp.simulator.home import HomeError

    try:
        return asyncio.run(_run(args))
    except (HomeError, ValueError) as err:
        _err(f"zshub simulate: {err}")
        return 1
    except OSError as err:
        _err(f"zshub simulate: cannot start: {err}")
        return 1
    except KeyboardInterrupt:
        return 0


async def _build(args: argparse.Namespace) -> Any:
    """Blocking loading (profiles, home, state) in a worker thread."""
    from integrations.zsdp.simulator.home import (
        build_specs,
        home_from_profiles,
        load_home,
        resolve_profiles,
    )
    from integrations.zsdp.simulator.runner import Simulator
    from integrations.zsdp.simulator.state import StateFile

    def load() -> tuple[Any, Any, Any]:
        state = StateFile.load(args.state)
        if args.home is not None:
            home = load_home(args.home)
            base = args.home.parent
        else:
            home = home_from_profiles(
                args.profiles,
                count=args.count,
                device_id=args.device_id,
                pairing_code=args.pairing_code,
            )
            base = None
        if args.pairing_code:
            for device in home.devices:
                device.pairing_code = args.pairing_code
        profiles = resolve_profiles([d.profile for d in home.devices], base, args.profiles_dir)
        return home, build_specs(home, profiles, state), state

    home, specs, state = await asyncio.to_thread(load)
    return Simulator(
        specs,
        host=args.host,
        advertise=not args.no_mdns,
        state=state,
        rooms=home.rooms,
        manifest=args.manifest,
        speed=args.speed,
    )


async def _run(args: argparse.Namespace) -> int:
    from integrations.zsdp.simulator.control import ControlServer

    sim = await _build(args)
    control = ControlServer(sim.handle, "127.0.0.1", args.control)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    watch: asyncio.BaseTransport | None = None
    if args.stop_on_eof:
        mode = os.fstat(sys.stdin.fileno()).st_mode
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            watch, _ = await loop.connect_read_pipe(lambda: _EofWatch(stop), sys.stdin)
        else:
            _err("zshub simulate: --stop-on-eof needs a pipe on standard input; ignored")
    try:
        await control.start()
        sim.control_port = control.port
        await sim.start()
        _print_devices(sim)
        await stop.wait()
    finally:
        if watch is not None:
            watch.close()
        await control.stop()
        await sim.stop()
    _out("zshub simulate: stopped")
    return 0


class _EofWatch(asyncio.Protocol):
    def __init__(self, stop: asyncio.Event) -> None:
        self._stop = stop

    def eof_received(self) -> bool | None:
        self._stop.set()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop.set()


def _print_devices(sim: Any) -> None:
    where = f"mDNS _zsdp._tcp on {sim.host}" if sim.advertiser is not None else "no mDNS"
    _out(f"zshub simulate: {len(sim.devices)} device(s) on {sim.host} ({where})")
    rows = [("DEVICE ID", "PORT", "PAIRING CODE", "PAIRED", "PROFILE", "NAME")]
    for device in sim.devices.values():
        snap = device.snapshot()
        code = snap["pairing_code"]
        rows.append(
            (
                snap["id"],
                str(snap["port"]),
                f"{code[:4]}-{code[4:]}",
                "yes" if snap["paired_hubs"] else "no",
                snap["profile_id"],
                f"{snap['name']['zh']} / {snap['name']['en']}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False))
        _out(f"  {cells}  {row[-1]}")
    port = sim.control_port
    _out(f"control: 127.0.0.1:{port}  (zshub simulate act --control {port} DEVICE ACTION …)")
    _out("ready")


# ---------------------------------------------------------------------------- client


def _client_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zshub simulate", description="Act on running simulated devices (docs/simulator.md)"
    )
    p.add_argument("command", choices=sorted(CLIENT_COMMANDS))
    p.add_argument("--control", type=int, help="the simulator's control port")
    p.add_argument("--manifest", type=Path, help="read the control port from this manifest")
    p.add_argument("--json", action="store_true", help="print the raw JSON answer")
    p.add_argument("rest", nargs="*", help="DEVICE [ACTION [name=value …]] | DEVICE SECONDS")
    return p


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _client_main(argv: list[str]) -> int:
    args = _client_parser().parse_intermixed_args(argv)
    port = args.control
    if port is None and args.manifest is not None:
        try:
            port = json.loads(args.manifest.read_text(encoding="utf-8"))["control"]["port"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            _err(f"zshub simulate: cannot read the control port from {args.manifest}: {err}")
            return 2
    if port is None:
        _err("zshub simulate: give --control PORT (or --manifest FILE)")
        return 2
    try:
        request = _request(args.command, args.rest)
    except ValueError as err:
        _err(f"zshub simulate {args.command}: {err}")
        return 2
    try:
        answer = asyncio.run(_ask(port, request))
    except OSError as err:
        _err(f"zshub simulate: no simulator on 127.0.0.1:{port}: {err}")
        return 1
    if not answer.get("ok"):
        _err(f"zshub simulate: {answer.get('error')}: {answer.get('message')}")
        return 1
    answer.pop("ok", None)
    _out(json.dumps(answer, ensure_ascii=False, indent=None if args.json else 2))
    return 0


def _request(command: str, rest: list[str]) -> dict[str, Any]:
    if command in ("list", "manifest"):
        return {"op": command}
    if not rest:
        raise ValueError("give the device id")
    request: dict[str, Any] = {"op": command, "device": rest[0]}
    if command == "act":
        if len(rest) < 2:
            raise ValueError("give DEVICE ACTION [name=value …]")
        pairs = [p.split("=", 1) for p in rest[2:]]
        if any(len(p) != 2 for p in pairs):
            raise ValueError("arguments are name=value")
        request.update(action=rest[1], args={k: _value(v) for k, v in pairs})
    elif command == "advance":
        if len(rest) != 2:
            raise ValueError("give DEVICE SECONDS")
        request["seconds"] = float(rest[1])
    return request


async def _ask(port: int, request: dict[str, Any]) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(json.dumps(request, ensure_ascii=False).encode() + b"\n")
        await writer.drain()
        line = await reader.readline()
    finally:
        writer.close()
        await writer.wait_closed()
    answer: dict[str, Any] = json.loads(line) if line else {"ok": False, "error": "closed"}
    return answer
