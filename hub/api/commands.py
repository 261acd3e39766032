"""One command from a user, the same for REST and the WebSocket: access check (role, guest
grants, command privilege), PIN step-up, owner confirmation, then the hub's command path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hub.auth.policy import Principal
from hub.core.commands import CommandResult, CommandStatus
from hub.errors import HubError
from hub.storage.audit import AuditResult

if TYPE_CHECKING:
    from hub.api.views import Views
    from hub.app import Hub
    from hub.auth.service import AuthService

__all__ = ["http_status", "run_command"]

_BAD_REQUEST = frozenset({"unknown_command", "bad_argument", "missing_argument", "no_profile"})


async def run_command(
    hub: Hub,
    auth: AuthService,
    views: Views,
    who: Principal,
    device_id: Any,
    target: Any,
    args: Any,
    *,
    pin: Any = None,
    owner_confirmed: Any = False,
) -> CommandResult:
    """Raises ``HubError`` for what stops a command before the hub sees it (bad request,
    forbidden, wrong PIN); the hub's own refusals come back as a refused result."""
    if not isinstance(device_id, str) or not device_id:
        raise HubError("bad_request", detail="device must be a device id")
    if not isinstance(target, str) or "/" not in target or "." not in target:
        raise HubError("bad_request", detail='target must look like "main/onoff.on"')
    if args is None:
        args = {}
    if not isinstance(args, Mapping):
        raise HubError("bad_request", detail="args must be a JSON object")
    capability = target.split("/", 1)[1].split(".", 1)[0]
    device = hub.registry.get(device_id)
    if device is None:
        raise HubError("unknown_device", status=404, device=device_id)
    if not views.visible(who, device) or not who.sees_capability(capability):
        _refused(auth, who, device_id, target, "guest_forbidden")
        raise HubError("guest_forbidden", status=403, target=f"{device_id}/{target}")
    runtime = hub.profiles.runtime_for(device)
    cmd = runtime.command_def(target) if runtime is not None else None
    if cmd is not None and not who.may_use_privilege(cmd.privilege.value):
        _refused(auth, who, device_id, target, "forbidden")
        raise HubError("forbidden", status=403)
    step_up = False
    if pin is not None:
        await auth.check_pin(who, pin, f"{device_id}/{target}")
        step_up = True
    return await hub.commands.send(
        device_id,
        target,
        dict(args),
        context=who.context(),
        step_up=step_up,
        owner_confirmed=bool(owner_confirmed is True and who.user.is_owner),
    )


def _refused(auth: AuthService, who: Principal, device_id: str, target: str, code: str) -> None:
    auth.audit(
        "command",
        principal=who,
        result=AuditResult.REFUSED,
        target=f"{device_id}/{target}",
        detail={"status": "refused", "code": code},
    )


def http_status(result: CommandResult) -> int:
    """200 confirmed/sent; 400 malformed; 404 unknown device; 403 refused by safety or role;
    409 device offline; 502 device failed; 504 not confirmed in time."""
    status = result.status
    if status in (CommandStatus.CONFIRMED, CommandStatus.SENT):
        return 200
    if status is CommandStatus.REFUSED:
        if result.code == "unknown_device":
            return 404
        return 400 if result.code in _BAD_REQUEST else 403
    if status is CommandStatus.TIMEOUT:
        return 504
    return 409 if result.code in ("device_offline", "device_unavailable") else 502
