"""Smoke test of bench/zsdp_fleet.py: 3 lamps for 2 s end to end (no timing assertions)."""

from __future__ import annotations

import psutil
import pytest

from bench.zsdp_fleet import run, table

pytestmark = pytest.mark.slow

FIGURES = (
    "devices",
    "ready_after_s",
    "online_from_hub_start_s",
    "cmd_p50_ms",
    "cmd_p99_ms",
    "cpu_pct_one_core",
    "rss_peak_mib",
    "rss_mean_mib",
    "reports_per_s",
    "answered_per_s_in_window",
)


@pytest.mark.timeout(180)
async def test_fleet_of_three_lamps() -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    figures = await run(devices=3, seconds=2)
    for key in FIGURES:
        assert isinstance(figures[key], float), key
    assert figures["devices"] == 3
    assert figures["commands_confirmed"] == figures["commands"] == 200
    assert figures["request_errors"] == 0
    assert figures["reports_counted"] > 0
    assert "discovery → all online" in table(figures)
    left = {p.pid for p in psutil.Process().children(recursive=True)} - before
    assert not left, f"processes left behind: {left}"
