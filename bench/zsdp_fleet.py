"""ZS-DP fleet: N simulated lamps on loopback, the hub alone in a child process.

1. A temporary home file (``zshub.sim-home/1``) with N ZS-DP lamps
   (``cn.zs.demo-guzhen-lighting.xdd-cct-480``) in one room.
2. The hub runs in a child process (``python -m bench.zsdp_fleet --hub-child DATA HOME``) with
   the zsdp plug-in and a :class:`DemoHome` on that home file, so its CPU and RSS are its own
   (the simulator is the child's child and is not counted). The child reports, as JSON lines
   on stdout: discovery → every lamp online (the demo's ``ready_after`` and the time from the
   hub's start), then 200 sequential ``main/brightness.set_level`` commands through
   ``hub.commands.send`` (each must come back CONFIRMED by the lamp's report).
3. The parent then drives the fleet through the simulator's control socket: every lamp puts a
   new raw value on its brightness DP 22 once a second (``act set_dp``, alternating raw 250 and
   750), the N requests of each second spread over 50 ticks of 20 ms and pipelined over a few
   connections. Meanwhile it samples the hub child's CPU (user + system seconds, % of one core)
   and RSS. The child counts the ``state_changed`` events of the brightness level, i.e. the
   reports that arrived and were decoded.

Everything listens and talks on 127.0.0.1 only. The child and the simulator are stopped (and
killed with their process group if they do not stop) on exit, on errors and on Ctrl-C.

    python -m bench.zsdp_fleet [--devices 200] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import mean
from typing import TYPE_CHECKING, Any, Literal, cast

import psutil

if TYPE_CHECKING:
    from hub.app import Hub
    from hub.plugins import PluginFactory
    from integrations.demo.plugin import DemoHome

__all__ = ["fleet_1000", "main", "run"]

PROFILE = "cn.zs.demo-guzhen-lighting.xdd-cct-480"
ROOM = "bench"
BRIGHTNESS_DP = 22
LEVEL_PATH = "main/brightness/level"
RAW_VALUES = (250, 750)  # level ≈ 25 / 75: never the start (60) nor a commanded level (30/40)
COMMANDS = 200
LOAD_COMMAND_S = 0.1  # one command every 100 ms while the fleet reports
PROFILE_ENV = "ZSDP_FLEET_PROFILE"  # a file: the hub child cProfiles the load window into it
TICKS_PER_S = 50
CONNECTIONS = 4
SAMPLE_S = 0.2
PROGRESS_S = 5.0
STALL_S = 30.0  # no lamp came online for this long: go on with those that are
MARK = "@zsdp_fleet "  # the child's report lines (the demo prints its own line on stdout too)
HOST = "127.0.0.1"
STOP_TIMEOUT_S = 20.0
DRAIN_TIMEOUT_S = 30.0
RSS_TARGET_MIB = 150.0  # for 1,000 lamps
CPU_TARGET_PCT = 25.0
REPORTS_DELIVERED_MIN = 0.95  # of the reports asked for, per second

_MIB = 1024 * 1024
_REPO = Path(__file__).resolve().parent.parent


# -- the home file ---------------------------------------------------------------------------


def _key(n: int) -> str:
    return f"lamp-{n:04d}"


def write_home(path: Path, devices: int) -> list[str]:
    """Write a home file with ``devices`` lamps in one room; returns their keys."""
    keys = [_key(n) for n in range(1, devices + 1)]
    lines = [
        "schema: zshub.sim-home/1",
        "rooms:",
        f"  - {{id: {ROOM}, name: {{zh: 测试间, en: Bench room}}}}",
        "devices:",
    ]
    for n, key in enumerate(keys, start=1):
        lines += [
            f"  - key: {key}",
            f"    profile: {PROFILE}",
            f"    room: {ROOM}",
            f"    name: {{zh: 测试灯 {n:04d}, en: Bench lamp {n:04d}}}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return keys


def _percentile(samples: list[float], fraction: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# -- the hub child ---------------------------------------------------------------------------


def _emit(event: str, **fields: Any) -> None:
    sys.stdout.write(MARK + json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


class _DemoFactory:
    """Plug-in factory for a :class:`DemoHome` on our own home file."""

    name = "demo"
    kind: Literal["service"] = "service"

    def __init__(self, home: Path) -> None:
        self.home = home
        self.demo: DemoHome | None = None

    def __call__(self, hub: Hub) -> DemoHome:
        from integrations.demo.plugin import DemoHome

        self.demo = DemoHome(hub, home_file=self.home)
        return self.demo


async def _child_stdin(on_line: Callable[[str], None]) -> None:
    """Feed the parent's command lines to ``on_line``; EOF (a dead parent) means "stop"."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    except (OSError, ValueError):  # not a pipe (run by hand): no commands from a parent
        return
    while line := await reader.readline():
        on_line(line.decode().strip())
    on_line("eof")


async def _hub_child(data: Path, home: Path, commands: int, ready_timeout: float) -> None:
    from hub.app import Hub
    from hub.config import HubConfig
    from hub.core.commands import CommandStatus
    from hub.core.context import Context, Origin
    from hub.core.events import Event
    from hub.core.state import STATE_CHANGED, StateChange
    from integrations.zsdp.plugin import setup as zsdp_setup

    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    assert main_task is not None
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, main_task.cancel)

    counting = False
    count = 0
    marked = last = 0.0
    stop = asyncio.Event()

    gc_pauses = _GcPauses()
    profiler = cProfile.Profile() if os.environ.get(PROFILE_ENV) else None

    def on_line(line: str) -> None:
        nonlocal counting, count, marked
        if line == "mark":
            count, marked, counting = 0, time.monotonic(), True
            gc_pauses.start()
            if profiler is not None:
                profiler.enable()
            _emit("marked")
        elif line == "stop":
            gc_pauses.stop()
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(os.environ[PROFILE_ENV])
            stop.set()
        elif line == "eof" and not stop.is_set():
            main_task.cancel()  # the parent is gone: stop now

    def on_change(event: Event[StateChange]) -> None:
        nonlocal count, last
        if counting and event.data.path.endswith(LEVEL_PATH):
            count += 1
            last = time.monotonic()

    stdin_task = loop.create_task(_child_stdin(on_line))
    factory = _DemoFactory(home)
    started = time.monotonic()
    config = HubConfig.load(data, port=0, demo=True, mdns_interfaces=(HOST,), plugins=(), host=HOST)
    plugins = [cast("PluginFactory", zsdp_setup), cast("PluginFactory", factory)]
    hub = Hub(config, extra_plugins=plugins)
    try:
        await hub.start()
        demo = factory.demo
        if demo is None:
            raise RuntimeError(f"the demo plug-in did not start: {hub.problems}")
        await _wait_online(hub, demo, started, ready_timeout)
        ids = _online(hub, demo)
        _emit(
            "ready",
            all_online=demo.ready.is_set(),
            ready_after_s=demo.ready_after,
            from_hub_start_s=time.monotonic() - started,
            hub_start_ms=hub.startup_ms,
            control_port=demo.control_port,
            devices=len(demo.devices),
            online=len(ids),
        )
        if not ids:
            raise RuntimeError("no lamp came online")
        context = Context(Origin.USER, "bench")
        latencies: list[float] = []
        statuses: dict[str, int] = {}
        for n in range(commands):
            rnd, slot = divmod(n, len(ids))
            level = 30 if rnd % 2 == 0 else 40  # a lamp starts at 60: every command is a change
            t0 = time.perf_counter()
            result = await hub.commands.send(
                ids[slot], "main/brightness.set_level", {"level": level}, context=context
            )
            latencies.append((time.perf_counter() - t0) * 1000)
            statuses[result.status.value] = statuses.get(result.status.value, 0) + 1
        _emit(
            "commands",
            sent=commands,
            confirmed=statuses.get(CommandStatus.CONFIRMED.value, 0),
            statuses=statuses,
            p50_ms=_percentile(latencies, 0.5),
            p99_ms=_percentile(latencies, 0.99),
            max_ms=max(latencies, default=0.0),
        )

        hub.bus.listen(STATE_CHANGED, on_change)
        under_load = loop.create_task(_commands_under_load(hub, ids, stop))
        await stop.wait()
        load_latencies, load_statuses = await under_load
        _emit(
            "count",
            count=count,
            span_s=max(0.0, last - marked) if count else 0.0,
            load_commands=len(load_latencies),
            load_confirmed=load_statuses.get(CommandStatus.CONFIRMED.value, 0),
            load_statuses=load_statuses,
            load_p50_ms=_percentile(load_latencies, 0.5),
            load_p99_ms=_percentile(load_latencies, 0.99),
            gc_collections=gc_pauses.count,
            gc_pause_total_ms=gc_pauses.total_ms,
            gc_pause_max_ms=gc_pauses.max_ms,
        )
    finally:
        stdin_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stdin_task
        await asyncio.shield(hub.stop())
        _emit("stopped")


class _GcPauses:
    """Collector runs (any generation) and their pauses while the load runs: a full collection
    of a heap this size stops the loop for long enough to show in the command p99."""

    def __init__(self) -> None:
        self.count = 0
        self.total_ms = 0.0
        self.max_ms = 0.0
        self._t0 = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
            return
        pause = (time.perf_counter() - self._t0) * 1000
        self.count += 1
        self.total_ms += pause
        self.max_ms = max(self.max_ms, pause)

    def start(self) -> None:
        gc.callbacks.append(self._callback)

    def stop(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)


async def _commands_under_load(
    hub: Hub, ids: list[str], stop: asyncio.Event
) -> tuple[list[float], dict[str, int]]:
    """While the fleet reports: one colour-temperature command every ``LOAD_COMMAND_S``
    (waiting for each to be CONFIRMED), so the round trip is measured with the hub busy. Colour
    temperature, not brightness: the brightness changes are the reports being counted."""
    from hub.core.context import Context, Origin

    context = Context(Origin.USER, "bench")
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    n = 0
    while not stop.is_set():
        kelvin = 3000 if (n // len(ids)) % 2 == 0 else 5000
        t0 = time.perf_counter()
        result = await hub.commands.send(
            ids[n % len(ids)],
            "main/color_temperature.set_kelvin",
            {"kelvin": kelvin},
            context=context,
        )
        latencies.append((time.perf_counter() - t0) * 1000)
        statuses[result.status.value] = statuses.get(result.status.value, 0) + 1
        n += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), LOAD_COMMAND_S)
    return latencies, statuses


def _online(hub: Hub, demo: DemoHome) -> list[str]:
    """Hub device ids of the demo's lamps that are paired and online."""
    from hub.core.registry import Availability

    # One pass over the registry (find_by_identity per lamp would cost N² every poll and
    # show up in the hub's CPU while the fleet comes up).
    online = {
        device.identity.get("key"): device.id
        for device in hub.registry
        if device.integration == "zsdp" and device.availability is Availability.ONLINE
    }
    return [online[zsdp_id] for zsdp_id in demo.devices if zsdp_id in online]


async def _wait_online(hub: Hub, demo: DemoHome, started: float, timeout: float) -> None:
    """Until the demo is ready; gives up after ``timeout`` s, or once no lamp has come online
    for ``STALL_S`` s (then the bench goes on with the lamps that are online). Reports
    progress every ``PROGRESS_S`` s."""
    best, best_at, said = -1, time.monotonic(), time.monotonic()
    while not demo.ready.is_set():
        now = time.monotonic()
        if now - started > timeout or (best >= 0 and now - best_at > STALL_S):
            return
        online = len(_online(hub, demo)) if demo.devices else -1
        if online > best:
            best, best_at = online, now
        if now - said >= PROGRESS_S:
            said = now
            _emit(
                "progress",
                after_s=now - started,
                discovered=sum(1 for key in hub.discoveries if key[0] == "zsdp"),
                added=len(hub.registry),
                online=max(online, 0),
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(demo.ready.wait(), 0.5)


def _child_main(data: Path, home: Path, commands: int, ready_timeout: float) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s")
    try:
        asyncio.run(_hub_child(data, home, commands, ready_timeout))
    except (asyncio.CancelledError, KeyboardInterrupt):
        return 1
    return 0


# -- the parent ------------------------------------------------------------------------------


class _Child:
    """The hub child: its JSON report lines, its stdin, its process group."""

    def __init__(self, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.proc = proc
        self.log = log
        self.events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            text = line.decode("utf-8", "replace")
            if text.startswith(MARK):
                await self.events.put(json.loads(text[len(MARK) :]))
        await self.events.put(None)

    async def expect(self, event: str, timeout: float) -> dict[str, Any]:
        try:
            async with asyncio.timeout(timeout):
                while True:
                    got = await self.events.get()
                    if got is None:
                        raise RuntimeError(f"the hub child exited before {event!r}{self.tail()}")
                    if got["event"] == event:
                        return got
                    if got["event"] == "progress":
                        print(
                            f"  {got['after_s']:5.1f} s: {got['discovered']} discovered, "
                            f"{got['added']} added, {got['online']} online",
                            file=sys.stderr,
                        )
        except TimeoutError:
            raise RuntimeError(
                f"no {event!r} from the hub child in {timeout:.0f} s{self.tail()}"
            ) from None

    def send(self, line: str) -> None:
        stdin = self.proc.stdin
        if stdin is not None and not stdin.is_closing():
            stdin.write(line.encode() + b"\n")

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n--- hub child stderr ---\n" + "\n".join(text.splitlines()[-lines:])

    async def close(self) -> None:
        """Stop the child (it stops the simulator); kill the whole group if that fails."""
        proc = self.proc
        try:
            if proc.returncode is None:
                self.send("stop")
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
        finally:
            # whatever is left of the group (the simulator, had the child died abruptly)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            await asyncio.shield(proc.wait())
            if proc.stdin is not None:
                proc.stdin.close()
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader


class _Sampler:
    """CPU (user + system, this process only, not its children) and RSS of the hub child."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.rss: list[int] = []
        self._cpu0 = 0.0
        self._t0 = 0.0
        self._task: asyncio.Task[None] | None = None

    def _cpu(self) -> float:
        times = self.process.cpu_times()
        return float(times.user + times.system)

    def start(self) -> None:
        self._cpu0, self._t0 = self._cpu(), time.monotonic()
        self._task = asyncio.get_running_loop().create_task(self._sample())

    async def _sample(self) -> None:
        while True:
            self.rss.append(self.process.memory_info().rss)
            await asyncio.sleep(SAMPLE_S)

    async def stop(self) -> tuple[float, float]:
        """Stop; returns (CPU % of one core, wall seconds) since ``start``."""
        cpu, wall = self._cpu() - self._cpu0, time.monotonic() - self._t0
        self.rss.append(self.process.memory_info().rss)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return 100.0 * cpu / wall if wall > 0 else 0.0, wall


class _Connection:
    """One pipelined control connection: writes without waiting, counts answers as they come."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.sent = 0
        self.ok = 0
        self.errors = 0
        self.first_error = ""
        self.answered_at: list[float] = []  # monotonic time of each answer
        self.all_sent = False
        self.done = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        while line := await self.reader.readline():
            self.answered_at.append(time.monotonic())
            if b'"ok": true' in line:
                self.ok += 1
            else:
                self.errors += 1
                if not self.first_error:
                    self.first_error = line.decode("utf-8", "replace").strip()[:200]
            if self.all_sent and self.ok + self.errors >= self.sent:
                self.done.set()
        self.done.set()

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


async def _drive(port: int, keys: list[str], seconds: float, connections: int) -> dict[str, float]:
    """Every lamp reports a changed DP 22 once a second for ``seconds``, via ``act set_dp``."""
    conns = []
    for _ in range(max(1, min(connections, len(keys)))):
        reader, writer = await asyncio.open_connection(HOST, port, limit=1 << 20)
        conns.append(_Connection(reader, writer))
    lines = [
        [
            json.dumps(
                {
                    "op": "act",
                    "device": key,
                    "action": "set_dp",
                    "args": {"dp": BRIGHTNESS_DP, "value": value},
                }
            ).encode()
            + b"\n"
            for key in keys
        ]
        for value in RAW_VALUES
    ]
    n = len(keys)
    whole_seconds = max(1, round(seconds))
    tick = 1.0 / TICKS_PER_S
    behind = 0.0
    start = time.monotonic()
    try:
        for second in range(whole_seconds):
            batch = lines[second % 2]
            for t in range(TICKS_PER_S):
                due = start + second + t * tick
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                else:
                    behind = max(behind, -delay)
                for i in range(t * n // TICKS_PER_S, (t + 1) * n // TICKS_PER_S):
                    conn = conns[i % len(conns)]
                    conn.writer.write(batch[i])
                    conn.sent += 1
                await asyncio.gather(*(c.writer.drain() for c in conns))
        sent_by = time.monotonic() - start
        for conn in conns:
            conn.all_sent = True
            if conn.ok + conn.errors >= conn.sent:
                conn.done.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(c.done.wait() for c in conns)), DRAIN_TIMEOUT_S)
        answered_at = sorted(t for c in conns for t in c.answered_at)
        window_end = start + whole_seconds
        in_window = sum(1 for t in answered_at if t <= window_end)
        last = (answered_at[-1] - start) if answered_at else 0.0
        errors = sum(c.errors for c in conns)
        first_error = next((c.first_error for c in conns if c.first_error), "")
        if first_error:
            print(f"control socket error (first of {errors}): {first_error}", file=sys.stderr)
        return {
            "load_s": float(whole_seconds),
            "requested_per_s": float(n),
            "requests_sent": float(sum(c.sent for c in conns)),
            "requests_answered": float(len(answered_at)),
            "request_errors": float(errors),
            "answered_per_s_in_window": in_window / whole_seconds,
            "answered_per_s_overall": len(answered_at) / max(last, whole_seconds),
            "last_answer_s": last,
            "sent_by_s": sent_by,
            "max_behind_s": behind,
        }
    finally:
        await asyncio.gather(*(c.close() for c in conns))


async def run(
    devices: int = 200, seconds: float = 30, *, connections: int = CONNECTIONS
) -> dict[str, float]:
    """Bring up ``devices`` lamps, measure the hub child; returns the figures."""
    with tempfile.TemporaryDirectory(prefix="zshub-fleet-") as tmp:
        folder = Path(tmp)
        home, data, log = folder / "home.yaml", folder / "data", folder / "hub.log"
        keys = await asyncio.to_thread(write_home, home, devices)
        ready_timeout = 60.0 + 0.3 * devices
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(_REPO), os.environ.get("PYTHONPATH")) if p
            ),
        }
        with log.open("wb") as err:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.zsdp_fleet",
                "--hub-child",
                str(data),
                str(home),
                "--commands",
                str(COMMANDS),
                "--ready-timeout",
                str(ready_timeout),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
                cwd=_REPO,
                env=env,
                start_new_session=True,  # its own group: Ctrl-C is ours to pass on, and killpg
            )
        child = _Child(proc, log)
        try:
            ready = await child.expect("ready", ready_timeout + 30)
            commands = await child.expect("commands", 60.0 + COMMANDS * 5.0)
            idle_rss = psutil.Process(proc.pid).memory_info().rss
            port = ready["control_port"]
            if not isinstance(port, int):
                raise RuntimeError(f"no control port in the manifest: {ready}")

            sampler = _Sampler(proc.pid)
            child.send("mark")
            await child.expect("marked", 10.0)
            sampler.start()
            load = await _drive(port, keys, seconds, connections)
            cpu_pct, wall = await sampler.stop()
            await asyncio.sleep(0.5)  # the last reports reach the hub
            child.send("stop")
            count = await child.expect("count", 30.0)
            await child.expect("stopped", STOP_TIMEOUT_S)
        finally:
            await child.close()

        if count["load_confirmed"] != count["load_commands"]:
            print(f"commands under load: {count['load_statuses']}{child.tail(40)}", file=sys.stderr)
    counted = float(count["count"])
    span = max(float(count["span_s"]), load["load_s"])
    return {
        "devices": float(devices),
        "all_online": 1.0 if ready["all_online"] else 0.0,
        "online": float(ready["online"]),
        "ready_after_s": _nan_if_none(ready["ready_after_s"]),
        "online_from_hub_start_s": float(ready["from_hub_start_s"]),
        "hub_start_ms": float(ready["hub_start_ms"]),
        "commands": float(commands["sent"]),
        "commands_confirmed": float(commands["confirmed"]),
        "cmd_p50_ms": float(commands["p50_ms"]),
        "cmd_p99_ms": float(commands["p99_ms"]),
        "cmd_max_ms": float(commands["max_ms"]),
        "cpu_pct_one_core": cpu_pct,
        "cpu_window_s": wall,
        "rss_peak_mib": max(sampler.rss) / _MIB,
        "rss_mean_mib": mean(sampler.rss) / _MIB,
        "rss_before_load_mib": idle_rss / _MIB,
        "reports_counted": counted,
        "reports_per_s": counted / span,
        "load_commands": float(count["load_commands"]),
        "load_commands_confirmed": float(count["load_confirmed"]),
        "load_cmd_p50_ms": float(count["load_p50_ms"]),
        "load_cmd_p99_ms": float(count["load_p99_ms"]),
        "gc_collections": float(count["gc_collections"]),
        "gc_pause_total_ms": float(count["gc_pause_total_ms"]),
        "gc_pause_max_ms": float(count["gc_pause_max_ms"]),
        **load,
    }


def _nan_if_none(value: float | None) -> float:
    return float("nan") if value is None else float(value)


async def fleet_1000() -> dict[str, float]:
    """The issue's size: 1,000 lamps for 30 s (targets < 150 MiB RSS, < 25 % of one core)."""
    return await run(1000, 30)


def table(figures: dict[str, float]) -> str:
    f = figures
    if f["all_online"]:
        online = (
            f"{f['ready_after_s']:.1f} s",
            f"demo ready_after; {f['online_from_hub_start_s']:.1f} s from hub start",
        )
    else:
        online = (
            f"not reached: {f['online']:,.0f} online",
            f"gave up {f['online_from_hub_start_s']:.1f} s after hub start",
        )
    rows = [
        ("devices", f"{f['devices']:,.0f}", "ZS-DP lamps, loopback mDNS"),
        ("discovery → all online", *online),
        (
            "command round trip p50 / p99",
            f"{f['cmd_p50_ms']:.1f} / {f['cmd_p99_ms']:.1f} ms",
            f"{f['commands_confirmed']:.0f}/{f['commands']:.0f} CONFIRMED, sequential",
        ),
        (
            "command round trip under load",
            f"{f['load_cmd_p50_ms']:.1f} / {f['load_cmd_p99_ms']:.1f} ms",
            f"p50 / p99; {f['load_commands_confirmed']:.0f}/{f['load_commands']:.0f} CONFIRMED, "
            "one every 100 ms while the fleet reports",
        ),
        (
            "hub CPU",
            f"{f['cpu_pct_one_core']:.1f} % of one core",
            f"hub child only, over {f['cpu_window_s']:.1f} s of load",
        ),
        (
            "hub RSS peak / mean",
            f"{f['rss_peak_mib']:.1f} / {f['rss_mean_mib']:.1f} MiB",
            f"{f['rss_before_load_mib']:.1f} MiB before the load",
        ),
        (
            "collector pauses",
            f"{f['gc_pause_max_ms']:.0f} ms max",
            f"{f['gc_collections']:.0f} collections, {f['gc_pause_total_ms']:.0f} ms in all "
            "during the load",
        ),
        (
            "reports/s delivered",
            f"{f['reports_per_s']:,.0f}",
            f"{f['reports_counted']:,.0f} state changes at the hub from "
            f"{f['online']:,.0f} lamps online; asked {f['requested_per_s']:,.0f}/s",
        ),
        (
            "control socket answered/s",
            f"{f['answered_per_s_in_window']:,.0f}",
            f"in the window; {f['request_errors']:.0f} errors, "
            f"last answer at {f['last_answer_s']:.1f} s, max {f['max_behind_s'] * 1000:.0f} ms "
            "behind schedule",
        ),
    ]
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    line = "+".join("-" * (w + 2) for w in width)
    out = [f"+{line}+"]
    out += [
        "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, width, strict=True)) + " |"
        for row in rows
    ]
    out.append(f"+{line}+")
    return "\n".join(out)


async def _interruptible(devices: int, seconds: float, connections: int) -> dict[str, float]:
    """``run``, cancelled (and so cleaned up) on SIGTERM as on Ctrl-C."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await run(devices, seconds, connections=connections)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.zsdp_fleet", description=__doc__)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--hub-child", nargs=2, metavar=("DATA", "HOME"), help=argparse.SUPPRESS)
    parser.add_argument("--commands", type=int, default=COMMANDS, help=argparse.SUPPRESS)
    parser.add_argument("--ready-timeout", type=float, default=120.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.hub_child:
        data, home = (Path(p) for p in args.hub_child)
        return _child_main(data, home, args.commands, args.ready_timeout)

    try:
        figures = asyncio.run(_interruptible(args.devices, args.seconds, args.connections))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted", file=sys.stderr)
        return 130
    print(
        f"ZS-DP fleet: {args.devices} lamps, every one reports once a second for "
        f"{args.seconds:.0f} s"
    )
    print(table(figures))
    if args.json:
        print(json.dumps(figures, indent=2))
    ok = (
        figures["all_online"] == 1
        and figures["commands_confirmed"] == figures["commands"]
        and figures["request_errors"] == 0
        and figures["load_commands_confirmed"] == figures["load_commands"]
        # the CPU figure means something only when the reports really arrived: a simulator
        # that falls behind (a busy machine) lowers it
        and figures["reports_per_s"] >= REPORTS_DELIVERED_MIN * figures["requested_per_s"]
    )
    if args.devices >= 1000:
        ok = ok and figures["rss_peak_mib"] < RSS_TARGET_MIB
        ok = ok and figures["cpu_pct_one_core"] < CPU_TARGET_PCT
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
