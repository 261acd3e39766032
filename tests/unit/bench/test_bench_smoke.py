"""The performance suite's scripts work and count right. Correctness only: no timing asserted
(speed is what ``make bench`` reports)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import kernel
from bench.__main__ import Outcome, table
from bench.registry import WORKLOADS, Figure, Workload, WorkloadUnavailableError, call

N = 1000
ROOT = Path(__file__).resolve().parents[3]


def _numbers(result: object) -> dict[str, float]:
    assert isinstance(result, dict)
    for key, value in result.items():
        assert isinstance(value, float), key
        assert value >= 0, key
    return result


def test_fire_events_delivers_every_event() -> None:
    out = _numbers(kernel.fire_events(N))
    assert out["calls"] == N
    assert {"us_per_event", "us_per_event_wall"} <= set(out)


def test_fire_events_with_filter_delivers_none() -> None:
    out = _numbers(kernel.fire_events_with_filter(N))
    assert out["calls"] == 0


def test_state_changed_tracker_routes_tracked_only() -> None:
    out = _numbers(kernel.state_changed_tracker(N, devices=50))
    assert out["tracked_calls"] == N
    assert out["untracked_calls"] == 0


def test_state_writes_change_every_time() -> None:
    out = _numbers(kernel.state_writes(N, devices=20))
    assert out["changes"] == N  # every write was a real change ...
    assert out["tracked"] == N  # ... and reached the device tracker too


def test_command_is_sent_and_confirmed() -> None:
    out = _numbers(call(lambda: kernel.command(200)))
    assert out["sent"] == 200
    assert out["confirmed"] == 200
    assert out["p50_us"] <= out["p99_us"]


async def test_bench_profile_and_noop_link_follow_the_kernel_protocols() -> None:
    service, link, states = kernel._command_setup(report=True)
    from hub.core.context import Context, Origin

    ctx = Context(Origin.USER, "t")
    result = await service.send("lamp-1", "main/onoff.on", context=ctx)
    assert result.status.value == "confirmed"
    assert states.value("lamp-1/main/onoff/on") is True
    refused = await service.send("lamp-1", "main/onoff.dim", context=ctx)
    assert refused.code == "unknown_command"
    assert link.invoked == 1


def test_every_kernel_workload_is_registered() -> None:
    for name in ("fire_events", "fire_events_with_filter", "state_changed_tracker"):
        assert WORKLOADS[name].entry == f"bench.kernel:{name}"
    assert WORKLOADS["state_writes"].load() is kernel.state_writes
    assert WORKLOADS["command"].load() is kernel.command
    assert "cold_start" in WORKLOADS and "recorder_burst" in WORKLOADS


def test_missing_module_is_reported_not_raised() -> None:
    w = Workload("later", "bench.not_written_yet:run", (), "a workload of a later issue")
    with pytest.raises(WorkloadUnavailableError):
        w.load()


def test_figures_judge_targets_counts_and_ratios() -> None:
    lower = Figure("us", "µs", "µs", target=0.5, ha=1.5)
    assert lower.met(0.4) is True and lower.met(0.6) is False and lower.met(None) is None
    assert lower.ratio(0.5) == pytest.approx(3.0)
    count = Figure("calls", "calls", "count", expect=10)
    assert count.met(10) is True and count.met(9) is False
    higher = Figure("rate", "rate", "", target=100, higher_is_better=True)
    assert higher.met(150) is True and higher.met(50) is False
    assert Figure("x", "x", "").met(1.0) is None


def test_table_shows_best_median_target_and_notes() -> None:
    w = Workload(
        "demo_wl",
        "bench.kernel:fire_events",
        (Figure("us", "µs per thing", "µs", 1.0, ha=3.0), Figure("n", "calls", "count", expect=2)),
        "test",
    )
    ok = Outcome(w, runs=[{"us": 0.5, "n": 2.0, "cpu_s": 1.0}, {"us": 0.7, "n": 2.0}])
    text = table([ok, Outcome(w, note="not available: later")])
    row = next(line for line in text.splitlines() if "µs per thing" in line)
    assert "0.500" in row and "0.600" in row and "yes" in row and "6.00×" in row
    assert "not available: later" in text
    wrong = Outcome(w, runs=[{"us": 2.0, "n": 1.0}])
    assert "NO" in table([wrong])


def test_runner_child_and_only_json(tmp_path: Path) -> None:
    """``python -m bench --only … --json`` end to end on the cheapest workload (1 run)."""
    out = tmp_path / "out.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "fire_events_with_filter", "--repeat", "1"]
        + ["--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "machine:" in proc.stdout and "fire_events_with_filter" in proc.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    (result,) = data["results"]
    assert result["figures"]["calls"]["best"] == 0
    assert result["figures"]["calls"]["met"] is True
    assert data["machine"]["cores"] >= 1
