"""The WebSocket API: auth, snapshots, filtered pushes, commands with ids, reconnects, Origin."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from api_helpers import PINS, Api, login

from hub.api import websocket as ws_module
from hub.api.common import WS_KEY
from hub.core import Availability, Context, Origin
from rules.notify import NotificationCenter


async def connect(
    api: Api, role: str | None = "owner", **kwargs: Any
) -> aiohttp.ClientWebSocketResponse:
    ws = await api.http.ws_connect(api.url + "/api/ws", **kwargs)
    if role is not None:
        assert (await ws.receive_json(timeout=5))["type"] == "auth_required"
        await ws.send_json({"type": "auth", "token": api.tokens[role]})
        hello = await ws.receive_json(timeout=5)
        assert hello["type"] == "auth_ok" and hello["user"]["role"] == role
    return ws


async def until(ws: aiohttp.ClientWebSocketResponse, **match: Any) -> dict[str, Any]:
    """The next message whose top-level fields match."""
    while True:
        msg = await ws.receive_json(timeout=5)
        if all(msg.get(k) == v for k, v in match.items()):
            return msg


def set_state(api: Api, path: str, value: Any) -> None:
    api.hub.states.set(path, value, Context(Origin.DEVICE, path.split("/", maxsplit=1)[0]))


async def test_token_auth_subscribe_snapshot_and_pushes(api: Api) -> None:
    ws = await connect(api)
    await ws.send_json({"id": 1, "type": "subscribe", "devices": ["lamp-1"]})
    reply = await until(ws, id=1)
    assert reply["type"] == "result" and reply["success"] is True
    [snap] = reply["result"]["snapshot"]["devices"]
    assert snap["id"] == "lamp-1" and "profile" in snap and "state" in snap
    set_state(api, "lamp-2/main/onoff/on", True)  # not subscribed
    set_state(api, "lamp-1/main/onoff/on", True)
    event = await until(ws, type="event")
    assert event["id"] == 1
    assert event["event"]["type"] == "state_changed"
    assert event["event"]["data"]["path"] == "lamp-1/main/onoff/on"
    assert event["event"]["data"]["new"]["value"] is True
    assert event["event"]["context"]["origin"] == "device" and event["event"]["time"]
    api.fake.links["lamp-1"].online = False
    api.hub.registry.set_availability("lamp-1", Availability.OFFLINE)
    event = await until(ws, type="event")
    assert event["event"]["type"] == "availability_changed"
    assert event["event"]["data"] == {
        "device_id": "lamp-1",
        "old": "unknown",
        "new": "offline",
        "last_seen": event["event"]["data"]["last_seen"],
    }
    await ws.send_json({"id": 2, "type": "ping"})
    assert await until(ws, id=2) == {"id": 2, "type": "pong"}
    await ws.send_json({"id": 3, "type": "unsubscribe", "subscription": 1})
    assert (await until(ws, id=3))["success"] is True
    set_state(api, "lamp-1/main/onoff/on", False)
    await ws.send_json({"id": 4, "type": "ping"})
    assert (await ws.receive_json(timeout=5))["id"] == 4  # no event came in between
    await ws.close()


async def test_room_filter_and_event_types(api: Api) -> None:
    ws = await connect(api)
    await ws.send_json(
        {"id": 7, "type": "subscribe", "rooms": ["kitchen"], "events": ["state_changed"]}
    )
    reply = await until(ws, id=7)
    assert {d["id"] for d in reply["result"]["snapshot"]["devices"]} == {
        "lamp-2",
        "heater-1",
        "cooktop-1",
    }
    set_state(api, "lamp-1/main/onoff/on", True)  # living room
    api.fake.links["lamp-2"].report({})  # availability only: not a state_changed
    set_state(api, "lamp-2/main/onoff/on", True)
    event = await until(ws, type="event")
    assert event["id"] == 7 and event["event"]["data"]["device"] == "lamp-2"
    await ws.close()


async def test_command_result_carries_the_message_id(api: Api) -> None:
    ws = await connect(api, "member")
    await ws.send_json(
        {
            "id": 11,
            "type": "command",
            "device": "lamp-1",
            "target": "main/brightness.set_level",
            "args": {"level": 30},
        }
    )
    await ws.send_json(
        {"id": 12, "type": "command", "device": "lock-1", "target": "main/lock.unlock"}
    )
    await ws.send_json(
        {
            "id": 13,
            "type": "command",
            "device": "lock-1",
            "target": "main/lock.unlock",
            "pin": PINS["member"],
        }
    )
    await ws.send_json({"id": 14, "type": "command", "device": "nope", "target": "main/onoff.on"})
    replies = {}
    while len(replies) < 4:
        msg = await ws.receive_json(timeout=5)
        if msg.get("type") == "result":
            replies[msg["id"]] = msg
    assert replies[11]["success"] is True and replies[11]["result"]["status"] == "confirmed"
    assert replies[12]["success"] is False and replies[12]["error"]["needs"] == "pin"
    assert replies[12]["result"]["code"] == "step_up_required"
    assert replies[13]["success"] is True and replies[13]["result"]["status"] == "confirmed"
    assert replies[14]["error"]["code"] == "unknown_device"
    await ws.close()


async def test_guest_is_filtered_and_refused_over_websocket(api: Api) -> None:
    ws = await connect(api, "guest")
    await ws.send_json({"id": 1, "type": "subscribe", "devices": ["lock-1"]})
    reply = await until(ws, id=1)
    assert reply["success"] is False and reply["error"]["code"] == "guest_forbidden"
    await ws.send_json({"id": 2, "type": "subscribe"})
    reply = await until(ws, id=2)
    assert {d["id"] for d in reply["result"]["snapshot"]["devices"]} == {"lamp-1", "heater-1"}
    set_state(api, "lock-1/main/lock/lock_state", "unlocked")
    set_state(api, "gas-1/detector/gas_detector/gas_detected", True)
    set_state(api, "lamp-2/main/onoff/on", True)
    set_state(api, "lamp-1/main/onoff/on", True)
    event = await until(ws, type="event")
    assert event["event"]["data"]["device"] == "lamp-1"  # nothing of the others leaked
    await ws.send_json({"id": 3, "type": "command", "device": "lock-1", "target": "main/lock.lock"})
    reply = await until(ws, id=3)
    assert reply["success"] is False and reply["error"]["code"] == "guest_forbidden"
    await ws.send_json({"id": 4, "type": "get_devices"})
    reply = await until(ws, id=4)
    assert {d["id"] for d in reply["result"]["devices"]} == {"lamp-1", "heater-1"}
    await ws.close()


async def test_guest_gets_critical_alarms_about_devices_hidden_from_them(api: Api) -> None:
    center = NotificationCenter(api.hub.bus)
    ws = await connect(api, "guest")
    await ws.send_json({"id": 1, "type": "subscribe"})
    assert (await until(ws, id=1))["success"] is True
    center.notify("燃气传感器电量低", "Gas detector low", priority="alert", device_id="gas-1")
    center.notify(
        "厨房检测到燃气泄漏", "Gas leak in the kitchen", priority="critical", device_id="gas-1"
    )
    event = await until(ws, type="event")
    assert event["event"]["type"] == "notification"
    assert event["event"]["data"]["priority"] == "critical"  # the alert one never came
    assert event["event"]["data"]["text"]["zh"] == "厨房检测到燃气泄漏"
    await ws.close()


async def test_reconnect_gets_a_fresh_snapshot(api: Api) -> None:
    ws = await connect(api)
    await ws.send_json({"id": 1, "type": "subscribe", "devices": ["lamp-1"]})
    first = (await until(ws, id=1))["result"]["snapshot"]["devices"][0]["state"]
    await ws.close()
    set_state(api, "lamp-1/main/brightness/level", 77)  # changed while away
    ws = await connect(api)
    await ws.send_json({"id": 1, "type": "subscribe", "devices": ["lamp-1"]})
    again = (await until(ws, id=1))["result"]["snapshot"]["devices"][0]["state"]
    assert again["main/brightness/level"]["value"] == 77
    assert first.get("main/brightness/level", {}).get("value") != 77
    await ws.close()


async def test_cookie_session_and_origin_checks(api: Api) -> None:
    browser = await login(api, "owner")
    try:
        ws = await browser.ws_connect(api.url + "/api/ws", headers={"Origin": api.origin})
        hello = await ws.receive_json(timeout=5)
        assert hello["type"] == "auth_ok" and hello["user"]["role"] == "owner"
        await ws.close()
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await browser.ws_connect(api.url + "/api/ws", headers={"Origin": "http://evil.example"})
        assert err.value.status == 403
    finally:
        await browser.close()


async def test_bad_token_bad_messages_and_revocation(api: Api) -> None:
    ws = await connect(api, None)
    assert (await ws.receive_json(timeout=5))["type"] == "auth_required"
    await ws.send_json({"type": "auth", "token": "zsh_wrong"})
    msg = await ws.receive_json(timeout=5)
    assert msg["type"] == "auth_invalid" and msg["error"]["code"] == "auth_invalid"
    closing = await ws.receive(timeout=5)
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ws.close_code == ws_module.CLOSE_AUTH_INVALID

    ws = await connect(api, "member")
    await ws.send_str("{nope")
    assert (await ws.receive_json(timeout=5))["error"]["code"] == "bad_request"
    await ws.send_json({"type": "ping"})
    assert (await ws.receive_json(timeout=5))["error"]["code"] == "bad_request"
    await ws.send_json({"id": 5, "type": "dance"})
    assert (await ws.receive_json(timeout=5))["id"] == 5
    # revoking the token closes the connection at once
    token_id = next(t["id"] for t in (await api.call("GET", "/api/tokens", "member"))[1]["tokens"])
    status, _ = await api.call("DELETE", f"/api/tokens/{token_id}", "member")
    assert status == 204
    msg = await ws.receive(timeout=5)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ws.close_code == ws_module.CLOSE_REVOKED


async def test_slow_client_is_disconnected_without_slowing_the_hub(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ws_module, "MAX_QUEUE", 50)
    slow = await connect(api)
    await slow.send_json({"id": 1, "type": "subscribe"})
    await until(slow, id=1)
    fast = await connect(api)
    await fast.send_json({"id": 1, "type": "subscribe", "devices": ["lamp-1"]})
    await until(fast, id=1)
    # the slow client stops reading; the hub keeps changing state
    for i in range(20_000):
        set_state(api, "lamp-2/main/brightness/level", i % 100 + 1)
        if i % 500 == 0:
            await asyncio.sleep(0)
    sockets = api.server.app[WS_KEY] if api.server.app is not None else None
    assert sockets is not None
    for _ in range(100):
        if len(sockets) < 2:
            break
        await asyncio.sleep(0.05)
    assert len(sockets) == 1
    set_state(api, "lamp-1/main/onoff/on", True)
    assert (await until(fast, type="event"))["event"]["data"]["device"] == "lamp-1"
    await fast.close()
    await slow.close()
    # 4008 when the close frame still got through, else the connection was cut
    assert slow.close_code in (ws_module.CLOSE_TOO_SLOW, aiohttp.WSCloseCode.ABNORMAL_CLOSURE)
