"""The OpenAPI document matches the running app: every route documented, every documented
route answers (with valid auth), with a status the document lists."""

from __future__ import annotations

import re
from typing import Any

from api_helpers import Api, install_stub_services

from hub.api.common import WS_KEY
from hub.api.openapi import load_openapi

_METHODS = ("get", "post", "patch", "put", "delete")


def _documented(doc: dict[str, Any], integrations: Any = None) -> set[tuple[str, str]]:
    """Documented (method, path); paths of an integration (``x-zshub-integration``) only when
    it is in ``integrations`` (None: every path)."""
    return {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method in _METHODS
        and (integrations is None or item.get("x-zshub-integration", None) in (None, *integrations))
    }


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        for value in node.values():
            out += _refs(value)
        return out
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


async def test_document_is_served_and_self_consistent(api: Api) -> None:
    status, doc = await api.call("GET", "/api/openapi.json", None)
    assert status == 200 and doc == load_openapi()
    assert doc["openapi"].startswith("3.1")
    for ref in _refs(doc):
        node: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        assert isinstance(node, dict), ref
    for path, item in doc["paths"].items():
        params = set(re.findall(r"{(\w+)}", path))
        for method, op in item.items():
            if method not in _METHODS:
                continue
            assert op.get("responses"), (method, path)
            declared = {
                p.get("name") or p["$ref"].rsplit("/", 1)[-1]
                for p in [*item.get("parameters", []), *op.get("parameters", [])]
                if p.get("in", "path") == "path" or "$ref" in p
            }
            resolved = {"DeviceId": "device_id"}
            assert params <= {resolved.get(d, d) for d in declared}, (method, path)


async def test_every_route_is_documented_and_every_documented_route_answers(api: Api) -> None:
    install_stub_services(api)
    doc = load_openapi()
    documented = _documented(doc, api.hub.integrations)
    app = api.server.app
    assert app is not None
    routes = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api")
        and route.method != "HEAD"
    }
    assert routes - documented == set(), "routes missing from openapi.yaml"
    assert documented - routes == set(), "documented routes the app does not have"

    status, body = await api.call("POST", "/api/tokens", "owner", {"name": "doomed"})
    token_id = body["id"]
    status, body = await api.call(
        "POST", "/api/users", "owner", {"username": "temp", "password": "temp-pass-1"}
    )
    user_id = body["user"]["id"]
    values = {
        "device_id": "lamp-1",
        "room_id": "hall",
        "token_id": token_id,
        "user_id": user_id,
        "scene_id": "good_night",
        "rule_id": "hood_follows_cooktop",
        "notification_id": "n-1",
    }
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/api/devices/{device_id}/commands"): {"target": "main/onoff.on"},
        ("PATCH", "/api/devices/{device_id}"): {"name": {"zh": "灯", "en": "Lamp"}},
        ("PATCH", "/api/rooms/{room_id}"): {"order": 5},
        ("PATCH", "/api/rules/{rule_id}"): {"enabled": False},
        ("PATCH", "/api/users/{user_id}"): {"display_name": "Temp"},
        ("POST", "/api/rooms"): {"name": {"zh": "书房", "en": "Study"}},
        ("POST", "/api/tokens"): {"name": "another"},
        ("POST", "/api/users"): {"username": "temp2", "password": "temp-pass-2"},
        ("POST", "/api/auth/login"): {"username": "owner", "password": "nope-nope"},
    }
    # deletions and sign-out last, so the rest still has something to work on
    order = sorted(documented, key=lambda mp: (mp[0] == "DELETE", mp[1] == "/api/auth/logout"))
    for method, path in order:
        url = re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)
        status, answer = await api.call(method, url, "owner", bodies.get((method, path), {}))
        code = answer.get("error", {}).get("code") if isinstance(answer, dict) else None
        assert status != 405 and code != "not_found", (method, path, status, answer)
        assert status < 500, (method, path, status, answer)
        listed = doc["paths"][path][method.lower()]["responses"]
        assert str(status) in listed, (method, path, status, sorted(listed))
    assert len(app[WS_KEY]) == 0
