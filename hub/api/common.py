"""Shared pieces of the HTTP API: app keys, JSON responses, error bodies, request parsing."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web

from hub.auth.policy import Principal, require_role
from hub.auth.users import Role
from hub.errors import HubError

if TYPE_CHECKING:
    from hub.api.recent import RecentEvents
    from hub.api.views import Views
    from hub.api.websocket import WebSocketHub
    from hub.app import Hub
    from hub.auth.service import AuthService

__all__ = [
    "AUTH_KEY",
    "HUB_KEY",
    "PRINCIPAL_KEY",
    "RECENT_KEY",
    "VIEWS_KEY",
    "WS_KEY",
    "Handler",
    "body",
    "dumps",
    "error_body",
    "error_response",
    "int_query",
    "json_response",
    "principal",
    "require",
    "same_origin",
    "text_field",
]

HUB_KEY: web.AppKey[Hub] = web.AppKey("hub")
AUTH_KEY: web.AppKey[AuthService] = web.AppKey("auth")
VIEWS_KEY: web.AppKey[Views] = web.AppKey("views")
RECENT_KEY: web.AppKey[RecentEvents] = web.AppKey("recent")
WS_KEY: web.AppKey[WebSocketHub] = web.AppKey("ws")
# The caller, set by the auth middleware (a typed key from aiohttp 3.14, a string before).
_RequestKey: Any = getattr(web, "RequestKey", None)
PRINCIPAL_KEY: Any = (
    _RequestKey("principal", Principal) if _RequestKey is not None else "zshub.principal"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def dumps(data: Any) -> str:
    return _ENCODER.encode(data)


def same_origin(request: web.Request, *, referer: bool = False) -> bool:
    """True when the request's ``Origin`` (or, with ``referer``, its ``Referer`` when there is
    no ``Origin``) names this hub, or when it has neither (not a browser)."""
    origin = request.headers.get("Origin") or None
    if origin is None and referer:
        origin = request.headers.get("Referer") or None
    if origin is None:
        return True
    try:
        netloc = urlsplit(origin).netloc.lower()
    except ValueError:
        return False
    return bool(netloc) and netloc == request.host.lower()


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=dumps(data), status=status, content_type="application/json")


def error_body(err: HubError) -> dict[str, Any]:
    """``{"code", "message": {"zh", "en"}, "needs"}`` (+ ``retry_after`` when rate limited)."""
    out = err.as_dict()
    out["needs"] = err.params.get("needs")
    retry = getattr(err, "retry_after", None)
    if retry is not None:
        out["retry_after"] = retry
    return out


def error_response(err: HubError) -> web.Response:
    response = json_response({"error": error_body(err)}, err.status)
    retry = getattr(err, "retry_after", None)
    if retry is not None:
        response.headers["Retry-After"] = str(retry)
    return response


def principal(request: web.Request) -> Principal:
    found = request.get(PRINCIPAL_KEY)
    if not isinstance(found, Principal):
        raise HubError("auth_required", status=401)
    return found


def require(request: web.Request, *roles: Role) -> Principal:
    """The caller, if they have one of ``roles``; 403 otherwise."""
    who = principal(request)
    require_role(who, *roles)
    return who


async def body(request: web.Request) -> dict[str, Any]:
    """The JSON object in the body; 400 ``bad_request`` otherwise."""
    try:
        data = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as err:
        raise HubError("bad_request", detail=f"body is not JSON: {err}") from err
    if not isinstance(data, dict):
        raise HubError("bad_request", detail="body must be a JSON object")
    return data


def text_field(data: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise HubError("bad_request", detail=f"{key} must be non-empty text")
    return value


def int_query(
    request: web.Request, key: str, default: int, *, low: int = 1, high: int = 10_000
) -> int:
    raw = request.query.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HubError("bad_request", detail=f"{key} must be a whole number") from None
    if not low <= value <= high:
        raise HubError("bad_request", detail=f"{key} must be between {low} and {high}")
    return value
