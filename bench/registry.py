"""The registry of workloads: what ``python -m bench`` runs, in this order.

A workload is a callable ``() -> dict[str, float]`` (or an ``async def`` returning one; a value
may be a short text such as "n/a (no demo yet)" instead of a number) named as
``"module:function"`` and imported only when it runs, so a workload whose module is not written
yet shows up as "not available" instead of breaking the suite. Its :class:`Figure` list says how
to print each returned key (unit, target, Home Assistant's figure); keys it returns that are not
listed are printed too, without a target.

Adding a workload (rule latency, Matter …)::

    register(Workload(
        "rule_latency", "bench.rules:rule_latency",
        (Figure("p50_ms", "trigger → command p50", "ms", target=5.0),),
        "one rule: state change → condition → command through the arbiter",
    ))

next to the existing ones at the bottom of this file.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "WORKLOADS",
    "Figure",
    "Workload",
    "Result",
    "WorkloadFn",
    "WorkloadUnavailableError",
    "call",
    "register",
]

# A figure's value, or a short text in its place ("n/a (no demo yet)", "failed: …").
Result = Mapping[str, float | str]
WorkloadFn = Callable[[], Result | Awaitable[Result]]


class WorkloadUnavailableError(Exception):
    """The workload's module or function does not exist (yet)."""


@dataclass(frozen=True, slots=True)
class Figure:
    """How to judge and print one figure a workload returns."""

    key: str
    label: str
    unit: str  # "µs", "s", "MiB", "count" …
    target: float | None = None  # upper bound (or lower bound when higher_is_better)
    ha: float | None = None  # Home Assistant 2026.11 on this machine, same workload
    higher_is_better: bool = False
    expect: float | None = None  # a correctness count that must come out exactly so

    def met(self, value: float | None) -> bool | None:
        if value is None:
            return None
        if self.expect is not None:
            return value == self.expect
        if self.target is None:
            return None
        return value >= self.target if self.higher_is_better else value <= self.target

    def ratio(self, value: float | None) -> float | None:
        """How many times better than Home Assistant (> 1: we are better)."""
        if value is None or self.ha is None or value <= 0:
            return None
        return value / self.ha if self.higher_is_better else self.ha / value


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    entry: str  # "module:function"
    figures: tuple[Figure, ...]
    description: str
    repeat: int = 5  # runs in the same process; the table shows the best and the median
    timeout_s: float = 180.0
    default: bool = True  # False: slow, run only with --all or --only

    def load(self) -> WorkloadFn:
        module_name, _, func_name = self.entry.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name is not None and module_name.startswith(err.name):
                raise WorkloadUnavailableError(f"{module_name} does not exist yet") from None
            raise
        func = getattr(module, func_name, None)
        if func is None:
            raise WorkloadUnavailableError(f"{self.entry} does not exist yet")
        fn: WorkloadFn = func
        return fn


def call(fn: WorkloadFn) -> Result:
    """Run one workload function, sync or async (a fresh event loop per call)."""
    out = fn()
    if inspect.isawaitable(out):

        async def wait(aw: Awaitable[Result]) -> Result:
            return await aw

        return asyncio.run(wait(out))
    return out


WORKLOADS: dict[str, Workload] = {}


def register(workload: Workload) -> Workload:
    if workload.name in WORKLOADS:
        raise ValueError(f"workload {workload.name!r} is registered twice")
    WORKLOADS[workload.name] = workload
    return workload


# -- the kernel (bench/kernel.py) ------------------------------------------------------------
# Targets: one third of Home Assistant 2026.11's figures measured on the same machine.
# The kernel figures are CPU time of the process per operation (see bench.kernel.Timer); the
# "… wall clock" rows below each are the same loop by the clock on the wall.

register(
    Workload(
        "fire_events",
        "bench.kernel:fire_events",
        (
            Figure("us_per_event", "µs per event (10⁶ to one listener)", "µs", 0.46, ha=1.38),
            Figure("us_per_event_wall", "… wall clock", "µs"),
            Figure("calls", "listener calls", "count", expect=1_000_000),
        ),
        "bus.fire of 10⁶ events to one sync listener",
    )
)
register(
    Workload(
        "fire_events_with_filter",
        "bench.kernel:fire_events_with_filter",
        (
            Figure("us_per_event", "µs per event (filter rejects all)", "µs", 0.46),
            Figure("us_per_event_wall", "… wall clock", "µs"),
            Figure("calls", "listener calls", "count", expect=0),
        ),
        "bus.fire of 10⁶ events to a listener whose filter rejects each",
    )
)
register(
    Workload(
        "state_changed_tracker",
        "bench.kernel:state_changed_tracker",
        (
            Figure("tracked_us", "µs per tracked change (1,000 devices)", "µs", 0.6, ha=1.78),
            Figure("tracked_us_wall", "… wall clock", "µs"),
            Figure("tracked_calls", "tracked listener calls", "count", expect=1_000_000),
            Figure("untracked_us", "µs per untracked change", "µs", 0.6),
            Figure("untracked_us_wall", "… wall clock", "µs"),
            Figure("untracked_calls", "calls for the untracked device", "count", expect=0),
        ),
        "state_changed of a tracked / untracked device routed by track_devices",
    )
)
register(
    Workload(
        "state_writes",
        "bench.kernel:state_writes",
        (
            Figure("us_per_write", "µs per state write (10⁵, values change)", "µs", 3.4, ha=16.9),
            Figure("us_per_write_wall", "… wall clock", "µs"),
            Figure("changes", "state_changed delivered", "count", expect=100_000),
        ),
        "StateStore.set on 2,000 paths of 1,000 devices, a tracker and a bus listener attached",
    )
)
register(
    Workload(
        "command",
        "bench.kernel:command",
        (
            Figure("us_per_command", "µs per command (no-op link, SENT)", "µs", 2.0, ha=1.2),
            Figure("us_per_command_wall", "… wall clock", "µs"),
            Figure("p50_us", "p50 per command (wall clock)", "µs"),
            Figure("p99_us", "p99 per command (wall clock)", "µs"),
            Figure("us_per_confirmed", "µs per confirmed command (on/off)", "µs"),
            Figure("sent", "commands sent", "count", expect=10_000),
        ),
        "commands.send through validation and the safety arbiter to a no-op DeviceLink",
    )
)

# -- start-up (bench/cold_start.py) ----------------------------------------------------------
register(
    Workload(
        "cold_start",
        "bench.cold_start:cold_start",
        (
            Figure("to_http_s", "zshub run → HTTP answers (p50 of 3)", "s", 0.5, ha=1.37),
            Figure("to_ready_s", "… → hub ready, full API (p50 of 3)", "s"),
            Figure("ready_cpu_s", "… CPU seconds of the hub by then", "s"),
            Figure("rss_mib", "RSS 10 s after start", "MiB", 80.0, ha=232.0),
            Figure("to_http_demo_s", "… with --demo (1 start)", "s", 0.5),
            Figure("to_ready_demo_s", "… with --demo: hub ready", "s"),
            Figure("rss_demo_mib", "… RSS with --demo", "MiB", 80.0),
            Figure("modules", "modules imported (hub.app + api)", "count"),
            Figure("import_s", "import hub.app + api", "s"),
        ),
        "zshub run on an empty data directory, without and with the demo home",
        repeat=1,
    )
)

# -- storage (bench/recorder_burst.py) -------------------------------------------------------
register(
    Workload(
        "recorder_burst",
        "bench.recorder_burst:run",
        (
            Figure("max_stall_ms", "max event-loop stall (50,000 changes)", "ms", 50.0),
            Figure("p99_stall_ms", "p99 event-loop stall", "ms"),
            Figure("baseline_max_stall_ms", "… max stall, burst without recorder", "ms"),
            Figure("persist_s", "all rows persisted after", "s"),
            Figure("rows_per_s", "rows per second", "", higher_is_better=True),
            Figure("written", "rows in state_history", "count", expect=50_000),
            Figure("dropped", "rows dropped", "count", expect=0),
        ),
        "50,000 state changes through the real recorder into a temporary SQLite database",
        repeat=1,
        timeout_s=120.0,
    )
)

# -- API (bench/ws_fanout.py) ------------------------------------------------------------------
register(
    Workload(
        "ws_fanout",
        "bench.ws_fanout:run",
        (
            Figure("p50_ms", "change → WebSocket client p50 (50 clients)", "ms"),
            Figure("p99_ms", "… p99", "ms"),
            Figure("delivered_pct", "delivered", "%", higher_is_better=True),
            Figure("hub_cpu_pct", "hub CPU (500 changes/s)", "%"),
        ),
        "50 WebSocket clients subscribed to everything, 500 state changes a second for 10 s",
        repeat=1,
        timeout_s=120.0,
    )
)

# -- ZS-DP (bench/zsdp_fleet.py) ---------------------------------------------------------------
register(
    Workload(
        "zsdp_fleet",
        "bench.zsdp_fleet:run",
        (
            Figure("ready_after_s", "200 lamps online after", "s"),
            Figure("cmd_p50_ms", "command round trip p50 (CONFIRMED)", "ms"),
            Figure("cmd_p99_ms", "… p99", "ms"),
            Figure("cpu_pct_one_core", "hub CPU, 200 lamps reporting 1/s", "%"),
            Figure("rss_peak_mib", "hub peak RSS", "MiB"),
            Figure("load_cmd_p50_ms", "command round trip p50 while the lamps report", "ms"),
            Figure("load_cmd_p99_ms", "… p99", "ms"),
            Figure("reports_per_s", "reports delivered per second", "count"),
        ),
        "200 simulated ZS-DP lamps on loopback reporting once a second, 30 s",
        repeat=1,
        timeout_s=180.0,
    )
)
register(
    Workload(
        "zsdp_fleet_1000",
        "bench.zsdp_fleet:fleet_1000",
        (
            Figure("ready_after_s", "1,000 lamps online after", "s"),
            Figure("cmd_p50_ms", "command round trip p50 (CONFIRMED)", "ms"),
            Figure("cmd_p99_ms", "… p99", "ms"),
            Figure("cpu_pct_one_core", "hub CPU, 1,000 lamps reporting 1/s", "%", 25.0),
            Figure("rss_peak_mib", "hub peak RSS", "MiB", 150.0),
            Figure("load_cmd_p50_ms", "command round trip p50 while the lamps report", "ms"),
            Figure("load_cmd_p99_ms", "… p99", "ms"),
            Figure("reports_per_s", "reports delivered per second", "count"),
        ),
        "1,000 simulated ZS-DP lamps (slow: only with --all or --only)",
        repeat=1,
        timeout_s=400.0,
        default=False,
    )
)

# -- rules (bench/rule_latency.py) ------------------------------------------------------------
register(
    Workload(
        "rule_latency",
        "bench.rule_latency:inside",
        (
            Figure("inside_cpu_p50_us", "state change → rule → command at the link, p50", "µs"),
            Figure("inside_cpu_p99_us", "… p99 (100 rules + packs, real Hub)", "µs", 300.0),
            Figure("inside_p50_us", "… wall clock p50", "µs", ha=510.0),
            Figure("inside_p99_us", "… wall clock p99", "µs"),
            Figure("events_per_s", "state changes processed per second", "", higher_is_better=True),
            Figure("inside_samples", "latency samples", "count", expect=2000),
            Figure("motion_runs_expected", "rule runs that must send a command", "count"),
            Figure("commands", "… commands at the link", "count", expect=2000),
        ),
        "100 rules (state from/to, conditions, commands) on 130 devices plus the shipped packs",
        repeat=3,
        timeout_s=300.0,
    )
)
register(
    Workload(
        "rule_latency_ws",
        "bench.rule_latency:ws_client",
        (
            Figure("ws_zsdp_p50_ms", "WS command → state_changed, ZS-DP lamp, p50", "ms", ha=1.9),
            Figure("ws_zsdp_p99_ms", "… p99 (simulator on loopback)", "ms", 2.0, ha=4.2),
            Figure("ws_bench_p50_ms", "… link reporting at once, p50", "ms"),
            Figure("ws_bench_p99_ms", "… p99", "ms", 2.0),
            Figure("ws_zsdp_samples", "samples (ZS-DP)", "count", expect=300),
            Figure("ws_bench_samples", "samples (bench lamp)", "count", expect=300),
            Figure(
                "ws_zsdp_one_cpu_p50_ms",
                "ZS-DP lamp, client + hub + simulator on one CPU, p50",
                "ms",
            ),
            Figure("ws_zsdp_one_cpu_p99_ms", "… p99", "ms"),
            Figure("ws_bench_one_cpu_p50_ms", "bench lamp, client + hub on one CPU, p50", "ms"),
            Figure("ws_bench_one_cpu_p99_ms", "… p99", "ms"),
        ),
        "an aiohttp WebSocket client against a hub process with the 100 rules and the API",
        repeat=1,
        timeout_s=300.0,
    )
)

# -- Matter (bench/matter_roundtrip.py) ---------------------------------------------------------
register(
    Workload(
        "matter_roundtrip",
        "bench.matter_roundtrip:run",
        (
            Figure("commission_s", "Matter commissioning via the hub API (light)", "s"),
            Figure("cmd_p50_ms", "command round trip p50 (API → device → confirmed)", "ms"),
            Figure("cmd_p99_ms", "… p99", "ms"),
            Figure("burst_p50_ms", "… back to back (server's 1 s report floor)", "ms"),
            Figure("report_p50_ms", "device-side toggle → hub state p50", "ms"),
            Figure("confirmed", "commands confirmed", "count", expect=40),
            Figure("ready_s", "lab + hub + supervised matter-server ready", "s"),
        ),
        "a matter.js light in a network namespace, the hub's matter-server in another (root)",
        repeat=1,
        timeout_s=300.0,
    )
)
