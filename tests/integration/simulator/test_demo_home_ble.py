"""The demo home's BLE devices end to end: a real Hub with the ZS-DP and BLE integrations and the
demo plug-in, both simulators as subprocesses (``zshub simulate-ble`` on a TCP relay the hub's
``ble_radio`` points at), the real REST API; the devices come online, report state acted on
"physically" through the BLE simulator's control socket, and come back after a restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.api.server import ApiServer
from hub.app import Hub
from hub.auth.users import Role
from hub.config import HubConfig
from integrations.ble.plugin import setup as ble_setup
from integrations.ble.virtual.simulator import SimulatorControl
from integrations.demo.plugin import DemoHome, demo_factory
from integrations.zsdp.plugin import setup as zsdp_setup

pytestmark = pytest.mark.slow

GIVE_UP_S = 90.0  # a functional upper bound; bench measures how fast the demo comes up
CONTACT = "cn.zs.demo-safety.mc-b2"
COOKTOP = "cn.zs.demo-kitchen.jzt-b2"


class Client:
    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.http = aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"})

    async def get(self, path: str) -> Any:
        async with self.http.get(self.url + path) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    async def until(self, path: str, check: Any, what: str) -> Any:
        """Poll the API until ``check(body)`` holds (an upper bound, not a timing claim)."""
        end = time.monotonic() + 20.0
        while True:
            body = await self.get(path)
            if check(body):
                return body
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting for {what}; last: {body}")
            await asyncio.sleep(0.1)


@asynccontextmanager
async def demo_hub(data: Path) -> AsyncIterator[tuple[Hub, DemoHome, Client]]:
    config = HubConfig.load(data, port=0, demo=True, mdns_interfaces=("127.0.0.1",), plugins=())
    hub = Hub(config, extra_plugins=[zsdp_setup, ble_setup, demo_factory(ble=True)])
    await hub.start()
    client: Client | None = None
    try:
        server = ApiServer(hub, "127.0.0.1", 0)
        await server.start()
        hub.add_stop_hook("api", server.stop)
        auth = server.auth
        assert auth is not None
        users = [u for u in await auth.list_users() if u.username == "owner"]
        user = users[0] if users else None
        if user is None:  # the first start; a restart finds it in the database
            user = await auth.create_user("owner", "owner-pass-1", Role.OWNER, pin="1234")
        token, _ = await auth.create_token("demo test", user_id=user.id)
        client = Client(server.url, token)
        demo = next(p for p in hub.plugins if isinstance(p, DemoHome))
        await asyncio.wait_for(demo.ready.wait(), GIVE_UP_S)
        yield hub, demo, client
    finally:
        if client is not None:
            await client.http.close()
        await hub.stop()


def _by_profile(devices: list[dict[str, Any]], profile: str) -> dict[str, Any]:
    return next(d for d in devices if d["profile_id"] == profile)


async def test_demo_ble_devices_come_online_report_state_and_return_after_a_restart(
    tmp_path: Path,
) -> None:
    async with demo_hub(tmp_path) as (hub, demo, api):
        assert hub.config.ble_radio.startswith("tcp:127.0.0.1:")
        info = await api.get("/api/info")
        assert info["integrations"]["ble"]["ok"] is True, info["integrations"]["ble"]
        devices = (await api.get("/api/devices"))["devices"]
        assert len(devices) == 16  # 14 ZS-DP devices and 2 BLE ones
        assert all(d["availability"] == "online" for d in devices)
        contact = _by_profile(devices, CONTACT)
        cooktop = _by_profile(devices, COOKTOP)
        assert (contact["integration"], contact["room_id"], contact["name"]["zh"]) == (
            "ble",
            "bedroom",
            "卧室窗磁",
        )
        assert (cooktop["integration"], cooktop["room_id"], cooktop["name"]["en"]) == (
            "ble",
            "kitchen",
            "Island gas cooktop (Bluetooth)",
        )
        assert demo.ble_devices["bedroom-window"].bindkey is not None  # it was added encrypted

        # The door contact's encrypted advertisements are decoded: battery and contact.
        path = f"/api/devices/{contact['id']}"
        await api.until(
            path,
            lambda d: (
                d["state"].get("main/contact/open", {}).get("value") is False
                and d["state"].get("main/battery/percent", {}).get("value") == 88
            ),
            "the contact's first packet",
        )
        assert demo.ble_control_port is not None
        control = SimulatorControl("127.0.0.1", demo.ble_control_port)
        await control.request("update", device="bedroom-window", objects={"0x2D": 1})
        await api.until(
            path,
            lambda d: d["state"]["main/contact/open"]["value"] is True,
            "the window to read open",
        )

        # The cooktop's status arrives over GATT notifications.
        path = f"/api/devices/{cooktop['id']}"
        await control.request(
            "set",
            device="kitchen-island-cooktop",
            state={"burner_left/burner/ignited": True, "burner_left/burner/firepower": 6},
        )
        body = await api.until(
            path,
            lambda d: d["state"].get("burner_left/burner/ignited", {}).get("value") is True,
            "the burner to read lit",
        )
        assert body["state"]["burner_left/burner/firepower"]["value"] == 6
        assert body["state"]["main/battery/percent"]["value"] == 84
        before = {d["id"]: d["identity"]["key"] for d in devices}
    assert demo.ble_simulator is not None and demo.ble_simulator.proc is None  # reaped

    # Same data directory: the BLE devices are in the registry with their stored bind key and
    # come back online; nothing is added twice.
    async with demo_hub(tmp_path) as (hub, demo, api):
        devices = (await api.get("/api/devices"))["devices"]
        assert {d["id"]: d["identity"]["key"] for d in devices} == before
        assert all(d["availability"] == "online" for d in devices)
        contact = _by_profile(devices, CONTACT)
        control = SimulatorControl("127.0.0.1", demo.ble_control_port or 0)
        await control.request("update", device="bedroom-window", objects={"0x2D": 1, "0x01": 70})
        await api.until(
            f"/api/devices/{contact['id']}",
            lambda d: d["state"]["main/battery/percent"]["value"] == 70,
            "a packet after the restart, decoded with the stored key",
        )

        # Removed by the owner, the contact is not added back by the demo: it waits in the
        # discoveries for the owner to add it by hand, with the bind key.
        async with api.http.delete(f"{api.url}/api/devices/{contact['id']}") as resp:
            assert resp.status in (200, 204), await resp.text()
        found = await api.until(
            "/api/discoveries",
            lambda b: any(d["key"] == contact["identity"]["key"] for d in b["discoveries"]),
            "the removed contact to be discovered again",
        )
        entry = next(d for d in found["discoveries"] if d["key"] == contact["identity"]["key"])
        assert entry["integration"] == "ble" and entry["match"]["best"] == CONTACT
        await asyncio.sleep(1.5)  # the demo reacts to a discovery at once: give it the chance
        assert all(d["profile_id"] != CONTACT for d in (await api.get("/api/devices"))["devices"])
        pending = (await api.get("/api/discoveries"))["discoveries"]
        assert any(d["key"] == contact["identity"]["key"] for d in pending)
