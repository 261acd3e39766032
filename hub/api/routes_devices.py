"""Hub info, rooms, devices (views, history, events, commands), discoveries and profiles."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from aiohttp import web

from hub.api.commands import http_status, run_command
from hub.api.common import (
    AUTH_KEY,
    HUB_KEY,
    RECENT_KEY,
    VIEWS_KEY,
    body,
    int_query,
    json_response,
    principal,
    require,
    text_field,
)
from hub.auth.users import Role
from hub.core.registry import Device, RegistryError, Room
from hub.errors import HubError
from hub.storage.audit import AuditResult

__all__ = ["setup"]

_LOGGER = logging.getLogger(__name__)


# -- helpers -----------------------------------------------------------------------------------
def _visible_device(request: web.Request) -> Device:
    """The device in the URL: 404 when unknown, 403 when the caller may not see it."""
    hub = request.app[HUB_KEY]
    who = principal(request)
    device_id = request.match_info["device_id"]
    device = hub.registry.get(device_id)
    if device is None:
        raise HubError("unknown_device", status=404, device=device_id)
    if not request.app[VIEWS_KEY].visible(who, device):
        raise HubError("guest_forbidden", status=403, target=device_id)
    return device


def _time_query(request: web.Request, key: str) -> float | None:
    raw = request.query.get(key)
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise HubError(
            "bad_request", detail=f"{key} must be POSIX seconds or an ISO 8601 time"
        ) from None


def _name(data: dict[str, Any]) -> tuple[str, str]:
    name = data.get("name")
    if not isinstance(name, dict):
        raise HubError("bad_request", detail='name must be {"zh": …, "en": …}')
    return str(text_field(name, "zh")).strip(), str(text_field(name, "en")).strip()


# -- info and rooms ----------------------------------------------------------------------------
async def health(request: web.Request) -> web.Response:
    auth = request.app[AUTH_KEY]
    return json_response({"ok": True, "setup_required": auth.setup.active})


async def info(request: web.Request) -> web.Response:
    who = principal(request)
    data = request.app[HUB_KEY].describe()
    if who.user.is_guest:
        data = {"version": data["version"], "started_at": data["started_at"]}
    return json_response(data)


async def rooms(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    who = principal(request)
    items = hub.registry.rooms()
    if who.user.is_guest:
        seen = {d.room_id for d in request.app[VIEWS_KEY].visible_devices(who)}
        items = [r for r in items if r.id in seen or r.id in who.user.grants.rooms]
    return json_response({"rooms": [r.as_dict() for r in items]})


async def add_room(request: web.Request) -> web.Response:
    who = require(request, Role.OWNER)
    hub = request.app[HUB_KEY]
    data = await body(request)
    zh, en = _name(data)
    room_id = data.get("id") or hub.registry.new_id(en)
    if not isinstance(room_id, str):
        raise HubError("bad_request", detail="id must be text")
    if room_id in {r.id for r in hub.registry.rooms()}:
        raise HubError("bad_request", detail=f"room {room_id} already exists")
    order = data.get("order", len(hub.registry.rooms()))
    if not isinstance(order, int):
        raise HubError("bad_request", detail="order must be a whole number")
    try:
        room = hub.registry.upsert_room(Room(room_id, zh, en, order), who.context())
    except RegistryError as err:
        raise HubError("bad_request", detail=str(err)) from err
    return json_response(room.as_dict(), 201)


def _room(request: web.Request) -> Room:
    hub = request.app[HUB_KEY]
    room_id = request.match_info["room_id"]
    try:
        return hub.registry.room(room_id)
    except RegistryError:
        raise HubError("unknown_room", status=404, room=room_id) from None


async def patch_room(request: web.Request) -> web.Response:
    who = require(request, Role.OWNER)
    room = _room(request)
    data = await body(request)
    zh, en = _name(data) if "name" in data else (room.name_zh, room.name_en)
    order = data.get("order", room.order)
    if not isinstance(order, int):
        raise HubError("bad_request", detail="order must be a whole number")
    updated = request.app[HUB_KEY].registry.upsert_room(Room(room.id, zh, en, order), who.context())
    return json_response(updated.as_dict())


async def delete_room(request: web.Request) -> web.Response:
    who = require(request, Role.OWNER)
    room = _room(request)
    request.app[HUB_KEY].registry.remove_room(room.id, who.context())
    return web.Response(status=204)


# -- devices -----------------------------------------------------------------------------------
async def devices(request: web.Request) -> web.Response:
    who = principal(request)
    views = request.app[VIEWS_KEY]
    room = request.query.get("room") or None
    return json_response({"devices": views.devices(who, views.visible_devices(who, room))})


async def device(request: web.Request) -> web.Response:
    found = _visible_device(request)
    return json_response(request.app[VIEWS_KEY].device(principal(request), found))


async def patch_device(request: web.Request) -> web.Response:
    who = require(request, Role.OWNER, Role.MEMBER)
    found = _visible_device(request)
    data = await body(request)
    unknown = set(data) - {"name", "room_id"}
    if unknown:
        raise HubError("bad_request", detail=f"unknown fields: {', '.join(sorted(unknown))}")
    changes: dict[str, Any] = {}
    if "name" in data:
        changes["name_zh"], changes["name_en"] = _name(data)
    if "room_id" in data:
        room_id = data["room_id"]
        if room_id is not None and not isinstance(room_id, str):
            raise HubError("bad_request", detail="room_id must be a room id or null")
        known = {r.id for r in request.app[HUB_KEY].registry.rooms()}
        if room_id is not None and room_id not in known:
            raise HubError("unknown_room", room=room_id)
        changes["room_id"] = room_id
    try:
        updated = request.app[HUB_KEY].registry.update(found.id, who.context(), **changes)
    except RegistryError as err:
        raise HubError("bad_request", detail=str(err)) from err
    return json_response(request.app[VIEWS_KEY].device(who, updated))


async def delete_device(request: web.Request) -> web.Response:
    who = require(request, Role.OWNER)
    hub = request.app[HUB_KEY]
    found = _visible_device(request)
    integration = hub.integrations.get(found.integration)
    if integration is not None:
        try:
            await integration.async_remove_device(found)
        except Exception:  # the device goes from the hub whatever its transport says
            _LOGGER.exception("Integration %s failed to remove %s", found.integration, found.id)
    ctx = who.context()
    hub.registry.remove(found.id, ctx)
    hub.states.remove_device(found.id, ctx)
    request.app[AUTH_KEY].audit(
        "device_removed", principal=who, target=found.id, detail={"profile": found.profile_id}
    )
    return web.Response(status=204)


async def history(request: web.Request) -> web.Response:
    who = principal(request)
    found = _visible_device(request)
    hub = request.app[HUB_KEY]
    if hub.storage is None:
        raise HubError("service_unavailable", status=503, service="storage")
    since, until = _time_query(request, "since"), _time_query(request, "until")
    limit = int_query(request, "limit", 1000, high=100_000)
    path = request.query.get("path")
    if path:
        parts = path.split("/")
        if len(parts) != 3 or not all(parts):
            raise HubError("bad_request", detail="path must look like main/brightness/level")
        if not who.sees_capability(parts[1]):
            raise HubError("guest_forbidden", status=403, target=f"{found.id}/{path}")
        points = await hub.storage.history(f"{found.id}/{path}", since, until, limit)
        return json_response({"path": path, "points": [[ts, v] for ts, v in points]})
    rows = await hub.storage.device_history(found.id, since, until, limit)
    out = []
    for full, ts, value in rows:
        sub = full.split("/", 1)[1]
        if who.sees_capability(sub.split("/")[1] if "/" in sub else ""):
            out.append([ts, value, sub])
    return json_response({"path": None, "points": out})


async def device_events(request: web.Request) -> web.Response:
    who = principal(request)
    found = _visible_device(request)
    limit = int_query(request, "limit", 50, high=1000)
    items = request.app[RECENT_KEY].recent(found.id, limit)
    if who.user.is_guest:
        items = [e for e in items if who.sees_capability(str(e["path"]).split("/")[1])]
    return json_response({"events": items})


async def command(request: web.Request) -> web.Response:
    who = principal(request)
    hub = request.app[HUB_KEY]
    data = await body(request)
    result = await run_command(
        hub,
        request.app[AUTH_KEY],
        request.app[VIEWS_KEY],
        who,
        request.match_info["device_id"],
        data.get("target"),
        data.get("args"),
        pin=data.get("pin"),
        owner_confirmed=data.get("owner_confirmed", False),
    )
    status = http_status(result)
    out: dict[str, Any] = {"result": result.as_dict()}
    if status >= 400:
        out["error"] = {
            "code": result.code,
            "message": {"zh": result.message_zh, "en": result.message_en},
            "needs": result.needs,
        }
    return json_response(out, status)


# -- discoveries and profiles -------------------------------------------------------------------
async def discoveries(request: web.Request) -> web.Response:
    """Discovered devices not yet added, with their ranked profile candidates."""
    require(request, Role.OWNER, Role.MEMBER)
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
    return json_response({"discoveries": out})


async def add_device(request: web.Request) -> web.Response:
    """Add a discovered device with its pairing code (or other secrets the profile asks for)."""
    who = require(request, Role.OWNER, Role.MEMBER)
    hub = request.app[HUB_KEY]
    data = await body(request)
    zh, en = _name(data)
    secrets = data.get("secrets") or {}
    if not isinstance(secrets, dict) or not all(isinstance(v, str) for v in secrets.values()):
        raise HubError("bad_request", detail="secrets must map names to text")
    if "pairing_code" in data:
        secrets = {**secrets, "pairing_code": text_field(data, "pairing_code")}
    ctx = who.context()
    try:
        added = await hub.add_discovered(
            str(text_field(data, "integration")),
            str(text_field(data, "key")),
            secrets=secrets,
            name_zh=zh,
            name_en=en,
            room_id=text_field(data, "room_id", required=False),
            profile_id=text_field(data, "profile_id", required=False),
            context=ctx,
        )
    except HubError as err:
        request.app[AUTH_KEY].audit(
            "device_added",
            principal=who,
            result=AuditResult.FAILED,
            target=str(data.get("key")),
            detail={"code": err.code},
        )
        raise
    request.app[AUTH_KEY].audit(
        "device_added", principal=who, target=added.id, detail={"profile": added.profile_id}
    )
    return json_response(request.app[VIEWS_KEY].device(who, added), 201)


async def profiles(request: web.Request) -> web.Response:
    require(request, Role.OWNER, Role.MEMBER)
    library = request.app[HUB_KEY].profiles.library
    items = [p.summary() for p in library] if library is not None else []
    problems = [str(p) for p in library.problems] if library is not None else []
    return json_response({"profiles": items, "problems": problems})


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/health", health)
    r.add_get("/api/info", info)
    r.add_get("/api/rooms", rooms)
    r.add_post("/api/rooms", add_room)
    r.add_patch("/api/rooms/{room_id}", patch_room)
    r.add_delete("/api/rooms/{room_id}", delete_room)
    r.add_get("/api/devices", devices)
    r.add_post("/api/devices", add_device)
    r.add_get("/api/devices/{device_id}", device)
    r.add_patch("/api/devices/{device_id}", patch_device)
    r.add_delete("/api/devices/{device_id}", delete_device)
    r.add_get("/api/devices/{device_id}/history", history)
    r.add_get("/api/devices/{device_id}/events", device_events)
    r.add_post("/api/devices/{device_id}/commands", command)
    r.add_get("/api/discoveries", discoveries)
    r.add_get("/api/profiles", profiles)
