"""A stand-in for the hub's web API (docs/api.md) with simulated devices, for developing and
checking the UI while ``hub/api`` is being written.

It implements the contract as documented — cookie sessions, roles, guests' hidden capabilities,
PIN step-up, the WebSocket with message ids and snapshots — over device JSON built from the real
profile library (so the UI sees real capability data). It is NOT the hub: the browser tests run
against ``zshub run --demo`` unless ``ZSHUB_UI_BACKEND=fake`` is set.

Run it by hand::

    .venv/bin/python tests/browser/contract_fake.py --port 8471

Simulator control (fake only): ``POST /_sim/gas {"on": true, "concentration": 18}``,
``POST /_sim/set {"device", "path", "value"}``, ``POST /_sim/event {"device", "path", "fields"}``,
``POST /_sim/drop`` (close every WebSocket), ``POST /_sim/offline {"device", "offline"}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import secrets
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from hub.config import HubConfig  # noqa: E402
from hub.profile_access import ProfileAccess  # noqa: E402

UI_DIR = ROOT / "ui"
CSP = "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'"
GUEST_HIDDEN = {"lock", "valve", "burner", "gas_detector"}
CONFIRM_DELAY_S = 0.15

ROOMS = [
    ("living", "客厅", "Living room"),
    ("kitchen", "厨房", "Kitchen"),
    ("entrance", "玄关", "Entrance"),
    ("bedroom", "卧室", "Bedroom"),
    ("bathroom", "卫生间", "Bathroom"),
]

# id, profile, room, zh, en, transport, state overrides
DEVICES: list[tuple[str, str, str, str, str, str, dict[str, Any]]] = [
    (
        "living-lamp",
        "cn.zs.demo-guzhen-lighting.xdd-cct-480",
        "living",
        "客厅吸顶灯",
        "Living room ceiling lamp",
        "zsdp",
        {
            "main/onoff/on": False,
            "main/brightness/level": 60,
            "main/color_temperature/kelvin": 4000,
        },
    ),
    (
        "light-strip",
        "cn.zs.demo-guzhen-lighting.dt-rgb-5m",
        "living",
        "电视背景灯带",
        "TV light strip",
        "zsdp",
        {},
    ),
    (
        "living-motion",
        "cn.zs.demo-safety.pir-w1",
        "living",
        "客厅人体传感器",
        "Living room motion sensor",
        "zsdp",
        {},
    ),
    (
        "front-lock",
        "cn.zs.demo-xiaolan-lock.l8-fp",
        "entrance",
        "入户门锁",
        "Front door lock",
        "zsdp",
        {},
    ),
    (
        "front-door",
        "cn.zs.demo-safety.mc-b2",
        "entrance",
        "入户门磁",
        "Front door contact",
        "zsdp",
        {},
    ),
    ("range-hood", "cn.zs.demo-kitchen.cxw-t9", "kitchen", "油烟机", "Range hood", "zsdp", {}),
    (
        "cooktop",
        "cn.zs.demo-kitchen.jzt-b2w",
        "kitchen",
        "燃气灶",
        "Gas cooktop",
        "zsdp",
        {"burner_left/burner/ignited": True, "burner_left/burner/firepower": 5},
    ),
    (
        "gas-detector",
        "cn.zs.demo-safety.jt-rq-v1",
        "kitchen",
        "燃气探测器",
        "Gas detector",
        "zsdp",
        {
            "detector/gas_detector/gas_detected": False,
            "detector/gas_detector/concentration": 0,
            "detector/alarm_sounder/sounding": False,
            "valve/valve/state": "open",
        },
    ),
    (
        "water-purifier",
        "cn.zs.demo-water.ro-600g",
        "kitchen",
        "净水器",
        "Water purifier",
        "zsdp",
        {},
    ),
    ("rice-cooker", "cn.zs.demo-kitchen.dfb-40", "kitchen", "电饭煲", "Rice cooker", "zsdp", {}),
    (
        "water-heater",
        "cn.zs.demo-heater.jsq30-16",
        "bathroom",
        "燃气热水器",
        "Gas water heater",
        "zsdp",
        {},
    ),
    (
        "bedroom-fan",
        "cn.zs.demo-dongfeng-appliance.fs-40r",
        "bedroom",
        "卧室风扇",
        "Bedroom fan",
        "zsdp",
        {},
    ),
    (
        "night-light",
        "cn.zs.demo-guzhen-lighting.yd-n1",
        "bedroom",
        "床头小夜灯",
        "Bedside night light",
        "zsdp",
        {},
    ),
]


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def text(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


@dataclass
class User:
    id: str
    username: str
    password: str
    role: str
    display_name: str
    pin: str | None = None
    language: str = "zh"
    grants: dict[str, list[str]] = field(default_factory=lambda: {"rooms": [], "devices": []})

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "language": self.language,
            "grants": self.grants,
        }


@dataclass
class FakeDevice:
    id: str
    name: dict[str, str]
    room_id: str
    profile: Any  # LoadedProfile
    transport: str
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: list[tuple[float, str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    availability: str = "online"
    last_seen: float = field(default_factory=time.time)

    def cap_name(self, path: str) -> str:
        return path.split("/")[1]


class FakeHub:
    def __init__(self) -> None:
        access = ProfileAccess()
        access.load(HubConfig())
        library = access.library
        assert library is not None
        self.library = library
        self.users: dict[str, User] = {}
        self.sessions: dict[str, str] = {}
        self.tokens: dict[str, dict[str, Any]] = {}
        self.setup_token = secrets.token_urlsafe(12)
        self.devices: dict[str, FakeDevice] = {}
        self.sockets: set[Sock] = set()
        self.rules = self._rules()
        now = time.time()
        for dev_id, pid, room, zh, en, transport, overrides in DEVICES:
            loaded = library.get(pid)
            if loaded is None:
                continue
            dev = FakeDevice(dev_id, text(zh, en), room, loaded, transport)
            initial: dict[str, Any] = {}
            for test in loaded.model.tests:
                if test.expect and test.command is None:
                    initial = dict(test.expect)
                    break
            initial.update(overrides)
            for path, value in initial.items():
                dev.state[path] = {
                    "value": value,
                    "last_changed": iso(now),
                    "last_reported": iso(now),
                }
            self._seed_history(dev, now)
            self.devices[dev_id] = dev
        self.devices["front-lock"].events.append(
            {
                "device": "front-lock",
                "path": "main/lock/lock_operation",
                "priority": "critical",
                "fields": {"operation": "unlock", "source": "fingerprint", "user_index": 1},
                "time": iso(now - 3600),
            }
        )

    # -- data -----------------------------------------------------------------------------------
    def _seed_history(self, dev: FakeDevice, now: float) -> None:
        for path, st in dev.state.items():
            value = st["value"]
            if isinstance(value, bool):
                for i in range(8):
                    dev.history.append((now - 86400 + i * 10800, path, i % 2 == 0))
            elif isinstance(value, int | float):
                for i in range(24):
                    wobble = math.sin(i / 3) * 0.2 * (abs(value) or 10)
                    v = (
                        round(value + wobble)
                        if isinstance(value, int)
                        else round(value + wobble, 1)
                    )
                    dev.history.append((now - 86400 + i * 3600, path, v))
            dev.history.append((now - 60, path, value))

    def _rules(self) -> list[dict[str, Any]]:
        now = time.time()
        return [
            {
                "id": "motion_light",
                "name": text("有人时开客厅灯", "Living room light on motion"),
                "description": text(
                    "晚上客厅有人时开灯，5 分钟无人后关灯。",
                    "At night, light on when someone is in the living room; "
                    "off after 5 minutes without motion.",
                ),
                "origin": "pack",
                "enabled": True,
                "safety": False,
                "mode": "restart",
                "traces": [
                    {
                        "rule_id": "motion_light",
                        "run_id": "r1",
                        "status": "finished",
                        "trigger": {
                            "kind": "state",
                            "device": "living-motion",
                            "path": "main/occupancy/occupied",
                            "to": True,
                        },
                        "context": [
                            {"id": "c1", "origin": "rule", "actor": "motion_light"},
                            {"id": "c0", "origin": "device", "actor": "living-motion"},
                        ],
                        "created_at": now - 1800,
                        "started_at": now - 1800,
                        "finished_at": now - 1799.8,
                        "conditions": [{"kind": "time", "after": "18:00", "result": True}],
                        "steps": [
                            {
                                "path": "actions/0",
                                "kind": "command",
                                "started_at": now - 1800,
                                "finished_at": now - 1799.8,
                                "wall_ms": 180.2,
                                "result": {
                                    "device": "living-lamp",
                                    "target": "main/onoff.on",
                                    "status": "confirmed",
                                },
                                "notes": [],
                                "error": None,
                            }
                        ],
                        "notes": [],
                        "error": None,
                    },
                    {
                        "rule_id": "motion_light",
                        "run_id": "r0",
                        "status": "not_fired",
                        "trigger": {
                            "kind": "state",
                            "device": "living-motion",
                            "path": "main/occupancy/occupied",
                            "for": "30s",
                        },
                        "context": [],
                        "created_at": now - 7200,
                        "conditions": [],
                        "steps": [],
                        "notes": [
                            {
                                "code": "for_not_met",
                                "zh": "持续时间未满 30 秒",
                                "en": "Held for less than 30 s",
                            }
                        ],
                        "error": None,
                    },
                ],
            },
            {
                "id": "kitchen_guard",
                "name": text("厨房安全守护", "Kitchen guard"),
                "description": text(
                    "燃气泄漏时关阀并通知；灶具点火时自动开油烟机。",
                    "On a gas leak, close the valve and notify; "
                    "start the hood when a burner is lit.",
                ),
                "origin": "pack",
                "enabled": True,
                "safety": True,
                "mode": "queued",
                "traces": [],
            },
            {
                "id": "away_lock",
                "name": text("离家自动上锁提醒", "Remind to lock when away"),
                "description": None,
                "origin": "api",
                "enabled": False,
                "safety": False,
                "mode": "single",
                "traces": [],
            },
        ]

    # -- device JSON ----------------------------------------------------------------------------
    def visible(self, user: User, dev: FakeDevice) -> bool:
        if user.role != "guest":
            return True
        return dev.room_id in user.grants.get("rooms", []) or dev.id in user.grants.get(
            "devices", []
        )

    def device_json(self, dev: FakeDevice, user: User) -> dict[str, Any]:
        summary = dev.profile.summary()
        components: dict[str, Any] = {}
        for comp, caps in dev.profile.components.components.items():
            out_caps: dict[str, Any] = {}
            for name, inst in caps.items():
                if user.role == "guest" and name in GUEST_HIDDEN:
                    continue
                out_caps[name] = {
                    "key": inst.key,
                    "title": inst.capdef.title.model_dump(),
                    "features": sorted(inst.features),
                    "properties": {
                        n: p.model_dump(mode="json", exclude_none=True)
                        for n, p in inst.properties.items()
                    },
                    "commands": {
                        n: c.model_dump(mode="json", exclude_none=True)
                        for n, c in inst.commands.items()
                    },
                    "events": {
                        n: e.model_dump(mode="json", exclude_none=True)
                        for n, e in inst.events.items()
                    },
                }
            components[comp] = {
                "label": summary["components"][comp]["label"],
                "capabilities": out_caps,
            }
        summary["components"] = components
        state = {
            p: dict(s)
            for p, s in dev.state.items()
            if not (user.role == "guest" and p.split("/")[1] in GUEST_HIDDEN)
        }
        return {
            "id": dev.id,
            "name": dev.name,
            "room_id": dev.room_id,
            "profile_id": dev.profile.id,
            "integration": "demo",
            "transport": dev.transport,
            "availability": dev.availability,
            "last_seen": dev.last_seen,
            "state": state,
            "profile": summary,
        }

    # -- changes --------------------------------------------------------------------------------
    def set_state(self, dev: FakeDevice, path: str, value: Any) -> None:
        now = time.time()
        old = dev.state.get(path)
        if old is not None and old["value"] == value:
            old["last_reported"] = iso(now)
            return
        new = {"value": value, "last_changed": iso(now), "last_reported": iso(now)}
        dev.state[path] = new
        dev.history.append((now, path, value))
        dev.last_seen = now
        self.broadcast(
            dev,
            "state_changed",
            {"path": f"{dev.id}/{path}", "device": dev.id, "old": old, "new": new},
            hidden=path.split("/")[1] in GUEST_HIDDEN,
        )

    def fire_event(
        self, dev: FakeDevice, path: str, fields: dict[str, Any], priority: str = "info"
    ) -> None:
        ev = {
            "device": dev.id,
            "path": path,
            "fields": fields,
            "priority": priority,
            "time": iso(time.time()),
        }
        dev.events.insert(0, ev)
        self.broadcast(dev, "device_event", ev, hidden=path.split("/")[1] in GUEST_HIDDEN)

    def broadcast(
        self, dev: FakeDevice, etype: str, data: dict[str, Any], *, hidden: bool = False
    ) -> None:
        for sock in list(self.sockets):
            if sock.sub_id is None or not self.visible(sock.user, dev):
                continue
            if hidden and sock.user.role == "guest":
                continue
            sock.send(
                {
                    "id": sock.sub_id,
                    "type": "event",
                    "event": {"type": etype, "data": data, "time": iso(time.time()), "context": {}},
                }
            )

    async def command(
        self,
        user: User,
        dev_id: str,
        target: str,
        args: dict[str, Any],
        pin: str | None,
        owner_confirmed: bool,
    ) -> tuple[int, dict[str, Any]]:
        dev = self.devices.get(dev_id)
        if dev is None or not self.visible(user, dev):
            return 404, {
                "status": "refused",
                "code": "unknown_device",
                "message": text("没有这台设备", "No such device"),
                "needs": None,
            }
        started = time.perf_counter()
        path, _, cmd = target.partition(".")
        comp, _, cap = path.partition("/")
        inst = dev.profile.components.components.get(comp, {}).get(cap)

        def result(
            status: str, code: str, zh: str, en: str, needs: str | None = None
        ) -> dict[str, Any]:
            return {
                "status": status,
                "code": code,
                "message": text(zh, en),
                "needs": needs,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            }

        if inst is None or cmd not in inst.commands:
            return 403, result(
                "refused", "unknown_command", "设备不支持此命令", "The device has no such command"
            )
        if user.role == "guest" and cap in GUEST_HIDDEN:
            return 403, result(
                "refused",
                "forbidden",
                "访客不能控制门锁和燃气设备",
                "Guests may not control locks or gas appliances",
            )
        if target not in dev.profile.supported_commands(dev.transport):
            return 403, result(
                "refused",
                "unsupported",
                "此型号不支持远程执行该命令",
                "This model cannot do that remotely",
            )
        if dev.availability == "offline":
            return 409, result("failed", "device_offline", "设备离线", "The device is offline")
        if cap == "lock" and cmd == "unlock":
            if not pin:
                return 403, result(
                    "refused",
                    "pin_required",
                    "开锁需要输入 PIN 码",
                    "Unlocking needs your PIN",
                    "pin",
                )
            if pin != user.pin:
                return 403, result("refused", "pin_invalid", "PIN 码不正确", "Wrong PIN", "pin")
        if cap == "valve" and cmd == "open":
            return 403, result(
                "refused",
                "not_available",
                "燃气阀只能在现场手动打开",
                "The gas valve can only be reopened by hand",
            )
        cdef = inst.commands[cmd]
        await asyncio.sleep(CONFIRM_DELAY_S)
        for prop, effect in cdef.effects.items():
            value = (
                args.get(effect[1:])
                if isinstance(effect, str) and effect.startswith("$")
                else effect
            )
            if value is None:
                continue
            if cap == "color_temperature" and prop == "kelvin":
                value = int(round(value / 10) * 10)  # the lamp's DP resolution
            self.set_state(dev, f"{comp}/{cap}/{prop}", value)
        if cap == "lock":
            op = "unlock" if cmd == "unlock" else "lock"
            self.fire_event(
                dev,
                "main/lock/lock_operation",
                {"operation": op, "source": "remote", "user_index": 0},
                "critical",
            )
        return 200, result("confirmed", "ok", "设备已确认", "Confirmed by the device")

    async def run_scene(self, user: User, scene_id: str) -> dict[str, Any]:
        started = time.perf_counter()
        plans = {
            "good_night": [
                ("living-lamp", "main/onoff.off", {}),
                ("light-strip", "main/onoff.off", {}),
                ("range-hood", "light/onoff.off", {}),
                ("front-lock", "main/lock.lock", {}),
                ("bedroom-fan", "main/fan.set_mode", {"mode": "low"}),
            ],
            "cooking": [
                ("range-hood", "main/fan.set_mode", {"mode": "high"}),
                ("range-hood", "light/onoff.on", {}),
            ],
        }[scene_id]
        devices: dict[str, dict[str, Any]] = {}
        for dev_id, target, args in plans:
            status, res = await self.command(user, dev_id, target, args, None, False)
            out = devices.setdefault(
                dev_id, {"device": dev_id, "status": "ok", "commands": [], "notes": []}
            )
            out["commands"].append({"target": target, "status": res["status"], "code": res["code"]})
            if status != 200:
                out["status"] = "refused" if res["status"] == "refused" else "failed"
                out["notes"].append({"code": res["code"], **res["message"]})
        return {
            "scene_id": scene_id,
            "context_id": secrets.token_hex(4),
            "ok": all(d["status"] == "ok" for d in devices.values()),
            "started_at": time.time(),
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "devices": list(devices.values()),
            "notes": [],
        }

    async def gas(self, on: bool, concentration: float) -> None:
        dev = self.devices["gas-detector"]
        if on:
            self.set_state(dev, "detector/gas_detector/concentration", concentration)
            self.set_state(dev, "detector/gas_detector/gas_detected", True)
            self.set_state(dev, "detector/alarm_sounder/sounding", True)
            self.fire_event(
                dev,
                "detector/gas_detector/gas_alarm",
                {"severity": "critical", "concentration": concentration},
                "critical",
            )
            await asyncio.sleep(0.3)
            self.set_state(dev, "valve/valve/state", "closed")
        else:
            self.set_state(dev, "detector/gas_detector/concentration", 0)
            self.set_state(dev, "detector/gas_detector/gas_detected", False)
            self.set_state(dev, "detector/alarm_sounder/sounding", False)
            self.fire_event(dev, "detector/gas_detector/gas_cleared", {}, "info")


SCENES = [
    {
        "id": "good_night",
        "name": text("晚安", "Good night"),
        "description": text("关灯、锁门、风扇调到低速。", "Lights off, door locked, fan on low."),
        "origin": "pack",
        "opt_in": [],
    },
    {
        "id": "cooking",
        "name": text("做饭", "Cooking"),
        "description": text("油烟机高速并开灯。", "Range hood on high with its light on."),
        "origin": "pack",
        "opt_in": [],
    },
]


class Sock:
    def __init__(self, ws: web.WebSocketResponse, user: User) -> None:
        self.ws = ws
        self.user = user
        self.sub_id: int | None = None

    def send(self, msg: dict[str, Any]) -> None:
        if not self.ws.closed:
            task = asyncio.get_running_loop().create_task(
                self.ws.send_str(json.dumps(msg, ensure_ascii=False))
            )
            _TASKS.add(task)
            task.add_done_callback(_TASKS.discard)


_TASKS: set[asyncio.Task[Any]] = set()
HUB = web.AppKey("hub", FakeHub)


def jresp(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(data, ensure_ascii=False), status=status, content_type="application/json"
    )


def error(status: int, code: str, zh: str, en: str, needs: str | None = None) -> web.Response:
    return jresp({"error": {"code": code, "message": text(zh, en), "needs": needs}}, status)


def current_user(request: web.Request) -> User | None:
    hub = request.app[HUB]
    sid = request.cookies.get("zshub_session")
    if sid and sid in hub.sessions:
        return hub.users.get(hub.sessions[sid])
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        tok = hub.tokens.get(auth[7:])
        if tok:
            return hub.users.get(tok["user"])
    return None


def need_user(request: web.Request, roles: tuple[str, ...] = ("owner", "member", "guest")) -> User:
    user = current_user(request)
    if user is None:
        raise web.HTTPUnauthorized(
            text=json.dumps(
                {"error": {"code": "unauthorized", "message": text("请先登录", "Sign in first")}}
            ),
            content_type="application/json",
        )
    if user.role not in roles:
        raise web.HTTPForbidden(
            text=json.dumps(
                {"error": {"code": "forbidden", "message": text("没有权限", "Not allowed")}}
            ),
            content_type="application/json",
        )
    return user


async def body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except Exception:
        return {}
    return data if isinstance(data, dict) else {}


def login_response(hub: FakeHub, user: User) -> web.Response:
    sid = secrets.token_urlsafe(16)
    hub.sessions[sid] = user.id
    resp = jresp({"user": user.public()})
    resp.set_cookie("zshub_session", sid, httponly=True, samesite="Strict", path="/")
    return resp


# -- routes ------------------------------------------------------------------------------------
routes = web.RouteTableDef()


@routes.get("/api/health")
async def health(request: web.Request) -> web.Response:
    return jresp({"ok": True})


@routes.get("/api/info")
async def info(request: web.Request) -> web.Response:
    need_user(request)
    return jresp(
        {"version": "fake", "problems": [], "integrations": {"demo": {"state": "running"}}}
    )


@routes.post("/api/auth/setup")
async def setup(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    data = await body(request)
    if any(u.role == "owner" for u in hub.users.values()) or data.get("token") != hub.setup_token:
        return error(403, "setup_closed", "设置码无效或已使用", "The set-up code is wrong or used")
    user = User(
        secrets.token_hex(4),
        data["username"],
        data["password"],
        "owner",
        data.get("display_name") or data["username"],
        data.get("pin"),
    )
    hub.users[user.id] = user
    return login_response(hub, user)


@routes.post("/api/auth/login")
async def login(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    data = await body(request)
    for user in hub.users.values():
        if user.username == data.get("username") and user.password == data.get("password"):
            return login_response(hub, user)
    return error(401, "login_failed", "用户名或密码不正确", "Wrong username or password")


@routes.post("/api/auth/logout")
async def logout(request: web.Request) -> web.Response:
    request.app[HUB].sessions.pop(request.cookies.get("zshub_session", ""), None)
    resp = jresp({"ok": True})
    resp.del_cookie("zshub_session", path="/")
    return resp


@routes.get("/api/auth/me")
async def me(request: web.Request) -> web.Response:
    return jresp({"user": need_user(request).public()})


@routes.get("/api/rooms")
async def rooms(request: web.Request) -> web.Response:
    need_user(request)
    return jresp(
        {
            "rooms": [
                {"id": r, "name": text(zh, en), "order": i} for i, (r, zh, en) in enumerate(ROOMS)
            ]
        }
    )


@routes.get("/api/devices")
async def devices(request: web.Request) -> web.Response:
    user = need_user(request)
    hub = request.app[HUB]
    return jresp(
        {
            "devices": [
                hub.device_json(d, user) for d in hub.devices.values() if hub.visible(user, d)
            ]
        }
    )


def visible_device(request: web.Request) -> tuple[FakeHub, User, FakeDevice]:
    user = need_user(request)
    hub = request.app[HUB]
    dev = hub.devices.get(request.match_info["id"])
    if dev is None or not hub.visible(user, dev):
        raise web.HTTPNotFound(
            text=json.dumps(
                {
                    "error": {
                        "code": "unknown_device",
                        "message": text("没有这台设备", "No such device"),
                    }
                }
            ),
            content_type="application/json",
        )
    return hub, user, dev


@routes.get("/api/devices/{id}")
async def device(request: web.Request) -> web.Response:
    hub, user, dev = visible_device(request)
    return jresp(hub.device_json(dev, user))


@routes.patch("/api/devices/{id}")
async def patch_device(request: web.Request) -> web.Response:
    hub, user, dev = visible_device(request)
    data = await body(request)
    if "name" in data:
        dev.name = data["name"]
    if "room_id" in data:
        dev.room_id = data["room_id"]
    return jresp(hub.device_json(dev, user))


@routes.get("/api/devices/{id}/history")
async def history(request: web.Request) -> web.Response:
    hub, user, dev = visible_device(request)
    path = request.query.get("path", "")
    if user.role == "guest" and path.split("/")[1:2] and path.split("/")[1] in GUEST_HIDDEN:
        return error(403, "forbidden", "没有权限", "Not allowed")
    since = request.query.get("since")
    since_ts = datetime.fromisoformat(since).timestamp() if since else 0
    points = [[iso(ts), v] for ts, p, v in dev.history if p == path and ts >= since_ts]
    return jresp({"points": points})


@routes.get("/api/devices/{id}/events")
async def events(request: web.Request) -> web.Response:
    hub, user, dev = visible_device(request)
    evs = [
        e
        for e in dev.events
        if not (user.role == "guest" and e["path"].split("/")[1] in GUEST_HIDDEN)
    ]
    return jresp({"events": evs[: int(request.query.get("limit", "20"))]})


@routes.post("/api/devices/{id}/commands")
async def rest_command(request: web.Request) -> web.Response:
    hub, user, dev = visible_device(request)
    data = await body(request)
    status, res = await hub.command(
        user,
        dev.id,
        data.get("target", ""),
        data.get("args") or {},
        data.get("pin"),
        bool(data.get("owner_confirmed")),
    )
    if status != 200:
        return jresp(
            {
                "error": {"code": res["code"], "message": res["message"], "needs": res["needs"]},
                "result": res,
            },
            status,
        )
    return jresp({"result": res})


@routes.get("/api/discoveries")
async def discoveries(request: web.Request) -> web.Response:
    need_user(request, ("owner", "member"))
    return jresp(
        {
            "discoveries": [
                {
                    "integration": "zsdp",
                    "transport": "zsdp",
                    "key": "zs-a4cf12b00001",
                    "name": "XD-600 zs-a4cf12b00001",
                    "identity": {
                        "service": "_zsdp._tcp",
                        "txt": {"vid": "0x1A02", "pid": "0x0201"},
                    },
                    "address": "192.168.1.42",
                    "seen_at": time.time() - 40,
                    "match": {
                        "best": "cn.zs.demo-guzhen-lumen.xd-600",
                        "ambiguous": False,
                        "candidates": [
                            {
                                "profile_id": "cn.zs.demo-guzhen-lumen.xd-600",
                                "score": 100,
                                "reasons": ["vid/pid"],
                            }
                        ],
                    },
                }
            ]
        }
    )


@routes.get("/api/profiles")
async def profiles(request: web.Request) -> web.Response:
    need_user(request)
    return jresp({"profiles": [p.summary() for p in request.app[HUB].library], "problems": []})


@routes.post("/api/devices")
async def add_device(request: web.Request) -> web.Response:
    need_user(request, ("owner", "member"))
    data = await body(request)
    if data.get("pairing_code") != "12345678":
        return error(422, "pairing_failed", "配对码不正确", "Wrong pairing code")
    return error(409, "not_in_fake", "演示环境不能添加设备", "The fake cannot add devices")


@routes.get("/api/scenes")
async def scenes(request: web.Request) -> web.Response:
    need_user(request, ("owner", "member"))
    return jresp({"scenes": SCENES})


@routes.post("/api/scenes/{id}/run")
async def run_scene(request: web.Request) -> web.Response:
    user = need_user(request, ("owner", "member"))
    return jresp({"result": await request.app[HUB].run_scene(user, request.match_info["id"])})


@routes.get("/api/rules")
async def rules(request: web.Request) -> web.Response:
    need_user(request, ("owner", "member"))
    return jresp(
        {"rules": [{k: v for k, v in r.items() if k != "traces"} for r in request.app[HUB].rules]}
    )


@routes.patch("/api/rules/{id}")
async def patch_rule(request: web.Request) -> web.Response:
    need_user(request, ("owner", "member"))
    data = await body(request)
    for r in request.app[HUB].rules:
        if r["id"] == request.match_info["id"]:
            if r["safety"] and data.get("enabled") is False:
                return error(
                    403, "safety_rule", "安全规则不能停用", "Safety rules cannot be turned off"
                )
            r["enabled"] = bool(data.get("enabled"))
            return jresp({k: v for k, v in r.items() if k != "traces"})
    return error(404, "unknown_rule", "没有这条规则", "No such rule")


@routes.get("/api/rules/{id}/traces")
async def traces(request: web.Request) -> web.Response:
    need_user(request, ("owner", "member"))
    for r in request.app[HUB].rules:
        if r["id"] == request.match_info["id"]:
            return jresp({"traces": r["traces"]})
    return error(404, "unknown_rule", "没有这条规则", "No such rule")


@routes.get("/api/notifications")
async def notifications(request: web.Request) -> web.Response:
    need_user(request)
    return jresp({"notifications": []})


@routes.get("/api/users")
async def users(request: web.Request) -> web.Response:
    need_user(request, ("owner",))
    return jresp({"users": [u.public() for u in request.app[HUB].users.values()]})


@routes.post("/api/users")
async def add_user(request: web.Request) -> web.Response:
    need_user(request, ("owner",))
    hub = request.app[HUB]
    data = await body(request)
    if any(u.username == data.get("username") for u in hub.users.values()):
        return error(409, "user_exists", "用户名已存在", "That username is taken")
    user = User(
        secrets.token_hex(4),
        data["username"],
        data["password"],
        data.get("role", "member"),
        data.get("display_name") or data["username"],
        data.get("pin"),
    )
    if user.role == "guest":
        user.grants = data.get("grants") or {"rooms": [], "devices": []}
    hub.users[user.id] = user
    return jresp({"user": user.public()}, 201)


@routes.patch("/api/users/{id}")
async def patch_user(request: web.Request) -> web.Response:
    me_ = need_user(request)
    hub = request.app[HUB]
    user = hub.users.get(request.match_info["id"])
    if user is None:
        return error(404, "unknown_user", "没有这个用户", "No such user")
    data = await body(request)
    if me_.role != "owner" and (user.id != me_.id or set(data) - {"language", "display_name"}):
        return error(403, "forbidden", "没有权限", "Not allowed")
    if "language" in data and data["language"] not in ("zh", "en"):
        return error(400, "bad_request", "language 只能是 zh 或 en", "language must be zh or en")
    for key in ("language", "display_name", "role", "grants", "pin"):
        if key in data:
            setattr(user, key, data[key])
    return jresp({"user": user.public()})


@routes.delete("/api/users/{id}")
async def delete_user(request: web.Request) -> web.Response:
    need_user(request, ("owner",))
    request.app[HUB].users.pop(request.match_info["id"], None)
    return web.Response(status=204)


@routes.get("/api/tokens")
async def tokens(request: web.Request) -> web.Response:
    user = need_user(request, ("owner", "member"))
    return jresp(
        {
            "tokens": [
                {"id": t["id"], "name": t["name"], "created_at": t["created_at"]}
                for t in request.app[HUB].tokens.values()
                if t["user"] == user.id
            ]
        }
    )


@routes.post("/api/tokens")
async def add_token(request: web.Request) -> web.Response:
    user = need_user(request, ("owner", "member"))
    data = await body(request)
    secret = "zst_" + secrets.token_urlsafe(24)
    request.app[HUB].tokens[secret] = {
        "id": secrets.token_hex(4),
        "name": data.get("name", "token"),
        "user": user.id,
        "created_at": iso(time.time()),
    }
    return jresp({"id": request.app[HUB].tokens[secret]["id"], "token": secret}, 201)


@routes.delete("/api/tokens/{id}")
async def delete_token(request: web.Request) -> web.Response:
    need_user(request, ("owner", "member"))
    hub = request.app[HUB]
    for secret, tok in list(hub.tokens.items()):
        if tok["id"] == request.match_info["id"]:
            del hub.tokens[secret]
    return web.Response(status=204)


@routes.get("/api/ws")
async def websocket(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    user = current_user(request)
    if user is None:
        return error(401, "unauthorized", "请先登录", "Sign in first")
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    sock = Sock(ws, user)
    hub.sockets.add(sock)
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            mid = data.get("id")
            kind = data.get("type")
            if kind == "subscribe":
                sock.sub_id = mid
                snap = [
                    hub.device_json(d, user) for d in hub.devices.values() if hub.visible(user, d)
                ]
                sock.send(
                    {
                        "id": mid,
                        "type": "result",
                        "success": True,
                        "result": {"snapshot": {"devices": snap}},
                    }
                )
            elif kind == "ping":
                sock.send({"id": mid, "type": "pong"})
            elif kind == "unsubscribe":
                sock.sub_id = None
                sock.send({"id": mid, "type": "result", "success": True, "result": None})
            elif kind == "command":

                async def run(mid: int = mid, data: dict[str, Any] = data) -> None:
                    status, res = await hub.command(
                        user,
                        data.get("device", ""),
                        data.get("target", ""),
                        data.get("args") or {},
                        data.get("pin"),
                        bool(data.get("owner_confirmed")),
                    )
                    sock.send(
                        {"id": mid, "type": "result", "success": status == 200, "result": res}
                    )

                task = asyncio.get_running_loop().create_task(run())
                _TASKS.add(task)
                task.add_done_callback(_TASKS.discard)
            elif kind == "run_scene":
                res = await hub.run_scene(user, data.get("scene", ""))
                sock.send({"id": mid, "type": "result", "success": True, "result": res})
    finally:
        hub.sockets.discard(sock)
    return ws


# -- simulator control (fake only) -------------------------------------------------------------
@routes.post("/_sim/gas")
async def sim_gas(request: web.Request) -> web.Response:
    data = await body(request)
    await request.app[HUB].gas(bool(data.get("on", True)), float(data.get("concentration", 18)))
    return jresp({"ok": True})


@routes.post("/_sim/set")
async def sim_set(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    data = await body(request)
    hub.set_state(hub.devices[data["device"]], data["path"], data["value"])
    return jresp({"ok": True})


@routes.post("/_sim/event")
async def sim_event(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    data = await body(request)
    hub.fire_event(
        hub.devices[data["device"]],
        data["path"],
        data.get("fields") or {},
        data.get("priority", "info"),
    )
    return jresp({"ok": True})


@routes.post("/_sim/drop")
async def sim_drop(request: web.Request) -> web.Response:
    for sock in list(request.app[HUB].sockets):
        await sock.ws.close()
    return jresp({"ok": True})


@routes.post("/_sim/offline")
async def sim_offline(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    data = await body(request)
    dev = hub.devices[data["device"]]
    dev.availability = "offline" if data.get("offline", True) else "online"
    hub.broadcast(
        dev,
        "availability_changed",
        {"device": dev.id, "new": dev.availability, "last_seen": dev.last_seen},
    )
    return jresp({"ok": True})


# -- static UI --------------------------------------------------------------------------------
@web.middleware
async def security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    resp = await handler(request)
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    if not request.path.startswith("/api/"):
        resp.headers["Cache-Control"] = "no-cache"
    return resp


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(UI_DIR / "index.html")


def build_app() -> web.Application:
    app = web.Application(middlewares=[security_headers])
    app[HUB] = FakeHub()
    app.add_routes(routes)
    app.router.add_get("/", index)
    app.router.add_static("/", UI_DIR)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8471)
    args = parser.parse_args()
    app = build_app()
    print(
        f"Set-up link: http://{args.host}:{args.port}/#/setup?token={app[HUB].setup_token}",
        flush=True,
    )
    web.run_app(app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
