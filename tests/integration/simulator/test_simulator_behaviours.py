"""Simulated devices through a real hub session (``HubConnection`` over 127.0.0.1) and the real
control socket: what a hub writes, what the device reports, and what the profile derives."""

from __future__ import annotations

import asyncio

import pytest
from simrig import (
    CONTACT,
    COOKTOP,
    GAS,
    HEATER,
    HOOD,
    LAMP,
    LOCK,
    PURIFIER,
    RICE,
    RigFactory,
)

from integrations.zsdp import (
    ConnectionClosedError,
    ErrorCode,
    HandshakeError,
    HubConnection,
    RemoteError,
    dp_bool,
    dp_enum,
    dp_string,
    dp_value,
)
from integrations.zsdp.simulator import SimulatorControlError


def events(decoded: object) -> dict[str, dict[str, object]]:
    return dict(decoded.events)  # type: ignore[attr-defined]


async def test_lamp_brightness_set_by_the_hub_is_reported(make_rig: RigFactory) -> None:
    rig = await make_rig(LAMP)
    s = await rig.pair(LAMP)
    assert s.value("main/onoff/on") is False
    assert s.value("main/brightness/level") == pytest.approx(60, abs=0.1)
    await s.conn.set({22: dp_value(500), 20: dp_bool(True)})
    raw, decoded = await s.report()
    assert raw == {22: 500, 20: True}
    assert decoded.states["main/brightness/level"] == pytest.approx(50, abs=0.1)
    assert decoded.states["main/onoff/on"] is True
    assert (await s.conn.get([22]))[22].value == 500
    # Choosing a colour temperature takes the lamp out of its scene (back to white).
    await s.conn.set({21: dp_enum("scene_2")})
    await s.report()
    await s.conn.set({23: dp_value(500)})
    raw, decoded = await s.report()
    assert raw == {23: 500, 21: "white"}
    assert decoded.states["main/color_temperature/kelvin"] == 4600


async def test_a_set_is_checked_entirely_before_anything_applies(make_rig: RigFactory) -> None:
    rig = await make_rig(LAMP)
    s = await rig.pair(LAMP)
    cases = [
        ({22: dp_value(5000)}, ErrorCode.OUT_OF_RANGE, 22),  # linear raw range 10..1000
        ({20: dp_bool(True), 99: dp_bool(True)}, ErrorCode.UNKNOWN_DP, 99),
        ({20: dp_value(1)}, ErrorCode.BAD_TYPE, 20),
        ({21: dp_enum("disco")}, ErrorCode.OUT_OF_RANGE, 21),
    ]
    for values, code, dp in cases:
        with pytest.raises(RemoteError) as err:
            await s.conn.set(values)
        assert (err.value.code, err.value.dp) == (code, dp)
    assert (await s.conn.get([20]))[20].value is False  # nothing of the failed SETs applied
    with pytest.raises(RemoteError) as err:
        await s.conn.invoke(1)
    assert err.value.code == ErrorCode.UNKNOWN_ACTION


async def test_burner_off_from_the_network_but_lit_only_by_hand(make_rig: RigFactory) -> None:
    rig = await make_rig(COOKTOP)
    s = await rig.pair(COOKTOP)
    device = rig.device(COOKTOP).device_id
    binding = s.binding
    # Nothing in the binding or on the wire can light gas.
    assert not [c for c in binding.supported_commands() if "burner." in c and "off" not in c]
    for values, code in [
        ({1: dp_bool(True)}, ErrorCode.READ_ONLY),  # the "ignited" DP
        ({3: dp_value(5)}, ErrorCode.READ_ONLY),  # firepower
        ({9: dp_bool(False)}, ErrorCode.OUT_OF_RANGE),  # the shut-off channel only closes
    ]:
        with pytest.raises(RemoteError) as err:
            await s.conn.set(values)
        assert err.value.code == code
    assert s.value("burner_left/burner/ignited") is False

    # Lit by hand (the knob), through the control socket.
    reported = await rig.control.act(device, "ignite", burner="left", level=6)
    assert reported == [{"3": 6, "1": True}]  # flame protection was already "normal"
    raw, decoded = await s.report()
    assert decoded.states["burner_left/burner/ignited"] is True
    assert "burner_left/burner/ignited" in events(decoded)

    # Switched off from the network: burner_left/burner.off writes DP 9.
    writes = binding.encode_command("burner_left/burner.off")
    assert writes == [(9, True)]
    await s.conn.set({9: dp_bool(True)})
    raw, decoded = await s.report()
    assert raw[1] is False and raw[3] == 0
    assert "burner_left/burner/extinguished" in events(decoded)
    assert 9 not in await s.conn.get()  # a write-only channel is not state

    with pytest.raises(SimulatorControlError) as cerr:
        await rig.control.act(device, "ignite", level=3)  # which burner?
    assert "burner" in cerr.value.message


async def test_flame_out_trips_the_protection_and_puts_the_flame_out(make_rig: RigFactory) -> None:
    rig = await make_rig(COOKTOP)
    s = await rig.pair(COOKTOP)
    device = rig.device(COOKTOP).device_id
    await rig.control.act(device, "ignite", burner="right")
    await rig.control.act(device, "flame_out", burner="right")
    await s.report()
    raw, decoded = await s.report()
    assert raw == {6: "tripped", 2: False, 4: 0}
    assert {"burner_right/burner/flame_out", "burner_right/burner/extinguished"} <= set(
        events(decoded)
    )
    # A dry-burn trip is a rising bit on a DP the hub keeps (so it has the edge).
    await rig.control.act(device, "ignite", burner="left")
    await s.report()
    await rig.control.act(device, "dry_burn", burner="left")
    raw, decoded = await s.report()
    assert "burner_left/burner/dry_burn_protect" in events(decoded)


async def test_burner_timer_cuts_the_gas_when_it_runs_out(make_rig: RigFactory) -> None:
    rig = await make_rig(COOKTOP)
    s = await rig.pair(COOKTOP)
    device = rig.device(COOKTOP).device_id
    await rig.control.act(device, "ignite", burner="left")
    await s.report()
    writes = dict(s.binding.encode_command("burner_left/timer.start", {"duration_s": 120}))
    await s.conn.set({dp: dp_value(v) for dp, v in writes.items()})
    raw, decoded = await s.report()
    assert decoded.states["burner_left/timer/remaining_s"] == 120
    await rig.control.advance(device, 121)
    await s.report_until(lambda raw: raw.get(1) is False)
    assert s.value("burner_left/burner/ignited") is False
    assert s.value("burner_left/timer/remaining_s") == 0


async def test_gas_alarm_closes_the_valve_which_only_reopens_by_hand(make_rig: RigFactory) -> None:
    rig = await make_rig(GAS, options={"valve_travel_s": 0.3})
    s = await rig.pair(GAS)
    device = rig.device(GAS).device_id
    assert s.value("valve/valve/state") == "open"
    await rig.control.act(device, "gas_alarm", concentration=15)
    raw, decoded = await s.report()
    assert raw[1] == "alarm" and raw[2] == 150
    assert events(decoded)["detector/gas_detector/gas_alarm"] == {
        "severity": "critical",
        "concentration": 15.0,
    }
    assert raw[101] == "moving" and raw[15] is True  # the actuator starts closing, siren on
    await s.report_until(lambda raw: raw.get(101) == "closed")
    assert s.value("valve/valve/state") == "closed"

    # No way to open it from the network: no command, and the state DP is read-only.
    assert "valve/valve.open" not in s.binding.supported_commands()
    with pytest.raises(RemoteError) as err:
        await s.conn.set({101: dp_enum("open")})
    assert err.value.code == ErrorCode.READ_ONLY
    # Reopened by hand while gas is still detected: the detector closes it again.
    await rig.control.act(device, "open_valve_by_hand")
    await s.report_until(lambda raw: raw.get(101) == "open")
    await s.report_until(lambda raw: raw.get(101) == "closed")
    # Gas gone: the alarm clears, the valve stays closed until someone opens it on site.
    await rig.control.act(device, "gas_clear")
    raw, decoded = await s.report()
    assert "detector/gas_detector/gas_cleared" in events(decoded)
    assert s.value("valve/valve/state") == "closed"
    await rig.control.act(device, "open_valve_by_hand")
    await s.report_until(lambda raw: raw.get(101) == "open")
    # The hub may close it (the write-only channel DP 103).
    await s.conn.set({103: dp_bool(True)})
    await s.report_until(lambda raw: raw.get(101) == "closed")


async def test_gas_self_test_and_mute(make_rig: RigFactory) -> None:
    rig = await make_rig(GAS)
    s = await rig.pair(GAS)
    await s.conn.set({8: dp_bool(True)})
    seen = await s.report_until(lambda raw: 9 in raw)
    assert events(seen[-1][1])["detector/gas_detector/self_test_result"] == {"result": "pass"}
    await rig.control.act(rig.device(GAS).device_id, "gas_alarm", concentration=6)
    raw, decoded = await s.report()
    assert events(decoded)["detector/gas_detector/gas_alarm"]["severity"] == "warning"
    await s.conn.set({16: dp_bool(True)})  # mute
    await s.report_until(lambda raw: raw.get(15) is False)
    assert s.value("detector/alarm_sounder/muted") is True


async def test_keypad_unlock_reports_what_lock_operation_derives_from(make_rig: RigFactory) -> None:
    rig = await make_rig(LOCK, options={"pin": "135790"})
    s = await rig.pair(LOCK)
    device = rig.device(LOCK).device_id
    assert s.value("main/lock/lock_state") == "locked"
    assert s.value("main/lock/door_state") == "closed"

    reported = await rig.control.act(device, "keypad_unlock", user=3)
    assert reported == [{"13": 3, "1": "unlocked"}]
    raw, decoded = await s.report()
    assert events(decoded)["main/lock/lock_operation"] == {
        "operation": "unlock",
        "source": "keypad",
        "user_index": 3,
    }
    assert decoded.states["main/lock/lock_state"] == "unlocked"
    assert 13 not in await s.conn.get()  # reported once, never state: no repeat on reconnect

    # Auto-relock after auto_relock_s (10 s), on simulated time.
    await rig.control.advance(device, 11)
    raw, decoded = await s.report()
    assert raw == {19: "auto", 1: "locked"}
    assert events(decoded)["main/lock/lock_operation"] == {"operation": "lock", "source": "auto"}

    # Remote unlock: the lock checks the PIN itself.
    with pytest.raises(RemoteError) as err:
        await s.conn.set({7: dp_string("000000"), 6: dp_enum("unlock")})
    assert err.value.code == ErrorCode.REFUSED
    writes = dict(s.binding.encode_command("main/lock.unlock", {"pin": "135790"}))
    await s.conn.set({7: dp_string(writes[7]), 6: dp_enum(writes[6])})
    raw, decoded = await s.report()
    assert events(decoded)["main/lock/lock_operation"]["source"] == "remote"

    # A jam is injected by hand; the lock then refuses remote commands and raises an alarm.
    await rig.control.act(device, "jam")
    raw, decoded = await s.report()
    assert events(decoded)["main/lock/lock_alarm"] == {"code": "jammed"}
    with pytest.raises(RemoteError) as err:
        await s.conn.set({6: dp_enum("lock")})
    assert err.value.code == ErrorCode.DEVICE_FAILURE


async def test_lock_wrong_codes_doorbell_and_forced_door(make_rig: RigFactory) -> None:
    rig = await make_rig(LOCK)
    s = await rig.pair(LOCK)
    device = rig.device(LOCK).device_id
    for _ in range(5):
        await rig.control.act(device, "wrong_code")
    # DP 21 carries both the failed attempt and, at the fifth, the alarm: two REPORTs, in order.
    reports = await s.report_until(lambda raw: raw.get(21) == "try_limit")
    seen = [e for _raw, decoded in reports for e in decoded.events]
    assert len(reports) == 6
    failed = ("main/lock/lock_operation_error", {"source": "keypad", "error": "invalid_credential"})
    assert seen == [failed] * 5 + [("main/lock/lock_alarm", {"code": "wrong_code_limit"})]
    await rig.control.act(device, "ring")
    raw, decoded = await s.report()
    assert "main/doorbell/ring" in events(decoded)
    await rig.control.act(device, "open_door")  # while locked: forced open
    raw, decoded = await s.report()
    assert decoded.states["main/lock/door_state"] == "forced_open"
    assert events(decoded)["main/lock/lock_alarm"] == {"code": "forced_open"}


async def test_rice_cooker_runs_its_program_and_keeps_warm(make_rig: RigFactory) -> None:
    rig = await make_rig(RICE)
    s = await rig.pair(RICE)
    device = rig.device(RICE).device_id
    await rig.control.act(device, "fault", code="E4")  # the lid is open
    await s.report()
    with pytest.raises(RemoteError) as err:
        await s.conn.set({5: dp_enum("start")})
    assert err.value.code == ErrorCode.REFUSED
    await rig.control.act(device, "clear_fault")
    await s.report()
    await s.conn.set({2: dp_enum("quick_cook")})
    await s.report()
    await s.conn.set({5: dp_enum("start")})
    raw, decoded = await s.report()
    assert decoded.states["main/operational_state/state"] == "running"
    assert decoded.states["main/operational_state/remaining_s"] == 20 * 60
    await rig.control.advance(device, 20 * 60 + 1)
    seen = await s.report_until(lambda raw: raw.get(1) == "keep_warm")
    assert "main/operational_state/completed" in events(seen[-1][1])
    assert s.value("main/temperature/celsius") > 90


async def test_water_heater_reaches_its_setpoint_while_water_flows(make_rig: RigFactory) -> None:
    rig = await make_rig(HEATER)
    s = await rig.pair(HEATER)
    device = rig.device(HEATER).device_id
    gas_before = s.value("main/consumption/total")
    assert s.value("main/temperature/celsius") == 40
    assert s.value("main/temperature_setpoint/setpoint") == 42
    await rig.control.advance(device, 60)  # no hot water drawn: nothing burns
    assert s.value("main/heating/state") == "standby"
    await rig.control.act(device, "tap", lpm=8)
    await rig.control.advance(device, 10)
    await s.report_until(lambda raw: raw.get(10) == 42)
    assert s.value("main/heating/state") == "heating"
    await s.conn.set({9: dp_value(45)})
    await rig.control.advance(device, 10)
    await s.report_until(lambda raw: raw.get(10) == 45)
    with pytest.raises(RemoteError) as err:
        await s.conn.set({9: dp_value(80)})  # above the setpoint's range (35-65)
    assert err.value.code == ErrorCode.OUT_OF_RANGE
    await rig.control.act(device, "close_tap")
    await rig.control.advance(device, 5)
    await s.report_until(lambda raw: raw.get(13) == "standby")
    assert s.value("main/consumption/total") > gas_before


async def test_filters_wear_and_are_reset(make_rig: RigFactory) -> None:
    rig = await make_rig(PURIFIER, HOOD)
    s = await rig.pair(PURIFIER)
    purifier = rig.device(PURIFIER).device_id
    assert s.value("ro/filter_life/percent") == 80
    await rig.control.advance(purifier, 30 * 86400)  # a month
    await s.report_until(lambda raw: 3 in raw)
    assert s.value("pp/filter_life/percent") == 72  # 365-day filter: 30 days is ~8 %
    assert s.value("ro/filter_life/percent") == 77  # 1095-day membrane
    reported = await rig.control.act(purifier, "wear", filter="pp", percent=70)
    assert reported[0]["3"] == 2
    raw, decoded = await s.report()
    assert "pp/filter_life/replace_needed" in events(decoded)
    assert decoded.states["pp/filter_life/change"] == "warning"
    await s.conn.set({110: dp_enum("pp")})  # pp/filter_life.reset
    raw, decoded = await s.report()
    assert decoded.states["pp/filter_life/percent"] == 100

    # The hood's grease filter wears only while its fan runs (rated in motor hours).
    hood = await rig.pair(HOOD)
    hood_id = rig.device(HOOD).device_id
    await rig.control.advance(hood_id, 3600)
    assert hood.value("main/filter_life/remaining_h") == 48
    await hood.conn.set({2: dp_enum("high")})
    await hood.report()
    await rig.control.advance(hood_id, 6 * 3600)
    await hood.report_until(lambda raw: 13 in raw)
    assert hood.value("main/filter_life/remaining_h") == 42


async def test_contact_sensor_opens_and_closes_by_hand(make_rig: RigFactory) -> None:
    rig = await make_rig(CONTACT)
    s = await rig.pair(CONTACT)
    device = rig.device(CONTACT).device_id
    await rig.control.act(device, "open")
    raw, decoded = await s.report()
    assert events(decoded)["main/contact/changed"] == {"open": True}
    await rig.control.act(device, "close_door")
    raw, decoded = await s.report()
    assert events(decoded)["main/contact/changed"] == {"open": False}


async def test_offline_is_a_pulled_plug_and_online_resumes(make_rig: RigFactory) -> None:
    rig = await make_rig(LAMP)
    s = await rig.pair(LAMP)
    device = rig.device(LAMP)
    await s.conn.set({20: dp_bool(True)})
    await s.report()
    ltk = s.conn.long_term_key

    await rig.control.offline(device.device_id)
    reason = await asyncio.wait_for(s.conn.closed, 3)
    # No BYE: the hub sees a lost connection, not a shutdown.
    assert reason is not None and reason.code == ErrorCode.CONNECTION_LOST
    with pytest.raises(ConnectionClosedError):
        await HubConnection.connect("127.0.0.1", device.port, device.device_id, ltk)
    with pytest.raises(SimulatorControlError) as err:
        await rig.control.act(device.device_id, "press")
    assert "offline" in err.value.message
    state = await rig.control.state(device.device_id)
    assert state["online"] is False

    await rig.control.online(device.device_id)
    conn = await HubConnection.connect("127.0.0.1", device.port, device.device_id, ltk)
    try:
        assert (await conn.get([20]))[20].value is True  # it kept its state and its key
    finally:
        await conn.close()


async def test_control_socket_answers_errors_as_json(make_rig: RigFactory) -> None:
    rig = await make_rig(LAMP)
    device = rig.device(LAMP).device_id
    listing = await rig.control.devices()
    assert [d["id"] for d in listing] == [device]
    assert listing[0]["pairing_code"] == rig.device(LAMP).spec.pairing_code
    actions = {a["action"] for a in await rig.control.actions(device)}
    assert {"press", "dim", "set", "set_dp", "open_pairing"} <= actions
    for call, code in [
        (rig.control.state("nope"), "unknown_device"),
        (rig.control.act(device, "fly"), "action_failed"),
        (rig.control.request("teleport"), "unknown_op"),
        (rig.control.act(device, "set", path="main/brightness/level", value=500), "action_failed"),
    ]:
        with pytest.raises(SimulatorControlError) as err:
            await call
        assert err.value.code == code
    reported = await rig.control.act(device, "set", path="main/brightness/level", value=25)
    assert reported == [{"22": 250}]
    reported = await rig.control.act(device, "set_dp", dp=20, value=True)
    assert reported == [{"20": True}]


async def test_pairing_button_and_factory_reset(make_rig: RigFactory) -> None:
    rig = await make_rig(LAMP)
    s = await rig.pair(LAMP)
    device = rig.device(LAMP)
    code, ltk = device.spec.pairing_code, s.conn.long_term_key

    async def pair(hub_id: str) -> HubConnection:
        return await HubConnection.connect(
            "127.0.0.1", device.port, device.device_id, code, hub_id=hub_id
        )

    with pytest.raises(HandshakeError) as err:
        await pair("hub-two")  # paired once: the window closed
    assert err.value.code == ErrorCode.PAIRING_CLOSED
    await rig.control.act(device.device_id, "open_pairing")  # the button on the device
    await (await pair("hub-two")).close()
    assert sorted(device.keys.hub_ids()) == ["hub-test", "hub-two"]

    await rig.control.act(device.device_id, "factory_reset")
    await asyncio.wait_for(s.conn.closed, 3)
    with pytest.raises(HandshakeError) as err:
        await HubConnection.connect("127.0.0.1", device.port, device.device_id, ltk)
    assert err.value.code == ErrorCode.NOT_PAIRED
    await (await pair("hub-three")).close()  # open for pairing again after the reset
