"""Matter round trip: commissioning time and command round trip for a virtual On/Off light.

The same lab as the end-to-end tests (tests/e2e/matter/matter_lab.py): a matter.js light in one
network namespace, the hub's own supervised python-matter-server in another, a real
``zshub run`` here reached over HTTP on 127.0.0.1. Measured through the hub's public API:

* ``commission_s``: ``POST /api/matter/commission`` with the light's pairing code until the 201
  answer (PASE, attestation, operational credentials, CASE, the server's interview, the hub's
  device and profile);
* ``cmd_p50_ms`` / ``cmd_p99_ms``: ``POST /api/devices/{id}/commands`` ``main/onoff.on``/``off``,
  alternating, one every ``GAP_S`` (a person tapping), each answered only once the light's
  attribute report confirmed the new state (status ``confirmed``); after each, the light's own
  state (its ``@state`` line) is checked too;
* ``burst_p50_ms``: the same, back to back. python-matter-server subscribes with a minimum report
  interval of 1 s, so a change less than 1 s after the previous report is confirmed only when
  that interval has passed: this is that floor;
* ``report_p50_ms``: a toggle made on the light itself until the hub's state shows it (polled
  every 5 ms, so ± 5 ms), one every ``GAP_S``.

Needs root (network namespaces) and scripts/setup-matter.sh; otherwise every figure reads
"n/a (why)". Nothing leaves the machine: the devices and the server see only their namespaces.

    python -m bench.matter_roundtrip [--commands 30] [--burst 10] [--reports 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.e2e.matter.hub_process import Api, HubProcess
from tests.e2e.matter.matter_lab import MatterLab, VirtualDevice, unavailable

__all__ = ["main", "run"]

COMMANDS = 30
BURST = 10
REPORTS = 10
GAP_S = 1.2  # longer than the subscription's 1 s minimum report interval
POLL_S = 0.005
PASSCODE = 20202021
DISCRIMINATOR = 0x300


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def _is_on(state: dict[str, Any]) -> bool:
    return state.get("on") is True


def _is_off(state: dict[str, Any]) -> bool:
    return state.get("on") is False


def _is_true(value: Any) -> bool:
    return value is True


def _is_false(value: Any) -> bool:
    return value is False


def _switch(api: Api, light: VirtualDevice, device_id: str, *, on: bool) -> tuple[float, int]:
    """One command through the API; (its round trip in ms, 1 if the hub confirmed it). Then the
    light's own state must show it."""
    t = time.perf_counter()
    status, body = api.command(device_id, "main/onoff.on" if on else "main/onoff.off")
    ms = (time.perf_counter() - t) * 1000
    light.wait_state(_is_on if on else _is_off)
    return ms, int(status == 200 and body["result"]["status"] == "confirmed")


def run(
    commands: int = COMMANDS, burst_commands: int = BURST, reports: int = REPORTS
) -> dict[str, float | str]:
    """Bring the lab up, commission the light, measure; always tears the lab down."""
    reason = unavailable()
    if reason is not None:
        return {"commission_s": f"n/a ({reason})"}
    with tempfile.TemporaryDirectory(prefix="zshub-matter-bench-") as tmp:
        lab = MatterLab(Path(tmp) / "lab")
        hub: HubProcess | None = None
        try:
            t0 = time.monotonic()
            lab.build()
            light = lab.device(
                "onoff-light", "light", passcode=PASSCODE, discriminator=DISCRIMINATOR, port=5540
            )
            hub = HubProcess(Path(tmp) / "hub", lab.hub_server_config("hub"), log_level="WARNING")
            hub.start()
            with ThreadPoolExecutor(2) as pool:
                for waiting in [pool.submit(light.wait_ready), pool.submit(hub.wait_ready)]:
                    waiting.result()
            api = hub.owner_api()
            api.wait_matter_connected()
            ready_s = time.monotonic() - t0

            t = time.perf_counter()
            status, body = api.call(
                "POST",
                "/api/matter/commission",
                {"code": light.pairing_code, "name": {"zh": "测试灯", "en": "Bench light"}},
            )
            commission_s = time.perf_counter() - t
            if status != 201:
                raise RuntimeError(f"commissioning answered {status}: {body}\n{hub.output()}")
            device_id = str(body["id"])
            api.wait_for(
                "the light online",
                lambda: api.device(device_id)["availability"],
                lambda v: v == "online",
            )

            on = bool(light.control("state").get("on"))
            latencies: list[float] = []
            confirmed = 0
            for _ in range(commands):
                time.sleep(GAP_S)
                on = not on
                ms, ok = _switch(api, light, device_id, on=on)
                latencies.append(ms)
                confirmed += ok
            burst: list[float] = []
            for _ in range(burst_commands):
                on = not on
                ms, ok = _switch(api, light, device_id, on=on)
                burst.append(ms)
                confirmed += ok

            report_ms: list[float] = []
            for _ in range(reports):
                time.sleep(GAP_S)
                t = time.perf_counter()
                want = light.control("toggle")["on"] is True
                api.wait_for(
                    "the toggle at the hub",
                    lambda: api.value(device_id, "main/onoff/on"),
                    _is_true if want else _is_false,
                    poll_s=POLL_S,
                )
                report_ms.append((time.perf_counter() - t) * 1000)

            return {
                "ready_s": ready_s,
                "commission_s": commission_s,
                "cmd_p50_ms": _percentile(latencies, 0.5),
                "cmd_p99_ms": _percentile(latencies, 0.99),
                "burst_p50_ms": _percentile(burst, 0.5),
                "commands": float(commands + burst_commands),
                "confirmed": float(confirmed),
                "report_p50_ms": _percentile(report_ms, 0.5),
                "report_p99_ms": _percentile(report_ms, 0.99),
            }
        finally:
            if hub is not None:
                hub.stop()
            lab.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.matter_roundtrip", description=__doc__)
    parser.add_argument("--commands", type=int, default=COMMANDS)
    parser.add_argument("--burst", type=int, default=BURST)
    parser.add_argument("--reports", type=int, default=REPORTS)
    args = parser.parse_args(argv)
    figures = run(args.commands, args.burst, args.reports)
    for key, value in figures.items():
        shown = f"{value:.3f}" if isinstance(value, float) else value
        print(f"{key:>16}  {shown}")
    ok = figures.get("confirmed") == figures.get("commands")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
