"""Roles are enforced by the API: guests see only what was granted and never locks or gas."""

from __future__ import annotations

from api_helpers import Api

from hub.auth import Grants, Principal, Role, User


async def test_guest_sees_only_granted_devices_without_locks_or_gas(api: Api) -> None:
    status, body = await api.call("GET", "/api/devices", "guest")
    assert status == 200
    # living room (lamp-1, lock-1) + device grants (lock-1, heater-1): the lock stays hidden
    assert sorted(d["id"] for d in body["devices"]) == ["heater-1", "lamp-1"]
    for dev in body["devices"]:
        for comp in dev["profile"]["components"].values():
            assert not {"lock", "valve", "burner", "gas_detector"} & set(comp["capabilities"])
    status, body = await api.call("GET", "/api/rooms", "guest")
    assert sorted(r["id"] for r in body["rooms"]) == ["kitchen", "living"]
    status, body = await api.call("GET", "/api/devices", "member")
    assert {"lock-1", "cooktop-1", "gas-1"} <= {d["id"] for d in body["devices"]}
    status, body = await api.call("GET", "/api/info", "guest")
    assert status == 200 and set(body) == {"version", "started_at"}


async def test_guest_gets_403_on_locks_and_ungranted_devices_everywhere(api: Api) -> None:
    for path in (
        "/api/devices/lock-1",
        "/api/devices/lock-1/history?path=main/lock/lock_state",
        "/api/devices/lock-1/events",
        "/api/devices/lamp-2",  # kitchen is not granted
        "/api/devices/cooktop-1",
        "/api/devices/gas-1",  # in the granted living room, but gas
    ):
        status, body = await api.call("GET", path, "guest")
        assert status == 403, path
        assert body["error"]["code"] == "guest_forbidden"
    status, body = await api.call(
        "POST", "/api/devices/lock-1/commands", "guest", {"target": "main/lock.lock"}
    )
    assert status == 403 and body["error"]["code"] == "guest_forbidden"
    assert api.fake.links["lock-1"].sent == []
    status, body = await api.call(
        "POST",
        "/api/devices/lock-1/commands",
        "guest",
        {"target": "main/lock.unlock", "pin": "2468"},
    )
    assert status == 403
    # the refusal is in the audit log with who and how
    entries = await api.audit(action="command")
    refused = [e for e in entries if e["target"] == "lock-1/main/lock.unlock"]
    assert refused and refused[0]["actor"] == api.users["guest"]
    assert refused[0]["result"] == "refused" and refused[0]["detail"]["via"] == "token:guest tests"
    # a granted lamp works
    status, body = await api.call(
        "POST", "/api/devices/lamp-1/commands", "guest", {"target": "main/onoff.on"}
    )
    assert status == 200 and body["result"]["status"] == "confirmed"


async def test_owner_only_routes(api: Api) -> None:
    for role in ("member", "guest"):
        for method, path in (
            ("GET", "/api/users"),
            ("GET", "/api/audit"),
            ("DELETE", "/api/devices/lamp-2"),
            ("POST", "/api/users"),
        ):
            status, body = await api.call(method, path, role, {} if method == "POST" else None)
            assert status == 403, (role, method, path)
            assert body["error"]["code"] in ("owner_only", "guest_forbidden")
    status, body = await api.call("GET", "/api/discoveries", "guest")
    assert status == 403 and body["error"]["code"] == "forbidden"
    status, body = await api.call("GET", "/api/discoveries", "member")
    assert status == 200


async def test_owner_manages_users_and_guest_grants(api: Api) -> None:
    status, body = await api.call(
        "POST",
        "/api/users",
        "owner",
        {
            "username": "Aunt",
            "password": "aunt-pass-1",
            "role": "guest",
            "grants": {"rooms": ["kitchen"], "devices": []},
            "language": "en",
        },
    )
    assert status == 201, body
    aunt = body["user"]
    assert aunt["grants"] == {"rooms": ["kitchen"], "devices": []} and aunt["language"] == "en"
    status, body = await api.call(
        "POST", "/api/users", "owner", {"username": "aunt", "password": "x" * 9}
    )
    assert status == 409 and body["error"]["code"] == "username_taken"
    status, body = await api.call(
        "POST", "/api/users", "owner", {"username": "bob", "password": "short"}
    )
    assert status == 400 and body["error"]["code"] == "weak_password"
    status, body = await api.call(
        "PATCH",
        f"/api/users/{aunt['id']}",
        "owner",
        {"grants": {"rooms": [], "devices": ["lamp-2"]}},
    )
    assert status == 200 and body["user"]["grants"]["devices"] == ["lamp-2"]
    status, body = await api.call("GET", "/api/users", "owner")
    assert {u["username"] for u in body["users"]} == {"owner", "member", "guest", "aunt"}
    # the last owner cannot be demoted, disabled or deleted
    owner_id = api.users["owner"]
    for change in ({"role": "member"}, {"disabled": True}):
        status, body = await api.call("PATCH", f"/api/users/{owner_id}", "owner", change)
        assert status == 409 and body["error"]["code"] == "last_owner"
    status, body = await api.call("DELETE", f"/api/users/{owner_id}", "owner")
    assert status == 409
    status, _ = await api.call("DELETE", f"/api/users/{aunt['id']}", "owner")
    assert status == 204
    status, body = await api.call("DELETE", f"/api/users/{aunt['id']}", "owner")
    assert status == 404 and body["error"]["code"] == "unknown_user"
    actions = [e["action"] for e in await api.audit(actor=owner_id)]
    assert {"user_created", "user_updated", "user_deleted"} <= set(actions)


async def test_disabled_user_is_locked_out_at_once(api: Api) -> None:
    status, _ = await api.call("GET", "/api/devices", "member")
    assert status == 200
    status, _ = await api.call(
        "PATCH", f"/api/users/{api.users['member']}", "owner", {"disabled": True}
    )
    assert status == 200
    status, body = await api.call("GET", "/api/devices", "member")
    assert status == 401


async def test_owner_confirmation_is_only_honoured_for_owners(api: Api) -> None:
    body = {"target": "main/temperature_setpoint.set", "args": {"setpoint": 55}}
    status, res = await api.call("POST", "/api/devices/heater-1/commands", "member", body)
    assert status == 403 and res["error"]["needs"] == "owner_confirmation"
    confirmed = {**body, "owner_confirmed": True}
    status, res = await api.call("POST", "/api/devices/heater-1/commands", "member", confirmed)
    assert status == 403 and res["result"]["code"] == "owner_confirmation_required"
    status, res = await api.call("POST", "/api/devices/heater-1/commands", "guest", confirmed)
    assert status == 403
    status, res = await api.call("POST", "/api/devices/heater-1/commands", "owner", confirmed)
    assert status == 200 and res["result"]["status"] == "confirmed"


def test_command_privileges_by_role() -> None:
    def who(role: Role) -> Principal:
        user = User("u", "u", "u", role, "zh", Grants(), False, True, 0.0)
        return Principal(user, "token", token_id="t", token_name="n")

    assert who(Role.OWNER).may_use_privilege("manage")
    assert who(Role.OWNER).may_use_privilege("admin")
    assert not who(Role.MEMBER).may_use_privilege("manage")
    assert who(Role.MEMBER).may_use_privilege("operate")
    assert not who(Role.GUEST).may_use_privilege("admin")
    ctx = who(Role.MEMBER).context()
    assert (ctx.origin.value, ctx.actor, ctx.user()) == ("user", "u", "u")
    assert ctx.parent is not None and ctx.parent.actor == "token:n"
