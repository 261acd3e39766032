"""PIN step-up for restricted commands (unlock), per command, and the audit trail it leaves."""

from __future__ import annotations

from api_helpers import PINS, Api, login

UNLOCK = {"target": "main/lock.unlock", "args": {"pin": "000000"}}


async def test_unlock_needs_the_users_pin_each_time(api: Api) -> None:
    path = "/api/devices/lock-1/commands"
    status, body = await api.call("POST", path, "member", UNLOCK)
    assert status == 403
    assert body["error"] == {
        "code": "step_up_required",
        "message": body["error"]["message"],
        "needs": "pin",
    }
    assert body["result"]["status"] == "refused" and body["result"]["needs"] == "pin"
    assert api.fake.links["lock-1"].sent == []

    status, body = await api.call("POST", path, "member", {**UNLOCK, "pin": "0000"})
    assert status == 403 and body["error"]["code"] == "pin_invalid"
    assert body["error"]["message"]["zh"] == "PIN 码不正确"
    assert api.fake.links["lock-1"].sent == []

    status, body = await api.call("POST", path, "member", {**UNLOCK, "pin": PINS["member"]})
    assert status == 200 and body["result"]["status"] == "confirmed"
    assert api.hub.states.value("lock-1/main/lock/lock_state") == "unlocked"
    # the step-up covers that one command only
    status, body = await api.call("POST", path, "member", UNLOCK)
    assert status == 403 and body["error"]["needs"] == "pin"
    # locking stays one tap
    status, body = await api.call("POST", path, "member", {"target": "main/lock.lock"})
    assert status == 200, body

    entries = await api.audit()
    wrong = [e for e in entries if e["action"] == "pin_invalid"]
    assert len(wrong) == 1 and wrong[0]["actor"] == api.users["member"]
    assert wrong[0]["target"] == "lock-1/main/lock.unlock"
    commands = [
        (e["target"], e["result"], e["detail"]["code"], e["detail"]["via"])
        for e in entries
        if e["action"] == "command" and e["actor"] == api.users["member"]
    ]
    via = "token:member tests"
    assert ("lock-1/main/lock.unlock", "ok", "ok", via) in commands
    assert ("lock-1/main/lock.unlock", "refused", "step_up_required", via) in commands
    assert ("lock-1/main/lock.lock", "ok", "ok", via) in commands
    assert all(PINS["member"] not in str(e["detail"]) for e in entries)
    assert all("000000" not in str(e["detail"]) for e in entries)  # the lock's code neither


async def test_wrong_pins_are_rate_limited(api: Api) -> None:
    path = "/api/devices/lock-1/commands"
    codes = []
    for _ in range(6):
        status, body = await api.call("POST", path, "owner", {**UNLOCK, "pin": "9999"})
        codes.append((status, body["error"]["code"]))
    assert codes[:4] == [(403, "pin_invalid")] * 4
    assert codes[4:] == [(429, "rate_limited")] * 2
    status, body = await api.call("POST", path, "owner", {**UNLOCK, "pin": PINS["owner"]})
    assert status == 429  # even the right PIN waits now


async def test_unlock_from_the_browser_session_is_audited_as_session(api: Api) -> None:
    session = await login(api, "owner")
    try:
        async with session.post(
            api.url + "/api/devices/lock-1/commands", json={**UNLOCK, "pin": PINS["owner"]}
        ) as resp:
            assert resp.status == 200
    finally:
        await session.close()
    [entry] = [e for e in await api.audit(action="command") if e["result"] == "ok"]
    assert entry["actor"] == api.users["owner"] and entry["origin"] == "user"
    assert entry["detail"]["via"] == "session" and entry["ts"] > 0


async def test_valve_commands_are_audited_with_who_and_how(api: Api) -> None:
    path = "/api/devices/gas-1/commands"
    status, body = await api.call("POST", path, "member", {"target": "valve/valve.close"})
    assert status == 200, body
    status, body = await api.call("POST", path, "member", {"target": "valve/valve.open"})
    assert status == 403 and body["error"]["code"] == "not_available"
    entries = [e for e in await api.audit(action="command") if e["target"].startswith("gas-1")]
    assert sorted((e["target"], e["result"]) for e in entries) == [
        ("gas-1/valve/valve.close", "ok"),
        ("gas-1/valve/valve.open", "refused"),
    ]
    assert {e["actor"] for e in entries} == {api.users["member"]}
    assert {e["detail"]["via"] for e in entries} == {"token:member tests"}
