"""The API's address in the first moments of ``zshub run``, before the hub has started.

Importing and starting the hub (storage, catalogue, profiles, plug-ins) takes a second or more
on small hardware; this server listens from the start so that a browser, a supervisor or a
health check gets an answer at once:

* ``GET /api/health`` answers ``{"ok": true, "starting": true}`` (the full API answers
  ``{"ok": true, "setup_required": …}`` once the hub is up);
* the web UI (``ui/``) is served as usual;
* every other request waits until the full API has taken over the listening sockets, then is
  redirected to the same URL (307 keeps the method and body; ``Connection: close`` makes the
  client ask again on a new connection, which the full API accepts). A request still waiting
  after :data:`HOLD_S` gets 503 ``hub_starting`` with ``Retry-After``.

It imports only aiohttp and a few light modules, so it can answer while the rest of the hub is
still being imported (in a worker thread, see ``hub.cli``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

from hub.api.static import UiFiles
from hub.errors import HubError

__all__ = ["CSP", "HOLD_S", "SECURITY_HEADERS", "EarlyServer", "bind_sockets"]

CSP = (
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
# A request waits this long for the full API, then gets 503: long enough for a quick start to
# go unnoticed, short enough for clients with a timeout of a few seconds.
HOLD_S = 1.0
RETRY_AFTER_S = 1
_BACKLOG = 128


def bind_sockets(host: str | None, port: int) -> list[socket.socket]:
    """Listening sockets for ``host:port`` as ``loop.create_server`` would make them (every
    address ``host`` resolves to; ``port=0`` picks one free port for all). Raises OSError."""
    infos = socket.getaddrinfo(
        host or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
    )
    sockets: list[socket.socket] = []
    seen: set[tuple[int, str]] = set()
    try:
        for family, kind, proto, _, found in infos:
            if (family, str(found[0])) in seen:
                continue
            seen.add((family, str(found[0])))
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            address = found
            if port == 0 and len(sockets) > 1:
                address = (found[0], sockets[0].getsockname()[1], *found[2:])
            sock.bind(address)
            sock.listen(_BACKLOG)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _json(data: object, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(data, ensure_ascii=False), status=status, content_type="application/json"
    )


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if not response.prepared:
        response.headers.update(SECURITY_HEADERS)
        if request.path == "/api" or request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
    return response


class EarlyServer:
    """Serves ``host:port`` until :meth:`hand_over`; :attr:`sockets` are then the full API's."""

    def __init__(self, host: str | None, port: int, *, ui_dir: Path) -> None:
        self._host = host
        self._port = port
        self._ui = UiFiles(ui_dir)
        self._released = asyncio.Event()
        self._handed_over = False
        self._runner: web.AppRunner | None = None
        self.sockets: list[socket.socket] = []
        self.port = port

    async def start(self) -> None:
        """Bind and serve. Raises OSError (address in use …)."""
        self.sockets = bind_sockets(self._host, self._port)
        self.port = self.sockets[0].getsockname()[1]
        app = web.Application(middlewares=[_headers])
        app.router.add_get("/api/health", self._health)
        app.router.add_route("*", "/api", self._hold)
        app.router.add_route("*", "/api/{tail:.*}", self._hold)
        app.router.add_get(r"/{tail:(?!api(?:/|$)).*}", self._ui.handle)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=2.0
        )
        await self._runner.setup()
        try:
            for sock in self.sockets:
                # A duplicate: closing the early site closes it, the full API keeps the original.
                await web.SockSite(self._runner, sock.dup(), backlog=_BACKLOG).start()
        except BaseException:
            await self.stop()
            raise

    async def hand_over(self) -> None:
        """The full API listens on :attr:`sockets` now: stop accepting, send the waiting
        requests there, close this server's connections."""
        if self._runner is None:
            return
        for site in list(self._runner.sites):
            await site.stop()
        self._handed_over = True
        self._released.set()
        await self._runner.cleanup()
        self._runner = None

    async def stop(self) -> None:
        """Stop without a full API to hand over to (start-up failed): close the sockets too."""
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()

    async def _health(self, request: web.Request) -> web.Response:
        return _json({"ok": True, "starting": True})

    async def _hold(self, request: web.Request) -> web.StreamResponse:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._released.wait(), HOLD_S)
        if not self._handed_over:
            err = HubError("hub_starting", status=503)
            response = _json({"error": {**err.as_dict(), "needs": None}}, 503)
            response.headers["Retry-After"] = str(RETRY_AFTER_S)
            return response
        return web.Response(
            status=307, headers={"Location": str(request.rel_url), "Connection": "close"}
        )
