"""Users, the audit log, and what the rules plug-in offers: scenes, rules with their traces,
notifications. The plug-in's services are looked up at request time (``hub.services``); while
they are absent the routes answer 503 ``service_unavailable``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.api.common import (
    AUTH_KEY,
    HUB_KEY,
    VIEWS_KEY,
    body,
    int_query,
    json_response,
    principal,
    require,
)
from hub.auth.policy import Principal, require_role
from hub.auth.users import Role
from hub.errors import HubError

if TYPE_CHECKING:
    from hub.app import Hub

__all__ = ["call_service", "service", "setup"]

# hub.services key -> attribute of the rules plug-in that holds it (older plug-ins)
_PLUGIN_ATTRS = {"rules": "engine", "scenes": "scenes", "notifications": "notifications"}


def service(hub: Hub, name: str) -> Any:
    """The rule engine (``rules``), scene engine (``scenes``) or notification centre."""
    found = hub.services.get(name)
    if found is None:
        attr = _PLUGIN_ATTRS.get(name, name)
        for plugin in hub.plugins:
            if getattr(plugin, "name", None) == "rules":
                found = getattr(plugin, attr, None)
    if found is None:
        raise HubError("service_unavailable", status=503, service=name)
    return found


def _converted(err: Exception) -> HubError | None:
    """A rule-engine refusal (``RuleError``: code, zh, en) as a ``HubError``."""
    code = getattr(err, "code", None)
    zh, en = getattr(err, "zh", None), getattr(err, "en", None)
    if not isinstance(code, str) or not isinstance(zh, str) or not isinstance(en, str):
        return None
    if code.startswith("unknown_"):
        status = 404
    elif code.startswith("owner_required"):
        status = 403
    else:
        status = 400
    out = HubError(code, status=status)
    out.zh, out.en = zh, en
    return out


async def call_service(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a service method (sync or async), turning its refusals into ``HubError``."""
    try:
        result = fn(*args, **kwargs)
        if hasattr(result, "__await__"):
            result = await result
        return result
    except HubError:
        raise
    except Exception as err:
        converted = _converted(err)
        if converted is None:
            raise
        raise converted from err


# -- users and the audit log -------------------------------------------------------------------
async def users(request: web.Request) -> web.Response:
    require(request, Role.OWNER)
    items = await request.app[AUTH_KEY].list_users()
    return json_response({"users": [u.as_dict() for u in items]})


async def create_user(request: web.Request) -> web.Response:
    who = require(request, Role.OWNER)
    data = await body(request)
    allowed = {"username", "password", "pin", "role", "display_name", "language", "grants"}
    unknown = set(data) - allowed
    if unknown:
        raise HubError("bad_request", detail=f"unknown fields: {', '.join(sorted(unknown))}")
    user = await request.app[AUTH_KEY].create_user(
        data.get("username"),
        data.get("password"),
        data.get("role", Role.MEMBER.value),
        pin=data.get("pin"),
        display_name=data.get("display_name"),
        language=data.get("language"),
        grants=data.get("grants"),
        by=who,
    )
    return json_response({"user": user.as_dict()}, 201)


async def patch_user(request: web.Request) -> web.Response:
    who = principal(request)
    data = await body(request)
    user = await request.app[AUTH_KEY].update_user(who, request.match_info["user_id"], data)
    return json_response({"user": user.as_dict()})


async def delete_user(request: web.Request) -> web.Response:
    who = require(request, Role.OWNER)
    await request.app[AUTH_KEY].delete_user(who, request.match_info["user_id"])
    return web.Response(status=204)


async def audit(request: web.Request) -> web.Response:
    require(request, Role.OWNER)
    hub = request.app[HUB_KEY]
    if hub.storage is None:
        raise HubError("service_unavailable", status=503, service="storage")
    since_raw = request.query.get("since")
    try:
        since = float(since_raw) if since_raw else None
    except ValueError:
        raise HubError("bad_request", detail="since must be POSIX seconds") from None
    entries = await hub.storage.audit_log(
        limit=int_query(request, "limit", 100, high=5000),
        since=since,
        actor=request.query.get("actor") or None,
        action=request.query.get("action") or None,
    )
    return json_response({"entries": entries})


# -- scenes, rules, notifications --------------------------------------------------------------
async def scenes(request: web.Request) -> web.Response:
    require(request, Role.OWNER, Role.MEMBER)
    engine = service(request.app[HUB_KEY], "scenes")
    items = await call_service(engine.scenes)
    return json_response({"scenes": [s.as_dict() for s in items]})


async def run_scene_for(hub: Hub, who: Principal, scene_id: Any) -> dict[str, Any]:
    """Apply a scene as ``who`` (REST and WebSocket); returns its per-device results."""
    require_role(who, Role.OWNER, Role.MEMBER)
    if not isinstance(scene_id, str) or not scene_id:
        raise HubError("bad_request", detail="scene must be a scene id")
    engine = service(hub, "scenes")
    if hasattr(engine, "get") and await call_service(engine.get, scene_id) is None:
        raise HubError("unknown_scene", status=404, scene=scene_id)
    result = await call_service(engine.apply, scene_id, who.context())
    data: dict[str, Any] = result.as_dict() if hasattr(result, "as_dict") else dict(result)
    return data


async def run_scene(request: web.Request) -> web.Response:
    who = principal(request)
    data = await run_scene_for(request.app[HUB_KEY], who, request.match_info["scene_id"])
    return json_response({"result": data})


async def rules(request: web.Request) -> web.Response:
    require(request, Role.OWNER, Role.MEMBER)
    engine = service(request.app[HUB_KEY], "rules")
    items = await call_service(engine.rules)
    return json_response({"rules": [r.as_dict() for r in items]})


async def patch_rule(request: web.Request) -> web.Response:
    who = require(request, Role.OWNER, Role.MEMBER)
    engine = service(request.app[HUB_KEY], "rules")
    data = await body(request)
    if set(data) != {"enabled"} or not isinstance(data["enabled"], bool):
        raise HubError("bad_request", detail='the body must be {"enabled": true|false}')
    rule_id = request.match_info["rule_id"]
    method = engine.enable if data["enabled"] else engine.disable
    info = await call_service(method, rule_id, by_owner=who.user.is_owner)
    request.app[AUTH_KEY].audit(
        "rule_enabled" if data["enabled"] else "rule_disabled", principal=who, target=rule_id
    )
    return json_response(info.as_dict())


async def rule_traces(request: web.Request) -> web.Response:
    require(request, Role.OWNER, Role.MEMBER)
    engine = service(request.app[HUB_KEY], "rules")
    traces = await call_service(engine.traces, request.match_info["rule_id"])
    return json_response({"traces": traces})


async def notifications(request: web.Request) -> web.Response:
    who = principal(request)
    hub = request.app[HUB_KEY]
    center = service(hub, "notifications")
    limit = int_query(request, "limit", 50, high=1000)
    items = [n.as_dict() for n in await call_service(center.recent)]
    if who.user.is_guest:
        views = request.app[VIEWS_KEY]
        items = [
            n
            for n in items
            if views.notification_visible(who, n.get("device_id"), n["priority"], n["audience"])
        ]
    return json_response({"notifications": items[:limit]})


async def dismiss_notification(request: web.Request) -> web.Response:
    require(request, Role.OWNER, Role.MEMBER)
    center = service(request.app[HUB_KEY], "notifications")
    notification_id = request.match_info["notification_id"]
    if not await call_service(center.dismiss, notification_id):
        raise HubError("unknown_notification", status=404, notification=notification_id)
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/users", users)
    r.add_post("/api/users", create_user)
    r.add_patch("/api/users/{user_id}", patch_user)
    r.add_delete("/api/users/{user_id}", delete_user)
    r.add_get("/api/audit", audit)
    r.add_get("/api/scenes", scenes)
    r.add_post("/api/scenes/{scene_id}/run", run_scene)
    r.add_get("/api/rules", rules)
    r.add_patch("/api/rules/{rule_id}", patch_rule)
    r.add_get("/api/rules/{rule_id}/traces", rule_traces)
    r.add_get("/api/notifications", notifications)
    r.add_post("/api/notifications/{notification_id}/dismiss", dismiss_notification)
