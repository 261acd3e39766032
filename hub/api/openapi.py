"""``GET /api/openapi.json``: the OpenAPI document kept in ``openapi.yaml`` beside this file
(read once, off the loop, and served as JSON). A test checks it against the running app."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

__all__ = ["OPENAPI_FILE", "load_openapi", "openapi_json", "setup"]

OPENAPI_FILE = Path(__file__).with_name("openapi.yaml")
_KEY: web.AppKey[dict[str, bytes]] = web.AppKey("openapi")


def load_openapi() -> dict[str, Any]:
    """Blocking: the parsed document."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with OPENAPI_FILE.open(encoding="utf-8") as f:
        data = yaml.load(f, Loader=loader)
    if not isinstance(data, dict):
        raise ValueError(f"{OPENAPI_FILE} is not an OpenAPI document")
    return data


async def openapi_json(request: web.Request) -> web.Response:
    cache = request.app[_KEY]
    text = cache.get("json")
    if text is None:
        data = await asyncio.get_running_loop().run_in_executor(None, load_openapi)
        text = cache["json"] = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return web.Response(body=text, content_type="application/json")


def setup(app: web.Application) -> None:
    app[_KEY] = {}
    app.router.add_get("/api/openapi.json", openapi_json)
