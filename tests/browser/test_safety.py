"""Locks, guests and gas: unlock asks for the PIN and refuses a wrong one; a guest sees no lock
controls and the API refuses them; a gas alarm raised on the simulator shows a banner without a
reload; a burner offers "off" only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_support import (
    GUEST,
    Api,
    HubProcess,
    Simulator,
    cap_names,
    find_device,
    login,
    shot,
    state_path,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.slow


def card(page: Any, device: dict[str, Any]) -> Any:
    return page.locator(f'zs-device-card[data-device-id="{device["id"]}"]')


def ensure_locked(api: Api, lock: dict[str, Any]) -> str:
    path = state_path(lock, "lock", "lock_state")
    if api.value(lock["id"], path) != "locked":
        comp = path.split("/")[0]
        status, body = api.call(
            "POST",
            f"/api/devices/{lock['id']}/commands",
            {"target": f"{comp}/lock.lock", "args": {}},
        )
        assert status == 200, body
        api.wait_value(lock["id"], path, lambda v: v == "locked")
    return path


def test_unlock_asks_for_the_pin_and_refuses_a_wrong_one(
    hub: HubProcess, owner: dict[str, str], owner_api: Api, new_page: Any
) -> None:
    lock = find_device(owner_api.devices(), "lock")
    path = ensure_locked(owner_api, lock)
    page = new_page()
    login(page, hub, owner["username"], owner["password"])
    lock_card = card(page, lock)
    expect(lock_card.locator(".lock-state-text")).to_have_text("已上锁")
    unlock = lock_card.get_by_role("button", name=re.compile("开锁"))
    unlock.click()

    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_accessible_name(re.compile("请输入 PIN 码"))
    pin = dialog.get_by_label("PIN 码")
    expect(pin).to_be_focused()
    wrong = "000000" if owner["pin"] != "000000" else "111111"
    pin.fill(wrong)
    dialog.get_by_role("button", name="开锁").click()
    expect(dialog.get_by_role("alert")).to_contain_text("PIN")
    expect(dialog).to_be_visible()
    expect(pin).to_be_focused()
    expect(pin).to_have_value("")
    assert owner_api.value(lock["id"], path) == "locked", "a wrong PIN must not unlock"
    shot(page, "lock-pin-dialog")

    pin.fill(owner["pin"])
    dialog.get_by_role("button", name="开锁").click()
    expect(dialog).to_be_hidden()
    owner_api.wait_value(lock["id"], path, lambda v: v == "unlocked")
    expect(lock_card.locator(".lock-state-text")).to_have_text("已开锁")
    expect(unlock).to_be_focused()

    # Locking stays one tap, no PIN.
    lock_card.get_by_role("button", name=re.compile("上锁")).click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    owner_api.wait_value(lock["id"], path, lambda v: v == "locked")
    expect(lock_card.locator(".lock-state-text")).to_have_text("已上锁")


def test_cancelled_pin_dialog_leaves_the_lock_alone(
    hub: HubProcess, owner: dict[str, str], owner_api: Api, new_page: Any
) -> None:
    lock = find_device(owner_api.devices(), "lock")
    path = ensure_locked(owner_api, lock)
    page = new_page()
    login(page, hub, owner["username"], owner["password"])
    unlock = card(page, lock).get_by_role("button", name=re.compile("开锁"))
    unlock.click()
    page.get_by_role("dialog").get_by_role("button", name="取消").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(unlock).to_be_focused()
    expect(card(page, lock).locator(".pending-note.is-pending")).to_have_count(0)
    assert owner_api.value(lock["id"], path) == "locked"


@pytest.fixture(scope="session")
def guest(hub: HubProcess, owner: dict[str, str], browser: Any) -> dict[str, Any]:
    """A guest created by the owner on the settings page, with the rooms of the lock and a lamp."""
    api = Api(hub.base_url)
    api.login(owner["username"], owner["password"])
    devices = api.devices()
    lock = find_device(devices, "lock")
    lamp = find_device(devices, "onoff", "brightness")
    rooms = {lock["room_id"], lamp["room_id"]} - {None}
    status, body = api.call("GET", "/api/rooms")
    names = {r["id"]: r["name"]["zh"] for r in body["rooms"]}

    ctx = browser.new_context(viewport={"width": 1024, "height": 900})
    page = ctx.new_page()
    login(page, hub, owner["username"], owner["password"])
    page.get_by_role("link", name="设置").click()
    form = page.locator("form", has=page.get_by_role("heading", name="添加用户"))
    form.get_by_label("用户名").fill(GUEST["username"])
    form.get_by_label("显示名称").fill(GUEST["display_name"])
    form.get_by_label("密码", exact=True).fill(GUEST["password"])
    form.get_by_label("角色").select_option("guest")
    for room in rooms:
        form.get_by_label(names[room]).check()
    form.get_by_role("button", name="添加用户").click()
    expect(page.locator(f'[data-user="{GUEST["username"]}"]')).to_be_visible()
    shot(page, "settings-users", full_page=True)
    ctx.close()
    return {**GUEST, "rooms": rooms}


def test_guest_sees_no_lock_controls_and_the_api_refuses_them(
    hub: HubProcess, owner_api: Api, guest: dict[str, Any], new_page: Any
) -> None:
    devices = owner_api.devices()
    lock = find_device(devices, "lock")
    lamp = find_device(devices, "onoff", "brightness")
    lock_path = ensure_locked(owner_api, lock)

    page = new_page()
    login(page, hub, guest["username"], guest["password"])
    expect(card(page, lamp).get_by_role("switch")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("开锁|上锁"))).to_have_count(0)
    expect(page.locator(".lock-panel")).to_have_count(0)
    expect(page.get_by_role("link", name="添加设备")).to_have_count(0)
    for d in devices:
        if d["room_id"] not in guest["rooms"]:
            expect(card(page, d)).to_have_count(0)

    gapi = Api(hub.base_url)
    gapi.login(guest["username"], guest["password"])
    for target in ("main/lock.unlock", "main/lock.lock"):
        comp = lock_path.split("/")[0]
        status, body = gapi.call(
            "POST",
            f"/api/devices/{lock['id']}/commands",
            {"target": target.replace("main", comp, 1), "args": {}, "pin": "135790"},
        )
        assert status in (403, 404), (target, status, body)
    assert owner_api.value(lock["id"], lock_path) == "locked"
    seen = {d["id"]: d for d in gapi.devices()}
    if lock["id"] in seen:
        assert "lock" not in {
            k.split("@")[0]
            for c in seen[lock["id"]]["profile"]["components"].values()
            for k in c["capabilities"]
        }
    shot(page, "guest-home", full_page=True)


def test_gas_alarm_appears_as_a_banner_without_reload(
    hub: HubProcess, owner: dict[str, str], owner_api: Api, sim: Simulator, new_page: Any
) -> None:
    detector = find_device(owner_api.devices(), "gas_detector")
    page = new_page()
    login(page, hub, owner["username"], owner["password"])
    page.evaluate("window.__sameDocument = 'yes'")
    banner = page.locator("zs-gas-banner")
    expect(banner).to_be_hidden()
    expect(banner).to_have_attribute("role", "alert")
    expect(banner).to_have_attribute("aria-live", "assertive")

    sim.gas(detector, on=True, concentration=18)
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("燃气泄漏报警")
    expect(banner).to_contain_text(detector["name"]["zh"])
    expect(banner).to_contain_text("%LEL")
    assert page.evaluate("window.__sameDocument") == "yes", "the page reloaded"
    if "valve" in cap_names(detector):
        # The detector shuts its valve by itself; the banner follows the valve's reports.
        expect(banner).to_contain_text("切断阀：已关闭", timeout=15000)
    # The banner stays on other screens.
    page.get_by_role("link", name="场景").click()
    expect(banner).to_be_visible()
    page.get_by_role("link", name="首页").click()
    page.locator("zs-device-card").first.wait_for()
    shot(page, "gas-alarm-banner")

    sim.gas(detector, on=False)
    expect(banner).to_be_hidden()


def test_burner_offers_off_only(
    hub: HubProcess, owner: dict[str, str], owner_api: Api, new_page: Any
) -> None:
    cooktop = find_device(owner_api.devices(), "burner")
    page = new_page()
    login(page, hub, owner["username"], owner["password"])
    c = card(page, cooktop)
    expect(c).to_be_visible()
    labels = [
        b.get_attribute("aria-label") or b.inner_text() for b in c.get_by_role("button").all()
    ]
    assert not any(re.search(r"点火|打开|ignite|turn on|\bon\b", s, re.I) for s in labels), labels
    commands = set()
    for comp, data in cooktop["profile"]["components"].items():
        for key, cap in data["capabilities"].items():
            if key.split("@")[0] == "burner":
                assert set(cap.get("commands", {})) <= {"off"}, (
                    "the catalogue's burner has no ignite"
                )
                commands.add(comp)
    transport_cmds = (cooktop["profile"].get("commands") or {}).get(cooktop.get("transport"))
    offers_off = transport_cmds is None or any(t.endswith("/burner.off") for t in transport_cmds)
    expect(c.get_by_role("button", name=re.compile("关火"))).to_have_count(
        len(commands) if offers_off else 0
    )
