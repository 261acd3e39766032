"""The Matter integration through the hub's API, against a fake Matter server on loopback."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

from matter_env import Env, fixture, start_env, stop_env, wait_for
from matter_fake import FakeMatterServer

LIGHT_CODE = "34970112332"  # passcode 20202021, discriminator 3840
LOCK_CODE = "MT:Y.K9042C00KA0648G00"


def commands(fake: FakeMatterServer, name: str) -> list[dict]:
    return [c for c in fake.commands if c["command"] == name]


async def test_info_lists_matter_connected(env: Env) -> None:
    status, info = await env.call("GET", "/api/info")
    assert status == 200
    matter = info["integrations"]["matter"]
    assert matter["state"] == "connected" and matter["ok"] is True
    assert matter["server_info"]["schema_version"] == 11
    assert matter["message"]["zh"] and matter["message"]["en"]


async def test_commission_control_and_device_reports(env: Env, fake: FakeMatterServer) -> None:
    fake.offer(LIGHT_CODE, fixture("on_off_light.json"))
    status, device = await env.call(
        "POST",
        "/api/matter/commission",
        {"code": "3497-011-2332", "name": {"zh": "门廊灯", "en": "Porch"}, "room": "hall"},
    )
    assert status == 201, device
    assert device["profile_id"] == "generic.matter.on-off-light"
    assert device["name"] == {"zh": "门廊灯", "en": "Porch"} and device["room_id"] == "hall"
    assert device["integration"] == "matter" and device["availability"] == "online"
    node_id = device["identity"]["node_id"]
    assert commands(fake, "commission_with_code")[-1]["args"] == {
        "code": LIGHT_CODE,
        "network_only": True,
    }
    status, same = await env.call("GET", f"/api/devices/{device['id']}")
    assert status == 200 and same["id"] == device["id"]
    assert env.state(device["id"], "main/onoff/on") is False

    # A command goes to the node and is confirmed by the node's own report.
    status, result = await env.call(
        "POST", f"/api/devices/{device['id']}/commands", {"target": "main/onoff.on"}
    )
    assert status == 200, result
    assert result["result"]["status"] == "confirmed"
    sent = commands(fake, "device_command")[-1]["args"]
    assert (sent["node_id"], sent["endpoint_id"], sent["cluster_id"]) == (node_id, 1, 6)
    assert sent["command_name"] == "On" and sent["timed_request_timeout_ms"] is None
    assert fake.nodes[node_id]["attributes"]["1/6/0"] is True

    # Someone presses the lamp's own button: the report reaches the hub's state.
    await fake.set_attribute(node_id, "1/6/0", False)
    await wait_for(lambda: env.state(device["id"], "main/onoff/on") is False, what="report")

    # The node goes away and comes back: availability follows it.
    await fake.set_available(node_id, False)
    await wait_for(lambda: not env.online(device["id"]), what="offline")
    status, result = await env.call(
        "POST", f"/api/devices/{device['id']}/commands", {"target": "main/onoff.on"}
    )
    assert status >= 400 and result["error"]["code"] == "device_offline"
    await fake.set_available(node_id, True)
    await wait_for(lambda: env.online(device["id"]), what="online")


async def test_dimming_and_colour_temperature_convert_units(
    env: Env, fake: FakeMatterServer
) -> None:
    template = fixture("color_temperature_light.json")
    template["attributes"]["0/40/2"] = 0x1234  # a generic CT light, not the Guzhen SKU
    fake.offer(LIGHT_CODE, template)
    status, device = await env.call("POST", "/api/matter/commission", {"code": LIGHT_CODE})
    assert status == 201, device
    assert device["profile_id"] == "generic.matter.color-temperature-light"
    node_id = device["identity"]["node_id"]
    status, result = await env.call(
        "POST",
        f"/api/devices/{device['id']}/commands",
        {"target": "main/brightness.set_level", "args": {"level": 50}},
    )
    assert status == 200 and result["result"]["status"] == "confirmed", result
    sent = commands(fake, "device_command")[-1]["args"]
    assert sent["command_name"] == "MoveToLevelWithOnOff"
    assert sent["payload"]["level"] == 126  # 50 % on 1-254: 126.2, a whole number on the wire
    status, result = await env.call(
        "POST",
        f"/api/devices/{device['id']}/commands",
        {"target": "main/color_temperature.set_kelvin", "args": {"kelvin": 2700}},
    )
    assert status == 200 and result["result"]["status"] == "confirmed", result
    sent = commands(fake, "device_command")[-1]["args"]
    assert sent["payload"]["colorTemperatureMireds"] == 370
    assert fake.nodes[node_id]["attributes"]["1/768/7"] == 370
    assert env.state(device["id"], "main/color_temperature/kelvin") == 2703


async def test_lock_timed_invokes_step_up_and_audit(env: Env, fake: FakeMatterServer) -> None:
    fake.offer(LOCK_CODE, fixture("door_lock.json"))
    status, lock = await env.call("POST", "/api/matter/commission", {"code": LOCK_CODE})
    assert status == 201, lock
    assert lock["profile_id"] == "generic.matter.door-lock"
    node_id = lock["identity"]["node_id"]
    path = f"/api/devices/{lock['id']}/commands"

    status, result = await env.call("POST", path, {"target": "main/lock.unlock"})
    assert status == 403 and result["error"]["code"] == "step_up_required"
    assert not commands(fake, "device_command")  # refused before the device

    status, result = await env.call(
        "POST", path, {"target": "main/lock.unlock", "args": {"pin": "246810"}, "pin": "1234"}
    )
    assert status == 200 and result["result"]["status"] == "confirmed", result
    sent = commands(fake, "device_command")[-1]["args"]
    assert sent["command_name"] == "UnlockDoor" and sent["cluster_id"] == 0x0101
    assert sent["timed_request_timeout_ms"] == 5000  # Matter requires a timed invoke
    assert base64.b64decode(sent["payload"]["PINCode"]) == b"246810"
    assert env.state(lock["id"], "main/lock/lock_state") == "unlocked"

    status, result = await env.call("POST", path, {"target": "main/lock.lock"})
    assert status == 200 and result["result"]["status"] == "confirmed", result
    assert fake.nodes[node_id]["attributes"]["1/257/0"] == 1

    # Someone unlocks at the keypad: an event in the hub and in the audit log.
    await fake.node_event(
        node_id, 1, 0x0101, 2, {"lockOperationType": 1, "operationSource": 3, "userIndex": 4}
    )
    status, events = await wait_for_events(env, lock["id"], 3)
    operations = [e for e in events if e["path"] == "main/lock/lock_operation"]
    assert operations[0]["fields"] == {"operation": "unlock", "source": "keypad", "user_index": 4}
    assert operations[0]["priority"] == "critical"

    entries = await env.audit()
    command_entries = [e for e in entries if e["action"] == "command"]
    assert {e["target"] for e in command_entries} >= {
        f"{lock['id']}/main/lock.unlock",
        f"{lock['id']}/main/lock.lock",
    }
    device_events = [e for e in entries if e["action"] == "device_event"]
    keypad = [e for e in device_events if e["detail"]["fields"].get("source") == "keypad"]
    assert keypad and keypad[0]["target"] == f"{lock['id']}/main/lock/lock_operation"


async def wait_for_events(env: Env, device_id: str, count: int) -> tuple[int, list[dict]]:
    """The device's recent events once there are ``count`` of them (polls the API)."""
    for _ in range(500):
        status, body = await env.call("GET", f"/api/devices/{device_id}/events")
        assert status == 200
        if len(body["events"]) >= count:
            return status, body["events"]
        await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {count} events: {body['events']}")


async def test_bad_codes_are_refused_before_anything_is_sent(
    env: Env, fake: FakeMatterServer
) -> None:
    for code in ("12345", "34970112333", "MT:bad!", ""):
        status, body = await env.call("POST", "/api/matter/commission", {"code": code})
        assert status == 400, body
        assert body["error"]["code"] == "matter_wrong_code"
        assert body["error"]["message"]["zh"] and body["error"]["message"]["en"]
    assert not commands(fake, "commission_with_code")
    status, body = await env.call("POST", "/api/matter/commission", {"code": 3497011})
    assert status == 400 and body["error"]["code"] == "bad_request"
    status, body = await env.call(
        "POST", "/api/matter/commission", {"code": LIGHT_CODE, "room": "attic"}
    )
    assert status == 400 and body["error"]["code"] == "unknown_room"
    assert not commands(fake, "commission_with_code")


async def test_failures_reported_by_an_external_server(env: Env, fake: FakeMatterServer) -> None:
    # An external server says only "NodeCommissionFailed"; its details are passed on.
    status, body = await env.call("POST", "/api/matter/commission", {"code": LIGHT_CODE})
    assert status == 422
    assert body["error"]["code"] == "matter_commission_failed"
    assert "Commission with code failed" in body["error"]["message"]["en"]
    entries = await env.audit(action="device_added")
    assert entries[0]["result"] == "failed"


async def test_commissioning_that_never_ends_times_out(tmp_path: Path) -> None:
    from matter_env import FAST

    fake = FakeMatterServer()
    await fake.start()
    fake.commission_delay = 30
    from dataclasses import replace

    env = await start_env(tmp_path, replace(FAST, commission_timeout=0.5), matter_url=fake.url)
    try:
        await wait_for(lambda: env.matter.status()["state"] == "connected")
        fake.offer(LIGHT_CODE, fixture("on_off_light.json"))
        status, body = await env.call("POST", "/api/matter/commission", {"code": LIGHT_CODE})
        assert status == 504 and body["error"]["code"] == "matter_commission_timeout"
    finally:
        await stop_env(env)
        await fake.stop()


async def test_members_may_commission_guests_may_not(env: Env, fake: FakeMatterServer) -> None:
    fake.offer(LIGHT_CODE, fixture("on_off_light.json"))
    status, body = await env.call("POST", "/api/matter/commission", {"code": LIGHT_CODE}, "guest")
    assert status == 403
    status, body = await env.call("POST", "/api/matter/commission", {"code": LIGHT_CODE}, None)
    assert status == 401
    status, body = await env.call("POST", "/api/matter/commission", {"code": LIGHT_CODE}, "member")
    assert status == 201, body


async def test_dump_and_removal(env: Env, fake: FakeMatterServer) -> None:
    fake.offer(LIGHT_CODE, fixture("extended_color_light.json"))
    status, device = await env.call("POST", "/api/matter/commission", {"code": LIGHT_CODE})
    assert status == 201
    node_id = device["identity"]["node_id"]
    status, dump = await env.call("GET", f"/api/matter/nodes/{device['id']}/dump")
    assert status == 200
    assert dump == fake.nodes[node_id]
    assert dump["attributes"]["0/40/3"] == "RGBW Bulb"
    status, body = await env.call("GET", "/api/matter/nodes/nope/dump")
    assert status == 404 and body["error"]["code"] == "unknown_device"

    # The light lives on endpoint 2: commands are sent there.
    status, result = await env.call(
        "POST",
        f"/api/devices/{device['id']}/commands",
        {"target": "main/color.set_hs", "args": {"hue": 120, "saturation": 50}},
    )
    assert status == 200 and result["result"]["status"] == "confirmed", result
    assert commands(fake, "device_command")[-1]["args"]["endpoint_id"] == 2

    status, _ = await env.call("DELETE", f"/api/devices/{device['id']}")
    assert status == 204
    assert node_id not in fake.nodes
    assert commands(fake, "remove_node")[-1]["args"] == {"node_id": node_id}
    assert env.hub.registry.get(device["id"]) is None


async def test_server_restart_is_survived(env: Env, fake: FakeMatterServer) -> None:
    fake.offer(LIGHT_CODE, fixture("on_off_light.json"))
    status, device = await env.call("POST", "/api/matter/commission", {"code": LIGHT_CODE})
    assert status == 201
    node_id = device["identity"]["node_id"]
    connects = env.matter.connects
    await fake.restart()
    await wait_for(lambda: env.matter.connects > connects, what="reconnect")
    assert not env.online(device["id"])  # back, but the server has no subscription yet
    await fake.resubscribe_all()
    await wait_for(lambda: env.online(device["id"]), what="node back")
    await fake.set_attribute(node_id, "1/6/0", True)
    await wait_for(lambda: env.state(device["id"], "main/onoff/on") is True, what="report")
    status, result = await env.call(
        "POST", f"/api/devices/{device['id']}/commands", {"target": "main/onoff.off"}
    )
    assert status == 200 and result["result"]["status"] == "confirmed", result


async def test_server_down_at_start_then_up(tmp_path: Path) -> None:
    from matter_env import free_port

    port = free_port()
    env = await start_env(tmp_path, matter_url=f"ws://127.0.0.1:{port}/ws")
    fake = FakeMatterServer()
    try:
        await wait_for(lambda: env.matter.last_error is not None, what="first failure")
        status, body = await env.call("POST", "/api/matter/commission", {"code": LIGHT_CODE})
        assert status == 503 and body["error"]["code"] == "matter_unavailable"
        _, info = await env.call("GET", "/api/info")
        assert info["integrations"]["matter"]["state"] == "disconnected"
        await fake.start(port=port)
        await wait_for(lambda: env.matter.status()["state"] == "connected", what="connected")
    finally:
        await stop_env(env)
        await fake.stop()


async def test_not_configured_is_idle_and_says_so(tmp_path: Path) -> None:
    env = await start_env(tmp_path)
    try:
        _, info = await env.call("GET", "/api/info")
        matter = info["integrations"]["matter"]
        assert matter["state"] == "not_configured" and matter["configured"] is False
        status, body = await env.call("POST", "/api/matter/commission", {"code": LIGHT_CODE})
        assert status == 503 and body["error"]["code"] == "matter_unavailable"
        assert "not configured" in body["error"]["message"]["en"]
    finally:
        await stop_env(env)


async def test_nodes_already_on_the_server_can_be_added(tmp_path: Path) -> None:
    fake = FakeMatterServer()
    node = fake.add_node(fixture("occupancy_sensor.json"))
    await fake.start()
    env = await start_env(tmp_path, matter_url=fake.url)
    try:
        await wait_for(lambda: env.matter.status()["state"] == "connected")
        _, found = await env.call("GET", "/api/discoveries")
        offered = [d for d in found["discoveries"] if d["key"] == f"node-{node['node_id']}"]
        assert offered and offered[0]["match"]["best"] == "generic.matter.occupancy-sensor"
        status, device = await env.call(
            "POST",
            "/api/devices",
            {
                "integration": "matter",
                "key": f"node-{node['node_id']}",
                "name": {"zh": "门厅人体", "en": "Hall motion"},
            },
        )
        assert status == 201, device
        assert not commands(fake, "commission_with_code")  # no code needed
        assert env.state(device["id"], "main/occupancy/occupied") is True
        _, found = await env.call("GET", "/api/discoveries")
        assert not [d for d in found["discoveries"] if d["integration"] == "matter"]
    finally:
        await stop_env(env)
        await fake.stop()


async def test_malformed_frames_are_dropped(env: Env, fake: FakeMatterServer) -> None:
    fake.offer(LIGHT_CODE, fixture("on_off_light.json"))
    status, device = await env.call("POST", "/api/matter/commission", {"code": LIGHT_CODE})
    assert status == 201
    for ws in list(fake.listeners):
        await ws.send_str("{not json")
        await ws.send_str("[1, 2]")
        await ws.send_json({"event": "attribute_updated", "data": "nonsense"})
        await ws.send_json({"event": "node_event", "data": {"node_id": "x"}})
    await fake.set_attribute(device["identity"]["node_id"], "1/6/0", True)
    await wait_for(lambda: env.state(device["id"], "main/onoff/on") is True, what="still working")
    assert env.matter.connects == 1


async def test_devices_come_back_after_a_hub_restart(tmp_path: Path) -> None:
    fake = FakeMatterServer()
    await fake.start()
    env = await start_env(tmp_path, matter_url=fake.url)
    try:
        await wait_for(lambda: env.matter.status()["state"] == "connected")
        fake.offer(LIGHT_CODE, fixture("on_off_light.json"))
        status, device = await env.call("POST", "/api/matter/commission", {"code": LIGHT_CODE})
        assert status == 201
    finally:
        await stop_env(env)
    port = fake.port
    await fake.stop()
    # The hub starts while the server is down: the device is there, offline.
    env = await start_env(tmp_path, tokens=env.tokens, matter_url=f"ws://127.0.0.1:{port}/ws")
    try:
        await wait_for(lambda: env.matter.last_error is not None, what="first failure")
        assert not env.online(device["id"])
        await fake.start(port=port)
        await wait_for(lambda: env.online(device["id"]), what="back online")
        status, result = await env.call(
            "POST", f"/api/devices/{device['id']}/commands", {"target": "main/onoff.on"}
        )
        assert status == 200 and result["result"]["status"] == "confirmed", result
    finally:
        await stop_env(env)
        await fake.stop()


async def test_fan_settings_are_attribute_writes(env: Env, fake: FakeMatterServer) -> None:
    fake.offer(LIGHT_CODE, fixture("fan.json"))
    status, fan = await env.call("POST", "/api/matter/commission", {"code": LIGHT_CODE})
    assert status == 201 and fan["profile_id"] == "generic.matter.fan"
    node_id = fan["identity"]["node_id"]
    path = f"/api/devices/{fan['id']}/commands"
    status, result = await env.call(
        "POST", path, {"target": "main/fan.set_mode", "args": {"mode": "low"}}
    )
    assert status == 200 and result["result"]["status"] == "confirmed", result
    assert commands(fake, "write_attribute")[-1]["args"] == {
        "node_id": node_id,
        "attribute_path": "1/514/0",  # FanMode, decimal as the server writes paths
        "value": 1,
    }
    status, result = await env.call(
        "POST", path, {"target": "main/fan.set_percent", "args": {"percent": 40}}
    )
    assert status == 200 and result["result"]["status"] == "confirmed", result
    assert fake.nodes[node_id]["attributes"]["1/514/2"] == 40
    assert env.state(fan["id"], "main/fan/percent") == 40
