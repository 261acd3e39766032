"""No usable adapter at start, an adapter appearing later, and BLE through the public API."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import pytest
from ble_kit import CONTACT, DOOR_MAC, FAST, KEY, BleRig, cooktop, door, until

from hub.api.server import ApiServer
from hub.app import Hub
from hub.auth import hashing
from hub.auth.users import Role
from hub.core.registry import Availability
from integrations.ble.integration import BINDKEY_SECRET, BleIntegration
from integrations.ble.virtual import AirServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(autouse=True)
def cheap_hashes() -> None:
    hashing.set_cost(time_cost=1, memory_kib=1024, parallelism=1)


async def test_no_adapter_at_start_then_the_radio_appears(rig: BleRig) -> None:
    await rig.air.add(door())
    port = free_port()
    hub = await rig.start(radio=f"tcp:127.0.0.1:{port}")  # nothing listens there yet
    status = await until(
        lambda: (s := hub.describe()["integrations"]["ble"])["scanner"]["failures"] and s,
        what="the adapter reported missing",
    )
    assert status["ok"] is False
    assert status["scanner"]["state"] == "unavailable"
    assert "蓝牙不可用" in status["message"]["zh"]
    assert "Bluetooth is unavailable" in status["message"]["en"]
    assert hub.registry is not None and hub.storage is not None  # the rest of the hub runs on

    relay = AirServer(rig.air)
    await relay.start("127.0.0.1", port)  # the adapter "appears"
    try:
        await until(lambda: rig.ble.status()["ok"], what="scanning after the radio appeared")
        await rig.discovered(DOOR_MAC)
        assert hub.matches[("ble", DOOR_MAC)].best == CONTACT
        relay.drop_hubs()  # the adapter goes away while scanning, and comes back
        stove = cooktop()
        await rig.air.add(stove)
        await rig.discovered(stove.address)
    finally:
        await relay.close()


async def test_system_radio_without_bluez_is_reported_not_fatal(rig: BleRig) -> None:
    hub = await rig.start(radio="system")  # this machine has no D-Bus/BlueZ
    status = await until(
        lambda: (s := rig.ble.status())["scanner"]["failures"] and s, what="failure reported"
    )
    assert status["ok"] is False
    assert status["error_kind"] in ("no_dbus", "no_bluez", "no_adapter", "no_permission")
    assert status["message"]["zh"].startswith("蓝牙不可用")
    assert hub.describe()["devices"] == 0


async def test_bad_radio_setting_is_reported(rig: BleRig) -> None:
    hub = await rig.start(radio="tcp:example.org:1")
    status = hub.describe()["integrations"]["ble"]
    assert status["ok"] is False
    assert status["error_kind"] == "config"
    assert "ble_radio" in status["error"]


@pytest.fixture
async def api_hub(rig: BleRig) -> AsyncIterator[tuple[Hub, ApiServer, aiohttp.ClientSession, str]]:
    await rig.air.add(door())
    config = replace(rig.config(), ble_radio=rig.radio)
    hub = Hub(config, extra_plugins=[lambda h: BleIntegration(h, settings=FAST)])
    await hub.start()
    rig.hub = hub
    server = ApiServer(hub, "127.0.0.1", 0, ui_dir=None)
    await server.start()
    hub.add_stop_hook("api", server.stop)
    assert server.auth is not None
    owner = await server.auth.create_user("owner", "owner-pass-1", Role.OWNER, pin="1234")
    token, _ = await server.auth.create_token("ble tests", user_id=owner.id)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        yield hub, server, http, server.url


async def test_bthome_device_added_through_the_api(api_hub, rig: BleRig) -> None:
    hub, server, http, url = api_hub
    async with http.get(f"{url}/api/info") as resp:
        info = await resp.json()
    assert "ble" in info["integrations"]
    await rig.discovered(DOOR_MAC)
    async with http.get(f"{url}/api/discoveries") as resp:
        found = [d for d in (await resp.json())["discoveries"] if d["key"] == DOOR_MAC]
    assert found and found[0]["match"]["best"] == CONTACT
    assert found[0]["identity"]["local_name"] == "ZS-MC-0001"

    body = {
        "integration": "ble",
        "key": DOOR_MAC,
        "name": {"zh": "前门", "en": "Front door"},
        "secrets": {BINDKEY_SECRET: "ff" * 16},
    }
    async with http.post(f"{url}/api/devices", json=body) as resp:
        error = await resp.json()
        assert resp.status == 422, error
    assert error["error"]["code"] == "ble_bindkey_wrong"
    assert "密钥不正确" in error["error"]["message"]["zh"]
    async with http.get(f"{url}/api/devices") as resp:
        assert (await resp.json())["devices"] == []

    body["secrets"] = {BINDKEY_SECRET: KEY.hex()}
    async with http.post(f"{url}/api/devices", json=body) as resp:
        assert resp.status == 201, await resp.text()
        added = await resp.json()
    device_id = added["id"]
    await until(
        lambda: hub.registry.device(device_id).availability is Availability.ONLINE, what="online"
    )
    async with http.get(f"{url}/api/devices/{device_id}") as resp:
        view = await resp.json()
    assert view["availability"] == "online"
    assert view["last_seen"] is not None
    assert view["transport"] == "bthome"
    async with http.get(f"{url}/api/info") as resp:
        ble = (await resp.json())["integrations"]["ble"]
    assert ble["ok"] is True
    assert ble["links"][device_id]["rssi"] == -60
