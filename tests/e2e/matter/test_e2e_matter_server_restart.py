"""The hub's Matter server dies (a crash, an update): the hub's supervisor starts it again, the
hub reconnects by itself, the nodes come back online, commands work and device-side changes
arrive again. Runs after the other tests of this folder (file order), on the same devices."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest
from hub_process import Api
from matter_setup import Lab

pytestmark = [pytest.mark.slow, pytest.mark.netns]


def test_server_restart_is_survived(api: Api, lab: Lab, matter: dict[str, dict[str, Any]]) -> None:
    light, device = matter["light"]["id"], lab.devices["light"]
    before = api.wait_matter_connected()
    pid = before["server"]["pid"]
    starts = before["server"]["starts"]
    os.kill(pid, signal.SIGKILL)  # no goodbye: as a crash

    # The hub notices, starts a new server, connects again; the nodes come back online.
    api.wait_for(
        "a new matter-server",
        api.matter_status,
        lambda s: s.get("state") == "connected" and s["server"]["starts"] > starts,
        timeout=60,
    )
    for added in matter.values():
        api.wait_for(
            f"{added['id']} back online",
            lambda d=added["id"]: api.device(d)["availability"],
            lambda v: v == "online",
            timeout=45,
        )
    want = not device.control("state")["on"]
    status, body = api.command(light, "main/onoff.on" if want else "main/onoff.off")
    assert status == 200, body
    assert body["result"]["status"] == "confirmed", body
    device.wait_state(lambda s: s.get("on") is want)
    # Subscriptions are back too: a change at the device reaches the hub.
    device.control("toggle")
    api.wait_value(light, "main/onoff/on", lambda v: v is (not want), timeout=30)
