"""The web UI is served from ui/ with a strict CSP and security headers; no secrets in URLs."""

from __future__ import annotations

from pathlib import Path

from api_helpers import Api, start_api, stop_api

from hub.api.server import CSP

REQUIRED_CSP = (
    "default-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "style-src 'self'",
    "script-src 'self'",
    "frame-ancestors 'none'",
)


async def test_index_is_served_with_a_strict_csp(api: Api) -> None:
    async with api.http.get(api.url + "/") as resp:
        assert resp.status == 200
        assert "UI" in await resp.text()
        csp = resp.headers["Content-Security-Policy"]
        assert csp == CSP
        for directive in REQUIRED_CSP:
            assert directive in csp
        assert "unsafe-inline" not in csp and "http" not in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Cache-Control"] == "no-cache"


async def test_client_routes_fall_back_to_index_and_files_are_cached(api: Api) -> None:
    async with api.http.get(api.url + "/devices/lamp-1") as resp:
        assert resp.status == 200 and "UI" in await resp.text()
        assert "Content-Security-Policy" in resp.headers
    async with api.http.get(api.url + "/app.js") as resp:
        assert resp.status == 200 and "zshub" in await resp.text()
        assert "max-age" in resp.headers["Cache-Control"]
        etag = resp.headers.get("ETag")
    if etag:
        async with api.http.get(api.url + "/app.js", headers={"If-None-Match": etag}) as resp:
            assert resp.status == 304
    async with api.http.get(api.url + "/../../etc/passwd") as resp:
        assert "root:" not in await resp.text()
    async with api.http.get(api.url + "/%2e%2e/%2e%2e/etc/passwd") as resp:
        assert "root:" not in await resp.text()


async def test_api_answers_carry_the_headers_and_are_not_cached(api: Api) -> None:
    async with api.http.get(api.url + "/api/health") as resp:
        assert resp.headers["Content-Security-Policy"] == CSP
        assert resp.headers["Cache-Control"] == "no-store"
    async with api.http.get(api.url + "/api/nope") as resp:
        assert resp.status == 404 and resp.content_type == "application/json"
        assert resp.headers["Content-Security-Policy"] == CSP


async def test_placeholder_without_a_ui(tmp_path: Path) -> None:
    api = await start_api(tmp_path, users=False, ui=False)
    try:
        async with api.http.get(api.url + "/") as resp:
            assert resp.status == 200 and "zshub" in await resp.text()
            assert resp.headers["Content-Security-Policy"] == CSP
    finally:
        await stop_api(api)
