"""Scenes, rules and notifications come from the rules plug-in through ``hub.services``."""

from __future__ import annotations

from pathlib import Path

from api_helpers import Api, install_stub_services, start_api, stop_api

from rules.plugin import RulesPlugin


async def test_503_with_a_clear_message_while_the_rules_plugin_is_absent(api: Api) -> None:
    for method, path in (
        ("GET", "/api/scenes"),
        ("POST", "/api/scenes/good_night/run"),
        ("GET", "/api/rules"),
        ("GET", "/api/rules/x/traces"),
        ("GET", "/api/notifications"),
    ):
        status, body = await api.call(method, path)
        assert status == 503, (method, path)
        assert body["error"]["code"] == "service_unavailable"
        assert (
            "rules" in body["error"]["message"]["en"] or "scenes" in body["error"]["message"]["en"]
        )
        assert "未" in body["error"]["message"]["zh"]


async def test_scenes_run_as_the_user(api: Api) -> None:
    install_stub_services(api)
    status, body = await api.call("GET", "/api/scenes", "member")
    assert status == 200 and [s["id"] for s in body["scenes"]] == ["good_night"]
    status, body = await api.call("POST", "/api/scenes/good_night/run", "member")
    assert status == 200 and body["result"]["ok"] is True
    [(scene, ctx)] = api.hub.services["scenes"].applied
    assert scene == "good_night" and ctx.user() == api.users["member"]
    status, body = await api.call("POST", "/api/scenes/nope/run", "member")
    assert status == 404 and body["error"]["code"] == "unknown_scene"
    status, body = await api.call("GET", "/api/scenes", "guest")
    assert status == 403
    status, body = await api.call("POST", "/api/scenes/good_night/run", "guest")
    assert status == 403


async def test_rules_on_off_and_traces(api: Api) -> None:
    install_stub_services(api)
    status, body = await api.call("GET", "/api/rules", "member")
    assert status == 200 and len(body["rules"]) == 2
    status, body = await api.call(
        "PATCH", "/api/rules/hood_follows_cooktop", "member", {"enabled": False}
    )
    assert status == 200 and body["enabled"] is False
    status, body = await api.call("PATCH", "/api/rules/gas_shutoff", "member", {"enabled": False})
    assert status == 403 and body["error"]["code"] == "owner_required"
    assert body["error"]["message"] == {"zh": "错误 owner_required", "en": "error owner_required"}
    status, body = await api.call("PATCH", "/api/rules/gas_shutoff", "owner", {"enabled": False})
    assert status == 200
    status, body = await api.call("PATCH", "/api/rules/gas_shutoff", "owner", {"enabled": "no"})
    assert status == 400
    status, body = await api.call("GET", "/api/rules/nope/traces", "member")
    assert status == 404 and body["error"]["code"] == "unknown_rule"
    status, body = await api.call("GET", "/api/rules/gas_shutoff/traces", "member")
    assert status == 200 and body["traces"][0]["run_id"] == "r1"
    status, body = await api.call("GET", "/api/rules", "guest")
    assert status == 403


async def test_notifications_for_guests_about_granted_devices_and_alarms(api: Api) -> None:
    install_stub_services(api)
    status, body = await api.call("GET", "/api/notifications", "member")
    assert [n["id"] for n in body["notifications"]] == ["n-1", "n-2", "n-3", "n-4", "n-5"]
    status, body = await api.call("GET", "/api/notifications?limit=1", "member")
    assert len(body["notifications"]) == 1
    status, body = await api.call("GET", "/api/notifications", "guest")
    assert [n["id"] for n in body["notifications"]] == ["n-1", "n-4", "n-5"]
    status, _ = await api.call("POST", "/api/notifications/n-2/dismiss", "member")
    assert status == 204
    status, body = await api.call("POST", "/api/notifications/n-2/dismiss", "member")
    assert status == 404 and body["error"]["code"] == "unknown_notification"


async def test_with_the_real_rules_plugin(tmp_path: Path) -> None:
    api = await start_api(tmp_path)
    try:
        rules = RulesPlugin(api.hub)
        await rules.async_start(api.hub)
        api.hub.plugins.append(rules)
        for path in ("/api/scenes", "/api/rules", "/api/notifications"):
            status, body = await api.call("GET", path, "member")
            assert status == 200, (path, body)
        status, body = await api.call("POST", "/api/scenes/nope/run", "member")
        assert status == 404
        status, body = await api.call("GET", "/api/rules/nope/traces", "member")
        assert status == 404
    finally:
        await stop_api(api)
