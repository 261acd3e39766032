"""The other screens: scenes (run, result per device), rules (enable/disable, trace of each run),
add device (discovered devices, pairing code) and API tokens."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_support import Api, HubProcess, login, shot
from playwright.sync_api import expect

pytestmark = pytest.mark.slow


def listed(api: Api, path: str, key: str) -> list[dict[str, Any]]:
    status, body = api.call("GET", path)
    assert status == 200, (path, status, body)
    return list(body[key] if isinstance(body, dict) else body)


def test_scene_run_shows_a_result_per_device(
    hub: HubProcess, owner: dict[str, str], owner_api: Api, new_page: Any
) -> None:
    scenes = listed(owner_api, "/api/scenes", "scenes")
    if not scenes:
        pytest.fail("the demo home has no scenes")
    scene = next((s for s in scenes if "unlock" not in s.get("opt_in", [])), scenes[0])
    page = new_page()
    login(page, hub, owner["username"], owner["password"])
    page.get_by_role("link", name="场景").click()
    expect(page.get_by_role("heading", level=1, name="场景")).to_be_visible()
    section = page.locator(f'section[data-scene="{scene["id"]}"]')
    expect(section).to_contain_text(scene["name"]["zh"])
    with page.expect_response(
        lambda r: r.url.endswith(f"/api/scenes/{scene['id']}/run"), timeout=30000
    ) as resp:
        section.get_by_role("button", name=f"执行场景“{scene['name']['zh']}”").click()
    body = resp.value.json()
    result = body.get("result", body)
    expect(section.locator(".scene-summary")).to_be_visible()
    outcome = section.locator(".outcome")
    expect(outcome).to_have_count(len(result["devices"]))
    for i, device in enumerate(result["devices"]):
        expect(outcome.nth(i)).to_have_attribute("data-status", device["status"])
        expect(outcome.nth(i).locator(".badge")).not_to_be_empty()
    shot(page, "scenes", full_page=True)


def test_rule_can_be_turned_off_and_on_and_shows_its_runs(
    hub: HubProcess, owner: dict[str, str], owner_api: Api, new_page: Any
) -> None:
    rules = listed(owner_api, "/api/rules", "rules")
    rule = next((r for r in rules if not r.get("safety")), None)
    if rule is None:
        pytest.fail("the demo home has no rule a user may turn off")
    page = new_page()
    login(page, hub, owner["username"], owner["password"])
    page.get_by_role("link", name="自动化").click()
    expect(page.get_by_role("heading", level=1, name="自动化")).to_be_visible()
    row = page.locator(f'[data-rule="{rule["id"]}"]')
    switch = row.get_by_role("switch")
    was = rule.get("enabled", True)
    expect(switch).to_have_attribute("aria-checked", "true" if was else "false")
    switch.click()
    expect(switch).to_have_attribute("aria-checked", "false" if was else "true")
    assert next(r for r in listed(owner_api, "/api/rules", "rules") if r["id"] == rule["id"])[
        "enabled"
    ] is (not was)
    switch.click()
    expect(switch).to_have_attribute("aria-checked", "true" if was else "false")
    assert (
        next(r for r in listed(owner_api, "/api/rules", "rules") if r["id"] == rule["id"])[
            "enabled"
        ]
        is was
    )
    for safety in (r for r in rules if r.get("safety")):
        expect(page.locator(f'[data-rule="{safety["id"]}"]').get_by_role("switch")).to_be_disabled()
    shot(page, "rules", full_page=True)

    row.get_by_role("link", name=rule["name"]["zh"]).click()
    expect(page.get_by_role("heading", level=1, name=rule["name"]["zh"])).to_be_visible()
    expect(page.get_by_role("heading", name="运行记录")).to_be_visible()
    traces = page.locator(".trace")
    if traces.count():
        traces.first.locator("summary").click()
        expect(traces.first.locator(".trace-body")).to_be_visible()
        expect(traces.first.get_by_role("heading", name="触发")).to_be_visible()
    shot(page, "rule-trace", full_page=True)


def test_add_device_lists_discoveries_with_a_pairing_code_field(
    hub: HubProcess, owner: dict[str, str], new_page: Any
) -> None:
    # Adding a device talks to it: one that went away meanwhile answers 502/504, which the form
    # shows like any other error.
    page = new_page(allow_server_errors=True)
    login(page, hub, owner["username"], owner["password"])
    page.get_by_role("link", name="添加设备").click()
    expect(page.get_by_role("heading", level=1, name="添加设备")).to_be_visible()
    # The list is live (what mDNS sees right now): either discoveries or the "none yet" text.
    forms = page.locator("form.discovery")
    expect(forms.or_(page.get_by_text("暂未发现新设备")).first).to_be_visible()
    if not forms.count():
        shot(page, "add-device")
        return
    form = forms.first
    expect(form.get_by_label(re.compile("配对码"))).to_be_visible()
    expect(form.get_by_label("中文名称")).not_to_have_value("")
    form.get_by_label(re.compile("配对码")).fill("00000000")
    form.get_by_role("button", name="添加").click()
    expect(form.get_by_role("alert")).not_to_be_empty(timeout=30000)
    shot(page, "add-device", full_page=True)


def test_token_is_shown_once_and_can_be_revoked(
    hub: HubProcess, owner: dict[str, str], new_page: Any
) -> None:
    page = new_page()
    login(page, hub, owner["username"], owner["password"])
    page.get_by_role("link", name="设置").click()
    section = page.locator("section", has=page.get_by_role("heading", name="API 令牌"))
    section.get_by_label("令牌名称").fill("安装商脚本")
    section.get_by_role("button", name="创建").click()
    secret = section.get_by_label("新令牌")
    expect(secret).to_be_visible()
    value = secret.input_value()
    assert len(value) >= 16

    assert bearer_status(hub, value) == 200

    section.get_by_role("button", name="吊销令牌 安装商脚本").click()
    page.get_by_role("dialog").get_by_role("button", name="吊销").click()
    expect(section.get_by_role("button", name="吊销令牌 安装商脚本")).to_have_count(0)
    assert bearer_status(hub, value) == 401


def bearer_status(hub: HubProcess, token: str) -> int:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(
        f"{hub.base_url}/api/devices", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
