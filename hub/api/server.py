"""The hub's HTTP API (aiohttp): the app factory, its middlewares and :class:`ApiServer`.

Middlewares, outermost first:

* security headers on every response: a strict Content-Security-Policy (no CDN, no inline
  script or style), ``nosniff``, ``no-referrer``, no framing; ``no-store`` on API answers;
* errors: every failure under ``/api/`` is JSON ``{"error": {"code", "message": {"zh", "en"},
  "needs"}}`` with its 4xx/5xx status, unknown routes included (404 ``not_found``);
* authentication: a bearer token (``Authorization: Bearer zsh_…``) or the session cookie; a
  cookie-authenticated POST/PATCH/PUT/DELETE whose ``Origin`` (or ``Referer``) names another
  site is refused (browsers always send one; SameSite=Strict keeps the cookie off cross-site
  requests in the first place; scripts without either header are let through). Only
  ``/api/health``, ``/api/openapi.json``, login, the first-run set-up and the WebSocket (which
  authenticates itself) answer without one.

Routes live in ``routes_devices``, ``routes_auth``, ``routes_admin``, ``websocket`` and
``static`` (the UI at ``/``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from hub.api import openapi, routes_admin, routes_auth, routes_devices
from hub.api.common import (
    AUTH_KEY,
    HUB_KEY,
    PRINCIPAL_KEY,
    RECENT_KEY,
    VIEWS_KEY,
    WS_KEY,
    Handler,
    error_response,
    same_origin,
)
from hub.api.early import CSP, SECURITY_HEADERS
from hub.api.recent import RecentEvents
from hub.api.static import UiFiles
from hub.api.views import Views
from hub.api.websocket import WebSocketHub
from hub.auth.service import AuthService
from hub.auth.sessions import COOKIE_NAME
from hub.config import repo_root
from hub.errors import HubError

if TYPE_CHECKING:
    from hub.app import Hub

__all__ = ["CSP", "HUB_KEY", "ApiServer", "build_app"]

_LOGGER = logging.getLogger(__name__)

_SECURITY_HEADERS = SECURITY_HEADERS
PUBLIC = frozenset(
    {
        ("GET", "/api/health"),
        ("HEAD", "/api/health"),
        ("GET", "/api/openapi.json"),
        ("HEAD", "/api/openapi.json"),
        ("POST", "/api/auth/login"),
        ("POST", "/api/auth/setup"),
        ("GET", "/api/ws"),
    }
)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_PURGE_EVERY_S = 6 * 3600.0


def _is_api(request: web.Request) -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(_SECURITY_HEADERS)
        raise
    if not response.prepared:
        response.headers.update(_SECURITY_HEADERS)
        if _is_api(request):
            response.headers.setdefault("Cache-Control", "no-store")
    return response


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except HubError as err:
        return error_response(err)
    except web.HTTPException as exc:
        if exc.status < 400 or not _is_api(request):
            raise
        if exc.status == 404:
            problem = HubError("not_found", status=404, path=request.path)
        elif exc.status == 405:
            problem = HubError(
                "method_not_allowed", status=405, path=request.path, method=request.method
            )
        else:
            problem = HubError("bad_request", status=exc.status, detail=exc.reason)
        return error_response(problem)
    except asyncio.CancelledError:
        raise
    except Exception:
        if not _is_api(request):
            raise
        _LOGGER.exception("API %s %s failed", request.method, request.path)
        return error_response(HubError("internal_error", status=500))


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _is_api(request) or request.match_info.http_exception is not None:
        return await handler(request)  # the UI, or an unknown route (404/405 below)
    unsafe = request.method not in _SAFE_METHODS
    if (request.method, request.path) in PUBLIC:
        if unsafe and not same_origin(request):
            raise HubError("origin_forbidden", status=403, origin=request.headers["Origin"])
        return await handler(request)
    auth = request.app[AUTH_KEY]
    header = request.headers.get("Authorization")
    renewed: str | None = None
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HubError("auth_invalid", status=401)
        who = await auth.authenticate_token(token.strip(), request.remote)
        if who is None:
            raise HubError("auth_invalid", status=401)
    else:
        cookie = request.cookies.get(COOKIE_NAME)
        if not cookie:
            raise HubError("auth_required", status=401)
        found = await auth.authenticate_session(cookie, request.remote)
        if found is None:
            raise HubError("auth_invalid", status=401)
        who, was_renewed = found
        if unsafe and not same_origin(request, referer=True):
            origin = request.headers.get("Origin") or request.headers.get("Referer") or "-"
            raise HubError("origin_forbidden", status=403, origin=origin)
        if was_renewed:
            renewed = cookie
    request[PRINCIPAL_KEY] = who
    response = await handler(request)
    if renewed is not None and not response.prepared:
        routes_auth.set_session_cookie(request, response, renewed)
    return response


async def _websocket(request: web.Request) -> web.StreamResponse:
    return await request.app[WS_KEY].handle(request)


def build_app(
    hub: Hub, auth: AuthService | None = None, *, ui_dir: Path | None = None
) -> web.Application:
    """The aiohttp application; ``hub`` must be started (its storage open)."""
    if auth is None:
        if hub.storage is None:
            raise RuntimeError("start the hub before building its API")
        auth = AuthService(hub.storage)
    app = web.Application(
        middlewares=[security_headers, errors, authenticate], client_max_size=1024**2
    )
    views = Views(hub)
    app[HUB_KEY] = hub
    app[AUTH_KEY] = auth
    app[VIEWS_KEY] = views
    app[RECENT_KEY] = RecentEvents(hub.bus)
    app[WS_KEY] = WebSocketHub(hub, auth, views)
    app[WS_KEY].start()
    routes_devices.setup(app)
    routes_auth.setup(app)
    routes_admin.setup(app)
    openapi.setup(app)
    _mount_integration_routes(app, hub)
    app.router.add_get("/api/ws", _websocket)
    ui = UiFiles(ui_dir if ui_dir is not None else repo_root() / "ui")
    app.router.add_get(r"/{tail:(?!api(?:/|$)).*}", ui.handle)
    app.on_shutdown.append(_close_websockets)
    app.on_cleanup.append(_close_listeners)
    app.cleanup_ctx.append(_purge_sessions)
    return app


def _mount_integration_routes(app: web.Application, hub: Hub) -> None:
    """Routes an integration offers (``Integration.routes()``) under ``/api/{domain}/``; a
    broken one is logged and skipped, never the whole API."""
    for domain, integration in hub.integrations.items():
        try:
            for method, path, handler in integration.routes():
                app.router.add_route(method, f"/api/{domain}/{path.lstrip('/')}", handler)
        except Exception:
            _LOGGER.exception("Integration %s: its API routes could not be mounted", domain)


async def _close_websockets(app: web.Application) -> None:
    await app[WS_KEY].close()


async def _close_listeners(app: web.Application) -> None:
    app[RECENT_KEY].close()


async def _purge_sessions(app: web.Application) -> AsyncIterator[None]:
    auth = app[AUTH_KEY]

    async def loop() -> None:
        while True:
            try:
                removed = await auth.sessions.purge_expired()
                if removed:
                    _LOGGER.info("Removed %d expired sessions", removed)
            except Exception:
                _LOGGER.exception("Purging expired sessions failed")
            await asyncio.sleep(SESSION_PURGE_EVERY_S)

    task = asyncio.get_running_loop().create_task(loop(), name="session purge")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class ApiServer:
    """Runs the aiohttp app on host:port; ``port=0`` picks a free one (tests). ``sockets``:
    listening sockets to serve on instead (an :class:`~hub.api.early.EarlyServer`'s, handed
    over once the hub has started).

    While no owner account exists, :attr:`setup_url` is a one-time link (valid for an hour) to
    create it; ``zshub run`` prints it.
    """

    def __init__(
        self,
        hub: Hub,
        host: str,
        port: int,
        *,
        ui_dir: Path | None = None,
        sockets: Sequence[socket.socket] = (),
    ) -> None:
        self._hub = hub
        self._sockets = list(sockets)
        self._host = host
        self._port = port
        self._ui_dir = ui_dir
        self._runner: web.AppRunner | None = None
        self._setup_token: str | None = None
        self.auth: AuthService | None = None
        self.app: web.Application | None = None
        self.port = port

    async def start(self) -> None:
        if self._hub.storage is None:
            raise RuntimeError("start the hub before its API")
        self.auth = AuthService(self._hub.storage)
        self.app = build_app(self._hub, self.auth, ui_dir=self._ui_dir)
        self._runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=2.0
        )
        await self._runner.setup()
        if self._sockets:
            for sock in self._sockets:
                await web.SockSite(self._runner, sock).start()
            self.port = self._sockets[0].getsockname()[1]
        else:
            site = web.TCPSite(self._runner, self._host, self._port)
            await site.start()
            server = site._server
            sockets = getattr(server, "sockets", None) or []
            if sockets:
                self.port = sockets[0].getsockname()[1]
        self._setup_token = await self.auth.issue_setup_link()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        host = self._host if ":" not in self._host else f"[{self._host}]"
        return f"http://{host}:{self.port}"

    @property
    def setup_url(self) -> str | None:
        """The one-time owner set-up link, while it is still valid."""
        if self._setup_token is None or self.auth is None or not self.auth.setup.active:
            return None
        return f"{self.url}/#/setup?token={self._setup_token}"
