"""The Python client for integrators against the real API: devices, commands, subscriptions
that survive a reconnect, scenes, errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from api_helpers import PINS, Api, install_stub_services

from hub.api.common import WS_KEY
from hub.client import AuthenticationError, ZshubClient, ZshubError
from hub.core import Context, Origin


async def next_event(events: Any, **match: Any) -> dict[str, Any]:
    async with asyncio.timeout(5):
        async for event in events:
            if all(event.get(k) == v for k, v in match.items()):
                return dict(event)
    raise AssertionError("subscription ended")


async def test_devices_commands_and_scenes(api: Api) -> None:
    install_stub_services(api)
    async with ZshubClient(api.url, api.tokens["member"]) as hub:
        assert hub.user is not None and hub.user["role"] == "member"
        devices = await hub.devices()
        assert {"lamp-1", "lock-1"} <= {d["id"] for d in devices}
        assert [d["id"] for d in await hub.devices(room="hall")] == []
        result = await hub.command("lamp-1", "main/brightness.set_level", {"level": 25})
        assert result["status"] == "confirmed"
        with pytest.raises(ZshubError) as err:
            await hub.command("lock-1", "main/lock.unlock")
        assert err.value.needs == "pin" and err.value.result is not None
        result = await hub.command("lock-1", "main/lock.unlock", pin=PINS["member"])
        assert result["status"] == "confirmed"
        with pytest.raises(ZshubError) as err:
            await hub.command("lamp-1", "main/brightness.set_level", {"level": 500})
        assert err.value.code == "bad_argument" and err.value.message_zh
        scene = await hub.run_scene("good_night")
        assert scene["ok"] is True
        assert await hub.ping() < 5


async def test_subscribe_and_resubscribe_after_reconnect(api: Api) -> None:
    async with ZshubClient(api.url, api.tokens["owner"], max_backoff=0.2) as hub:
        events = hub.subscribe(rooms=["living"], events=["state_changed"])
        it = events.__aiter__()
        first = await next_event(it)
        assert first["type"] == "snapshot"
        assert {d["id"] for d in first["data"]["devices"]} == {"lamp-1", "lock-1", "gas-1"}
        ctx = Context(Origin.DEVICE, "lamp-1")
        api.hub.states.set("lamp-2/main/onoff/on", True, ctx)  # kitchen: filtered out
        api.hub.states.set("lamp-1/main/onoff/on", True, ctx)
        event = await next_event(it, type="state_changed")
        assert event["data"]["path"] == "lamp-1/main/onoff/on"

        # the hub drops every connection (as on restart); the client comes back by itself
        assert api.server.app is not None
        sockets = api.server.app[WS_KEY]
        for conn in list(sockets._conns):
            conn.kick(1012, "restart")
        api.hub.states.set("lamp-1/main/brightness/level", 64, ctx)  # while away
        again = await next_event(it, type="snapshot")
        lamp = next(d for d in again["data"]["devices"] if d["id"] == "lamp-1")
        assert lamp["state"]["main/brightness/level"]["value"] == 64
        assert hub.reconnects == 1
        api.hub.states.set("lamp-1/main/onoff/on", False, ctx)
        event = await next_event(it, type="state_changed")
        assert event["data"]["new"]["value"] is False
        await events.close()


async def test_bad_token_raises(api: Api) -> None:
    with pytest.raises(AuthenticationError) as err:
        async with ZshubClient(api.url, "zsh_wrong"):
            pass
    assert err.value.code == "auth_invalid"
