"""Live state: a lost WebSocket shows the stale banner and pauses the controls; on reconnect the
UI subscribes again and shows the fresh snapshot (changes made while it was away included)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from browser_support import Api, HubProcess, find_device, login, shot, state_path
from playwright.sync_api import expect

pytestmark = pytest.mark.slow


class SocketGate:
    """Sits between the page and the hub's WebSocket: lets connections through, can drop them
    and refuse new ones (what a flaky Wi-Fi or a hub restart looks like to the page)."""

    def __init__(self) -> None:
        self.open = True
        self.routes: list[Any] = []
        self.connections = 0

    def __call__(self, ws: Any) -> None:
        if not self.open:
            ws.close(code=4000, reason="gate closed")
            return
        self.connections += 1
        ws.connect_to_server()
        self.routes.append(ws)

    def drop(self) -> None:
        self.open = False
        for ws in self.routes:
            ws.close(code=4000, reason="dropped by the test")
        self.routes.clear()


def test_lost_connection_shows_stale_banner_and_resyncs(
    hub: HubProcess, owner: dict[str, str], owner_api: Api, new_page: Any
) -> None:
    lamp = find_device(owner_api.devices(), "onoff", "brightness")
    path = state_path(lamp, "onoff", "on")
    comp = path.split("/")[0]
    before = owner_api.value(lamp["id"], path) is True

    page = new_page()
    gate = SocketGate()
    page.route_web_socket(re.compile(r".*/api/ws$"), gate)
    login(page, hub, owner["username"], owner["password"])
    card = page.locator(f'zs-device-card[data-device-id="{lamp["id"]}"]')
    switch = card.get_by_role("switch")
    expect(switch).to_have_attribute("aria-checked", json.dumps(before))
    banner = page.locator("zs-connection-banner")
    expect(banner).to_be_hidden()
    assert gate.connections == 1

    gate.drop()
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("连接已断开")
    expect(banner).to_have_attribute("role", "status")
    expect(switch).to_be_disabled()
    expect(card).to_contain_text("状态可能已过期")
    shot(page, "stale-banner")

    # The lamp changes while the page is away.
    target = "off" if before else "on"
    status, body = owner_api.call(
        "POST",
        f"/api/devices/{lamp['id']}/commands",
        {"target": f"{comp}/onoff.{target}", "args": {}},
    )
    assert status == 200, body
    owner_api.wait_value(lamp["id"], path, lambda v: v is (not before))
    expect(switch).to_have_attribute(
        "aria-checked", json.dumps(before)
    )  # still the old, stale view

    gate.open = True
    page.get_by_role("button", name="立即重连").click()
    expect(banner).to_contain_text("已重新连接")
    expect(switch).to_be_enabled()
    expect(switch).to_have_attribute("aria-checked", json.dumps(not before))  # fresh snapshot
    assert gate.connections >= 2  # a backoff retry may have raced the click
    expect(banner).to_be_hidden(timeout=10000)

    # Put the lamp back.
    switch.click()
    owner_api.wait_value(lamp["id"], path, lambda v: v is before)


def test_reconnects_by_itself_with_backoff(
    hub: HubProcess, owner: dict[str, str], owner_api: Api, new_page: Any
) -> None:
    page = new_page()
    gate = SocketGate()
    page.route_web_socket(re.compile(r".*/api/ws$"), gate)
    login(page, hub, owner["username"], owner["password"])
    banner = page.locator("zs-connection-banner")
    gate.drop()
    expect(banner).to_be_visible()
    gate.open = True
    # No click: the backoff timer (0.25–0.5 s for the first retry) reconnects.
    expect(banner).to_contain_text("已重新连接", timeout=10000)
    assert gate.connections >= 2
