"""The ``zshub`` command as a user runs it: a real subprocess, real files, real sockets."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from hub.config import repo_root

ZSHUB = [sys.executable, "-m", "hub.cli"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ZSHUB, *args], check=False, capture_output=True, text=True, timeout=120, cwd=cwd
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_profile_validate_shipped_and_broken(tmp_path: Path) -> None:
    ok = run("profile", "validate", str(repo_root() / "device_profiles"))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = tmp_path / "lamp.yaml"
    text = (repo_root() / "device_profiles/demo-guzhen-lighting/xdd-cct-480.yaml").read_text()
    broken.write_text(text.replace("unit: s}", "unit: mm}", 1))
    bad = run("profile", "validate", str(broken))
    assert bad.returncode == 1
    line = next(ln for ln in bad.stdout.splitlines() if ln.startswith(str(broken)))
    file, lineno, rest = line.split(":", 2)
    assert int(lineno) == next(i for i, t in enumerate(text.splitlines(), 1) if "unit: s}" in t)
    assert "unit" in rest


def test_profile_test_and_schema() -> None:
    res = run("profile", "test", str(repo_root() / "device_profiles/demo-xiaolan-lock"))
    assert res.returncode == 0, res.stdout
    schema = run("profile", "schema")
    assert schema.returncode == 0
    data = json.loads(schema.stdout)
    assert "properties" in data and "components" in data["properties"]


def test_run_serves_api_and_stops_cleanly_then_lists_devices(tmp_path: Path) -> None:
    port = free_port()
    # Tests never multicast on the machine's real interfaces.
    (tmp_path / "zshub.toml").write_text('mdns_interfaces = ["127.0.0.1"]\n')
    added = subprocess.run(
        [*ZSHUB, "user", "add", "mei", "--role", "owner", "--password-stdin"]
        + ["--data", str(tmp_path)],
        input="a-good-password\n1234\n",
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert added.returncode == 0, added.stderr
    created = run("token", "create", "mei", "--name", "tests", "--data", str(tmp_path))
    assert created.returncode == 0, created.stderr
    auth = {"Authorization": f"Bearer {created.stdout.strip()}"}
    proc = subprocess.Popen(
        [*ZSHUB, "run", "--data", str(tmp_path), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 30
        info = None
        while time.monotonic() < deadline:
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/api/info", headers=auth)
                with urllib.request.urlopen(request, timeout=1) as r:
                    info = json.loads(r.read())
                    break
            except OSError:
                time.sleep(0.1)
        assert info is not None, "the hub never answered"
        assert info["problems"] == []
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/devices/nope", headers=auth)
        with urllib.request.urlopen(request, timeout=5) as r:
            pytest.fail("unknown device should be 404")
    except urllib.error.HTTPError as err:
        assert err.code == 404
        body = json.loads(err.read())
        assert body["error"]["code"] == "unknown_device"
        assert body["error"]["message"]["zh"] and body["error"]["message"]["en"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "zshub is running" in out
    listed = run("device", "list", "--data", str(tmp_path))
    assert listed.returncode == 0
    assert "no devices" in listed.stdout


def test_device_list_without_data_and_unreachable_hub(tmp_path: Path) -> None:
    res = run("device", "list", "--data", str(tmp_path / "none"))
    assert res.returncode == 1 and "no hub data" in res.stderr
    res = run("device", "discovered", "--hub", f"http://127.0.0.1:{free_port()}")
    assert res.returncode == 1 and "no hub answers" in res.stderr


def test_bad_config_is_reported(tmp_path: Path) -> None:
    (tmp_path / "zshub.toml").write_text("port = 8470\ncolour = 'red'\n")
    res = run("run", "--data", str(tmp_path))
    assert res.returncode == 2
    assert "unknown settings: colour" in res.stderr
