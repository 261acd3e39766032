"""Cold start: ``zshub run`` on an empty data directory until ``GET /api/health`` answers.

* ``to_http_s``: from spawning the process to the first answer, median of 3 starts (each on a
  fresh, empty data directory and a free port). The first answer comes from the API's early
  server (``{"ok": true, "starting": true}``, see ``hub/api/early.py``) while the hub imports
  and starts;
* ``to_ready_s``: until ``/api/health`` answers from the full API (the hub has started: storage,
  catalogue, profiles, rules, integrations), median of the same starts; ``ready_cpu_s``: the
  CPU seconds the hub process had used by then (steadier than wall time on a shared machine).
* ``rss_mib``: resident memory of the hub process 10 s after the API answered (the last of the
  3 starts is kept running that long). Child processes (a Matter server) are not counted.
  ``rss_anon_mib`` / ``rss_file_mib`` split it (Linux): anonymous memory (Python objects,
  malloc) and pages of mapped files (libpython, extension modules, shared libraries).
* the same with ``--demo`` (one start), when ``zshub run --demo`` brings a demo home up: if
  the flag is unknown, or the hub runs but lists no device, the figures read "n/a (no demo
  yet)". The demo's simulator is a child process and is not counted either.
* ``modules`` / ``import_s``: ``import hub.app, hub.api.server`` in a fresh interpreter, the
  number of modules in ``sys.modules`` afterwards and the best of 3 import times.

The data directory holds only a ``zshub.toml`` that keeps mDNS on 127.0.0.1 (the bench must not
multicast on the machine's network); it is otherwise empty.

Bytecode caches are warm, as on an installed hub (``pip install`` compiles them): the hub and
the import probe run with ``PYTHONPYCACHEPREFIX`` set to a private folder and without
``PYTHONDONTWRITEBYTECODE``, and one untimed start fills that folder first. (A shell that sets
``PYTHONDONTWRITEBYTECODE=1`` would otherwise make every start compile all of ``hub`` anew.)
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import median

import psutil

__all__ = ["ColdStartError", "Start", "cold_start", "import_figures", "start_once"]

STARTS = 3
_PYCACHE = Path(tempfile.gettempdir()) / "zshub-bench-pycache"
SETTLE_S = 10.0
HTTP_TIMEOUT_S = 60.0
NO_DEMO = "n/a (no demo yet)"


class ColdStartError(RuntimeError):
    pass


def _zshub() -> list[str]:
    exe = Path(sys.executable).parent / "zshub"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "hub.cli"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(_PYCACHE)
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _get(port: int, path: str, timeout: float = 1.0) -> tuple[int, bytes] | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    except OSError:
        return None
    finally:
        conn.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _tail(path: Path, lines: int = 6) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return " | ".join(text.strip().splitlines()[-lines:])


@dataclass(frozen=True, slots=True)
class Start:
    """One start's figures (None when not measured)."""

    to_http: float
    to_ready: float
    ready_cpu: float | None
    rss: float | None
    cpu: float | None
    devices: int | None
    rss_file: float | None = None  # file-backed part of ``rss`` (Linux), the rest is anonymous


def start_once(*, demo: bool = False, settle_s: float = 0.0) -> Start:
    """One start on a fresh data directory; RSS and CPU ``settle_s`` after the hub is ready
    (None when ``settle_s`` is 0), devices listed by then (None when the API did not say)."""
    data = Path(tempfile.mkdtemp(prefix="zshub-bench-"))
    (data / "zshub.toml").write_text('mdns_interfaces = ["127.0.0.1"]\n', encoding="utf-8")
    log = data.parent / f"{data.name}.log"
    port = _free_port()
    cmd = [*_zshub(), "run", "--data", str(data), "--port", str(port)]
    if demo:
        cmd.append("--demo")
    try:
        with log.open("wb") as out:
            started = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=data, env=_env())
            try:
                hub = psutil.Process(proc.pid)
                to_http = None
                while True:
                    answer = _get(port, "/api/health", timeout=0.5)
                    if answer is not None and answer[0] == 200:
                        now = time.perf_counter() - started
                        if to_http is None:
                            to_http = now
                        if b"starting" not in answer[1]:  # the full API answers
                            to_ready = now
                            times = hub.cpu_times()
                            ready_cpu = times.user + times.system
                            break
                    if proc.poll() is not None:
                        raise ColdStartError(f"exited with {proc.returncode}: {_tail(log)}")
                    if time.perf_counter() - started > HTTP_TIMEOUT_S:
                        raise ColdStartError(f"no HTTP answer in {HTTP_TIMEOUT_S:g} s")
                    time.sleep(0.002)
                rss = cpu = rss_file = None
                devices = None
                if settle_s > 0:
                    time.sleep(settle_s)
                    memory = hub.memory_info()
                    rss = memory.rss / 2**20
                    shared = getattr(memory, "shared", None)  # RssFile + RssShmem on Linux
                    rss_file = shared / 2**20 if shared is not None else None
                    times = hub.cpu_times()
                    cpu = times.user + times.system
                    listed = _get(port, "/api/devices", timeout=5.0)
                    if listed is not None and listed[0] == 200:
                        devices = len(json.loads(listed[1]).get("devices", []))
                return Start(to_http, to_ready, ready_cpu, rss, cpu, devices, rss_file)
            finally:
                _stop(proc)
    finally:
        shutil.rmtree(data, ignore_errors=True)
        with contextlib.suppress(OSError):
            log.unlink()


def _demo_supported() -> bool:
    help_text = subprocess.run(
        [*_zshub(), "run", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=_env(),
    ).stdout
    return "--demo" in help_text


def import_figures() -> tuple[int, float]:
    """Modules in ``sys.modules`` after ``import hub.app, hub.api.server``, best import time."""
    code = (
        "import sys, time; t = time.perf_counter(); import hub.app, hub.api.server; "
        "print(len(sys.modules), time.perf_counter() - t)"
    )
    best = float("inf")
    count = 0
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=_env(),
        )
        if out.returncode != 0:
            raise ColdStartError(f"import failed: {out.stderr.strip().splitlines()[-1:]}")
        n, seconds = out.stdout.split()
        count, best = int(n), min(best, float(seconds))
    return count, best


def _series(*, demo: bool, starts: int = STARTS) -> tuple[Start, float, float, float | None]:
    """The last start (the one left running ``SETTLE_S``) and the medians of to-HTTP, to-ready
    and CPU-at-ready over all starts."""
    runs = [
        start_once(demo=demo, settle_s=SETTLE_S if i == starts - 1 else 0.0) for i in range(starts)
    ]
    cpus = [r.ready_cpu for r in runs if r.ready_cpu is not None]
    return (
        runs[-1],
        median(r.to_http for r in runs),
        median(r.to_ready for r in runs),
        median(cpus) if cpus else None,
    )


def cold_start() -> dict[str, float | str]:
    out: dict[str, float | str] = {}
    with contextlib.suppress(ColdStartError):
        start_once()  # untimed: fills the bytecode cache
    try:
        out["modules"], out["import_s"] = import_figures()
    except ColdStartError as err:
        out["modules"] = out["import_s"] = f"failed: {err}"
    try:
        last, to_http, to_ready, ready_cpu = _series(demo=False)
        out["to_http_s"] = to_http
        out["to_ready_s"] = to_ready
        if ready_cpu is not None:
            out["ready_cpu_s"] = ready_cpu
        out["rss_mib"] = last.rss if last.rss is not None else "?"
        if last.rss is not None and last.rss_file is not None:
            out["rss_anon_mib"] = last.rss - last.rss_file
            out["rss_file_mib"] = last.rss_file
        if last.cpu is not None:
            out["cpu_s"] = last.cpu
            out["peak_rss_mib"] = last.rss if last.rss is not None else "?"
    except ColdStartError as err:
        out["to_http_s"] = out["rss_mib"] = f"failed: {err}"
    if not _demo_supported():
        out["to_http_demo_s"] = out["rss_demo_mib"] = NO_DEMO
        return out
    try:
        last, to_http, to_ready, _ = _series(demo=True, starts=1)
        if last.devices == 0:
            out["to_http_demo_s"] = out["rss_demo_mib"] = NO_DEMO
        else:
            out["to_http_demo_s"] = to_http
            out["to_ready_demo_s"] = to_ready
            out["rss_demo_mib"] = last.rss if last.rss is not None else "?"
    except ColdStartError as err:
        out["to_http_demo_s"] = out["rss_demo_mib"] = f"failed: {err}"
    return out
