"""Home screen: owner login, a lamp switched and dimmed with the simulated device confirming,
the device page with its history chart, language switch, and a phone-sized screen."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from browser_support import Api, HubProcess, find_device, login, shot, state_path
from playwright.sync_api import expect

pytestmark = pytest.mark.slow

WATCH_PENDING = """(sel) => {
  window.__pendingSeen = '';
  // Watch the whole document: the card may be rebuilt (e.g. by the first live snapshot after
  // login) between this call and the command, and a detached card never shows the note.
  const look = () => {
    const note = document.querySelector(`${sel} .pending-note.is-pending`);
    if (note && !window.__pendingSeen) window.__pendingSeen = note.textContent;
  };
  const all = { subtree: true, childList: true, attributes: true, characterData: true };
  new MutationObserver(look).observe(document.body, all);
}"""


def card_selector(device: dict[str, Any]) -> str:
    return f'zs-device-card[data-device-id="{device["id"]}"]'


def test_owner_login_shows_home_by_room(
    hub: HubProcess, owner: dict[str, str], owner_api: Api, new_page: Any
) -> None:
    page = new_page()
    page.goto(f"{hub.base_url}/")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    page.get_by_label("用户名").fill(owner["username"])
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("form").get_by_role("alert")).to_contain_text("用户名或密码不正确")

    page.get_by_label("密码").fill(owner["password"])
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="我的家")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")

    devices = owner_api.devices()
    status, body = owner_api.call("GET", "/api/rooms")
    assert status == 200
    rooms_with_devices = {d["room_id"] for d in devices if d["room_id"]}
    for room in body["rooms"]:
        if room["id"] in rooms_with_devices:
            expect(
                page.get_by_role(
                    "heading", level=2, name=re.compile("^" + re.escape(room["name"]["zh"]))
                )
            ).to_be_visible()
    expect(page.locator("zs-device-card")).to_have_count(len(devices))
    for d in devices:
        expect(page.locator(card_selector(d))).to_contain_text(d["name"]["zh"])
    expect(page.get_by_role("navigation", name="主导航")).to_be_visible()
    shot(page, "home-zh", full_page=True)


def test_lamp_toggle_is_confirmed_by_the_device(
    hub: HubProcess, owner: dict[str, str], owner_api: Api, new_page: Any
) -> None:
    lamp = find_device(owner_api.devices(), "onoff", "brightness")
    path = state_path(lamp, "onoff", "on")
    before = owner_api.value(lamp["id"], path) is True
    page = new_page()
    login(page, hub, owner["username"], owner["password"])
    card = page.locator(card_selector(lamp))
    switch = card.get_by_role("switch", name=re.compile(re.escape(lamp["name"]["zh"])))
    expect(switch).to_have_attribute("aria-checked", json.dumps(before))

    page.evaluate(WATCH_PENDING, card_selector(lamp))
    switch.click()
    expect(switch).to_have_attribute("aria-checked", json.dumps(not before))
    expect(card.locator(".pending-note.is-pending")).to_have_count(0, timeout=15000)
    assert page.evaluate("window.__pendingSeen") == "等待设备确认", (
        "the switch never showed the pending state"
    )
    assert owner_api.wait_value(lamp["id"], path, lambda v: v is (not before)) is (not before)

    # And back, so other tests find the lamp as it was.
    switch.click()
    expect(switch).to_have_attribute("aria-checked", json.dumps(before))
    expect(card.locator(".pending-note.is-pending")).to_have_count(0, timeout=15000)
    owner_api.wait_value(lamp["id"], path, lambda v: v is before)


def test_brightness_slider_sets_the_level(
    hub: HubProcess, owner: dict[str, str], owner_api: Api, new_page: Any
) -> None:
    lamp = find_device(owner_api.devices(), "onoff", "brightness")
    path = state_path(lamp, "brightness", "level")
    current = owner_api.value(lamp["id"], path)
    target = 40 if current != 40 else 70
    page = new_page()
    login(page, hub, owner["username"], owner["password"])
    card = page.locator(card_selector(lamp))
    slider = card.get_by_role("slider", name=re.compile("亮度"))
    page.evaluate(WATCH_PENDING, card_selector(lamp))
    slider.evaluate(
        """(el, v) => { el.value = String(v); el.dispatchEvent(new Event('input', {bubbles: true}));
                       el.dispatchEvent(new Event('change', {bubbles: true})); }""",
        target,
    )
    owner_api.wait_value(lamp["id"], path, lambda v: v is not None and abs(v - target) < 1)
    expect(card.locator(".widget-slider output").first).to_have_text(f"{target}%")
    expect(card.locator(".pending-note.is-pending")).to_have_count(0, timeout=15000)
    assert page.evaluate("window.__pendingSeen") == "等待设备确认"

    # The keyboard works too: one step down from the target.
    slider.focus()
    page.keyboard.press("ArrowLeft")
    owner_api.wait_value(lamp["id"], path, lambda v: v is not None and abs(v - (target - 1)) < 1)
    expect(slider).to_have_attribute("aria-valuetext", f"{target - 1}%")


def test_device_page_has_history_chart_and_events(
    hub: HubProcess, owner: dict[str, str], owner_api: Api, new_page: Any
) -> None:
    lamp = find_device(owner_api.devices(), "onoff", "brightness")
    page = new_page(width=1280, height=1000)
    login(page, hub, owner["username"], owner["password"])
    page.locator(card_selector(lamp)).get_by_role("link", name=lamp["name"]["zh"]).click()
    expect(page).to_have_url(re.compile(f"#/device/{re.escape(lamp['id'])}$"))
    expect(page.get_by_role("heading", level=1, name=lamp["name"]["zh"])).to_be_visible()
    expect(page.get_by_role("heading", name="状态历史")).to_be_visible()
    chart = page.locator("zs-history-chart")
    page.get_by_label("数据").select_option(state_path(lamp, "brightness", "level"))
    expect(chart.get_by_role("img")).to_be_visible()
    expect(chart.locator("path.chart-line")).to_have_count(1)
    expect(page.get_by_role("heading", name="最近事件")).to_be_visible()
    expect(page.get_by_role("heading", name="设备信息")).to_be_visible()
    shot(page, "device-detail", full_page=True)


def test_language_switch_to_english_and_back(
    hub: HubProcess, owner: dict[str, str], owner_api: Api, new_page: Any
) -> None:
    lamp = find_device(owner_api.devices(), "onoff")
    page = new_page()
    login(page, hub, owner["username"], owner["password"])
    with page.expect_request(lambda r: r.method == "PATCH" and "/api/users/" in r.url) as req:
        page.get_by_role("button", name="切换为英文界面").click()
    assert json.loads(req.value.post_data or "{}") == {"language": "en"}
    expect(page.get_by_role("heading", name="My home")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("link", name="Scenes")).to_be_visible()
    expect(page.locator(card_selector(lamp))).to_contain_text(lamp["name"]["en"])
    expect(page.get_by_role("button", name="Switch to Chinese")).to_be_focused()
    assert page.evaluate("localStorage.getItem('zshub.language')") == "en"

    page.reload()
    expect(page.get_by_role("heading", name="My home")).to_be_visible()
    page.locator("zs-device-card").first.wait_for()
    shot(page, "home-en", full_page=True)

    page.get_by_role("link", name="Settings").click()
    page.get_by_role("radio", name="中文（简体）").check()
    expect(page.get_by_role("heading", level=1, name="设置")).to_be_visible()
    expect(page.get_by_role("radio", name="中文（简体）")).to_be_focused()
    assert page.evaluate("localStorage.getItem('zshub.language')") == "zh-CN"


def test_phone_sized_screen(
    hub: HubProcess, owner: dict[str, str], owner_api: Api, new_page: Any
) -> None:
    lamp = find_device(owner_api.devices(), "onoff", "brightness")
    path = state_path(lamp, "onoff", "on")
    page = new_page(width=375, height=812, is_mobile=True, has_touch=True)
    login(page, hub, owner["username"], owner["password"])
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at 375px"
    nav = page.get_by_role("navigation", name="主导航")
    box = nav.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 812 + 1 and box["y"] > 600, (
        "the tab bar sits at the bottom"
    )

    card = page.locator(card_selector(lamp))
    switch = card.get_by_role("switch")
    sb = switch.bounding_box()
    assert sb is not None and sb["width"] >= 44 and sb["height"] >= 44, (
        f"touch target too small: {sb}"
    )
    for el in page.locator("zs-device-card button, zs-device-card .segment span").all()[:40]:
        b = el.bounding_box()
        if b and b["width"] and b["height"]:
            assert b["height"] >= 44, f"touch target too small: {el.inner_text()!r} {b}"
    before = owner_api.value(lamp["id"], path) is True
    switch.tap()
    expect(switch).to_have_attribute("aria-checked", json.dumps(not before))
    owner_api.wait_value(lamp["id"], path, lambda v: v is (not before))
    expect(card.locator(".pending-note.is-pending")).to_have_count(0, timeout=15000)
    shot(page, "phone-375-home")
    switch.tap()
    owner_api.wait_value(lamp["id"], path, lambda v: v is before)

    page.goto(f"{hub.base_url}/#/device/{lamp['id']}")
    expect(page.get_by_role("heading", name="状态历史")).to_be_visible()
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the device page scrolls sideways by {overflow}px at 375px"
    shot(page, "phone-375-device")
    page.locator("zs-history-chart").scroll_into_view_if_needed()
    shot(page, "phone-375-device-chart")
