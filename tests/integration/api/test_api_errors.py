"""Every failure is JSON with a code, a zh and an en message, and the right status."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import Api


def _is_error(body: Any, code: str) -> None:
    assert isinstance(body, dict) and set(body["error"]) >= {"code", "message", "needs"}
    assert body["error"]["code"] == code, body
    message = body["error"]["message"]
    assert message["zh"] and message["en"] and message["zh"] != message["en"]


async def test_bad_json_is_400(api: Api) -> None:
    for raw in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        status, body = await api.call("POST", "/api/devices/lamp-1/commands", raw=raw)
        assert status == 400, raw
        _is_error(body, "bad_request")


async def test_unknown_device_is_404(api: Api) -> None:
    status, body = await api.call("GET", "/api/devices/nope")
    assert status == 404
    _is_error(body, "unknown_device")
    assert "nope" in body["error"]["message"]["zh"]
    status, body = await api.call(
        "POST", "/api/devices/nope/commands", body={"target": "main/onoff.on"}
    )
    assert status == 404
    _is_error(body, "unknown_device")


async def test_value_out_of_range_is_400_in_both_languages(api: Api) -> None:
    status, body = await api.call(
        "POST",
        "/api/devices/lamp-1/commands",
        body={"target": "main/brightness.set_level", "args": {"level": 140}},
    )
    assert status == 400
    _is_error(body, "bad_argument")
    assert "level" in body["error"]["message"]["en"] and "level" in body["error"]["message"]["zh"]
    assert body["result"]["status"] == "refused"
    assert api.fake.links["lamp-1"].sent == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"target": "main/brightness.set_level", "args": {}}, "missing_argument"),
        ({"target": "main/brightness.ignite"}, "unknown_command"),
        ({"target": "nonsense"}, "bad_request"),
        ({"target": "main/onoff.on", "args": [1]}, "bad_request"),
    ],
)
async def test_malformed_commands_are_400(api: Api, body: dict[str, Any], code: str) -> None:
    status, res = await api.call("POST", "/api/devices/lamp-1/commands", body=body)
    assert status == 400
    _is_error(res, code)


async def test_forbidden_commands_are_403(api: Api) -> None:
    status, body = await api.call(
        "POST", "/api/devices/gas-1/commands", body={"target": "valve/valve.open"}
    )
    assert status == 403
    _is_error(body, "not_available")
    status, body = await api.call(
        "POST", "/api/devices/lock-1/commands", "guest", {"target": "main/lock.lock"}
    )
    assert status == 403
    _is_error(body, "guest_forbidden")


async def test_offline_and_unconfirmed_commands(api: Api) -> None:
    api.fake.links["lamp-2"].online = False
    status, body = await api.call(
        "POST", "/api/devices/lamp-2/commands", body={"target": "main/onoff.on"}
    )
    assert status == 409
    _is_error(body, "device_offline")


async def test_unknown_routes_and_methods_are_json(api: Api) -> None:
    for role in ("owner", None):
        status, body = await api.call("GET", "/api/does/not/exist", role)
        assert status == 404
        _is_error(body, "not_found")
    status, body = await api.call("PUT", "/api/devices")
    assert status == 405
    _is_error(body, "method_not_allowed")
    status, body = await api.call("GET", "/api")
    assert status == 404


async def test_bad_query_and_body_fields(api: Api) -> None:
    status, body = await api.call("GET", "/api/devices/lamp-1/history?limit=abc")
    assert status == 400
    _is_error(body, "bad_request")
    status, body = await api.call("GET", "/api/devices/lamp-1/history?path=brightness")
    assert status == 400
    status, body = await api.call("PATCH", "/api/devices/lamp-1", body={"room_id": "attic"})
    assert status == 400
    _is_error(body, "unknown_room")
    status, body = await api.call("PATCH", "/api/devices/lamp-1", body={"colour": "red"})
    assert status == 400


async def test_device_views_history_and_events(api: Api) -> None:
    status, body = await api.call(
        "POST",
        "/api/devices/lamp-1/commands",
        body={"target": "main/brightness.set_level", "args": {"level": 40}},
    )
    assert status == 200 and body["result"]["status"] == "confirmed"
    status, dev = await api.call("GET", "/api/devices/lamp-1")
    assert dev["state"]["main/brightness/level"]["value"] == 40
    assert dev["availability"] == "online" and dev["room_id"] == "living"
    level = dev["profile"]["components"]["main"]["capabilities"]["brightness"]
    low, high = level["properties"]["level"]["range"]
    assert 0 <= low < high == 100 and level["properties"]["level"]["unit"] == "%"
    set_level = level["commands"]["set_level"]
    assert set_level["title"]["zh"] == "调节亮度"
    assert set_level["effects"] == {"level": "$level"}  # clients wait for this report
    assert api.hub.recorder is not None
    await api.hub.recorder.flush()
    status, hist = await api.call("GET", "/api/devices/lamp-1/history?path=main/brightness/level")
    assert status == 200 and [p[1] for p in hist["points"]] == [40]
    status, hist = await api.call("GET", "/api/devices/lamp-1/history?since=0&limit=10")
    assert [p[2] for p in hist["points"] if p[1] == 40] == ["main/brightness/level"]
    api.fake.links["lock-1"].report({13: 2})
    status, events = await api.call("GET", "/api/devices/lock-1/events?limit=5")
    assert status == 200
    assert events["events"][0]["path"] == "main/lock/lock_operation"
    assert events["events"][0]["fields"]["user_index"] == 2
    status, _ = await api.call("PATCH", "/api/devices/lamp-1", body={"room_id": "kitchen"})
    assert status == 200
    status, body = await api.call("GET", "/api/devices?room=kitchen")
    assert "lamp-1" in {d["id"] for d in body["devices"]}


async def test_rooms_and_device_removal(api: Api) -> None:
    status, room = await api.call(
        "POST", "/api/rooms", body={"id": "study", "name": {"zh": "书房", "en": "Study"}}
    )
    assert status == 201 and room["id"] == "study"
    status, _ = await api.call("PATCH", "/api/devices/lamp-2", body={"room_id": "study"})
    assert status == 200
    status, room = await api.call(
        "PATCH", "/api/rooms/study", body={"name": {"zh": "书房", "en": "Den"}}
    )
    assert status == 200 and room["name"]["en"] == "Den"
    status, _ = await api.call("DELETE", "/api/rooms/study")
    assert status == 204
    status, dev = await api.call("GET", "/api/devices/lamp-2")
    assert dev["room_id"] is None
    status, _ = await api.call("DELETE", "/api/devices/lamp-2")
    assert status == 204
    status, _ = await api.call("GET", "/api/devices/lamp-2")
    assert status == 404
