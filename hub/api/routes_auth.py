"""Sign-in, sign-out, the first-run set-up and bearer tokens."""

from __future__ import annotations

from aiohttp import web

from hub.api.common import AUTH_KEY, body, json_response, principal
from hub.auth.service import LoginResult
from hub.auth.sessions import COOKIE_NAME, SESSION_IDLE_S
from hub.auth.tokens import token_view
from hub.errors import HubError

__all__ = ["set_session_cookie", "setup"]


def set_session_cookie(request: web.Request, response: web.StreamResponse, value: str) -> None:
    """HttpOnly, SameSite=Strict, Path=/; Secure when the request came over HTTPS."""
    response.set_cookie(
        COOKIE_NAME,
        value,
        max_age=int(SESSION_IDLE_S),
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )


def _signed_in(request: web.Request, login: LoginResult, status: int = 200) -> web.Response:
    response = json_response({"user": login.user.as_dict()}, status)
    set_session_cookie(request, response, login.session_token)
    response.headers["Cache-Control"] = "no-store"
    return response


async def login(request: web.Request) -> web.Response:
    data = await body(request)
    result = await request.app[AUTH_KEY].login(
        data.get("username"),
        data.get("password"),
        remote=request.remote,
        user_agent=request.headers.get("User-Agent"),
    )
    return _signed_in(request, result)


async def logout(request: web.Request) -> web.Response:
    who = principal(request)
    await request.app[AUTH_KEY].logout(who)
    response = web.Response(status=204)
    response.del_cookie(COOKIE_NAME, path="/")
    return response


async def me(request: web.Request) -> web.Response:
    return json_response({"user": principal(request).user.as_dict()})


async def first_run_setup(request: web.Request) -> web.Response:
    """Create the owner with the one-time set-up token printed by ``zshub run``; signs in."""
    auth = request.app[AUTH_KEY]
    data = await body(request)
    user = await auth.setup_owner(
        data.get("token"),
        username=data.get("username"),
        password=data.get("password"),
        pin=data.get("pin"),
        display_name=data.get("display_name"),
        language=data.get("language"),
        remote=request.remote,
    )
    result = await auth.start_session(
        user, remote=request.remote, user_agent=request.headers.get("User-Agent"), via="setup"
    )
    return _signed_in(request, result, 201)


async def tokens(request: web.Request) -> web.Response:
    who = principal(request)
    everyone = request.query.get("all") in ("1", "true", "yes")
    rows = await request.app[AUTH_KEY].list_tokens(who, everyone=everyone)
    return json_response({"tokens": [token_view(r) for r in rows]})


async def create_token(request: web.Request) -> web.Response:
    who = principal(request)
    data = await body(request)
    raw, row = await request.app[AUTH_KEY].create_token(data.get("name"), principal=who)
    response = json_response({**token_view(row), "token": raw}, 201)
    response.headers["Cache-Control"] = "no-store"
    return response


async def revoke_token(request: web.Request) -> web.Response:
    who = principal(request)
    token_id = request.match_info["token_id"]
    if not token_id:
        raise HubError("unknown_token", status=404, token=token_id)
    await request.app[AUTH_KEY].revoke_token(token_id, principal=who)
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/auth/login", login)
    r.add_post("/api/auth/logout", logout)
    r.add_get("/api/auth/me", me)
    r.add_post("/api/auth/setup", first_run_setup)
    r.add_get("/api/tokens", tokens)
    r.add_post("/api/tokens", create_token)
    r.add_delete("/api/tokens/{token_id}", revoke_token)
