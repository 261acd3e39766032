"""Recorder burst: 50,000 state changes through the real StateStore into a temp SQLite database.

The burst is fired the way devices report: 1,000 changes, then the loop gets a turn. A monitor
task sleeps 5 ms in a loop and records how late it wakes; that lateness is the event-loop stall
the recorder (and the burst itself) causes. Target: no stall over 50 ms. The same burst is first
fired with no recorder attached, so the table also shows the burst's own share of the stalls.

    python -m bench.recorder_burst
"""

from __future__ import annotations

import asyncio
import resource
import sys
import tempfile
from pathlib import Path
from time import perf_counter
from typing import Any

from hub.core.bus import EventBus
from hub.core.context import Context, Origin
from hub.core.state import StateStore
from hub.core.tasks import TaskKeeper
from hub.storage import Recorder, Storage

__all__ = ["STALL_TARGET_MS", "main", "run"]

TOTAL = 50_000
CHUNK = 1_000
DEVICES = 250
STALL_TARGET_MS = 50.0
_TICK = 0.005
_PERSIST_TIMEOUT = 120.0


_CAPABILITIES = ("climate/temperature", "light/brightness", "switch/on", "fan/mode", "light/xy")
PATHS = DEVICES * 4  # four capabilities per device


def _path(n: int) -> str:
    slot = n % PATHS
    return f"dev-{slot // 4}/main/{_CAPABILITIES[slot % len(_CAPABILITIES)]}"


def _value(n: int) -> Any:
    """A realistic mix (temperatures, percentages, switches, enums, colour pairs), different on
    every round over the paths, so every ``set`` is a change the recorder must write."""
    slot, rnd = n % PATHS, n // PATHS
    kind = slot % len(_CAPABILITIES)
    if kind == 0:
        return round(20.0 + rnd / 10, 1)
    if kind == 1:
        return rnd % 101
    if kind == 2:
        return rnd % 2 == 0
    if kind == 3:
        return ("off", "low", "mid", "high")[rnd % 4]
    return (round((rnd % 70) / 100, 2), 0.33)


async def _monitor(lateness: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        started = loop.time()
        await asyncio.sleep(_TICK)
        lateness.append(max(0.0, loop.time() - started - _TICK))


def _peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # kilobytes on Linux, bytes on macOS
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _percentile(samples: list[float], fraction: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _fire(states: StateStore, total: int, chunk: int) -> float:
    """The burst, as devices report it: ``chunk`` changes, then the loop gets a turn."""
    context = Context(Origin.INTEGRATION, "bench")
    started = perf_counter()
    for n in range(total):
        states.set(_path(n), _value(n), context)
        if n % chunk == chunk - 1:
            await asyncio.sleep(0)
    return perf_counter() - started


async def _baseline(total: int, chunk: int) -> list[float]:
    """Loop lateness of the same burst with no recorder: the burst's own share of the stalls."""
    tasks = TaskKeeper("bench-baseline")
    states = StateStore(EventBus(tasks))
    lateness: list[float] = []
    stop = asyncio.Event()
    monitor = asyncio.create_task(_monitor(lateness, stop))
    await asyncio.sleep(_TICK * 2)
    await _fire(states, total, chunk)
    stop.set()
    await monitor
    return lateness


async def run(total: int = TOTAL, chunk: int = CHUNK) -> dict[str, float]:
    """Fire the burst and wait until every row is in the database; returns the figures."""
    baseline = await _baseline(total, chunk)
    with tempfile.TemporaryDirectory(prefix="zshub-bench-") as tmp:
        storage = await Storage.open(Path(tmp))
        tasks = TaskKeeper("bench")
        bus = EventBus(tasks)
        recorder = Recorder(storage, bus, tasks)  # default settings
        recorder.start()
        lateness: list[float] = []
        stop = asyncio.Event()
        monitor = asyncio.create_task(_monitor(lateness, stop))
        await asyncio.sleep(_TICK * 2)  # the monitor is running before the burst starts

        started = perf_counter()
        fired = await _fire(StateStore(bus), total, chunk)
        deadline = started + _PERSIST_TIMEOUT
        while recorder.stats()["written"] + recorder.stats()["dropped"] < total:
            if perf_counter() > deadline:
                raise RuntimeError(
                    f"not persisted after {_PERSIST_TIMEOUT:.0f} s: {recorder.stats()}"
                )
            await asyncio.sleep(0.002)
        persisted = perf_counter() - started

        stop.set()
        await monitor
        counts = await storage.counts()
        stats = recorder.stats()
        await storage.close()
        await tasks.cancel_all()

    return {
        "max_stall_ms": max(lateness, default=0.0) * 1000,
        "p99_stall_ms": _percentile(lateness, 0.99) * 1000,
        "baseline_max_stall_ms": max(baseline, default=0.0) * 1000,
        "baseline_p99_stall_ms": _percentile(baseline, 0.99) * 1000,
        "fire_s": fired,
        "persist_s": persisted,
        "rows_per_s": total / persisted,
        "peak_rss_mib": _peak_rss_mib(),
        "written": float(counts["state_history"]),
        "paths": float(counts["last_states"]),
        "dropped": stats["dropped"],
        "last_commit_ms": stats["last_commit_ms"],
    }


def _table(figures: dict[str, float]) -> str:
    rows = [
        ("state changes", f"{TOTAL:,}", f"in chunks of {CHUNK:,}"),
        (
            "max loop stall",
            f"{figures['max_stall_ms']:.1f} ms",
            f"target ≤ {STALL_TARGET_MS:.0f} ms",
        ),
        ("p99 loop stall", f"{figures['p99_stall_ms']:.2f} ms", "5 ms sleep, lateness"),
        (
            "… same burst, no recorder",
            f"{figures['baseline_max_stall_ms']:.1f} / {figures['baseline_p99_stall_ms']:.1f} ms",
            "max / p99: the burst's own share",
        ),
        ("burst fired in", f"{figures['fire_s'] * 1000:.0f} ms", "StateStore.set + bus"),
        ("fully persisted in", f"{figures['persist_s']:.2f} s", "from first change"),
        ("rows/s", f"{figures['rows_per_s']:,.0f}", "history + last_states"),
        ("rows in state_history", f"{figures['written']:,.0f}", f"expect {TOTAL:,}"),
        ("rows in last_states", f"{figures['paths']:,.0f}", f"expect {PATHS:,} paths"),
        ("dropped", f"{figures['dropped']:.0f}", "expect 0"),
        ("last commit", f"{figures['last_commit_ms']:.1f} ms", "one writer transaction"),
        ("peak RSS", f"{figures['peak_rss_mib']:.1f} MiB", "whole process"),
    ]
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    line = "+".join("-" * (w + 2) for w in width)
    out = [f"+{line}+"]
    for row in rows:
        out.append(
            "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, width, strict=True)) + " |"
        )
    out.append(f"+{line}+")
    return "\n".join(out)


def main() -> int:
    figures = asyncio.run(run())
    print("recorder burst: 50,000 state changes → temp SQLite (WAL), default recorder settings")
    print(_table(figures))
    ok = (
        figures["max_stall_ms"] <= STALL_TARGET_MS
        and figures["dropped"] == 0
        and figures["written"] == TOTAL
    )
    print("PASS" if ok else "FAIL", f"(max stall {figures['max_stall_ms']:.1f} ms)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
