"""The hub runs the Matter server itself (``matter_server = true``): a fake ``matter-server``
program (tests/integration/matter/matter_fake.py) started, watched, restarted and stopped by the
hub; commissioning failures are explained from the server's log."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from matter_env import Env, fixture, free_port, start_env, stop_env, wait_for

FAKE = Path(__file__).with_name("matter_fake.py")


def valid_code(passcode: int, short_discriminator: int) -> str:
    from integrations.matter.codes import verhoeff_check_digit

    first = short_discriminator >> 2
    chunk2 = (short_discriminator & 0x3) << 14 | (passcode & 0x3FFF)
    body = f"{first}{chunk2:05d}{passcode >> 14:04d}"
    return body + str(verhoeff_check_digit(body))


WRONG = valid_code(20202022, 15)
SLOW = valid_code(20202023, 15)


@pytest.fixture
async def supervised(tmp_path: Path) -> AsyncIterator[Env]:
    storage = tmp_path / "matter"
    storage.mkdir()
    offers = {
        "34970112332": [fixture("on_off_light.json"), "ok"],
        "MT:Y.K9042C00KA0648G00": [fixture("door_lock.json"), "attestation"],
        WRONG: [fixture("on_off_light.json"), "wrong_code"],
        SLOW: [fixture("on_off_light.json"), "timeout"],
    }
    (storage / "offers.json").write_text(json.dumps(offers))
    env = await start_env(
        tmp_path,
        matter_server=True,
        matter_server_command=[sys.executable, str(FAKE)],
        matter_server_port=free_port(),
        matter_paa_dir=str(tmp_path / "paa"),
    )
    await wait_for(lambda: env.matter.status()["state"] == "connected", 20, "connected")
    yield env
    supervisor = env.matter.supervisor
    await stop_env(env)
    assert supervisor is not None and not supervisor.running


async def test_server_is_started_with_the_hub_options(supervised: Env, tmp_path: Path) -> None:
    supervisor = supervised.matter.supervisor
    assert supervisor is not None and supervisor.running
    argv = supervisor.argv
    assert argv[:2] == [sys.executable, str(FAKE)]
    assert argv[argv.index("--storage-path") + 1] == str(tmp_path / "matter")
    assert argv[argv.index("--listen-address") + 1] == "127.0.0.1"
    assert argv[argv.index("--paa-root-cert-dir") + 1] == str(tmp_path / "paa")
    _, info = await supervised.call("GET", "/api/info")
    assert info["integrations"]["matter"]["server"]["running"] is True


@pytest.mark.parametrize(
    ("code", "error", "status"),
    [
        ("MT:Y.K9042C00KA0648G00", "matter_attestation_failed", 422),
        (WRONG, "matter_wrong_code", 400),
        (SLOW, "matter_commission_timeout", 504),
    ],
)
async def test_commissioning_failures_are_explained(
    supervised: Env, code: str, error: str, status: int
) -> None:
    got, body = await supervised.call("POST", "/api/matter/commission", {"code": code})
    assert got == status, body
    assert body["error"]["code"] == error
    assert body["error"]["message"]["zh"] and body["error"]["message"]["en"]
    assert not [d for d in supervised.hub.registry if d.integration == "matter"]


async def test_a_crashed_server_is_restarted_and_nodes_come_back(supervised: Env) -> None:
    status, device = await supervised.call(
        "POST", "/api/matter/commission", {"code": "34970112332"}
    )
    assert status == 201, device
    supervisor = supervised.matter.supervisor
    assert supervisor is not None and supervisor.pid is not None
    first_pid, connects = supervisor.pid, supervised.matter.connects
    os.kill(first_pid, signal.SIGKILL)
    await wait_for(lambda: not supervised.online(device["id"]), 10, "offline")
    await wait_for(
        lambda: supervisor.pid not in (None, first_pid) and supervised.matter.connects > connects,
        30,
        "restarted and reconnected",
    )
    await wait_for(lambda: supervised.online(device["id"]), 10, "node back")
    status, result = await supervised.call(
        "POST", f"/api/devices/{device['id']}/commands", {"target": "main/onoff.on"}
    )
    assert status == 200 and result["result"]["status"] == "confirmed", result
    assert supervisor.starts == 2


async def test_missing_matter_server_is_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no matter-server anywhere
    env = await start_env(tmp_path, matter_server=True)
    try:
        status = env.matter.status()
        assert status["configured"] is True and status["ok"] is False
        assert "not installed" in status["error"]
        got, body = await env.call("POST", "/api/matter/commission", {"code": "34970112332"})
        assert got == 503 and body["error"]["code"] == "matter_unavailable"
        assert "not installed" in body["error"]["message"]["en"]
    finally:
        await stop_env(env)
