"""Commissioning real (virtual) Matter devices through the hub's API, end to end: matter.js devices
in one network namespace, python-matter-server in another, the hub here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hub_process import Api, HubProcess
from matter_setup import NAMES, PROFILES, Lab

pytestmark = [pytest.mark.slow, pytest.mark.netns]


def test_commissioned_devices_get_generic_profiles_and_their_state(
    api: Api, matter: dict[str, dict[str, Any]]
) -> None:
    for name, added in matter.items():
        assert added["integration"] == "matter", added
        assert added["profile_id"] == PROFILES[name], added
        assert added["name"] == NAMES[name]
        device = api.device(added["id"])
        assert device["profile_id"] == PROFILES[name]
    light, ct, lock = (matter[n]["id"] for n in ("light", "ct", "lock"))
    for device_id in (light, ct, lock):
        api.wait_for(
            f"{device_id} availability",
            lambda d=device_id: api.device(d)["availability"],
            lambda v: v == "online",
        )
    # The devices' start-up state (tools/matter-devices): off, level 127 of 254, 370 mireds
    # (physical 153-500), locked with the door closed.
    assert api.wait_value(light, "main/onoff/on", lambda v: v is not None) is False
    assert api.wait_value(ct, "main/brightness/level", lambda v: v is not None) == pytest.approx(
        50, abs=0.5
    )
    assert api.value(ct, "main/color_temperature/kelvin") == 2703
    assert api.value(ct, "main/color_temperature/max_kelvin") == 6536
    assert api.value(ct, "main/color_temperature/min_kelvin") == 2000
    assert api.wait_value(lock, "main/lock/lock_state", lambda v: v is not None) == "locked"
    assert api.value(lock, "main/lock/door_state") == "closed"


def test_devices_list_shows_the_matter_devices(api: Api, matter: dict[str, dict[str, Any]]) -> None:
    status, body = api.call("GET", "/api/devices")
    assert status == 200
    ours = {d["id"]: d for d in body["devices"] if d["integration"] == "matter"}
    assert set(ours) == {added["id"] for added in matter.values()}


@pytest.mark.parametrize("code", ["1234", "abcdefghijk", "3497-011-2334", ""])
def test_malformed_code_is_refused_with_a_clear_error(
    api: Api, matter: dict[str, dict[str, Any]], code: str
) -> None:
    before = api.call("GET", "/api/devices")[1]["devices"]
    status, body = api.call("POST", "/api/matter/commission", {"code": code})
    assert status == 400, body
    error = body["error"]
    assert error["code"] == "matter_wrong_code"
    assert error["message"]["zh"] and error["message"]["en"]
    assert api.call("GET", "/api/devices")[1]["devices"] == before  # nothing added


def test_guests_cannot_commission(hub: HubProcess, api: Api, lab: Lab) -> None:
    status, body = api.call(
        "POST",
        "/api/users",
        {"username": "guest1", "password": "guest-pass-2024", "role": "guest"},
    )
    assert status == 201, body
    guest = Api(hub.base_url)
    guest.login("guest1", "guest-pass-2024")
    before = api.call("GET", "/api/devices")[1]["devices"]
    status, body = guest.call(
        "POST", "/api/matter/commission", {"code": lab.devices["spare"].pairing_code}
    )
    assert status == 403, body
    assert body["error"]["message"]["zh"] and body["error"]["message"]["en"]
    assert api.call("GET", "/api/devices")[1]["devices"] == before


def test_node_dump_is_the_servers_node_json(api: Api, matter: dict[str, dict[str, Any]]) -> None:
    status, dump = api.call("GET", f"/api/matter/nodes/{matter['light']['id']}/dump")
    assert status == 200, dump
    node = dump.get("node", dump)
    attributes = node["attributes"]
    assert attributes["0/40/2"] == 0xFFF1  # BasicInformation VendorID: the test vendor
    assert attributes["0/40/3"] == "zshub On/Off Light"  # ProductName of onoff-light.js
    assert "1/6/0" in attributes  # OnOff on endpoint 1


def test_cli_dump_prints_the_node(
    hub: HubProcess, api: Api, matter: dict[str, dict[str, Any]]
) -> None:
    status, token = api.call("POST", "/api/tokens", {"name": "e2e cli"})
    assert status == 201, token
    zshub = Path(sys.executable).with_name("zshub")
    done = subprocess.run(
        [str(zshub), "matter", "dump", matter["lock"]["id"], "--hub", hub.base_url],
        env={**os.environ, "ZSHUB_TOKEN": token["token"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    dump = json.loads(done.stdout)
    node = dump.get("node", dump)
    assert node["attributes"]["0/40/3"] == "zshub Door Lock"
    assert node["attributes"]["1/257/0"] in (0, 1, 2)  # DoorLock LockState
