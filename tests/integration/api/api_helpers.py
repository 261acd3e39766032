"""A running hub with its real API on a free port, a fake transport, and one account per role."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from fakes import FakeIntegration

from hub.api.server import ApiServer
from hub.app import Hub
from hub.auth.users import Role
from hub.config import HubConfig
from hub.core import Device, Room

LAMP = "cn.zs.demo-guzhen-lighting.xdd-cct-480"
LOCK = "cn.zs.demo-xiaolan-lock.l8-fp"
HEATER = "cn.zs.demo-heater.jsq30-16"
COOKTOP = "cn.zs.demo-kitchen.jzt-b2"
GAS = "cn.zs.demo-safety.jt-rq-v1"
PASSWORDS = {"owner": "owner-pass-1", "member": "member-pass-1", "guest": "guest-pass-1"}
PINS = {"owner": "1234", "member": "5678", "guest": "2468"}


def device(id: str, profile: str, room: str | None) -> Device:
    return Device(id, f"设备 {id}", f"Device {id}", profile, "fake", "mdns", {"key": id}, room)


@dataclass
class Api:
    hub: Hub
    fake: FakeIntegration
    server: ApiServer
    http: aiohttp.ClientSession
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # role -> user id

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def origin(self) -> str:
        return self.server.url

    def headers(self, role: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

    async def call(
        self,
        method: str,
        path: str,
        role: str | None = "owner",
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """(status, JSON body or None)."""
        hdrs = {**self.headers(role), **(headers or {})}
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            hdrs.setdefault("Content-Type", "application/json")
        async with self.http.request(method, self.url + path, data=data, headers=hdrs) as resp:
            text = await resp.text()
            try:
                payload = json.loads(text) if text else None
            except ValueError:
                payload = text
            return resp.status, payload

    async def audit(self, **query: str) -> list[dict[str, Any]]:
        assert self.hub.storage is not None
        await self.hub.storage.flush()
        return await self.hub.storage.audit_log(limit=500, **query)  # type: ignore[arg-type]


async def start_api(tmp_path: Path, *, users: bool = True, ui: bool = True) -> Api:
    fake = FakeIntegration()
    hub = Hub(HubConfig.load(tmp_path, port=0, plugins=()), extra_plugins=[lambda h: fake])
    await hub.start()
    for room in (
        Room("living", "客厅", "Living room", 0),
        Room("kitchen", "厨房", "Kitchen", 1),
        Room("hall", "门厅", "Hall", 2),
    ):
        hub.registry.upsert_room(room)
    fake.add(device("lamp-1", LAMP, "living"))
    fake.add(device("lamp-2", LAMP, "kitchen"))
    fake.add(device("lock-1", LOCK, "living"))
    fake.add(device("heater-1", HEATER, "kitchen"))
    fake.add(device("cooktop-1", COOKTOP, "kitchen"))
    fake.add(device("gas-1", GAS, "living"))
    fake.effects[LOCK] = lambda dps: {1: "unlocked" if dps.get(6) == "unlock" else "locked"}
    fake.effects[GAS] = lambda dps: {101: "closed"} if dps.get(103) else {}
    ui_dir = tmp_path / "ui"
    if ui:
        ui_dir.mkdir()
        (ui_dir / "index.html").write_text("<!doctype html><title>zshub</title><p>UI</p>")
        (ui_dir / "app.js").write_text("console.log('zshub')")
    server = ApiServer(hub, "127.0.0.1", 0, ui_dir=ui_dir)
    await server.start()
    hub.add_stop_hook("api", server.stop)
    api = Api(hub, fake, server, aiohttp.ClientSession())
    if users:
        auth = server.auth
        assert auth is not None
        for role, grants in (
            ("owner", None),
            ("member", None),
            ("guest", {"rooms": ["living"], "devices": ["lock-1", "heater-1"]}),
        ):
            user = await auth.create_user(
                role, PASSWORDS[role], Role(role), pin=PINS[role], grants=grants
            )
            api.users[role] = user.id
            api.tokens[role], _ = await auth.create_token(f"{role} tests", user_id=user.id)
    return api


async def stop_api(api: Api) -> None:
    await api.http.close()
    await api.hub.stop()


async def login(api: Api, role: str) -> aiohttp.ClientSession:
    """A browser-like session (cookie jar) signed in as ``role``."""
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    session = aiohttp.ClientSession(cookie_jar=jar, headers={"Origin": api.origin})
    async with session.post(
        api.url + "/api/auth/login", json={"username": role, "password": PASSWORDS[role]}
    ) as resp:
        assert resp.status == 200, await resp.text()
    return session


# -- stand-ins for the rules plug-in's services (hub.services) -----------------------------------
class StubError(Exception):
    """Like rules.messages.RuleError: a code with zh/en text."""

    def __init__(self, code: str) -> None:
        self.code, self.zh, self.en = code, f"错误 {code}", f"error {code}"
        super().__init__(code)


@dataclass
class _Item:
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.data["id"])

    def as_dict(self) -> dict[str, Any]:
        return dict(self.data)


class StubScenes:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.applied: list[tuple[str, Any]] = []

    def scenes(self) -> list[_Item]:
        return [_Item({"id": "good_night", "name": {"zh": "晚安", "en": "Good night"}})]

    def get(self, scene_id: str) -> _Item | None:
        return next((s for s in self.scenes() if s.id == scene_id), None)

    async def apply(self, scene_id: str, context: Any = None) -> _Item:
        from hub.core import Context, Origin

        self.applied.append((scene_id, context))
        ctx = Context(Origin.SCENE, scene_id, context)
        result = await self.hub.commands.send("lamp-1", "main/onoff.off", context=ctx)
        return _Item(
            {
                "id": scene_id,
                "scene_id": scene_id,
                "ok": result.ok,
                "devices": [{"device": "lamp-1", "status": result.status.value}],
            }
        )


class StubRules:
    def __init__(self) -> None:
        self.enabled = {"hood_follows_cooktop": True, "gas_shutoff": True}

    def rules(self) -> list[_Item]:
        return [_Item({"id": k, "enabled": v}) for k, v in self.enabled.items()]

    async def _set(self, rule_id: str, value: bool, by_owner: bool) -> _Item:
        if rule_id not in self.enabled:
            raise StubError("unknown_rule")
        if rule_id == "gas_shutoff" and not value and not by_owner:
            raise StubError("owner_required")
        self.enabled[rule_id] = value
        return _Item({"id": rule_id, "enabled": value})

    async def enable(self, rule_id: str, *, by_owner: bool = False) -> _Item:
        return await self._set(rule_id, True, by_owner)

    async def disable(self, rule_id: str, *, by_owner: bool = False) -> _Item:
        return await self._set(rule_id, False, by_owner)

    def traces(self, rule_id: str) -> list[dict[str, Any]]:
        if rule_id not in self.enabled:
            raise StubError("unknown_rule")
        return [{"run_id": "r1", "status": "done"}]


class StubNotifications:
    def __init__(self) -> None:
        def item(nid: str, device: str | None, priority: str, *audience: str) -> _Item:
            text = {"zh": f"通知 {nid}", "en": f"notice {nid}"}
            data = {"id": nid, "device_id": device, "text": text, "priority": priority}
            return _Item(data | {"audience": list(audience or ("homeowner",))})

        self.items = [
            item("n-1", "lamp-1", "info"),
            item("n-2", "gas-1", "alert"),  # the gas detector is hidden from the guest
            item("n-3", None, "info"),
            item("n-4", "gas-1", "critical"),  # … but a gas leak warns everyone at home
            item("n-5", None, "info", "homeowner", "everyone"),
        ]

    def recent(self) -> list[_Item]:
        return list(self.items)

    def dismiss(self, notification_id: str) -> bool:
        before = len(self.items)
        self.items = [n for n in self.items if n.id != notification_id]
        return len(self.items) < before


def install_stub_services(api: Api) -> None:
    api.hub.services.update(
        scenes=StubScenes(api.hub), rules=StubRules(), notifications=StubNotifications()
    )
