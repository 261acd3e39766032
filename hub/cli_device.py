"""``zshub device discovered`` and ``zshub device add``: talk to a running hub over its API."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any

__all__ = ["cmd_add", "cmd_discovered"]


def _call(
    url: str, method: str = "GET", body: dict[str, Any] | None = None, token: str | None = None
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    token = token or os.environ.get("ZSHUB_TOKEN")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        try:
            return err.code, json.loads(err.read() or b"null")
        except json.JSONDecodeError:
            return err.code, None


def _fail(status: int, payload: Any, hub: str) -> int:
    if status == 0:
        print(f"zshub: no hub answers at {hub}", file=sys.stderr)
        return 1
    error = (payload or {}).get("error", {}) if isinstance(payload, dict) else {}
    message = error.get("message", {})
    print(f"zshub: {message.get('zh', '')} / {message.get('en', status)}", file=sys.stderr)
    return 1


def cmd_discovered(hub: str, *, token: str | None = None) -> int:
    try:
        status, payload = _call(f"{hub}/api/discoveries", token=token)
    except urllib.error.URLError:
        return _fail(0, None, hub)
    if status != 200:
        return _fail(status, payload, hub)
    items = payload["discoveries"]
    if not items:
        print("nothing discovered / 未发现新设备")
        return 0
    for item in items:
        match = item.get("match") or {}
        profile = match.get("best") or ("ambiguous" if match.get("ambiguous") else "no match")
        name, address = item.get("name") or "-", item.get("address") or "-"
        print(f"{item['integration']}  {item['key']}  {name}  {address}  profile: {profile}")
    return 0


def cmd_add(
    hub: str,
    key: str,
    *,
    token: str | None = None,
    integration: str,
    pairing_code: str | None,
    name_zh: str,
    name_en: str,
    room: str | None,
    profile: str | None,
) -> int:
    body: dict[str, Any] = {
        "integration": integration,
        "key": key,
        "name": {"zh": name_zh, "en": name_en},
        "room_id": room,
        "profile_id": profile,
    }
    if pairing_code is not None:
        body["pairing_code"] = pairing_code
    try:
        status, payload = _call(f"{hub}/api/devices", "POST", body, token)
    except urllib.error.URLError:
        return _fail(0, None, hub)
    if status != 201:
        return _fail(status, payload, hub)
    print(f"added / 已添加: {payload['id']} ({payload['profile_id']})")
    return 0
