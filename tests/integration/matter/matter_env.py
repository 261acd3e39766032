"""A hub with the Matter integration, its real API on a free port, and accounts per role."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from hub.api.server import ApiServer
from hub.app import Hub
from hub.auth.users import Role
from hub.config import HubConfig
from hub.core import Room
from integrations.matter.integration import MatterIntegration, MatterSettings

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "matter"
PINS = {"owner": "1234", "member": "5678", "guest": "2468"}
FAST = MatterSettings(
    commission_timeout=8.0,
    request_timeout=5.0,
    backoff_min=0.05,
    backoff_max=0.5,
    stable_after=1.0,
    log_settle=0.3,
    server_stop_timeout=3.0,
)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_for(check: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Poll until ``check()`` is truthy (condition waits, not timing assertions)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.02)


@dataclass
class Env:
    hub: Hub
    matter: MatterIntegration
    server: ApiServer
    http: aiohttp.ClientSession
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    async def call(
        self, method: str, path: str, body: Any = None, role: str | None = "owner"
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        data = json.dumps(body) if body is not None else None
        if data is not None:
            headers["Content-Type"] = "application/json"
        async with self.http.request(method, self.url + path, data=data, headers=headers) as r:
            text = await r.text()
            return r.status, (json.loads(text) if text else None)

    async def audit(self, **query: str) -> list[dict[str, Any]]:
        assert self.hub.storage is not None
        await self.hub.storage.flush()
        return await self.hub.storage.audit_log(limit=500, **query)  # type: ignore[arg-type]

    def state(self, device_id: str, path: str) -> Any:
        return self.hub.states.value(f"{device_id}/{path}")

    def online(self, device_id: str) -> bool:
        device = self.hub.registry.get(device_id)
        return device is not None and device.availability.value == "online"


async def start_env(
    data_dir: Path,
    settings: MatterSettings = FAST,
    *,
    tokens: dict[str, str] | None = None,
    **config: Any,
) -> Env:
    """A started hub and API; ``tokens`` of an earlier run on the same data directory reuse
    its accounts."""
    made: list[MatterIntegration] = []

    def factory(hub: Hub) -> MatterIntegration:
        made.append(MatterIntegration(hub, settings=settings))
        return made[0]

    hub = Hub(
        HubConfig.load(data_dir, port=0, plugins=(), mdns_interfaces=["127.0.0.1"], **config),
        extra_plugins=[factory],
    )
    await hub.start()
    hub.registry.upsert_room(Room("hall", "门厅", "Hall", 0))
    server = ApiServer(hub, "127.0.0.1", 0, ui_dir=data_dir)
    await server.start()
    hub.add_stop_hook("api", server.stop)
    env = Env(hub, made[0], server, aiohttp.ClientSession())
    if tokens is not None:
        env.tokens = dict(tokens)
        return env
    auth = server.auth
    assert auth is not None
    for role in ("owner", "member", "guest"):
        grants = {"rooms": ["hall"]} if role == "guest" else None
        user = await auth.create_user(
            role, f"{role}-pass-1", Role(role), pin=PINS[role], grants=grants
        )
        env.tokens[role], _ = await auth.create_token(f"{role} tests", user_id=user.id)
    return env


async def stop_env(env: Env) -> None:
    await env.http.close()
    await env.hub.stop()
