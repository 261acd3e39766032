"""A real ``zshub run`` process for the Matter end-to-end tests and bench, and a small REST client.

The hub runs in our (root) namespace on 127.0.0.1. Its Matter settings go into ``zshub.toml``: in
the tests it supervises its own matter-server, started inside the lab's server namespace through
``matter_server_command`` and reached over the lab's unicast veth (``MatterLab.hub_server_config``);
``matter_url`` works the same for an external server. Its own mDNS stays on loopback. The owner is
created through the first-run set-up (``POST /api/auth/setup`` with the token the hub prints).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.hub_http import HubHttp

REPO = Path(__file__).resolve().parents[3]
OWNER = {"username": "owner", "password": "owner-pass-2024", "pin": "135790"}
START_TIMEOUT_S = 60.0
_SETUP_RE = re.compile(r"#/setup\?token=([A-Za-z0-9_\-.~%]+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _zshub() -> list[str]:
    exe = Path(sys.executable).with_name("zshub")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "hub.cli"]


class Api(HubHttp):
    """The hub's REST API as the Matter lab uses it (slow commissioning: a long timeout)."""

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        super().__init__(base_url, timeout)

    def login(self, username: str, password: str) -> None:
        status, body = self.call(
            "POST", "/api/auth/login", {"username": username, "password": password}
        )
        if status != 200:
            raise RuntimeError(f"login failed: {status} {body}")

    def device(self, device_id: str) -> dict[str, Any]:
        status, body = self.call("GET", f"/api/devices/{device_id}")
        if status != 200:
            raise RuntimeError(f"GET /api/devices/{device_id}: {status} {body}")
        return dict(body)

    def command(
        self, device_id: str, target: str, args: dict[str, Any] | None = None, **extra: Any
    ) -> tuple[int, Any]:
        body = {"target": target, "args": args or {}, **extra}
        return self.call("POST", f"/api/devices/{device_id}/commands", body)

    def wait_for(
        self,
        what: str,
        probe: Callable[[], Any],
        ok: Callable[[Any], bool],
        timeout: float = 20.0,
        *,
        poll_s: float = 0.1,
    ) -> Any:
        """Poll ``probe`` until ``ok`` holds (a state arriving); fails with the last value seen."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while True:
            last = probe()
            if ok(last):
                return last
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: still {last!r} after {timeout:.0f} s")
            time.sleep(poll_s)

    def matter_status(self) -> dict[str, Any]:
        """The Matter integration's status from ``GET /api/info``."""
        status, body = self.call("GET", "/api/info")
        if status != 200:
            raise RuntimeError(f"GET /api/info: {status} {body}")
        return dict(body["integrations"].get("matter") or {})

    def wait_matter_connected(self, timeout: float = 60.0) -> dict[str, Any]:
        """Until the hub is connected to its Matter server (it starts the server first)."""
        return dict(
            self.wait_for(
                "the hub's Matter connection",
                self.matter_status,
                lambda s: s.get("state") == "connected",
                timeout,
            )
        )

    def wait_value(
        self, device_id: str, path: str, want: Callable[[Any], bool], timeout: float = 20.0
    ) -> Any:
        return self.wait_for(
            f"{device_id} {path}", lambda: self.value(device_id, path), want, timeout
        )


class HubProcess:
    """``zshub run`` on a fresh data directory, configured for one Matter server."""

    def __init__(self, data_dir: Path, matter: dict[str, Any], *, log_level: str = "INFO") -> None:
        self.data_dir = data_dir
        self.matter = matter  # zshub.toml keys: matter_url, or matter_server and its command
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_level = log_level
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        self._owner_created = False

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # mDNS on loopback only: the hub never multicasts on the machine's real interfaces.
        settings = {**self.matter, "mdns_interfaces": ["127.0.0.1"]}
        # JSON strings and arrays are valid TOML values.
        toml = "".join(f"{key} = {json.dumps(value)}\n" for key, value in settings.items())
        (self.data_dir / "zshub.toml").write_text(toml, encoding="utf-8")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "ZSHUB_LOG_LEVEL": self.log_level}
        env.pop("ZSHUB_MATTER_URL", None)  # the toml above says which server
        self.proc = subprocess.Popen(
            [*_zshub(), "run", "--data", str(self.data_dir), "--port", str(self.port)],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"the hub exited ({self.proc.returncode}):\n{self.output()}")
            with contextlib.suppress(OSError):
                status, body = Api(self.base_url, timeout=2).call("GET", "/api/health")
                # While the hub starts, an early server answers {"starting": true} (and
                # redirects the rest): wait for the full API.
                if status == 200 and isinstance(body, dict) and not body.get("starting"):
                    return
            time.sleep(0.2)
        raise RuntimeError(f"the hub did not answer in {timeout:.0f} s:\n{self.output()}")

    def owner_api(self) -> Api:
        """A client signed in as the owner; the first call creates the owner (first-run set-up
        with the token the hub printed), later ones sign in."""
        api = Api(self.base_url)
        if self._owner_created:
            api.login(OWNER["username"], OWNER["password"])
            return api
        token = self._setup_token()
        status, body = api.call("POST", "/api/auth/setup", {**OWNER, "token": token})
        if status != 201:
            raise RuntimeError(f"first-run set-up failed: {status} {body}")
        self._owner_created = True
        return api

    def _setup_token(self, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if m := _SETUP_RE.search(line):
                    return m.group(1)
            time.sleep(0.05)
        raise RuntimeError(f"the hub printed no set-up link:\n{self.output()}")

    def output(self, lines: int = 60) -> str:
        return "".join(self.lines[-lines:])

    def terminate(self) -> None:
        """Ask the hub to stop (SIGTERM) without waiting; ``stop`` waits."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        self.proc = None
