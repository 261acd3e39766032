"""Two network namespaces joined by a veth pair ("device host" and "hub host"), and processes
that run inside them and answer JSON lines on stdin/stdout.

Names carry the creating process id, so a run that was killed before it could clean up is swept
by the next one (namespaces whose creator is gone are deleted). Deleting a namespace destroys
its end of the veth, and with it the pair.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
_NAME_RE = re.compile(r"^zsdp-(\d+)-[0-9a-f]+-(dev|hub)$")


def netns_available() -> str | None:
    """None when namespaces can be made here, else why not."""
    if sys.platform != "linux":
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2 (ip) is not installed"
    return None


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True, timeout=10)


def sweep_stale() -> None:
    """Delete namespaces left by earlier runs whose process no longer exists."""
    listing = _ip("netns", "list", check=False).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.strip() else ""
        m = _NAME_RE.match(name)
        if m and not Path(f"/proc/{m.group(1)}").exists():
            _ip("netns", "del", name, check=False)


@dataclass
class NetnsPair:
    dev_ns: str
    hub_ns: str
    dev_if: str
    hub_if: str
    dev_addr: str
    hub_addr: str

    def delete(self) -> None:
        for ns in (self.dev_ns, self.hub_ns):
            _ip("netns", "del", ns, check=False)

    def link(self, up: bool) -> None:
        """Cut or restore the device host's network (its end of the veth)."""
        _ip("-n", self.dev_ns, "link", "set", self.dev_if, "up" if up else "down")


@contextlib.contextmanager
def netns_pair() -> Iterator[NetnsPair]:
    sweep_stale()
    tag = secrets.token_hex(3)
    subnet = int(tag[:2], 16) % 250 + 1
    pair = NetnsPair(
        dev_ns=f"zsdp-{os.getpid()}-{tag}-dev",
        hub_ns=f"zsdp-{os.getpid()}-{tag}-hub",
        dev_if=f"zd{tag}",
        hub_if=f"zh{tag}",
        dev_addr=f"10.77.{subnet}.1",
        hub_addr=f"10.77.{subnet}.2",
    )
    try:
        _ip("netns", "add", pair.dev_ns)
        _ip("netns", "add", pair.hub_ns)
        _ip("link", "add", pair.dev_if, "type", "veth", "peer", "name", pair.hub_if)
        for ns, ifname, addr in (
            (pair.dev_ns, pair.dev_if, pair.dev_addr),
            (pair.hub_ns, pair.hub_if, pair.hub_addr),
        ):
            _ip("link", "set", ifname, "netns", ns)
            _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", ifname)
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "set", ifname, "up")
            _ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", ifname)
        yield pair
    finally:
        pair.delete()
        # If the namespaces could not be made, the veth may still sit in ours.
        _ip("link", "del", pair.dev_if, check=False)


def script(name: str) -> str:
    """The path of a helper script beside this module."""
    return str(Path(__file__).with_name(name))


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}


async def ns_run(ns: str, *argv: str, timeout: float = 30.0) -> str:
    """Run ``python argv…`` in a namespace to completion; returns its stdout."""
    proc = await asyncio.create_subprocess_exec(
        "ip",
        "netns",
        "exec",
        ns,
        sys.executable,
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
        env=_env(),
    )
    try:
        async with asyncio.timeout(timeout):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} failed ({proc.returncode}): {err.decode(errors='replace')}")
    return out.decode()


class NsProcess:
    """``python argv…`` run with ``ip netns exec``; ``call`` sends one JSON request and waits for
    its one-line answer. stderr goes to a log file (shown when a test fails)."""

    def __init__(self, name: str, ns: str, argv: list[str], log_dir: Path) -> None:
        self.name = name
        self.ns = ns
        self.argv = argv
        self.log_path = log_dir / f"{name}.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        log = self.log_path.open("ab")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                "ip",
                "netns",
                "exec",
                self.ns,
                sys.executable,
                *self.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                cwd=REPO,
                env=_env(),
                limit=1 << 22,
            )
        finally:
            log.close()

    async def wait_line(self, text: str, timeout: float = 60.0) -> list[str]:
        """Read stdout lines until one equals ``text``; returns the lines before it."""
        proc = self.proc
        assert proc is not None and proc.stdout is not None
        lines: list[str] = []
        async with asyncio.timeout(timeout):
            while True:
                raw = await proc.stdout.readline()
                if not raw:
                    raise RuntimeError(f"{self.name} exited: {self.log_tail()}")
                line = raw.decode(errors="replace").rstrip("\n")
                if line == text:
                    return lines
                lines.append(line)

    async def close_stdin(self, timeout: float = 15.0) -> None:
        """End of input: processes run with ``--stop-on-eof`` stop cleanly."""
        proc = self.proc
        if proc is None or proc.stdin is None:
            return
        proc.stdin.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await proc.wait()
        await self.kill()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def call(self, op: str, timeout: float = 30.0, **params: Any) -> Any:
        proc = self.proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        proc.stdin.write((json.dumps({"op": op, **params}) + "\n").encode())
        await proc.stdin.drain()
        async with asyncio.timeout(timeout):
            line = await proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} exited ({proc.returncode}): {self.log_tail()}")
        answer = json.loads(line)
        if not answer["ok"]:
            raise RuntimeError(f"{self.name} {op} failed: {answer['error']}")
        return answer["result"]

    def signal(self, signum: int) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signum)

    async def kill(self) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            self.proc.kill()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self.proc.wait()

    async def stop(self, timeout: float = 15.0) -> None:
        """Ask it to stop (graceful), else kill it."""
        if self.alive:
            with contextlib.suppress(Exception):
                await self.call("stop", timeout=timeout)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    assert self.proc is not None
                    await self.proc.wait()
        await self.kill()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
