"""A Matter lab on this machine: virtual devices (matter.js, tools/matter-devices/) in one network
namespace, python-matter-server (.venv-matter, from scripts/setup-matter.sh) in another, a veth
between them, and a second veth from the server's namespace to ours so a hub running here reaches
the server's WebSocket. Nothing multicasts on the real network: the only interfaces the devices and
the servers see are their namespace's loopback and veth ends.

    devices ns                    server ns                          root ns (hubs, tests)
    lo                            lo
    md0 fd5a:6d01::1 ───veth───── md0 fd5a:6d01::2
        198.19.0.1/24                 198.19.0.2/24
                                  mh0 198.18.<a>.<b+2>/30 ───veth─── zsm<tag>h 198.18.<a>.<b+1>/30
                                  matter-server :5580, :5581 …       zshub run (127.0.0.1)

Each hub runs and supervises its own matter-server inside the server namespace through
``matter_server_command`` (:meth:`MatterLab.hub_server_config`), so it reads the server's log as
it would on a real install.

Measured pitfalls handled here (shared/research/testing-here.md): the CHIP stack writes
``/data/chip_factory.ini``, so the server runs in a private mount namespace with a per-run folder
bind-mounted over ``/data``; attestation offline needs matter.js's "Matter Test PAA" in
``--paa-root-cert-dir`` with a fresh ``.version`` (else the server deletes it, or fetches from the
internet); IPv6 addresses get ``nodad`` and DAD is off, so nothing waits for duplicate detection.

Names carry the creating process id: a run killed before its clean-up is swept by the next one.
Used by tests/e2e/matter/conftest.py and bench/matter_roundtrip.py (synchronous: threads read the
children's output).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
DEVICES_DIR = REPO / "tools" / "matter-devices"
SERVER_VENV = REPO / ".venv-matter"
SERVER_BIN = SERVER_VENV / "bin" / "matter-server"
SERVER_PORT = 5580
DEVICE_READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
# The CHIP stack's fixed factory-data folder (see the module docstring).
CHIP_DATA_DIR = Path("/data")

_NAME_RE = re.compile(r"^zsm-(\d+)-[0-9a-f]+-(dev|srv)$")
_ROOT_IF_RE = re.compile(r"^zsm([0-9a-f]{6})h(@\S+)?$")

# Device scripts by kind; each prints "pairing-code N" and "ready", then answers control lines.
KINDS = {
    "onoff-light": "onoff-light.js",
    "ct-light": "ct-light.js",
    "door-lock": "door-lock.js",
}


class LabError(RuntimeError):
    """The lab could not be built or a process in it misbehaved (with its log's tail)."""


def unavailable() -> str | None:
    """None when the lab can run here, else what is missing (and what installs it)."""
    if sys.platform != "linux":
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "unshare", "node"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not SERVER_BIN.exists():
        return f"{SERVER_BIN} is missing: run scripts/setup-matter.sh"
    if not (DEVICES_DIR / "node_modules" / "@matter" / "main").is_dir():
        return f"matter.js is missing in {DEVICES_DIR}: run scripts/setup-matter.sh"
    return None


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=False)
    if check and done.returncode != 0:
        raise LabError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done


def _sysctl(ns: str, *settings: str) -> None:
    subprocess.run(
        ["ip", "netns", "exec", ns, "sysctl", "-q", "-w", *settings],
        capture_output=True,
        timeout=10,
        check=True,
    )


def _kill_all_in(ns: str) -> None:
    """SIGKILL every process in namespace ``ns`` (only ever one of our labs' namespaces)."""
    for pid in _ip("netns", "pids", ns, check=False).stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


def sweep_stale() -> None:
    """Delete namespaces left by runs whose process is gone, with whatever still runs in them
    (devices and servers run in sessions of their own and outlive a killed test run)."""
    for line in _ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        m = _NAME_RE.match(name)
        if m and not Path(f"/proc/{m.group(1)}").exists():
            _kill_all_in(name)
            _ip("netns", "del", name, check=False)


def _lines_of(proc: subprocess.Popen[str], sink: Callable[[str], None]) -> threading.Thread:
    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            sink(line.rstrip("\n"))
        sink("")  # EOF marker

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def _stop(proc: subprocess.Popen[str], timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM, then SIGKILL to the whole process group (each child runs in its own)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def server_command(ns: str, chip_data: Path) -> list[str]:
    """The argv prefix that runs python-matter-server in namespace ``ns`` with ``chip_data``
    bind-mounted over /data; the caller appends --storage-path, --port, --listen-address ….
    ``ip netns exec``, ``unshare`` and ``sh`` all exec, so the pid is the server's own."""
    chip_data.mkdir(parents=True, exist_ok=True)
    # `unshare -m`: a private mount namespace, so the bind mount over /data is this server's.
    shell = 'mount --bind "$1" /data && shift && exec "$@"'
    return [
        *("ip", "netns", "exec", ns, "unshare", "-m", "--propagation", "private"),
        *("sh", "-c", shell, "sh", str(chip_data)),
        str(SERVER_BIN),
        *("--primary-interface", "md0", "--log-level", "info"),
    ]


def no_paa_dir(parent: Path) -> Path:
    """An empty PAA folder with a fresh .version: no test PAA, and no fetch from the internet."""
    empty = parent / "no-paa"
    empty.mkdir(parents=True, exist_ok=True)
    (empty / ".version").write_text("1\n", encoding="utf-8")
    return empty


@dataclass
class VirtualDevice:
    """One matter.js device process in the devices namespace."""

    kind: str
    name: str
    passcode: int
    discriminator: int
    port: int
    storage: Path
    log: Path
    proc: subprocess.Popen[str] | None = None
    pairing_code: str = ""
    state: dict[str, Any] = field(default_factory=dict)
    _lines: queue.Queue[str] = field(default_factory=queue.Queue)
    _state_changed: threading.Condition = field(default_factory=threading.Condition)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _on_line(self, line: str) -> None:
        if line.startswith("@state "):
            with self._state_changed:
                self.state = json.loads(line[len("@state ") :])
                self._state_changed.notify_all()
        self._lines.put(line)

    def _expect(self, test: Callable[[str], bool], timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LabError(f"{self.name}: no {what} in {timeout:.0f} s\n{_tail(self.log)}")
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if line == "" and self.proc is not None:  # stdout closed: the process is gone
                self._lines.put("")  # for the next wait too
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(5)
                raise LabError(f"{self.name} exited ({self.proc.returncode})\n{_tail(self.log)}")
            if test(line):
                return line

    def start(self, ns: str) -> None:
        self.storage.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    ns,
                    "node",
                    str(DEVICES_DIR / KINDS[self.kind]),
                    f"--passcode={self.passcode}",
                    f"--discriminator={self.discriminator}",
                    f"--port={self.port}",
                    f"--storage-path={self.storage}",
                    f"--name={self.name}",
                ],
                cwd=self.storage,  # matter.js looks for a config.json in its working folder
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                bufsize=1,
                start_new_session=True,
            )
        _lines_of(self.proc, self._on_line)

    def wait_ready(self, timeout: float = DEVICE_READY_TIMEOUT_S) -> None:
        line = self._expect(lambda s: s.startswith("pairing-code "), timeout, "pairing code")
        self.pairing_code = line.split()[1]
        self._expect(lambda s: s == "ready", timeout, "'ready'")

    def control(self, command: str, timeout: float = 10.0) -> dict[str, Any]:
        """Change the device's state by hand ("toggle", "level 200", "unlock", "door open" …);
        returns its state after the change."""
        assert self.proc is not None and self.proc.stdin is not None
        name = command.split(maxsplit=1)[0]
        with self._lock:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
            answer = self._expect(
                lambda s: s == f"@ok {name}" or s.startswith(f"@error {name}"), timeout, name
            )
            if answer.startswith("@error"):
                raise LabError(f"{self.name}: {answer}")
            self._expect(lambda s: s.startswith("@state "), timeout, "state")
        return dict(self.state)

    def wait_state(
        self, test: Callable[[dict[str, Any]], bool], timeout: float = 15.0
    ) -> dict[str, Any]:
        """Until the device's own state passes ``test`` (a command from the hub arrived)."""
        deadline = time.monotonic() + timeout
        with self._state_changed:
            while not test(self.state):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LabError(f"{self.name}: state stayed {self.state}\n{_tail(self.log)}")
                self._state_changed.wait(left)
            return dict(self.state)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


class MatterLab:
    """The namespaces, the veths, the PAA folder; devices and servers started in them."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.tag = secrets.token_hex(3)
        self.dev_ns = f"zsm-{os.getpid()}-{self.tag}-dev"
        self.srv_ns = f"zsm-{os.getpid()}-{self.tag}-srv"
        self.root_if = f"zsm{self.tag}h"
        # A /30 of 198.18.0.0/16 (RFC 2544 test addresses, never routed) chosen by the tag, so
        # labs running side by side (tests and a bench) do not share one.
        third, block = int(self.tag[:2], 16), int(self.tag[2:4], 16) % 64 * 4
        self.root_addr = f"198.18.{third}.{block + 1}"
        self.srv_addr = f"198.18.{third}.{block + 2}"
        self.paa_dir = workdir / "paa"
        self.devices: list[VirtualDevice] = []
        self._made_chip_data_dir = False
        self._hub_servers = 0

    # -- network ---------------------------------------------------------------------------

    def build(self) -> None:
        """Namespaces, veths, addresses; the PAA folder. Undone by ``close`` even if it fails."""
        sweep_stale()
        self._sweep_root_ifs()
        self.workdir.mkdir(parents=True, exist_ok=True)
        _ip("netns", "add", self.dev_ns)
        _ip("netns", "add", self.srv_ns)
        for ns in (self.dev_ns, self.srv_ns):
            # No duplicate address detection: addresses are usable at once.
            _sysctl(ns, "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
            _ip("-n", ns, "link", "set", "lo", "up")
        # devices <-> server: the Matter network (IPv6 + IPv4, mDNS both ways)
        a, b = f"zsm{self.tag}a", f"zsm{self.tag}b"
        _ip("link", "add", a, "type", "veth", "peer", "name", b)
        for ifname, ns, v6, v4 in (
            (a, self.dev_ns, "fd5a:6d01::1", "198.19.0.1"),
            (b, self.srv_ns, "fd5a:6d01::2", "198.19.0.2"),
        ):
            _ip("link", "set", ifname, "netns", ns, "name", "md0")
            _ip("-n", ns, "addr", "add", f"{v6}/64", "dev", "md0", "nodad")
            _ip("-n", ns, "addr", "add", f"{v4}/24", "dev", "md0")
            _ip("-n", ns, "link", "set", "md0", "up")
            _ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", "md0")
        # server <-> root: the hub's way to the WebSocket (unicast TCP only)
        _ip("link", "add", self.root_if, "type", "veth", "peer", "name", f"zsm{self.tag}x")
        _ip("link", "set", f"zsm{self.tag}x", "netns", self.srv_ns, "name", "mh0")
        _ip("-n", self.srv_ns, "addr", "add", f"{self.srv_addr}/30", "dev", "mh0")
        _ip("-n", self.srv_ns, "link", "set", "mh0", "up")
        _ip("addr", "add", f"{self.root_addr}/30", "dev", self.root_if)
        # No IPv6 on our end: nothing of ours could send link-local multicast through it.
        with contextlib.suppress(OSError):
            Path(f"/proc/sys/net/ipv6/conf/{self.root_if}/disable_ipv6").write_text("1")
        _ip("link", "set", self.root_if, "up")
        self._export_paa()
        if not CHIP_DATA_DIR.exists():
            # The bind mount needs a mount point; removed again in close() if still empty.
            CHIP_DATA_DIR.mkdir()
            self._made_chip_data_dir = True

    def _sweep_root_ifs(self) -> None:
        """Root-side veths whose namespaces are gone (a killed run) are removed."""
        names = {line.split()[0] for line in _ip("netns", "list").stdout.splitlines() if line}
        tags = {m.group(0).split("-")[2] for n in names if (m := _NAME_RE.match(n))}
        for line in _ip("-br", "link").stdout.splitlines():
            m = _ROOT_IF_RE.match(line.split()[0]) if line.strip() else None
            if m and m.group(1) not in tags:
                _ip("link", "del", line.split()[0].split("@")[0], check=False)

    def _export_paa(self) -> None:
        done = subprocess.run(
            ["node", str(DEVICES_DIR / "export-paa.js"), str(self.paa_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise LabError(f"export-paa.js failed: {done.stderr.strip()}")

    # -- processes -------------------------------------------------------------------------

    def device(
        self, kind: str, name: str, *, passcode: int, discriminator: int, port: int
    ) -> VirtualDevice:
        """Start a device (returns at once; ``wait_ready`` waits for its pairing code)."""
        dev = VirtualDevice(
            kind=kind,
            name=name,
            passcode=passcode,
            discriminator=discriminator,
            port=port,
            storage=self.workdir / "devices" / name,
            log=self.workdir / f"device-{name}.log",
        )
        self.devices.append(dev)
        dev.start(self.dev_ns)
        return dev

    def hub_server_config(self, name: str, *, with_paa: bool = True) -> dict[str, Any]:
        """``zshub.toml`` keys for a hub that runs and supervises its own matter-server inside
        the server namespace (the hub reads the server's log: how it tells an attestation
        failure from a wrong code). Each hub gets its own port on the server's address."""
        port = SERVER_PORT + self._hub_servers
        self._hub_servers += 1
        return {
            "matter_server": True,
            "matter_server_command": server_command(
                self.srv_ns, self.workdir / f"{name}-chip-data"
            ),
            "matter_server_host": self.srv_addr,
            "matter_server_port": port,
            "matter_paa_dir": str(self.paa_dir if with_paa else no_paa_dir(self.workdir)),
        }

    def kill_processes(self) -> None:
        """SIGKILL everything running in the lab's namespaces: devices, servers, and servers
        started by hubs (all of them ours). Test doubles need no graceful goodbye."""
        for ns in (self.dev_ns, self.srv_ns):
            _kill_all_in(ns)

    def close(self) -> None:
        """Stop every process, delete the namespaces and our veth end. Never raises."""
        self.kill_processes()
        for device in self.devices:  # reaps them (already dead)
            with contextlib.suppress(Exception):
                device.stop()
        self.kill_processes()  # anything a hub started meanwhile
        for ns in (self.dev_ns, self.srv_ns):
            _ip("netns", "del", ns, check=False)
        _ip("link", "del", self.root_if, check=False)
        # The mount point goes too, unless another lab (a bench beside the tests) still uses it.
        others = [n for n in _ip("netns", "list", check=False).stdout.split() if _NAME_RE.match(n)]
        if self._made_chip_data_dir and not others:
            with contextlib.suppress(OSError):
                CHIP_DATA_DIR.rmdir()

    def logs(self) -> str:
        """The tails of every process's log, for a failing test's report."""
        return "\n".join(f"--- {d.name} ---\n{_tail(d.log, 15)}" for d in self.devices)
