"""The API's address while the hub starts (``hub.api.early``): health and the UI at once, other
requests held and sent on to the full API once it takes the sockets over; real sockets."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp
import pytest

from hub.api import early as early_module
from hub.api.early import CSP, EarlyServer, bind_sockets
from hub.api.server import ApiServer
from hub.app import Hub
from hub.config import HubConfig


def _ui(tmp_path: Path) -> Path:
    ui = tmp_path / "ui"
    ui.mkdir()
    (ui / "index.html").write_text("<!doctype html><title>zshub</title><p>UI</p>")
    (ui / "app.js").write_text("console.log('zshub')")
    return ui


async def test_health_and_ui_at_once_then_held_requests_reach_the_full_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    early = EarlyServer("127.0.0.1", 0, ui_dir=_ui(tmp_path))
    await early.start()
    base = f"http://127.0.0.1:{early.port}"
    hub = Hub(HubConfig.load(tmp_path / "data", port=0, plugins=()))
    async with aiohttp.ClientSession() as http:
        async with http.get(base + "/api/health") as resp:
            assert resp.status == 200
            assert await resp.json() == {"ok": True, "starting": True}
            assert resp.headers["Content-Security-Policy"] == CSP
            assert resp.headers["Cache-Control"] == "no-store"
        async with http.get(base + "/app.js") as resp:
            assert resp.status == 200 and "zshub" in await resp.text()
        async with http.get(base + "/devices/lamp-1") as resp:  # a client-side route
            assert resp.status == 200 and "<p>UI</p>" in await resp.text()

        # Requests for the rest of the API wait for the hub (this one follows the redirect).
        monkeypatch.setattr(early_module, "HOLD_S", 30.0)
        held_get = asyncio.create_task(http.get(base + "/api/info?x=1"))
        held_post = asyncio.create_task(
            http.post(base + "/api/auth/login", json={"username": "nobody", "password": "x"})
        )
        await asyncio.sleep(0.2)
        assert not held_get.done() and not held_post.done()

        await hub.start()
        api = ApiServer(hub, "127.0.0.1", 0, ui_dir=tmp_path / "ui", sockets=early.sockets)
        try:
            await api.start()
            assert api.port == early.port
            await early.hand_over()
            async with await held_get as resp:
                assert resp.status == 401  # the full API's answer: no credentials
                assert (await resp.json())["error"]["code"] == "auth_required"
                assert [r.status for r in resp.history] == [307]
                assert str(resp.url).endswith("/api/info?x=1")
            async with await held_post as resp:  # method and body kept across the 307
                assert resp.status == 401
                assert (await resp.json())["error"]["code"] == "login_failed"
            async with http.get(base + "/api/health") as resp:
                assert await resp.json() == {"ok": True, "setup_required": True}
        finally:
            await api.stop()
            await hub.stop()
    # The full API's stop closed the sockets.
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", early.port)) != 0


async def test_a_request_waiting_too_long_gets_503_and_stop_frees_the_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(early_module, "HOLD_S", 0.2)
    early = EarlyServer("127.0.0.1", 0, ui_dir=_ui(tmp_path))
    await early.start()
    port = early.port
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/api/devices") as resp,
    ):
        assert resp.status == 503
        assert resp.headers["Retry-After"] == "1"
        error = (await resp.json())["error"]
        assert error["code"] == "hub_starting"
        assert error["message"]["zh"] and error["message"]["en"]
    await early.stop()
    again = bind_sockets("127.0.0.1", port)  # the address is free again
    for sock in again:
        sock.close()


def test_bind_sockets_reports_an_address_in_use() -> None:
    taken = bind_sockets("127.0.0.1", 0)
    try:
        with pytest.raises(OSError):
            bind_sockets("127.0.0.1", taken[0].getsockname()[1])
    finally:
        for sock in taken:
            sock.close()
