"""Run modes and their edge cases."""

from __future__ import annotations

from rules_home import START, Home, statuses

from rules.engine import RuleEngine


def mode_rule(mode: str, *, max_runs: int | None = None, delay: int = 10) -> str:
    limit = f"max: {max_runs}" if max_runs is not None else ""
    return f"""
id: m
name: {{zh: 模式, en: Mode}}
mode: {mode}
{limit}
triggers:
  - event: {{target: role:presence, path: occupancy/motion}}
actions:
  - delay: {delay}
  - command: {{target: hall-light, do: brightness.set_level, args: {{level: 50}}}}
"""


def motion(home: Home, device: str = "hall-pir") -> None:
    home.event(device, "main/occupancy/motion")


async def test_restart_three_quick_triggers_leave_exactly_one_run(home: Home) -> None:
    engine = await home.engine(mode_rule("restart"))
    for _ in range(3):
        motion(home)
    await home.clock.settle()
    assert len(engine.running("m")) == 1
    assert statuses(engine, "m") == ["cancelled", "cancelled", "running"]
    traces = engine.traces("m")
    assert traces[0]["run_id"] == engine.running("m")[0]
    assert all(t["notes"][0]["code"] == "restarted" for t in traces[1:])
    await home.clock.advance(10)
    assert len(home.calls()) == 1  # the survivor ran to the end, once
    assert statuses(engine, "m") == ["cancelled", "cancelled", "finished"]
    assert engine.running("m") == []


async def test_restart_mid_delay(home: Home) -> None:
    engine = await home.engine(mode_rule("restart"))
    motion(home)
    await home.clock.advance(8)
    motion(home)
    await home.clock.advance(8)
    assert home.calls() == []  # the first run never reached its command
    await home.clock.advance(2)
    assert len(home.calls()) == 1
    assert statuses(engine, "m") == ["cancelled", "finished"]


async def test_single_skips_a_trigger_while_running_and_traces_it(home: Home) -> None:
    engine = await home.engine(mode_rule("single"))
    motion(home)
    await home.clock.advance(1)
    motion(home, "kitchen-pir")
    await home.clock.advance(20)
    assert len(home.calls()) == 1
    assert statuses(engine, "m") == ["finished", "skipped"]
    skipped = engine.traces("m")[0]
    assert skipped["notes"][0]["code"] == "skipped_single"
    assert skipped["trigger"]["device_id"] == "kitchen-pir"
    assert skipped["steps"] == [] and skipped["conditions"] == []


async def test_queued_runs_in_trigger_order_up_to_max(home: Home) -> None:
    engine = await home.engine(mode_rule("queued", max_runs=3))
    for device in ("hall-pir", "kitchen-pir", "hall-pir", "kitchen-pir"):
        motion(home, device)
    await home.clock.settle()
    assert statuses(engine, "m") == ["running", "queued", "queued", "skipped"]
    assert engine.traces("m")[0]["notes"][0]["code"] == "skipped_queue_full"
    await home.clock.advance(10)
    assert statuses(engine, "m")[:2] == ["finished", "running"]
    await home.clock.advance(20)
    assert len(home.calls()) == 3
    finished = [t for t in reversed(engine.traces("m")) if t["status"] == "finished"]
    assert [t["trigger"]["device_id"] for t in finished] == ["hall-pir", "kitchen-pir", "hall-pir"]
    # One after another: each started when the previous one ended.
    assert [t["started_at"] - START for t in finished] == [0.0, 10.0, 20.0]
    for earlier, later in zip(finished, finished[1:], strict=False):
        assert later["started_at"] >= earlier["finished_at"]


async def test_parallel_up_to_max(home: Home) -> None:
    engine: RuleEngine = await home.engine(mode_rule("parallel", max_runs=2))
    for _ in range(3):
        motion(home)
    await home.clock.settle()
    assert len(engine.running("m")) == 2
    assert statuses(engine, "m") == ["running", "running", "skipped"]
    assert engine.traces("m")[0]["notes"][0]["code"] == "skipped_parallel_max"
    await home.clock.advance(10)
    assert len(home.calls()) == 2
    motion(home)
    await home.clock.advance(10)
    assert len(home.calls()) == 3


async def test_traces_are_bounded_per_rule(home: Home) -> None:
    engine = await home.engine(mode_rule("parallel", max_runs=50, delay=0), trace_limit=5)
    for _ in range(12):
        motion(home)
        await home.clock.advance(1)
    runs = [t for t in engine.traces("m") if t["status"] != "not_fired"]
    assert len(runs) == 5
    assert all(t["status"] == "finished" for t in runs)
