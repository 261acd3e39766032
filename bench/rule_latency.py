"""Rule latency and throughput with 100 rules loaded (issues 5 and 8).

The home: 10 rooms, 40 motion sensors (``cn.zs.demo-safety.pir-w1``), 30 door contacts
(``…mc-w2``) and 60 lamps (``cn.zs.demo-guzhen-lighting.xdd-cct-480``), all real profiles, behind
a bench integration whose :class:`BenchLink` implements the real ``DeviceLink`` and reports a
command's effect into the state store at once, as the quickest device would. 100 rules in
``<data>/rules/bench.yaml``, read by the real rules plug-in with the shipped packs (the kitchen
guard's safety rules and the everyday pack, 24 rules that watch roles this home lacks):

* 40 ``motion_light_<i>``: motion ``from: false`` ``to: true`` → if the lamp is off and no door
  of the room is open → ``onoff.on``;
* 30 ``door_light_<j>``: a door opens → if its room's lamp is dim or off → ``set_level 80``;
* 30 ``lamp_follow_<m>``: a lamp goes off (``from: true``, ``to: false``) → if nobody moves in
  the room → its partner lamp off.

Figures:

* ``inside_p50_us`` / ``inside_p99_us``: ``hub.states.set`` of a motion sensor's report (what an
  integration does with a frame) until the command reaches ``BenchLink.invoke`` — the bus, the
  recorder's listener, every trigger, the run's task, its condition, the command service and the
  safety arbiter, in a real :class:`hub.app.Hub` (SQLite storage, recorder). One sample at a
  time on an idle loop; ``samples`` of them. ``inside_cpu_*``: the same span in CPU time of the
  loop's thread (``time.thread_time``), which leaves out what other processes and the storage
  thread took from it — the figure the suite judges, as it judges the kernel's by CPU time.
* ``events_per_s``: state changes a second through the same hub, nine in ten matching no rule
  (brightness and battery reports, sensors going quiet: these still meet the triggers that watch
  their path and leave "not fired" traces), one in ten starting a run that sends a command. The
  clock stops when the last run has finished; CPU time of the process is reported too.
* ``ws_*``: the client's view. The hub (the same home and rules, plus the API and one ZS-DP
  lamp from the simulator on 127.0.0.1) runs in a process of its own; this process is an aiohttp
  WebSocket client subscribed to the lamp. Per sample: send ``command`` (on/off, alternating) →
  the ``state_changed`` event of ``main/onoff/on`` with the new value arrives (the full state
  JSON the API sends on every change). Measured for the ZS-DP lamp (the honest peer: the command
  travels the real protocol to the simulator and its report comes back) and for a bench lamp
  (the link reports at once: the hub's own share).

    python -m bench.rule_latency [--samples 2000] [--ws-samples 300] [--no-ws]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from statistics import median, quantiles
from typing import IO, TYPE_CHECKING, Any, ClassVar, Literal, cast

from hub.core.context import Context, Origin
from hub.core.integration import DeviceLink, HubAccess, Integration
from hub.core.registry import Availability, Device, Room

if TYPE_CHECKING:
    from hub.app import Hub
    from hub.plugins import PluginFactory

__all__ = [
    "BenchIntegration",
    "BenchLink",
    "inside",
    "main",
    "rules_yaml",
    "ws_client",
]

ROOMS = 10
MOTIONS = 40
CONTACTS = 30
LAMPS = 60
RULES = MOTIONS + CONTACTS + 30
MOTION_PROFILE = "cn.zs.demo-safety.pir-w1"
CONTACT_PROFILE = "cn.zs.demo-safety.mc-w2"
LAMP_PROFILE = "cn.zs.demo-guzhen-lighting.xdd-cct-480"
HOST = "127.0.0.1"
MARK = "@rule_latency "
_ROOT = Path(__file__).resolve().parent.parent

OCCUPIED = "main/occupancy/occupied"
OPEN = "main/contact/open"
ON = "main/onoff/on"
LEVEL = "main/brightness/level"
BATTERY = "main/battery/percent"


def _motion(i: int) -> str:
    return f"motion-{i:02d}"


def _contact(j: int) -> str:
    return f"door-{j:02d}"


def _lamp(k: int) -> str:
    return f"lamp-{k:02d}"


def _room(n: int) -> str:
    return f"room-{n % ROOMS}"


# -- the home ------------------------------------------------------------------------------------


def rules_yaml() -> str:
    """The 100 bench rules as a ``zshub.rules/1`` file."""
    out = ["schema: zshub.rules/1", "rules:"]
    for i in range(MOTIONS):
        out += [
            f"  - id: motion_light_{i:02d}",
            f"    name: {{zh: 有人开灯 {i}, en: Motion light {i}}}",
            "    mode: single",
            "    triggers:",
            f"      - state: {{target: {_motion(i)}, path: occupancy/occupied,"
            " from: false, to: true}",
            "    conditions:",
            f"      - state: {{target: {_lamp(i)}, path: onoff/on, is: false}}",
            "      - not:",
            f"          - state: {{target: capability:contact, room: {_room(i)},"
            " path: contact/open, is: true}",
            "    actions:",
            f"      - command: {{target: {_lamp(i)}, do: onoff.on}}",
        ]
    for j in range(CONTACTS):
        lamp = _lamp(40 + j % 20)
        out += [
            f"  - id: door_light_{j:02d}",
            f"    name: {{zh: 开门亮灯 {j}, en: Door light {j}}}",
            "    mode: restart",
            "    triggers:",
            f"      - state: {{target: {_contact(j)}, path: contact/open, to: true}}",
            "    conditions:",
            "      - or:",
            f"          - state: {{target: {lamp}, path: brightness/level, below: 50}}",
            f"          - state: {{target: {lamp}, path: onoff/on, is: false}}",
            "    actions:",
            f"      - command: {{target: {lamp}, do: brightness.set_level, args: {{level: 80}}}}",
        ]
    for m in range(30):
        out += [
            f"  - id: lamp_follow_{m:02d}",
            f"    name: {{zh: 随灯关闭 {m}, en: Lamp follows {m}}}",
            "    mode: queued",
            "    triggers:",
            f"      - state: {{target: {_lamp(m)}, path: onoff/on, from: true, to: false}}",
            "    conditions:",
            f"      - state: {{target: {_motion(m)}, path: occupancy/occupied, is: false}}",
            "    actions:",
            f"      - command: {{target: {_lamp(m + 30)}, do: onoff.off}}",
        ]
    return "\n".join(out) + "\n"


class BenchLink(DeviceLink):
    """The real ``DeviceLink`` interface; accepts at once and reports the command's effect into
    the state store inside ``invoke`` (on/off, level), as the quickest device would."""

    def __init__(self, integration: BenchIntegration, device_id: str) -> None:
        self.device_id = device_id
        self._integration = integration

    async def invoke(
        self,
        component: str,
        capability: str,
        command: str,
        args: Mapping[str, Any],
        context: Context,
    ) -> None:
        self._integration.invoked(self.device_id)
        report = Context(Origin.DEVICE, self.device_id, context)
        states = self._integration.states
        if capability == "onoff" and command in ("on", "off"):
            states.set(f"{self.device_id}/{component}/onoff/on", command == "on", report)
        elif capability == "brightness" and command == "set_level":
            states.set(f"{self.device_id}/{component}/brightness/level", args["level"], report)

    async def write(self, path: str, value: Any, context: Context) -> None:
        self._integration.states.set(f"{self.device_id}/{path}", value, context)

    async def refresh(self) -> None:
        return None

    @property
    def connected(self) -> bool:
        return True


class BenchIntegration(Integration):
    """Owns the bench home's devices; ``on_invoke`` (device id) is told of every command."""

    domain: ClassVar[str] = "bench"
    transports: ClassVar[tuple[str, ...]] = ("bench",)
    name = "bench"
    kind: Literal["integration"] = "integration"

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self.states = hub.states
        self.links: dict[str, BenchLink] = {}
        self.on_invoke: Callable[[str], None] | None = None
        self.commands = 0

    def invoked(self, device_id: str) -> None:
        self.commands += 1
        if self.on_invoke is not None:
            self.on_invoke(device_id)

    async def async_start(self, hub: HubAccess) -> None:
        return None

    async def async_stop(self) -> None:
        self.links.clear()

    def link(self, device_id: str) -> DeviceLink | None:
        return self.links.get(device_id)

    def populate(self) -> None:
        """Rooms, devices and their first reports (not measured)."""
        hub = self._hub
        for n in range(ROOMS):
            hub.registry.upsert_room(Room(_room(n), f"房间 {n}", f"Room {n}"))
        ctx = Context(Origin.DEVICE, "bench")
        devices = (
            [(_motion(i), MOTION_PROFILE, _room(i)) for i in range(MOTIONS)]
            + [(_contact(j), CONTACT_PROFILE, _room(j)) for j in range(CONTACTS)]
            + [(_lamp(k), LAMP_PROFILE, _room(k)) for k in range(LAMPS)]
        )
        for device_id, profile, room in devices:
            hub.registry.add(
                Device(device_id, device_id, device_id, profile, "bench", "bench", {}, room)
            )
            self.links[device_id] = BenchLink(self, device_id)
            hub.registry.set_availability(device_id, Availability.ONLINE)
        for i in range(MOTIONS):
            hub.states.set(f"{_motion(i)}/{OCCUPIED}", False, ctx)
            hub.states.set(f"{_motion(i)}/{BATTERY}", 90, ctx)
        for j in range(CONTACTS):
            hub.states.set(f"{_contact(j)}/{OPEN}", False, ctx)
            hub.states.set(f"{_contact(j)}/{BATTERY}", 90, ctx)
        for k in range(LAMPS):
            hub.states.set(f"{_lamp(k)}/{ON}", False, ctx)
            hub.states.set(f"{_lamp(k)}/{LEVEL}", 60, ctx)


class _BenchFactory:
    name = "bench"
    kind: Literal["integration"] = "integration"

    def __init__(self) -> None:
        self.integration: BenchIntegration | None = None

    def __call__(self, hub: Hub) -> BenchIntegration:
        self.integration = BenchIntegration(hub)
        return self.integration


async def _start_hub(
    data: Path, extra: list[PluginFactory] | None = None, **config: Any
) -> tuple[Hub, BenchIntegration]:
    from hub.app import Hub
    from hub.config import HubConfig
    from rules.plugin import setup as rules_setup

    (data / "rules").mkdir(parents=True, exist_ok=True)
    (data / "rules" / "bench.yaml").write_text(rules_yaml(), encoding="utf-8")
    factory = _BenchFactory()
    plugins = [cast("PluginFactory", rules_setup), cast("PluginFactory", factory), *(extra or [])]
    hub = Hub(HubConfig.load(data, port=0, plugins=(), **config), extra_plugins=plugins)
    await hub.start()
    integration = factory.integration
    if integration is None:
        raise RuntimeError(f"the bench integration did not start: {hub.problems}")
    engine = _engine(hub)
    loaded = {r.id for r in engine.rules()}
    ours = sum(1 for r in loaded if r.startswith(("motion_light_", "door_light_", "lamp_follow_")))
    if ours != RULES:
        raise RuntimeError(f"{ours} of {RULES} bench rules loaded: {hub.problems}")
    integration.populate()
    await _settle()
    return hub, integration


def _engine(hub: Hub) -> Any:
    engine = hub.services.get("rules")
    if engine is None:
        plugin = next((p for p in hub.plugins if p.name == "rules"), None)
        engine = getattr(plugin, "engine", None)
    if engine is None:
        raise RuntimeError(f"the rules plug-in did not start: {hub.problems}")
    return engine


async def _settle(rounds: int = 30) -> None:
    """Let what the last change started run to its end (runs, confirmations, cascades)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


def _pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return quantiles(values, n=100, method="inclusive")[q - 1]


# -- inside the hub -----------------------------------------------------------------------------


async def inside(samples: int = 2000, events: int = 20_000) -> dict[str, float]:
    """Latency state change → command at the link (p50/p99), then throughput."""
    data = Path(tempfile.mkdtemp(prefix="zshub-rules-bench-"))
    logging.getLogger("hub").setLevel(logging.WARNING)
    try:
        hub, integration = await _start_hub(data)
        try:
            latency = await _latency(hub, integration, samples)
            throughput = await _throughput(hub, integration, events)
        finally:
            await hub.stop()
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return {**latency, **throughput, "rules": float(RULES)}


async def _latency(hub: Hub, integration: BenchIntegration, samples: int) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    perf = time.perf_counter
    states = hub.states
    laps: list[float] = []
    wrong = 0
    waiting: dict[str, asyncio.Future[float]] = {}

    cpu = time.thread_time_ns
    cpu_laps: list[float] = []
    cpu_at = 0

    def on_invoke(device_id: str) -> None:
        nonlocal cpu_at
        at = perf()
        cpu_at = cpu()
        fut = waiting.pop(device_id, None)
        if fut is not None and not fut.done():
            fut.set_result(at)

    integration.on_invoke = on_invoke
    for k in range(samples):
        i = k % MOTIONS
        motion, lamp = _motion(i), _lamp(i)
        # The sensor goes quiet and the lamp is off (reports; untimed), and all that started.
        states.set(f"{motion}/{OCCUPIED}", False, Context(Origin.DEVICE, motion))
        states.set(f"{lamp}/{ON}", False, Context(Origin.DEVICE, lamp))
        await _settle()
        fut: asyncio.Future[float] = loop.create_future()
        waiting[lamp] = fut
        # The deadline is armed before the clocks start: ``wait_for`` inside the span would
        # charge the hub with this script's timeout machinery (a tenth of the span).
        deadline = loop.call_later(5.0, _expire, fut)
        c0 = cpu()
        t0 = perf()
        states.set(f"{motion}/{OCCUPIED}", True, Context(Origin.DEVICE, motion))
        try:
            t1 = await fut
        except TimeoutError:
            wrong += 1
            continue
        finally:
            deadline.cancel()
        laps.append(t1 - t0)
        cpu_laps.append((cpu_at - c0) / 1000)
    integration.on_invoke = None
    await _settle()
    us = [lap * 1e6 for lap in laps]
    return {
        "inside_p50_us": median(us) if us else float("nan"),
        "inside_p99_us": _pct(us, 99),
        "inside_max_us": max(us, default=float("nan")),
        "inside_cpu_p50_us": median(cpu_laps) if cpu_laps else float("nan"),
        "inside_cpu_p99_us": _pct(cpu_laps, 99),
        "inside_samples": float(len(us)),
        "inside_missed": float(wrong),
    }


def _expire(fut: asyncio.Future[float]) -> None:
    if not fut.done():
        fut.set_exception(TimeoutError())


def _plan(events: int) -> list[tuple[str, Any, bool]]:
    """(path, value, starts a run?): per 10 changes one motion → lamp rule runs; nine change
    nothing a rule acts on (levels, batteries, sensors going quiet, the lamp's own report)."""
    plan: list[tuple[str, Any, bool]] = []
    n = 0
    while len(plan) < events:
        i = n % MOTIONS
        rnd = n // MOTIONS
        k = 40 + n % 20
        plan += [
            (f"{_motion(i)}/{OCCUPIED}", False, False),  # quiet: the trigger's "from" side
            (f"{_lamp(i)}/{ON}", False, False),  # reset: a lamp_follow rule may run (counted)
            (f"{_lamp(k)}/{LEVEL}", 10 + rnd % 80, False),
            (f"{_motion(i)}/{BATTERY}", 50 + rnd % 40, False),
            (f"{_contact(n % CONTACTS)}/{BATTERY}", 50 + rnd % 40, False),
            (f"{_lamp((n + 7) % LAMPS)}/{LEVEL}", 11 + rnd % 80, False),
            (f"{_motion((i + 11) % MOTIONS)}/{BATTERY}", 51 + rnd % 40, False),
            (f"{_lamp((n + 13) % LAMPS)}/main/color_temperature/kelvin", 3000 + rnd % 9, False),
            (f"{_contact((n + 3) % CONTACTS)}/main/contact/tampered", rnd % 2 == 0, False),
            (f"{_motion(i)}/{OCCUPIED}", True, True),  # motion_light_<i> runs: lamp on
        ]
        n += 1
    return plan[:events]


async def _throughput(hub: Hub, integration: BenchIntegration, events: int) -> dict[str, float]:
    plan = _plan(events)
    engine = _engine(hub)
    states = hub.states
    commands0 = integration.commands
    runs0 = _runs(engine)
    misses0 = engine.book.missed
    expected_runs = sum(1 for _, _, starts in plan if starts)
    ctx = Context(Origin.DEVICE, "bench")
    batch = 10
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for start in range(0, len(plan), batch):
        for path, value, _ in plan[start : start + batch]:
            states.set(path, value, ctx)
        await asyncio.sleep(0)  # as reports arrive from sockets: the loop turns between frames
    while _running(engine):
        await _settle(1)  # the last runs: polled, as a run has no "all done" event to wait on
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    runs = _runs(engine) - runs0
    misses = engine.book.missed - misses0
    return {
        "events_per_s": len(plan) / wall,
        "events_per_cpu_s": len(plan) / cpu if cpu > 0 else float("nan"),
        "us_per_event": wall * 1e6 / len(plan),
        "events": float(len(plan)),
        "runs": float(runs),
        "not_fired": float(misses),
        "motion_runs_expected": float(expected_runs),
        "commands": float(integration.commands - commands0),
    }


def _runs(engine: Any) -> int:
    finished: int = engine.book.finished
    return finished


def _running(engine: Any) -> bool:
    return any(engine.running(info.id) for info in engine.rules())


# -- the client's view over the WebSocket --------------------------------------------------------


def _say(data: dict[str, Any]) -> None:
    sys.stdout.write(MARK + json.dumps(data) + "\n")
    sys.stdout.flush()


async def _serve_hub(data: Path, zsdp: bool) -> None:
    """The hub child: the bench home, its rules and the API; with ``zsdp`` also one ZS-DP lamp
    from the simulator. Says its port, token and lamps; stops at EOF or "quit" on stdin."""
    from hub.api.server import ApiServer
    from hub.auth.users import Role

    extra: list[PluginFactory] = []
    demo_factory = None
    home = data / "home.yaml"
    config: dict[str, Any] = {"host": HOST}
    if zsdp:
        from bench.zsdp_fleet import _DemoFactory, write_home
        from integrations.zsdp.plugin import setup as zsdp_setup

        write_home(home, 1)
        demo_factory = _DemoFactory(home)
        extra = [cast("PluginFactory", zsdp_setup), cast("PluginFactory", demo_factory)]
        config.update(demo=True, mdns_interfaces=(HOST,))
    hub, _ = await _start_hub(data / "hub", extra, **config)
    try:
        lamps = {"bench": _lamp(0)}
        if demo_factory is not None:
            demo = demo_factory.demo
            if demo is None:
                raise RuntimeError(f"the demo plug-in did not start: {hub.problems}")
            await asyncio.wait_for(demo.ready.wait(), 90)
            for key in demo.devices:
                device = hub.registry.find_by_identity("zsdp", "key", key)
                if device is not None:
                    lamps["zsdp"] = device.id
        api = ApiServer(hub, HOST, 0, ui_dir=data / "ui")
        await api.start()
        try:
            assert api.auth is not None
            user = await api.auth.create_user("bench", "bench-password", Role.OWNER, pin="1234")
            token, _ = await api.auth.create_token("bench", user_id=user.id)
            _say({"port": api.port, "token": token, "lamps": lamps})
            loop = asyncio.get_running_loop()
            reader = asyncio.StreamReader()
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
            while line := (await reader.readline()).decode().strip():
                if line == "quit":
                    break
        finally:
            await api.stop()
    finally:
        await hub.stop()


async def _client(url: str, token: str, lamp: str, samples: int) -> dict[str, Any]:
    """Commands over one WebSocket; the delay until the lamp's ``state_changed`` arrives."""
    import aiohttp

    laps: list[float] = []
    mismatched = 0
    perf = time.perf_counter
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url + "/api/ws", max_msg_size=0) as ws,
    ):
        await ws.receive_json()  # auth_required
        await ws.send_json({"type": "auth", "token": token})
        if (await ws.receive_json(timeout=10))["type"] != "auth_ok":
            raise RuntimeError("auth failed")
        await ws.send_json(
            {"id": 1, "type": "subscribe", "devices": [lamp], "events": ["state_changed"]}
        )
        await ws.receive_json(timeout=10)  # the snapshot
        path = f"{lamp}/{ON}"
        msg_id = 1
        for k in range(samples + 10):  # 10 to warm up
            want = k % 2 == 0
            msg_id += 1
            t0 = perf()
            await ws.send_str(
                json.dumps(
                    {
                        "id": msg_id,
                        "type": "command",
                        "device": lamp,
                        "target": "main/onoff.on" if want else "main/onoff.off",
                    }
                )
            )
            seen_change = seen_reply = False
            while not (seen_change and seen_reply):
                msg = await ws.receive(timeout=10)
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    raise RuntimeError(f"the WebSocket closed: {msg}")
                body = json.loads(msg.data)
                if body.get("type") == "event":
                    event = body["event"]
                    data = event.get("data") or {}
                    if (
                        not seen_change
                        and event.get("type") == "state_changed"
                        and data.get("path") == path
                        and data["new"]["value"] is want
                    ):
                        seen_change = True
                        if k >= 10:
                            laps.append(perf() - t0)
                elif body.get("id") == msg_id:
                    seen_reply = True
                    if body.get("type") == "error" or not body.get("success", True):
                        mismatched += 1
                        seen_change = True
    return {"laps": laps, "failed": mismatched}


def _read_mark(stream: IO[str], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        if line.startswith(MARK):
            found: dict[str, Any] = json.loads(line[len(MARK) :])
            return found
    raise RuntimeError("the hub process did not answer")


def _ws_measure(samples: int, zsdp: bool, cpu: int | None = None) -> dict[str, float]:
    """The client's view; with ``cpu`` the hub child, its simulator and this client thread all
    run on that one CPU (figures named ``ws_*_one_cpu_*``)."""
    tmp = Path(tempfile.mkdtemp(prefix="zshub-rules-ws-"))
    env = {**os.environ, "PYTHONPATH": str(_ROOT)}
    cmd = [sys.executable, "-m", "bench.rule_latency", "--hub-child", str(tmp)]
    if cpu is not None:
        cmd += ["--cpu", str(cpu)]
    suffix = "_one_cpu" if cpu is not None else ""
    mask = os.sched_getaffinity(0)
    log = (tmp / "hub.log").open("w", encoding="utf-8")
    hub = subprocess.Popen(
        [*cmd, *(["--zsdp"] if zsdp else [])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=env,
        cwd=_ROOT,
        start_new_session=True,
    )
    out: dict[str, float] = {}
    try:
        assert hub.stdin is not None and hub.stdout is not None
        try:
            hello = _read_mark(hub.stdout, 150)
        except RuntimeError:
            log.flush()
            tail = (tmp / "hub.log").read_text(encoding="utf-8").splitlines()[-10:]
            raise RuntimeError("the hub child did not start:\n" + "\n".join(tail)) from None
        url = f"http://{HOST}:{hello['port']}"
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})  # this thread only (Linux: 0 is the caller)
        for name, lamp in hello["lamps"].items():
            got = asyncio.run(_client(url, str(hello["token"]), lamp, samples))
            ms = [lap * 1000 for lap in got["laps"]]
            out[f"ws_{name}{suffix}_p50_ms"] = median(ms) if ms else float("nan")
            out[f"ws_{name}{suffix}_p99_ms"] = _pct(ms, 99)
            out[f"ws_{name}{suffix}_samples"] = float(len(ms))
            out[f"ws_{name}{suffix}_failed"] = float(got["failed"])
        hub.stdin.write("quit\n")
        hub.stdin.flush()
        hub.wait(30)
    finally:
        os.sched_setaffinity(0, mask)
        if hub.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(hub.pid, 9)
            hub.wait(10)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return out


async def ws_client(samples: int = 300, zsdp: bool = True) -> dict[str, float]:
    """The registered workload: the client's view, ZS-DP lamp and bench lamp; then the same
    with the three processes on one CPU. On this virtual machine a process woken on the other
    CPU is often woken late (the hypervisor must run a halted virtual CPU first): the one-CPU
    figures show the hub's and the simulator's own share without those wake-ups."""
    loop = asyncio.get_running_loop()
    figures = await loop.run_in_executor(None, _ws_measure, samples, zsdp)
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > 1:
        figures.update(await loop.run_in_executor(None, _ws_measure, samples, zsdp, cpus[-1]))
    return figures


# -- the command line ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rule_latency", description=__doc__)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--ws-samples", type=int, default=300)
    parser.add_argument("--no-ws", action="store_true")
    parser.add_argument("--no-zsdp", action="store_true")
    parser.add_argument("--hub-child", metavar="DATA", help=argparse.SUPPRESS)
    parser.add_argument("--zsdp", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s")
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})  # before the simulator starts: it inherits the mask
    if args.hub_child:
        asyncio.run(_serve_hub(Path(args.hub_child), args.zsdp))
        return 0
    figures = asyncio.run(inside(args.samples, args.events))
    if not args.no_ws:
        figures.update(asyncio.run(ws_client(args.ws_samples, not args.no_zsdp)))
    for key, value in figures.items():
        sys.stdout.write(f"{key:24} {value:12.2f}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
