"""The Matter integration's HTTP routes, mounted by the API under ``/api/matter/``.

* ``POST /api/matter/commission`` ``{"code", "name": {"zh", "en"}?, "room": "<room id>"?}`` →
  201 with the device (as ``GET /api/devices/{id}`` shows it) once the node is commissioned,
  interviewed and registered. Owner or member (as adding a device). A malformed code is
  refused (400 ``matter_wrong_code``) before anything is sent; commissioning failures are
  ``matter_attestation_failed``, ``matter_commission_timeout``, ``matter_wrong_code``,
  ``matter_commission_failed``; no server: 503 ``matter_unavailable``. Every attempt is audited.
* ``GET /api/matter/nodes/{device_id}/dump`` → the node in python-matter-server's dump format.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.api.common import (
    AUTH_KEY,
    HUB_KEY,
    VIEWS_KEY,
    body,
    json_response,
    principal,
    require,
)
from hub.auth.users import Role
from hub.core.integration import ApiRoute
from hub.errors import HubError
from hub.storage.audit import AuditResult
from integrations.matter.problems import MatterProblem

if TYPE_CHECKING:
    from integrations.matter.integration import MatterIntegration

__all__ = ["routes"]


def _optional_text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise HubError("bad_request", detail=f"{key} must be text")
    return value.strip() or None


def routes(integration: MatterIntegration) -> list[ApiRoute]:
    async def commission(request: web.Request) -> web.Response:
        who = require(request, Role.OWNER, Role.MEMBER)
        hub = request.app[HUB_KEY]
        data = await body(request)
        unknown = set(data) - {"code", "name", "room", "room_id"}
        if unknown:
            raise HubError("bad_request", detail=f"unknown fields: {', '.join(sorted(unknown))}")
        code = data.get("code")
        if not isinstance(code, str):
            raise HubError("bad_request", detail="code must be the pairing code as text")
        name = data.get("name") or {}
        if not isinstance(name, dict):
            raise HubError("bad_request", detail='name must be {"zh": …, "en": …}')
        name_zh, name_en = _optional_text(name, "zh"), _optional_text(name, "en")
        room_id = _optional_text(data, "room") or _optional_text(data, "room_id")
        if room_id is not None and room_id not in {r.id for r in hub.registry.rooms()}:
            raise HubError("unknown_room", room=room_id)
        auth = request.app[AUTH_KEY]
        try:
            node = await integration.commission(code)
        except MatterProblem as problem:
            auth.audit(
                "device_added",
                principal=who,
                result=AuditResult.FAILED,
                target="matter",
                detail={"code": problem.code},
            )
            raise problem.hub_error() from None
        device = await integration.register_node(
            node, name_zh=name_zh, name_en=name_en, room_id=room_id, context=who.context()
        )
        auth.audit(
            "device_added",
            principal=who,
            target=device.id,
            detail={"profile": device.profile_id, "node_id": node.get("node_id")},
        )
        return json_response(request.app[VIEWS_KEY].device(who, device), 201)

    async def dump(request: web.Request) -> web.Response:
        require(request, Role.OWNER, Role.MEMBER)
        hub = request.app[HUB_KEY]
        device_id = request.match_info["device_id"]
        device = hub.registry.get(device_id)
        if device is None:
            raise HubError("unknown_device", status=404, device=device_id)
        if not request.app[VIEWS_KEY].visible(principal(request), device):
            raise HubError("guest_forbidden", status=403, target=device_id)
        if device.integration != integration.domain:
            raise HubError("matter_not_a_node", status=404, device=device_id)
        try:
            node = await integration.dump(device)
        except MatterProblem as problem:
            raise problem.hub_error() from None
        return json_response(node)

    return [
        ("POST", "commission", commission),
        ("GET", "nodes/{device_id}/dump", dump),
    ]
