"""``zshub matter …`` as a real subprocess against a running hub, mDNS discovery of
commissionable devices on loopback, and the Matter routes against openapi.yaml."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from typing import Any

from matter_env import Env, fixture, wait_for
from matter_fake import FakeMatterServer

from hub.api.openapi import load_openapi

ZSHUB = [sys.executable, "-m", "hub.cli"]
LIGHT_CODE = "34970112332"


async def zshub(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *ZSHUB,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_cli_commission_and_dump(env: Env, fake: FakeMatterServer) -> None:
    fake.offer(LIGHT_CODE, fixture("on_off_light.json"))
    token = env.tokens["owner"]
    code, out, err = await zshub(
        "matter", "commission", "3497-011-2332", "--name-zh", "门廊灯", "--name-en", "Porch",
        "--room", "hall", "--hub", env.url, "--token", token,
    )  # fmt: skip
    assert code == 0, err
    assert "added / 已添加: porch (generic.matter.on-off-light)" in out
    device = env.hub.registry.device("porch")
    assert (device.name_zh, device.room_id) == ("门廊灯", "hall")

    code, out, err = await zshub("matter", "dump", "porch", "--hub", env.url, "--token", token)
    assert code == 0, err
    dump = json.loads(out)
    assert dump["node_id"] == device.identity["node_id"]
    assert dump["attributes"]["0/40/5"] == "Porch light"

    code, out, err = await zshub(
        "matter", "commission", "34970112333", "--hub", env.url, "--token", token
    )
    assert code == 1
    assert "校验位不符" in err and "check digit" in err  # zh and en, from the hub
    code, out, err = await zshub("matter", "dump", "nope", "--hub", env.url, "--token", token)
    assert code == 1 and "nope" in err


async def test_cli_without_a_hub(env: Env) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, _out, err = await zshub(
        "matter", "commission", LIGHT_CODE, "--hub", f"http://127.0.0.1:{port}"
    )
    assert code == 1 and "no hub answers" in err


async def test_commissionable_devices_are_discovered_and_added(
    env: Env, fake: FakeMatterServer
) -> None:
    from zeroconf import IPVersion, ServiceInfo
    from zeroconf.asyncio import AsyncZeroconf

    device_zc = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    info = ServiceInfo(
        "_matterc._udp.local.",
        "5A1B2C3D4E5F6071._matterc._udp.local.",
        port=5540,
        addresses=[socket.inet_aton("127.0.0.1")],
        properties={"VP": "65521+32768", "D": "3840", "CM": "1", "DT": "256", "DN": "Porch light"},
        server="matter-light.local.",
    )
    await device_zc.async_register_service(info)
    try:
        found: dict[str, Any] = {}

        async def discovered() -> bool:
            _, body = await env.call("GET", "/api/discoveries")
            items = [d for d in body["discoveries"] if d["integration"] == "matter"]
            if items:
                found.update(items[0])
            return bool(items)

        for _ in range(300):
            if await discovered():
                break
            await asyncio.sleep(0.05)
        assert found, "no _matterc._udp discovery"
        assert found["key"] == "5A1B2C3D4E5F6071" and found["name"] == "Porch light"
        assert found["identity"]["vendor_id"] == 0xFFF1
        assert found["identity"]["product_id"] == 0x8000
        assert found["identity"]["discriminator"] == 3840
        assert found["match"]["best"] == "generic.matter.on-off-light"  # by device type 0x0100

        fake.offer(LIGHT_CODE, fixture("on_off_light.json"))
        status, device = await env.call(
            "POST",
            "/api/devices",
            {
                "integration": "matter",
                "key": found["key"],
                "pairing_code": LIGHT_CODE,
                "name": {"zh": "门廊灯", "en": "Porch"},
            },
        )
        assert status == 201, device
        assert device["identity"]["key"] == f"node-{device['identity']['node_id']}"
        assert device["profile_id"] == "generic.matter.on-off-light"

        # A wrong code through the same path is explained the same way.
        status, body = await env.call(
            "POST",
            "/api/devices",
            {"integration": "matter", "key": found["key"], "pairing_code": "12",
             "name": {"zh": "灯", "en": "Lamp"}},
        )  # fmt: skip
        assert status == 400 and body["error"]["code"] == "matter_wrong_code"

        await device_zc.async_unregister_service(info)
        await wait_for(lambda: not env.matter.status()["commissionable"], what="goodbye")
    finally:
        await device_zc.async_close()


async def test_matter_routes_match_the_openapi_document(env: Env, fake: FakeMatterServer) -> None:
    doc = load_openapi()
    documented = {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        if item.get("x-zshub-integration") == "matter"
        for method in item
        if method in ("get", "post", "patch", "put", "delete")
    }
    app = env.server.app
    assert app is not None
    routes = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith("/api/matter/")
    }
    assert routes == documented
    fake.offer(LIGHT_CODE, fixture("on_off_light.json"))
    seen: list[tuple[str, str, int]] = []
    dump, commission = "/api/matter/nodes/{device_id}/dump", "/api/matter/commission"
    for method, template, url, body, role in [
        ("POST", commission, commission, {"code": "1"}, "owner"),
        ("POST", commission, commission, {"code": "1"}, "guest"),
        ("POST", commission, commission, {"code": LIGHT_CODE}, "owner"),
        ("GET", dump, "/api/matter/nodes/porch-light/dump", None, "owner"),
        ("GET", dump, "/api/matter/nodes/nope/dump", None, "owner"),
        ("GET", dump, "/api/matter/nodes/porch-light/dump", None, None),
    ]:  # fmt: skip
        status, _answer = await env.call(method, url, body, role)
        seen.append((method, template, status))
    assert [s for _m, _t, s in seen] == [400, 403, 201, 200, 404, 401]
    for method, template, status in seen:
        assert str(status) in doc["paths"][template][method.lower()]["responses"]
