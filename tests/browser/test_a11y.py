"""Accessibility: every interactive element in the accessibility tree has a name; focus moves in
document order with the keyboard, the lamp toggles from the keyboard, and the PIN dialog traps
focus, closes on Escape and hands focus back."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from browser_support import Api, HubProcess, find_device, login, state_path
from playwright.sync_api import expect

pytestmark = pytest.mark.slow

INTERACTIVE = {
    "button",
    "link",
    "switch",
    "slider",
    "textbox",
    "searchbox",
    "combobox",
    "listbox",
    "radio",
    "checkbox",
    "spinbutton",
    "menuitem",
    "tab",
    "dialog",
    "alertdialog",
    "img",
}


def unnamed_controls(page: Any) -> list[str]:
    """Interactive nodes of Chromium's accessibility tree that have no accessible name."""
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    bad = []
    for node in nodes:
        if node.get("ignored"):
            continue
        role = (node.get("role") or {}).get("value")
        if role not in INTERACTIVE:
            continue
        name = str((node.get("name") or {}).get("value") or "").strip()
        if not name:
            bad.append(f"{role} (backend node {node.get('backendDOMNodeId')})")
    return bad


def describe_unnamed(page: Any, bad: list[str]) -> str:
    return "\n".join(bad) + "\n" + page.locator("main").inner_html()[:2000]


@pytest.mark.parametrize("route", ["/", "/scenes", "/rules", "/add", "/settings", "device"])
def test_every_control_has_an_accessible_name(
    hub: HubProcess, owner: dict[str, str], owner_api: Api, new_page: Any, route: str
) -> None:
    page = new_page()
    login(page, hub, owner["username"], owner["password"])
    if route == "device":
        lamp = find_device(owner_api.devices(), "onoff", "brightness")
        route = f"/device/{lamp['id']}"
    page.goto(f"{hub.base_url}/#{route}")
    page.locator("h1").first.wait_for()
    page.wait_for_load_state("networkidle")
    bad = unnamed_controls(page)
    assert not bad, describe_unnamed(page, bad)


def test_login_page_controls_have_names(hub: HubProcess, new_page: Any) -> None:
    page = new_page()
    page.goto(f"{hub.base_url}/#/login")
    page.get_by_role("heading", name="登录").wait_for()
    assert not unnamed_controls(page)
    expect(page.get_by_role("textbox", name="用户名")).to_be_focused()


def focused_summary(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """() => { const el = document.activeElement;
          return { tag: el.tagName, role: el.getAttribute('role'),
                   name: el.getAttribute('aria-label') || el.textContent.trim().slice(0, 40),
                   index: [...document.querySelectorAll('*')].indexOf(el) }; }"""
    )


def test_keyboard_reaches_and_toggles_the_lamp_in_document_order(
    hub: HubProcess, owner: dict[str, str], owner_api: Api, new_page: Any
) -> None:
    lamp = find_device(owner_api.devices(), "onoff", "brightness")
    path = state_path(lamp, "onoff", "on")
    before = owner_api.value(lamp["id"], path) is True
    page = new_page()
    login(page, hub, owner["username"], owner["password"])
    page.reload()  # as a keyboard user arrives: focus starts at the top of the page
    page.locator("zs-device-card, .rooms .empty").first.wait_for()
    page.keyboard.press("Tab")
    first = focused_summary(page)
    assert first["name"] == "跳到主要内容", first
    assert page.locator(".skip-link").is_visible()

    switch = page.locator(f'zs-device-card[data-device-id="{lamp["id"]}"]').get_by_role("switch")
    switch_name = switch.get_attribute("aria-label")
    seen = [first]
    for _ in range(200):
        page.keyboard.press("Tab")
        now = focused_summary(page)
        assert now["index"] > seen[-1]["index"], f"focus went backwards: {seen[-1]} → {now}"
        seen.append(now)
        if now["role"] == "switch" and now["name"] == switch_name:
            break
    else:
        pytest.fail(f"Tab never reached the lamp switch; path: {seen[:30]}")
    expect(switch).to_be_focused()
    page.keyboard.press("Space")
    expect(switch).to_have_attribute("aria-checked", json.dumps(not before))
    owner_api.wait_value(lamp["id"], path, lambda v: v is (not before))
    expect(switch).to_be_focused()
    page.keyboard.press("Enter")
    owner_api.wait_value(lamp["id"], path, lambda v: v is before)


def test_skip_link_moves_focus_to_main(
    hub: HubProcess, owner: dict[str, str], new_page: Any
) -> None:
    page = new_page()
    login(page, hub, owner["username"], owner["password"])
    page.reload()
    page.locator("zs-device-card, .rooms .empty").first.wait_for()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="跳到主要内容")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    assert page.url.endswith("#/"), "the skip link must not change the route"


def test_pin_dialog_by_keyboard(
    hub: HubProcess, owner: dict[str, str], owner_api: Api, new_page: Any
) -> None:
    lock = find_device(owner_api.devices(), "lock")
    path = state_path(lock, "lock", "lock_state")
    comp = path.split("/")[0]
    if owner_api.value(lock["id"], path) != "locked":
        owner_api.call(
            "POST",
            f"/api/devices/{lock['id']}/commands",
            {"target": f"{comp}/lock.lock", "args": {}},
        )
        owner_api.wait_value(lock["id"], path, lambda v: v == "locked")
    page = new_page()
    login(page, hub, owner["username"], owner["password"])
    unlock = page.locator(f'zs-device-card[data-device-id="{lock["id"]}"]').get_by_role(
        "button", name=re.compile("开锁")
    )
    unlock.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    assert not unnamed_controls(page)
    pin = dialog.get_by_label("PIN 码")
    expect(pin).to_be_focused()

    # Tab cycles through the dialog's controls only: PIN → Cancel → Unlock → (wraps) PIN.
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="取消")).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="开锁")).to_be_focused()
    for _ in range(4):
        page.keyboard.press("Tab")
        inside = page.evaluate(
            "() => !!document.activeElement.closest('dialog')"
            " || document.activeElement === document.body"
        )
        assert inside, f"focus left the dialog: {focused_summary(page)}"
    page.keyboard.press("Shift+Tab")

    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(unlock).to_be_focused()
    assert owner_api.value(lock["id"], path) == "locked"

    page.keyboard.press("Enter")
    expect(pin).to_be_focused()
    page.keyboard.type(owner["pin"])
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_have_count(0)
    owner_api.wait_value(lock["id"], path, lambda v: v == "unlocked")
    expect(unlock).to_be_focused()

    relock = page.locator(f'zs-device-card[data-device-id="{lock["id"]}"]').get_by_role(
        "button", name=re.compile("上锁")
    )
    relock.focus()
    page.keyboard.press("Enter")
    owner_api.wait_value(lock["id"], path, lambda v: v == "locked")
