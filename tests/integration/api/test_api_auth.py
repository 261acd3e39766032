"""Sign-in, sessions, the set-up link, rate limits and bearer tokens, over real sockets."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from api_helpers import PASSWORDS, Api, login, start_api, stop_api

from hub.auth.hashing import token_digest


async def test_login_sets_a_strict_http_only_cookie_and_logout_ends_the_session(api: Api) -> None:
    async with aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"Origin": api.origin}
    ) as s:
        async with s.post(
            api.url + "/api/auth/login",
            json={"username": "Member", "password": PASSWORDS["member"]},
        ) as resp:
            assert resp.status == 200
            body = await resp.json()
            assert body["user"]["username"] == "member" and body["user"]["role"] == "member"
            cookie = resp.headers["Set-Cookie"]
        assert cookie.startswith("zshub_session=")
        flags = {f.strip().lower() for f in cookie.split(";")[1:]}
        assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags
        raw = cookie.split(";")[0].split("=", 1)[1]
        assert api.hub.storage is not None
        # only the digest is stored
        session_row = await api.hub.storage.get_session_by_hash(token_digest(raw))
        assert session_row is not None and session_row.user_id == api.users["member"]

        async with s.get(api.url + "/api/auth/me") as resp:
            assert resp.status == 200
            me = (await resp.json())["user"]
            assert me == {**me, "username": "member", "role": "member", "grants": None}
            assert "password_hash" not in me and "pin_hash" not in me
        async with s.post(api.url + "/api/auth/logout") as resp:
            assert resp.status == 204
        async with s.get(api.url + "/api/auth/me", headers={"Cookie": f"zshub_session={raw}"}) as r:
            assert r.status == 401
            assert (await r.json())["error"]["code"] == "auth_invalid"

    actions = [(e["action"], e["actor"]) for e in await api.audit()]
    assert ("login", api.users["member"]) in actions
    assert ("logout", api.users["member"]) in actions
    login_entry = next(e for e in await api.audit(action="login"))
    assert login_entry["detail"]["via"] == "password" and login_entry["detail"]["address"]


async def test_requests_without_credentials_are_refused_with_json(api: Api) -> None:
    status, body = await api.call("GET", "/api/devices", role=None)
    assert status == 401 and body["error"]["code"] == "auth_required"
    assert body["error"]["message"]["zh"] and body["error"]["message"]["en"]
    status, body = await api.call(
        "GET", "/api/devices", role=None, headers={"Authorization": "Bearer zsh_nope"}
    )
    assert status == 401 and body["error"]["code"] == "auth_invalid"
    status, body = await api.call(
        "GET", "/api/devices", role=None, headers={"Authorization": "Basic b3duZXI6eA=="}
    )
    assert status == 401
    status, body = await api.call("GET", "/api/health", role=None)
    assert status == 200 and body["ok"] is True


async def test_wrong_password_is_audited_and_the_sixth_try_is_rate_limited(api: Api) -> None:
    for _ in range(4):
        status, body = await api.call(
            "POST", "/api/auth/login", None, {"username": "owner", "password": "wrong-pass"}
        )
        assert status == 401 and body["error"]["code"] == "login_failed"
    # the fifth failure reaches the limit
    status, body = await api.call(
        "POST", "/api/auth/login", None, {"username": "owner", "password": "wrong-pass"}
    )
    assert status == 429
    # now even the right password waits, without being checked
    async with api.http.post(
        api.url + "/api/auth/login", json={"username": "owner", "password": PASSWORDS["owner"]}
    ) as resp:
        assert resp.status == 429
        body = await resp.json()
        assert body["error"]["code"] == "rate_limited"
        retry = int(resp.headers["Retry-After"])
        assert 0 < retry <= 900 and body["error"]["retry_after"] == retry
        assert str(retry) in body["error"]["message"]["en"]
    # another user from the same address is not locked out
    status, _ = await api.call(
        "POST", "/api/auth/login", None, {"username": "member", "password": PASSWORDS["member"]}
    )
    assert status == 200
    failed = await api.audit(action="login_failed")
    assert len(failed) == 5
    assert failed[0]["actor"] == api.users["owner"] and failed[0]["result"] == "refused"
    assert failed[0]["detail"]["reason"] == "wrong_password"
    assert "wrong-pass" not in str(failed)


async def test_unknown_user_fails_like_a_wrong_password(api: Api) -> None:
    status, body = await api.call(
        "POST", "/api/auth/login", None, {"username": "nobody", "password": "whatever-1"}
    )
    assert status == 401 and body["error"]["code"] == "login_failed"
    [entry] = await api.audit(action="login_failed")
    assert entry["actor"] is None and entry["target"] == "nobody"


async def test_cookie_requests_that_change_things_must_come_from_the_hub(api: Api) -> None:
    session = await login(api, "owner")
    try:
        body = {"name": {"zh": "新灯", "en": "New lamp"}}
        async with session.patch(api.url + "/api/devices/lamp-1", json=body) as resp:
            assert resp.status == 200  # the session's Origin header is the hub's
        async with session.patch(
            api.url + "/api/devices/lamp-1", json=body, headers={"Origin": "http://evil.example"}
        ) as resp:
            assert resp.status == 403
            assert (await resp.json())["error"]["code"] == "origin_forbidden"
        async with session.delete(
            api.url + "/api/tokens/x",
            headers={"Origin": "null"},
        ) as resp:
            assert resp.status == 403
        async with session.patch(
            api.url + "/api/devices/lamp-1",
            json=body,
            headers={"Origin": "", "Referer": "http://evil.example/page"},
        ) as resp:
            assert resp.status == 403
        async with session.patch(
            api.url + "/api/devices/lamp-1",
            json=body,
            headers={"Origin": "", "Referer": api.origin + "/#/devices"},
        ) as resp:
            assert resp.status == 200
        # reading needs no Origin
        async with session.get(api.url + "/api/devices/lamp-1", headers={"Origin": ""}) as resp:
            assert resp.status == 200
    finally:
        await session.close()
    # a cross-site login form is refused too
    status, body = await api.call(
        "POST",
        "/api/auth/login",
        None,
        {"username": "owner", "password": PASSWORDS["owner"]},
        headers={"Origin": "http://evil.example"},
    )
    assert status == 403 and body["error"]["code"] == "origin_forbidden"


async def test_setup_link_creates_the_owner_once(tmp_path: Path) -> None:
    api = await start_api(tmp_path, users=False)
    try:
        url = api.server.setup_url
        assert url is not None and url.startswith(api.url + "/#/setup?token=")
        token = url.split("token=", 1)[1]
        status, body = await api.call("GET", "/api/health", role=None)
        assert body["setup_required"] is True
        form = {
            "token": "wrong",
            "username": "Mei",
            "password": "a-good-pass",
            "pin": "1357",
            "display_name": "梅",
        }
        status, body = await api.call("POST", "/api/auth/setup", None, form)
        assert status == 403 and body["error"]["code"] == "setup_invalid"
        status, body = await api.call(
            "POST", "/api/auth/setup", None, {**form, "token": token, "pin": "12"}
        )
        assert status == 400 and body["error"]["code"] == "bad_pin"  # nothing used up
        async with api.http.post(
            api.url + "/api/auth/setup", json={**form, "token": token}
        ) as resp:
            assert resp.status == 201
            user = (await resp.json())["user"]
            assert (user["username"], user["role"], user["display_name"]) == ("mei", "owner", "梅")
            assert "zshub_session=" in resp.headers["Set-Cookie"]
        status, body = await api.call("POST", "/api/auth/setup", None, {**form, "token": token})
        assert status == 403 and body["error"]["code"] == "setup_invalid"
        assert api.server.setup_url is None
        status, body = await api.call("GET", "/api/health", role=None)
        assert body["setup_required"] is False
        actions = [e["action"] for e in await api.audit()]
        assert "user_created" in actions and "setup_failed" in actions
    finally:
        await stop_api(api)


async def test_tokens_are_shown_once_stored_hashed_and_revocable(api: Api) -> None:
    status, body = await api.call("POST", "/api/tokens", "member", {"name": "Node-RED"})
    assert status == 201
    raw, token_id = body["token"], body["id"]
    assert raw.startswith("zsh_") and body["name"] == "Node-RED"
    assert api.hub.storage is not None
    row = await api.hub.storage.get_token_by_hash(token_digest(raw))
    assert row is not None and row.token_hash != raw

    hdr = {"Authorization": f"Bearer {raw}"}
    status, body = await api.call("GET", "/api/auth/me", None, headers=hdr)
    assert status == 200 and body["user"]["role"] == "member"
    status, body = await api.call("GET", "/api/tokens", "member")
    listed = {t["id"]: t for t in body["tokens"]}
    assert "token" not in listed[token_id] and listed[token_id]["last_used_at"] is not None

    # someone else cannot revoke it (and does not learn it exists)
    status, body = await api.call("DELETE", f"/api/tokens/{token_id}", "guest")
    assert status == 404
    status, _ = await api.call("DELETE", f"/api/tokens/{token_id}", "member")
    assert status == 204
    status, body = await api.call("GET", "/api/devices", None, headers=hdr)
    assert status == 401 and body["error"]["code"] == "auth_invalid"
    status, body = await api.call("GET", "/api/tokens", "member")
    assert next(t for t in body["tokens"] if t["id"] == token_id)["revoked_at"] is not None
    # guests cannot mint tokens; owners see everyone's
    status, body = await api.call("POST", "/api/tokens", "guest", {"name": "x"})
    assert status == 403
    status, body = await api.call("GET", "/api/tokens?all=1", "owner")
    assert token_id in {t["id"] for t in body["tokens"]}
    status, _ = await api.call("GET", "/api/tokens?all=1", "member")
    assert status == 403
    actions = {(e["action"], e["target"]) for e in await api.audit()}
    assert ("token_created", token_id) in actions and ("token_revoked", token_id) in actions


async def test_password_change_needs_the_current_one_and_ends_other_sessions(api: Api) -> None:
    other = await login(api, "member")
    try:
        status, body = await api.call(
            "PATCH", f"/api/users/{api.users['member']}", "member", {"password": "new-pass-22"}
        )
        assert status == 403
        status, body = await api.call(
            "PATCH",
            f"/api/users/{api.users['member']}",
            "member",
            {"password": "new-pass-22", "current_password": PASSWORDS["member"]},
        )
        assert status == 200, body
        async with other.get(api.url + "/api/auth/me") as resp:
            assert resp.status == 401
        status, _ = await api.call(
            "POST", "/api/auth/login", None, {"username": "member", "password": "new-pass-22"}
        )
        assert status == 200
        # a member cannot make themselves owner
        status, body = await api.call(
            "PATCH", f"/api/users/{api.users['member']}", "member", {"role": "owner"}
        )
        assert status == 403
    finally:
        await other.close()


async def test_sessions_slide_while_used_and_end_when_expired(api: Api) -> None:
    import time

    from hub.auth.sessions import SESSION_IDLE_S

    session = await login(api, "member")
    try:
        raw = next(c.value for c in session.cookie_jar if c.key == "zshub_session")
        assert api.hub.storage is not None
        row = await api.hub.storage.get_session_by_hash(token_digest(raw))
        assert row is not None
        # used an hour ago, expiring in a minute: the next request renews it
        soon = time.time() + 60
        await api.hub.storage.update_session(
            row.id, last_seen_at=time.time() - 3600, expires_at=soon
        )
        async with session.get(api.url + "/api/auth/me") as resp:
            assert resp.status == 200
            assert "zshub_session=" in resp.headers.get("Set-Cookie", "")
        renewed = await api.hub.storage.get_session_by_hash(token_digest(raw))
        assert renewed is not None and renewed.expires_at > time.time() + SESSION_IDLE_S - 60
        # expired: refused
        await api.hub.storage.update_session(row.id, expires_at=time.time() - 1)
        async with session.get(api.url + "/api/auth/me") as resp:
            assert resp.status == 401
    finally:
        await session.close()
