"""HTTP API: hub info, rooms, devices with their profile, state and availability, discoveries.

Errors are JSON ``{"error": {"code", "message": {"zh", "en"}}}`` with a 4xx status.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.errors import HubError

if TYPE_CHECKING:
    from hub.app import Hub

__all__ = ["HUB_KEY", "ApiServer", "build_app"]

_LOGGER = logging.getLogger(__name__)
HUB_KEY: web.AppKey[Hub] = web.AppKey("hub")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(data, ensure_ascii=False, default=str),
        status=status,
        content_type="application/json",
    )


def _error(code: str, status: int, **params: Any) -> web.Response:
    err = HubError(code, **params)
    return _json({"error": err.as_dict()}, status)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.content_type != "application/json":
            return _error("bad_request", exc.status, detail=exc.reason)
        raise
    except HubError as err:
        return _json({"error": err.as_dict()}, err.status)


def _device_view(hub: Hub, device_id: str) -> dict[str, Any]:
    device = hub.registry.device(device_id)
    data = device.as_dict()
    data["state"] = {
        path.split("/", 1)[1]: state.as_dict()
        for path, state in hub.states.device_states(device_id).items()
    }
    runtime = hub.profiles.runtime(device.profile_id) if device.profile_id else None
    data["profile"] = runtime.loaded.summary() if runtime is not None else None
    return data


async def info(request: web.Request) -> web.Response:
    return _json(request.app[HUB_KEY].describe())


async def health(request: web.Request) -> web.Response:
    return _json({"ok": True})


async def rooms(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    return _json({"rooms": [r.as_dict() for r in hub.registry.rooms()]})


async def devices(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    room = request.query.get("room")
    out = [_device_view(hub, d.id) for d in hub.registry if room is None or d.room_id == room]
    return _json({"devices": out})


async def device(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    device_id = request.match_info["device_id"]
    if hub.registry.get(device_id) is None:
        return _error("unknown_device", 404, device=device_id)
    return _json(_device_view(hub, device_id))


async def discoveries(request: web.Request) -> web.Response:
    """Discovered devices not yet added, with their ranked profile candidates."""
    hub = request.app[HUB_KEY]
    out = []
    for record, match in hub.pending_discoveries():
        item = record.as_dict()
        item["match"] = (
            {
                "best": match.best,
                "ambiguous": match.ambiguous,
                "candidates": [
                    {"profile_id": pid, "score": score, "reasons": reasons}
                    for pid, score, reasons in match.candidates
                ],
            }
            if match is not None
            else None
        )
        out.append(item)
    return _json({"discoveries": out})


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise HubError("bad_request", detail=f"body is not JSON: {err}") from err
    if not isinstance(body, dict):
        raise HubError("bad_request", detail="body must be a JSON object")
    return body


def _text(body: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise HubError("bad_request", detail=f"{key} must be non-empty text")
    return value


async def add_device(request: web.Request) -> web.Response:
    """Add a discovered device with its pairing code (or other secrets the profile asks for)."""
    hub = request.app[HUB_KEY]
    body = await _body(request)
    name = body.get("name")
    if not isinstance(name, dict):
        raise HubError("bad_request", detail='name must be {"zh": …, "en": …}')
    secrets = body.get("secrets") or {}
    if "pairing_code" in body:
        secrets = {**secrets, "pairing_code": _text(body, "pairing_code")}
    if not isinstance(secrets, dict) or not all(isinstance(v, str) for v in secrets.values()):
        raise HubError("bad_request", detail="secrets must map names to text")
    device = await hub.add_discovered(
        str(_text(body, "integration")),
        str(_text(body, "key")),
        secrets=secrets,
        name_zh=str(_text(name, "zh")),
        name_en=str(_text(name, "en")),
        room_id=_text(body, "room_id", required=False),
        profile_id=_text(body, "profile_id", required=False),
    )
    return _json(_device_view(hub, device.id), 201)


async def profiles(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    library = hub.profiles.library
    items = [p.summary() for p in library] if library is not None else []
    problems = [str(p) for p in library.problems] if library is not None else []
    return _json({"profiles": items, "problems": problems})


def build_app(hub: Hub) -> web.Application:
    app = web.Application(middlewares=[_errors])
    app[HUB_KEY] = hub
    app.router.add_get("/api/health", health)
    app.router.add_get("/api/info", info)
    app.router.add_get("/api/rooms", rooms)
    app.router.add_get("/api/devices", devices)
    app.router.add_get("/api/devices/{device_id}", device)
    app.router.add_post("/api/devices", add_device)
    app.router.add_get("/api/discoveries", discoveries)
    app.router.add_get("/api/profiles", profiles)
    return app


class ApiServer:
    """Runs the aiohttp app on host:port; ``port=0`` picks a free one (tests)."""

    def __init__(self, hub: Hub, host: str, port: int) -> None:
        self._hub = hub
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.port = port

    async def start(self) -> None:
        self._runner = web.AppRunner(build_app(self._hub), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"
