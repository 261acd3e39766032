"""The web UI: files from ``ui/`` at ``/``, ``index.html`` for every other path (client-side
routes), never anything outside ``ui/``. ``index.html`` is revalidated on every load; other
files carry ETag/Last-Modified and are cached briefly, or for a year when their name carries a
content hash (``app.3f9a1c2b.js``)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from aiohttp import web

__all__ = ["UiFiles"]

_HASHED = re.compile(r"\.[0-9a-f]{8,}\.[a-z0-9]+$", re.IGNORECASE)

_PLACEHOLDER = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>zshub</title></head>
<body><h1>zshub</h1>
<p>网页界面尚未安装（ui/ 目录为空）。API 位于 <a href="/api/health">/api/</a>。</p>
<p>The web UI is not installed (ui/ is empty). The API is at <a href="/api/health">/api/</a>.</p>
</body></html>
"""


class UiFiles:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _file(self, tail: str) -> Path | None:
        if "\x00" in tail:
            return None
        candidate = (self.root / tail.lstrip("/")).resolve()
        if candidate != self.root and self.root not in candidate.parents:
            return None  # .. or a symlink out of ui/
        return candidate if candidate.is_file() else None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        tail = request.match_info.get("tail", "")
        found = await loop.run_in_executor(None, self._file, tail) if tail else None
        if found is None:
            index = await loop.run_in_executor(None, self._file, "index.html")
            if index is None:
                return web.Response(
                    text=_PLACEHOLDER,
                    content_type="text/html",
                    headers={"Cache-Control": "no-cache"},
                )
            response = web.FileResponse(index)
            response.headers["Cache-Control"] = "no-cache"
            return response
        response = web.FileResponse(found)
        if found.name == "index.html":
            response.headers["Cache-Control"] = "no-cache"
        elif _HASHED.search(found.name):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        else:
            response.headers["Cache-Control"] = "public, max-age=300, must-revalidate"
        return response
