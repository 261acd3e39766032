"""Helpers of the browser tests: the hub process, a small REST client, finding demo devices by
capability, signing in through the form, screenshots and the demo simulator's control socket."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.hub_http import HubHttp

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("ZSHUB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OWNER = {
    "username": "owner",
    "password": "owner-pass-2024",
    "pin": "135790",
    "display_name": "王女士",
}
GUEST = {"username": "guest", "password": "guest-pass-2024", "display_name": "访客小李"}
SETUP_RE = re.compile(r"#/setup\?token=([A-Za-z0-9_\-.~%]+)")
DEMO_STARTED = "demo: simulator started"
DEMO_READY = "demo home ready"
START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class HubProcess:
    base_url: str
    data_dir: Path
    proc: subprocess.Popen[str]
    setup_token: str | None = None
    lines: list[str] = field(default_factory=list)

    def output(self) -> str:
        return "".join(self.lines[-80:])


def command_for(data_dir: Path, port: int) -> list[str]:
    zshub = Path(sys.executable).with_name("zshub")
    cli = (
        [str(zshub)]
        if zshub.exists()
        else [sys.executable, "-c", "from hub.cli import main; main()"]
    )
    return [*cli, "run", "--demo", "--data", str(data_dir), "--port", str(port)]


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


class Api(HubHttp):
    """The hub's REST API as the browser tests' set-up and checks use it (failures assert)."""

    def login(self, username: str, password: str) -> None:
        status, body = self.call(
            "POST", "/api/auth/login", {"username": username, "password": password}
        )
        assert status == 200, (status, body)

    def devices(self) -> list[dict[str, Any]]:
        status, body = self.call("GET", "/api/devices")
        assert status == 200, (status, body)
        return list(body["devices"])

    def wait_value(
        self, device_id: str, path: str, want: Callable[[Any], bool], timeout: float = 10
    ) -> Any:
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.value(device_id, path)
            if want(value):
                return value
            time.sleep(0.1)
        raise AssertionError(f"{device_id} {path} stayed {value!r}")


def cap_names(device: dict[str, Any]) -> set[str]:
    names = set()
    for comp in (device.get("profile") or {}).get("components", {}).values():
        for key in comp.get("capabilities", {}):
            names.add(key.split("@")[0])
    return names


def find_device(devices: list[dict[str, Any]], *caps: str) -> dict[str, Any]:
    for d in devices:
        if set(caps) <= cap_names(d):
            return d
    pytest.fail(f"the demo home has no device with {', '.join(caps)}")


def state_path(device: dict[str, Any], cap: str, prop: str) -> str:
    """The comp/cap/prop path of a capability property (first component that has it)."""
    for comp, data in (device.get("profile") or {}).get("components", {}).items():
        for key in data.get("capabilities", {}):
            if key.split("@")[0] == cap:
                return f"{comp}/{cap}/{prop}"
    raise AssertionError(f"{device['id']} has no {cap}")


@dataclass
class PageProblems:
    errors: list[str] = field(default_factory=list)

    def check(self) -> None:
        assert not self.errors, "browser problems:\n" + "\n".join(self.errors)


# Chromium logs every 4xx response; the UI handles them (a signed-out /api/auth/me, a wrong
# pairing code, a refused command). Server errors (5xx) still fail the test.
IGNORED_CONSOLE = re.compile(
    r"Failed to load resource: the server responded with a status of 4\d\d"
)
SERVER_ERROR = re.compile(r"Failed to load resource: the server responded with a status of 5\d\d")


def login(page: Any, hub: HubProcess, username: str, password: str, *, lang: str = "zh-CN") -> None:
    """Sign in through the login form."""
    page.goto(f"{hub.base_url}/#/login")
    if lang == "en":
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="My home").wait_for()
    else:
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录").click()
        page.get_by_role("heading", name="我的家").wait_for()
    # Either the cards or the "no devices yet" text, once the first snapshot has arrived.
    page.locator("zs-device-card, .rooms .empty").first.wait_for()


def shot(page: Any, name: str, *, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    if full_page:
        page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=full_page)
    return path


class Simulator:
    """Drives the demo home's simulated devices: the simulator's control socket (JSON lines on
    127.0.0.1, its port in ``<data>/demo/manifest.json``; docs/simulator.md)."""

    def __init__(self, hub: HubProcess) -> None:
        self.hub = hub

    def gas(self, device: dict[str, Any], *, on: bool, concentration: float = 18.0) -> None:
        if on:
            self.act(device, "gas_alarm", concentration=concentration)
        else:
            self.act(device, "gas_clear")
            # The detector closed its shut-off valve; reopening it is a hand's job, on site.
            with contextlib.suppress(AssertionError):
                self.act(device, "open_valve_by_hand")

    def act(self, device: dict[str, Any], action: str, **args: Any) -> dict[str, Any]:
        """Do something to a simulated device by hand (``act`` op of the control protocol)."""
        sim_id = (device.get("identity") or {}).get("key") or device["id"]
        return self.request({"op": "act", "device": sim_id, "action": action, "args": args})

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        manifest = self.hub.data_dir / "demo" / "manifest.json"
        if not manifest.exists():
            pytest.fail("the demo simulator is not running (no <data>/demo/manifest.json)")
        port = int(json.loads(manifest.read_text(encoding="utf-8"))["control"]["port"])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(json.dumps(message, ensure_ascii=False).encode() + b"\n")
            answer = json.loads(conn.makefile(encoding="utf-8").readline())
        assert answer.get("ok"), answer
        return dict(answer)
