"""``python -m bench`` (``make bench``): run the registered workloads and print one table.

    python -m bench                                  # everything
    python -m bench --only fire_events,state_writes  # some
    python -m bench --json out.json                  # also write the figures as JSON
    python -m bench --all                            # also the slow ones (1,000 ZS-DP lamps)
    python -m bench --list                           # what is registered

Each workload runs in a fresh interpreter (``python -m bench --child NAME``) so its CPU seconds
and peak RSS are its own; inside it runs ``repeat`` times and the table shows the best run and
the median. "met" is judged on the best run: on a shared, noisy machine the best run is the
closest estimate of what the code costs; the median shows how noisy it was.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from bench.registry import WORKLOADS, Figure, Workload, WorkloadUnavailableError, call

# Figures every workload gets from the runner (unless the workload measures them itself).
_CPU = Figure("cpu_s", "CPU seconds (one run)", "s")
_RSS = Figure("peak_rss_mib", "peak RSS", "MiB")


# -- the child: one workload in this interpreter -------------------------------------------------


def _child(name: str, repeat: int) -> int:
    workload = WORKLOADS[name]
    try:
        fn = workload.load()
    except WorkloadUnavailableError as err:
        print(json.dumps({"unavailable": str(err)}))
        return 0
    runs: list[dict[str, float | str]] = []
    for _ in range(repeat):
        cpu0 = time.process_time()
        result = dict(call(fn))
        result.setdefault("cpu_s", time.process_time() - cpu0)
        runs.append(result)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    for run in runs:
        run.setdefault("peak_rss_mib", peak_mib)
    print(json.dumps({"runs": runs}))
    return 0


# -- the parent: run children, aggregate, print ------------------------------------------------


@dataclass(slots=True)
class Row:
    workload: str
    figure: Figure
    best: float | str | None
    median: float | None


@dataclass(slots=True)
class Outcome:
    workload: Workload
    runs: list[dict[str, float | str]] = field(default_factory=list)
    note: str | None = None  # "not available", "failed: …"
    seconds: float = 0.0

    def extra_keys(self) -> list[str]:
        """Figures the workload returned but did not declare (in the JSON; in the table only
        when it declared none)."""
        known = {f.key for f in self.workload.figures}
        keys = [k for run in self.runs for k in run if k not in known and k not in _RUNNER_KEYS]
        return list(dict.fromkeys(keys))

    def rows(self, *, extra: bool = True) -> list[Row]:
        if self.note is not None:
            return [Row(self.workload.name, Figure("-", self.note, ""), None, None)]
        declared = list(self.workload.figures)
        if extra or not declared:
            declared += [Figure(k, k, _unit_of(k)) for k in self.extra_keys()]
        out: list[Row] = []
        for fig in declared:
            values = [run[fig.key] for run in self.runs if fig.key in run]
            numbers = [v for v in values if isinstance(v, int | float)]
            texts = [v for v in values if isinstance(v, str)]
            if texts and not numbers:
                out.append(Row(self.workload.name, fig, texts[-1], None))
            elif numbers:
                out.append(Row(self.workload.name, fig, _best(fig, numbers), median(numbers)))
            else:
                out.append(Row(self.workload.name, fig, None, None))
        return out

    def resource(self, key: str) -> float | str | None:
        values = [run[key] for run in self.runs if key in run]
        numbers = [v for v in values if isinstance(v, int | float)]
        if numbers:
            return median(numbers) if key == "cpu_s" else max(numbers)
        return values[-1] if values else None


_RUNNER_KEYS = frozenset({"cpu_s", "peak_rss_mib"})


def _unit_of(key: str) -> str:
    for suffix, unit in (("_us", "µs"), ("_ms", "ms"), ("_s", "s"), ("_mib", "MiB")):
        if key.endswith(suffix):
            return unit
    return ""


def _best(fig: Figure, numbers: list[float]) -> float:
    if fig.expect is not None:  # a count: show a run that got it wrong, if any
        wrong = [n for n in numbers if n != fig.expect]
        return wrong[0] if wrong else fig.expect
    return max(numbers) if fig.higher_is_better else min(numbers)


def _run_child(workload: Workload, repeat: int | None) -> Outcome:
    outcome = Outcome(workload)
    cmd = [sys.executable, "-m", "bench", "--child", workload.name]
    cmd += ["--repeat", str(repeat or workload.repeat)]
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=workload.timeout_s,
            check=False,
            env=_child_env(),
        )
    except subprocess.TimeoutExpired:
        outcome.note = f"failed: no result in {workload.timeout_s:g} s"
        return outcome
    outcome.seconds = time.perf_counter() - started
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        err = proc.stderr.strip().splitlines()
        outcome.note = f"failed: {err[-1] if err else f'exit {proc.returncode}'}"
        return outcome
    data: dict[str, Any] = json.loads(lines[-1])
    if "unavailable" in data:
        outcome.note = f"not available: {data['unavailable']}"
    else:
        outcome.runs = data["runs"]
    return outcome


def _child_env() -> dict[str, str]:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root if not path else f"{root}{os.pathsep}{path}"}


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib: float | None = None
    with contextlib.suppress(ValueError, OSError):
        mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_gib, 1) if mem_gib else None,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "system": f"{platform.system()} {platform.release()}",
        "load": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


def machine_line(m: dict[str, Any]) -> str:
    mem = f", {m['memory_gib']} GiB RAM" if m.get("memory_gib") else ""
    return (
        f"machine: {m['cpu']}, {m['cores']} cores{mem}; {m['system']}; {m['python']}; "
        f"load average at start {m['load']}"
    )


def _fmt(value: float | str | None, unit: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "µs":
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    if unit == "s":
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    if unit in ("MiB", "%"):
        return f"{value:.1f}"
    if unit == "ms":
        return f"{value:.2f}" if value < 100 else f"{value:,.0f}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _target(fig: Figure) -> str:
    if fig.expect is not None:
        return f"= {_fmt(fig.expect, fig.unit)}"
    if fig.target is None:
        return ""
    return f"{'≥' if fig.higher_is_better else '≤'} {_fmt(fig.target, fig.unit)} {fig.unit}"


def table(outcomes: Sequence[Outcome]) -> str:
    header = (
        "workload",
        "figure",
        "best",
        "median",
        "target",
        "met",
        "HA 2026.11",
        "HA/ours",
        "CPU s",
        "peak RSS MiB",
    )
    lines: list[tuple[str, ...]] = []
    for outcome in outcomes:
        first = True
        rows = outcome.rows(extra=False)
        hidden = len(outcome.extra_keys()) if outcome.workload.figures else 0
        if hidden:
            note = Figure("-", f"(+{hidden} more figures in --json)", "")
            rows.append(Row(outcome.workload.name, note, None, None))
        for row in rows:
            fig = row.figure
            met = fig.met(row.best if isinstance(row.best, int | float) else None)
            ratio = fig.ratio(row.best if isinstance(row.best, int | float) else None)
            cpu = outcome.resource("cpu_s") if first else None
            rss = outcome.resource("peak_rss_mib") if first else None
            lines.append(
                (
                    row.workload if first else "",
                    fig.label,
                    _fmt(row.best, fig.unit) if fig.key != "-" or row.best else "",
                    ""
                    if row.median is None or fig.expect is not None
                    else _fmt(row.median, fig.unit),
                    _target(fig),
                    {True: "yes", False: "NO", None: ""}[met],
                    _fmt(fig.ha, fig.unit) if fig.ha is not None else "",
                    f"{ratio:.2f}×" if ratio is not None else "",
                    _fmt(cpu, "s") if cpu is not None else "",
                    _fmt(rss, "MiB") if rss is not None else "",
                )
            )
            first = False
    widths = [max(len(r[i]) for r in (header, *lines)) for i in range(len(header))]
    numeric = {2, 3, 6, 7, 8, 9}

    def fmt(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(header), rule, *(fmt(r) for r in lines)])


def _as_json(m: dict[str, Any], outcomes: Sequence[Outcome]) -> dict[str, Any]:
    results = []
    for outcome in outcomes:
        figures = {}
        for row in outcome.rows():
            fig = row.figure
            best = row.best if isinstance(row.best, int | float) else None
            figures[fig.key] = {
                "label": fig.label,
                "unit": fig.unit,
                "best": row.best,
                "median": row.median,
                "target": fig.expect if fig.expect is not None else fig.target,
                "met": fig.met(best),
                "ha": fig.ha,
                "ratio_ha_over_ours": fig.ratio(best),
            }
        results.append(
            {
                "workload": outcome.workload.name,
                "note": outcome.note,
                "seconds": round(outcome.seconds, 2),
                "cpu_s": outcome.resource("cpu_s"),
                "peak_rss_mib": outcome.resource("peak_rss_mib"),
                "figures": figures,
                "runs": outcome.runs,
            }
        )
    return {"machine": m, "results": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated workload names")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--repeat", type=int, help="runs per workload (default: its own)")
    parser.add_argument("--all", action="store_true", help="also the slow workloads")
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child, args.repeat or WORKLOADS[args.child].repeat)
    if args.list:
        for w in WORKLOADS.values():
            print(f"{w.name:26} {w.description}")
        return 0
    names = [n for n, w in WORKLOADS.items() if w.default or args.all]
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in WORKLOADS]
        if unknown:
            parser.error(f"unknown workload(s): {', '.join(unknown)} (see --list)")
    m = machine()
    print("zshub performance suite", flush=True)
    print(machine_line(m), flush=True)
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    for name in names:
        workload = WORKLOADS[name]
        print(f"  running {name} …", end="", file=sys.stderr, flush=True)
        outcome = _run_child(workload, args.repeat)
        outcomes.append(outcome)
        print(f" {outcome.seconds:.1f} s", file=sys.stderr, flush=True)
    print()
    print(table(outcomes))
    print(f"\n{len(outcomes)} workloads in {time.perf_counter() - started:.0f} s", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(_as_json(m, outcomes), f, ensure_ascii=False, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
