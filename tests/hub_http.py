"""A small JSON client for a hub process's REST API, with its own session cookie (stdlib only,
blocking: for tests that drive a `zshub run` process from outside, such as the browser and
Matter end-to-end tests)."""

from __future__ import annotations

import http.cookiejar
import json
import urllib.error
import urllib.request
from typing import Any

__all__ = ["HubHttp"]


class HubHttp:
    def __init__(self, base_url: str, timeout: float = 15.0) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(status, decoded JSON body); a body that is not JSON comes back as text."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.base_url}{path}", data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with self.opener.open(req, timeout=self.timeout) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                return err.code, json.loads(raw) if raw else None
            except json.JSONDecodeError:
                return err.code, raw.decode(errors="replace")

    def device(self, device_id: str) -> dict[str, Any]:
        status, body = self.call("GET", f"/api/devices/{device_id}")
        assert status == 200, (status, body)
        return dict(body)

    def value(self, device_id: str, path: str) -> Any:
        entry = self.device(device_id)["state"].get(path)
        return entry["value"] if isinstance(entry, dict) else entry
