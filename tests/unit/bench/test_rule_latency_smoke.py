"""Smoke test of bench/rule_latency.py: the script runs and counts right (no timing asserted)."""

from __future__ import annotations

import math
import os

import pytest
import yaml

from bench import rule_latency
from bench.registry import WORKLOADS
from rules.loader import parse_text


def test_the_bench_rules_are_100_valid_rules_over_many_devices() -> None:
    text = rule_latency.rules_yaml()
    result = parse_text(text, "bench.yaml")
    assert not result.problems, result.problems
    rules = [loaded.rule for loaded in result.rules]
    assert len(rules) == rule_latency.RULES == 100
    assert {r.mode for r in rules} == {"single", "restart", "queued"}
    targets = {t for r in rules for item in r.triggers if item.state for t in item.state.target}
    assert len(targets) == 100  # every rule watches a device of its own
    assert all(r.conditions and r.actions for r in rules)
    assert yaml.safe_load(text)["schema"] == "zshub.rules/1"


async def test_inside_the_hub_every_sample_reaches_the_link() -> None:
    out = await rule_latency.inside(samples=60, events=400)
    assert out["inside_samples"] == 60
    assert out["inside_missed"] == 0
    assert 0 < out["inside_p50_us"] <= out["inside_p99_us"] <= out["inside_max_us"]
    assert out["events"] == 400
    # one change in ten starts the motion rule, and each of those commands its lamp
    assert out["motion_runs_expected"] == 40
    assert out["commands"] == 40
    assert out["runs"] >= out["motion_runs_expected"]
    assert out["not_fired"] > 0  # sensors going quiet meet the triggers and are explained
    assert out["events_per_s"] > 0 and out["rules"] == 100


@pytest.mark.slow
async def test_the_client_view_over_the_websocket_counts_every_sample() -> None:
    out = await rule_latency.ws_client(samples=20)
    one_cpu = len(os.sched_getaffinity(0)) > 1  # the same again, pinned to one CPU
    for lamp in ("bench", "zsdp", *(("bench_one_cpu", "zsdp_one_cpu") if one_cpu else ())):
        assert out[f"ws_{lamp}_samples"] == 20
        assert out[f"ws_{lamp}_failed"] == 0
        assert not math.isnan(out[f"ws_{lamp}_p50_ms"])
        assert out[f"ws_{lamp}_p50_ms"] <= out[f"ws_{lamp}_p99_ms"]


def test_both_workloads_are_registered() -> None:
    assert WORKLOADS["rule_latency"].load() is rule_latency.inside
    assert WORKLOADS["rule_latency_ws"].load() is rule_latency.ws_client
