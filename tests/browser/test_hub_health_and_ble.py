"""Integration health on the settings screen (zh and en), and adding an encrypted BTHome sensor
of the demo home with its bind key: a malformed key is caught in the form, a wrong key is
refused by the hub (``ble_bindkey_wrong``) with a clear message, the right one adds it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from browser_support import Api, HubProcess, login, shot
from playwright.sync_api import expect

pytestmark = pytest.mark.slow

CONTACT = "cn.zs.demo-safety.mc-b2"
WORDS = {
    "zh-CN": {"ok": "正常", "warn": "不可用", "off": "未设置"},
    "en": {"ok": "Working", "warn": "Unavailable", "off": "Not set up"},
}


def _level(name: str, status: dict[str, Any]) -> str:
    if name == "matter" and status.get("configured") is False:
        return "off"
    return "warn" if status.get("ok") is False else "ok"


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_settings_show_each_integrations_health(
    hub: HubProcess, owner: dict[str, str], owner_api: Api, new_page: Any, lang: str
) -> None:
    status, info = owner_api.call("GET", "/api/info")
    assert status == 200
    integrations = info["integrations"]
    assert "ble" in integrations and "zsdp" in integrations
    assert integrations["ble"]["ok"] is True  # the demo's virtual radio is up
    page = new_page()
    login(page, hub, owner["username"], owner["password"])
    page.goto(f"{hub.base_url}/#/settings")
    expect(page.get_by_role("region", name="网关状态")).to_be_visible()
    try:
        if lang == "en":  # the language switch on this screen (saved on the account: undone below)
            page.get_by_role("radio", name="English").check()
        title = "网关状态" if lang == "zh-CN" else "Hub status"
        section = page.get_by_role("region", name=title)
        expect(section).to_be_visible()
        _check_rows(page, section, integrations, lang)
    finally:
        if lang == "en":
            page.get_by_role("radio", name="中文（简体）").check()
            expect(page.get_by_role("region", name="网关状态")).to_be_visible()


def _check_rows(page: Any, section: Any, integrations: dict[str, Any], lang: str) -> None:
    rows = section.locator("li.health-row")
    expect(rows).to_have_count(len(integrations))
    for name, integration_status in integrations.items():
        row = section.locator(f'li[data-integration="{name}"]')
        level = _level(name, integration_status)
        expect(row).to_have_attribute("data-level", level)
        expect(row.locator(".badge")).to_have_text(WORDS[lang][level])
    ble = section.locator('li[data-integration="ble"]')
    expect(ble).to_contain_text("蓝牙" if lang == "zh-CN" else "Bluetooth")
    expect(ble).to_contain_text(re.compile(r"模拟射频|simulated radio"))
    shot(page, f"settings-hub-status-{lang}", full_page=True)


def _bindkey(hub: HubProcess) -> tuple[str, str]:
    manifest = json.loads((hub.data_dir / "demo" / "ble_manifest.json").read_text("utf-8"))
    door = next(d for d in manifest["devices"] if d.get("bindkey"))
    return door["address"], door["bindkey"]


def test_an_encrypted_bthome_sensor_is_added_with_its_bind_key(
    hub: HubProcess, owner: dict[str, str], owner_api: Api, new_page: Any
) -> None:
    address, key = _bindkey(hub)
    contact = next(d for d in owner_api.devices() if d["profile_id"] == CONTACT)
    assert contact["identity"]["key"] == address
    status, _ = owner_api.call("DELETE", f"/api/devices/{contact['id']}")
    assert status in (200, 204)
    try:
        page = new_page()
        login(page, hub, owner["username"], owner["password"])
        page.goto(f"{hub.base_url}/#/add")
        form = page.locator(f'form.discovery[data-key="{address}"]')
        expect(form).to_be_visible(timeout=30000)  # heard again, listed on the next poll
        field = form.get_by_label("密钥（BTHome）")
        expect(field).to_be_visible()
        expect(form.get_by_label(re.compile("配对码"))).to_have_count(0)
        expect(form).to_contain_text("32 位密钥")  # the hint, tied to the field
        hint_id = field.get_attribute("aria-describedby")
        assert hint_id and page.locator(f"#{hint_id}").is_visible()

        # Malformed: caught before anything is sent.
        field.fill("0123-4567")
        form.get_by_role("button", name="添加").click()
        expect(form.get_by_role("alert")).to_contain_text("密钥应为 32 位")
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_be_focused()

        # Well-formed but wrong: the hub refuses it (ble_bindkey_wrong) and nothing is added.
        wrong = "".join("0" if c != "0" else "1" for c in key)
        with page.expect_response(lambda r: r.url.endswith("/api/devices")) as resp:
            field.fill(wrong)
            form.get_by_role("button", name="添加").click()
        assert resp.value.status == 422
        assert resp.value.json()["error"]["code"] == "ble_bindkey_wrong"
        expect(form.get_by_role("alert")).to_contain_text("该密钥无法解开传感器的广播，设备未添加")
        expect(field).to_have_attribute("aria-invalid", "true")
        assert all(d["profile_id"] != CONTACT for d in owner_api.devices())
        shot(page, "add-device-bindkey-wrong", full_page=True)

        # The right key, typed the way a label prints it (groups of four): added.
        field.fill(" ".join(key[i : i + 4].upper() for i in range(0, 32, 4)))
        form.get_by_label("中文名称").fill("卧室窗磁")
        form.get_by_label("英文名称").fill("Bedroom window contact")
        form.get_by_label("房间").select_option("bedroom")
        form.get_by_role("button", name="添加").click()
        page.wait_for_url(re.compile(r"#/device/"), timeout=30000)
        added = next(d for d in owner_api.devices() if d["profile_id"] == CONTACT)
        assert (added["identity"]["key"], added["room_id"]) == (address, "bedroom")
        owner_api.wait_value(added["id"], "main/battery/percent", lambda v: v is not None)
    finally:
        if all(d["profile_id"] != CONTACT for d in owner_api.devices()):
            owner_api.call(  # leave the demo home as it was for the other tests
                "POST",
                "/api/devices",
                {
                    "integration": "ble",
                    "key": address,
                    "name": {"zh": "卧室窗磁", "en": "Bedroom window contact"},
                    "room_id": "bedroom",
                    "profile_id": CONTACT,
                    "secrets": {"bthome_bindkey": key},
                },
            )
