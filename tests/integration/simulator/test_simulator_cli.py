"""``python -m integrations.zsdp.simulator`` (``zshub simulate``) as a user runs it: a real
subprocess, its printed devices, the control sub-commands, the conformance check, the state
file that keeps ids and pairings across restarts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from simrig import LAMP, LOCK, PROFILES

from integrations.zsdp import HubConnection, dp_bool

SIM = [sys.executable, "-m", "integrations.zsdp.simulator"]


async def run(*args: str, timeout: float = 30) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *SIM, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


class Running:
    def __init__(self, proc: asyncio.subprocess.Process, lines: list[str]) -> None:
        self.proc = proc
        self.lines = lines

    async def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.stdout is not None
        rest = await asyncio.wait_for(self.proc.stdout.read(), 10)
        return await asyncio.wait_for(self.proc.wait(), 10), rest.decode()


Starter = Callable[..., Awaitable[Running]]


@pytest.fixture
async def start() -> AsyncIterator[Starter]:
    procs: list[asyncio.subprocess.Process] = []

    async def starter(*args: str) -> Running:
        proc = await asyncio.create_subprocess_exec(
            *SIM, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        procs.append(proc)
        assert proc.stdout is not None
        lines: list[str] = []
        async with asyncio.timeout(30):
            while (line := (await proc.stdout.readline()).decode()) and line.strip() != "ready":
                lines.append(line.rstrip())
        assert line.strip() == "ready", "\n".join(lines)
        return Running(proc, lines)

    yield starter
    for proc in procs:
        if proc.returncode is None:
            proc.kill()
        with contextlib.suppress(ProcessLookupError):
            await proc.communicate()


async def test_run_act_check_and_stop(start: Starter, tmp_path: Path) -> None:
    manifest = tmp_path / "sim.json"
    sim = await start(
        str(PROFILES / "demo-xiaolan-lock" / "l8-fp.yaml"),
        LAMP,
        "--count",
        "2",
        "--id",
        "dev",
        "--pairing-code",
        "2468-1357",
        "--manifest",
        str(manifest),
        "--no-mdns",
    )
    data = json.loads(manifest.read_text(encoding="utf-8"))
    ids = [d["id"] for d in data["devices"]]
    assert ids == ["dev-1", "dev-2", "dev-3", "dev-4"]
    for device in data["devices"]:  # each device printed with its id, port and pairing code
        assert any(
            device["id"] in line and str(device["port"]) in line and "2468-1357" in line
            for line in sim.lines
        ), sim.lines
    port = str(data["control"]["port"])

    code, out, err = await run("act", "--control", port, "dev-1", "keypad_unlock", "user=3")
    assert code == 0, err
    assert json.loads(out)["reported"] == [{"13": 3, "1": "unlocked"}]
    code, out, _ = await run("state", "--control", port, "dev-1")
    assert json.loads(out)["state"]["main/lock/lock_state"] == "unlocked"
    code, out, _ = await run("list", "--manifest", str(manifest))
    assert code == 0 and len(json.loads(out)["devices"]) == 4
    code, _out, err = await run("act", "--control", port, "dev-3", "ignite")
    assert code == 1 and "no action 'ignite'" in err

    # The conformance check a maker runs against firmware passes against the simulator.
    code, out, err = await run(
        "check",
        "--manifest",
        str(manifest),
        "--device-id",
        "dev-3",
        "--profile",
        str(PROFILES / "demo-guzhen-lighting" / "xdd-cct-480.yaml"),
    )
    assert code == 0, out + err
    assert "0 failed" in out and not [line for line in out.splitlines() if line.startswith("FAIL")]
    assert "PASS P3" in out and "PASS D13" in out

    code, rest = await sim.stop()
    assert code == 0 and "stopped" in rest


async def test_state_file_keeps_identity_and_pairings(start: Starter, tmp_path: Path) -> None:
    state, manifest = tmp_path / "state.json", tmp_path / "m.json"
    args = (LOCK, "--state", str(state), "--manifest", str(manifest), "--no-mdns")
    sim = await start(*args)
    first = json.loads(manifest.read_text(encoding="utf-8"))["devices"][0]
    conn = await HubConnection.connect(
        "127.0.0.1", first["port"], first["id"], first["pairing_code"], hub_id="hub-test"
    )
    ltk = conn.long_term_key
    await conn.close()
    assert (await sim.stop())[0] == 0
    assert oct(state.stat().st_mode & 0o777) == "0o600"  # it holds keys

    await start(*args)
    again = json.loads(manifest.read_text(encoding="utf-8"))["devices"][0]
    assert (again["id"], again["pairing_code"], again["paired_hubs"]) == (
        first["id"],
        first["pairing_code"],
        ["hub-test"],
    )
    assert again["pairing_open"] is False  # paired devices do not open pairing by themselves
    conn = await HubConnection.connect("127.0.0.1", again["port"], again["id"], ltk)
    try:
        with pytest.raises(Exception, match="READ_ONLY"):
            await conn.set({1: dp_bool(True)})
    finally:
        await conn.close()


async def test_bad_input_is_reported_not_raised(tmp_path: Path) -> None:
    code, _out, err = await run("no-such.profile")
    assert code == 1 and "no profile 'no-such.profile'" in err
    broken = tmp_path / "broken.yaml"
    broken.write_text("schema: zshub.profile/1\nid: x\n", encoding="utf-8")
    code, _out, err = await run(str(broken))
    assert code == 1 and "does not load" in err
    matter_only = PROFILES / "generic" / "matter" / "on-off-light.yaml"
    code, _out, err = await run(str(matter_only))
    assert code == 1 and "no zsdp binding" in err
    code, _out, err = await run()
    assert code == 2
