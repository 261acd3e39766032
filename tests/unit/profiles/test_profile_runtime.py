"""Compiled bindings at run time: decode, derived events, commands and writes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hub.profiles.loader import LoadedProfile
from hub.profiles.runtime import (
    BindingError,
    GattWrite,
    MatterInvoke,
    MatterWrite,
    format_matter_address,
    parse_matter_address,
)

Loaded = Callable[[str], LoadedProfile]


@pytest.fixture
def light(loaded: Loaded, sample: Callable[[str], str]) -> LoadedProfile:
    return loaded(sample("light"))


def test_profile_lookups(light: LoadedProfile) -> None:
    assert light.id == "test.sample.light"
    assert light.transports == ("zsdp", "matter")
    inst = light.capability("main", "brightness")
    assert inst is not None and inst.key == "brightness@1"
    level = light.property_def("main/brightness/level")
    assert level is not None and level.range == (1, 100)
    unlock = light.command_def("main/onoff.on")
    assert unlock is not None
    assert light.event_def("main/timer/expired") is not None
    assert light.property_def("main/nothing/here") is None
    assert light.command_def("main/onoff.ignite") is None
    assert light.binding("bthome") is None


def test_supported_commands(light: LoadedProfile) -> None:
    zsdp = light.binding("zsdp")
    assert zsdp is not None
    assert "main/onoff.toggle" not in zsdp.supported_commands()
    assert "main/onoff.toggle" in light.supported_commands("matter")
    assert "main/timer.start" in light.supported_commands()
    assert zsdp.writable_properties() >= {"main/onoff/on", "main/brightness/level"}


def test_one_bad_value_does_not_spoil_the_report(light: LoadedProfile) -> None:
    zsdp = light.binding("zsdp")
    assert zsdp is not None
    result = zsdp.decode({20: "yes please", 22: 1000, 99: 1})
    assert result.states == {"main/brightness/level": 100}
    (error,) = result.errors
    assert error.startswith("zsdp 20 -> main/onoff/on:")


def test_unknown_enum_raw_is_an_error(light: LoadedProfile) -> None:
    zsdp = light.binding("zsdp")
    assert zsdp is not None
    result = zsdp.decode({21: "disco"})
    assert result.states == {}
    assert "not in the map" in result.errors[0]


def test_transition_event_needs_the_previous_value(light: LoadedProfile) -> None:
    zsdp = light.binding("zsdp")
    assert zsdp is not None
    assert zsdp.decode({26: 0}).events == []
    assert zsdp.decode({26: 0}, {26: 1}).events == [("main/timer/expired", {})]
    assert zsdp.decode({26: 0}, {26: 2}).events == []


def test_set_encodes_through_the_property_codec(light: LoadedProfile) -> None:
    zsdp = light.binding("zsdp")
    assert zsdp is not None
    assert zsdp.encode_command("main/brightness.set_level", {"level": 1}) == [(22, 10)]
    assert zsdp.encode_command("main/light_effect.set_effect", {"effect": "normal"}) == [
        (21, "white")
    ]
    assert zsdp.encode_command("main/timer.start", {"duration_s": 3600}) == [(26, 60)]


def test_command_argument_errors(light: LoadedProfile) -> None:
    zsdp = light.binding("zsdp")
    assert zsdp is not None
    with pytest.raises(BindingError, match="missing argument"):
        zsdp.encode_command("main/brightness.set_level", {})
    with pytest.raises(BindingError, match="unknown argument"):
        zsdp.encode_command("main/brightness.set_level", {"level": 5, "speed": 1})
    with pytest.raises(BindingError, match="outside the range"):
        zsdp.encode_command("main/brightness.set_level", {"level": 500})
    with pytest.raises(BindingError, match="not supported over zsdp"):
        zsdp.encode_command("main/onoff.toggle", {})


def test_matter_invoke_leaves_out_unused_optional_fields(light: LoadedProfile) -> None:
    matter = light.binding("matter")
    assert matter is not None
    payload = matter.encode_command("main/brightness.set_level", {"level": 50})
    assert payload == MatterInvoke(1, 0x0008, 0x04, {"Level": 126}, None)
    payload = matter.encode_command("main/brightness.set_level", {"level": 50, "transition_s": 1.5})
    assert isinstance(payload, MatterInvoke) and payload.fields["TransitionTime"] == 15


def test_matter_decode_and_write(light: LoadedProfile) -> None:
    matter = light.binding("matter")
    assert matter is not None
    result = matter.decode({(1, 0x0006, 0x0000): True, (1, 0x0300, 0x0007): 370})
    assert result.states == {"main/onoff/on": True, "main/color_temperature/kelvin": 2703}
    assert matter.encode_write("main/brightness/level", 100) == MatterWrite(1, 0x0008, 0x0000, 254)
    with pytest.raises(BindingError, match="cannot be written"):
        matter.encode_write("main/timer/remaining_s", 5)


def test_dp_write_of_an_rw_property(light: LoadedProfile) -> None:
    zsdp = light.binding("zsdp")
    assert zsdp is not None
    assert zsdp.encode_write("main/onoff/on", False) == [(20, False)]
    with pytest.raises(BindingError, match="expected true or false"):
        zsdp.encode_write("main/onoff/on", "off")


def test_matter_address_text() -> None:
    assert parse_matter_address("1/0x0300/0x0007") == (1, 0x0300, 7)
    assert format_matter_address((1, 0x0300, 7)) == "1/0x0300/0x0007"
    with pytest.raises(ValueError):
        parse_matter_address("1/0x0300")


def test_matter_native_events(loaded: Loaded, sample: Callable[[str], str]) -> None:
    text = sample("lock").replace(
        "  zsdp:\n",
        "  matter:\n    endpoints: {main: 1}\n    events:\n"
        "      main/lock/lock_alarm: {cluster: 0x0101, event: 0x00}\n"
        "      main/lock/lock_operation:\n"
        "        {cluster: 0x0101, event: 0x02, emit: {operation: unlock}}\n"
        "  zsdp:\n",
    )
    matter = loaded(text).binding("matter")
    assert matter is not None
    assert matter.native_events() == {(1, 0x0101, 0x00), (1, 0x0101, 0x02)}
    assert matter.decode_event((1, 0x0101, 0x00), {"AlarmCode": 4}) == [
        ("main/lock/lock_alarm", {"AlarmCode": 4})
    ]
    assert matter.decode_event((1, 0x0101, 0x02), {"x": 1}) == [
        ("main/lock/lock_operation", {"operation": "unlock"})
    ]
    assert matter.decode_event((2, 0x0101, 0x02), {}) == []


def test_lock_events_from_report_only_dps(loaded: Loaded, sample: Callable[[str], str]) -> None:
    zsdp = loaded(sample("lock")).binding("zsdp")
    assert zsdp is not None
    # DP 19 carries no state: every matching report is an occurrence, even a repeated one.
    event = ("main/lock/lock_operation", {"operation": "lock", "source": "auto"})
    assert zsdp.decode({19: "auto"}, {19: "auto"}).events == [event]
    assert zsdp.decode({19: "manual"}).events == []
    assert zsdp.decode({12: 7}).events == [
        (
            "main/lock/lock_operation",
            {"operation": "unlock", "source": "fingerprint", "user_index": 7},
        )
    ]


def test_unlock_without_pin_sends_no_pin_dp(loaded: Loaded, sample: Callable[[str], str]) -> None:
    zsdp = loaded(sample("lock")).binding("zsdp")
    assert zsdp is not None
    assert zsdp.encode_command("main/lock.unlock", {}) == [(6, "unlock")]
    assert zsdp.encode_command("main/lock.unlock", {"pin": "0000"}) == [(7, "0000"), (6, "unlock")]


def test_state_dp_when_fires_on_the_edge(loaded: Loaded, sample: Callable[[str], str]) -> None:
    tuya = loaded(sample("gas")).binding("tuya_lan")
    assert tuya is not None
    first = tuya.decode({1: True, 2: 200}, None)
    assert first.events == [
        ("detector/gas_detector/gas_alarm", {"severity": "critical", "concentration": 20})
    ]
    assert tuya.decode({1: True}, {1: True}, lambda path: 20).events == []
    # The concentration comes from the hub's state when this report does not carry it.
    again = tuya.decode({1: True}, {1: False}, {"detector/gas_detector/concentration": 3.5}.get)
    assert again.events[0][1]["concentration"] == 3.5


def test_gatt_frames(loaded: Loaded, sample: Callable[[str], str]) -> None:
    gatt = loaded(sample("cooktop")).binding("ble_gatt")
    assert gatt is not None
    assert gatt.frame_for_characteristic("7E000002-0000-1000-8000-00805F9B34FB") == "status"
    result = gatt.decode_frame("status", bytes.fromhex("03090100"), bytes.fromhex("01090100"))
    assert result.states["burner/burner/flame_protection"] == "tripped"
    assert result.states["burner/timer/remaining_s"] == 60
    assert result.events == [("burner/burner/flame_out", {})]
    short = gatt.decode_frame("status", b"\x01")
    assert short.states == {} and "too short" in short.errors[0]
    assert gatt.encode_command("burner/burner.off", {}) == GattWrite(
        "7e000003-0000-1000-8000-00805f9b34fb", b"\x03"
    )
    with pytest.raises(BindingError):
        gatt.encode_write("burner/burner/firepower", 3)


def test_bthome_value_and_change_event(loaded: Loaded, sample: Callable[[str], str]) -> None:
    bthome = loaded(sample("contact")).binding("bthome")
    assert bthome is not None
    assert bthome.require_encryption
    result = bthome.decode({0x2D: 1, 0x01: 50}, {0x2D: 0})
    assert result.states == {"main/contact/open": True, "main/battery/percent": 50}
    assert result.events == [("main/contact/changed", {"open": True})]
    assert bthome.decode({0x2D: 1}, {0x2D: 1}).events == []


def test_repeated_decode_is_stable(light: LoadedProfile) -> None:
    zsdp = light.binding("zsdp")
    assert zsdp is not None
    report = {20: True, 22: 500, 23: 500, 21: "white", 26: 3}
    first = zsdp.decode(report, report)
    for _ in range(1_000):
        again = zsdp.decode(report, report)
    assert again.states == first.states and again.events == [] and again.errors == []


def test_summary_is_json_ready(light: LoadedProfile) -> None:
    import json

    summary = light.summary()
    json.dumps(summary)
    assert summary["id"] == "test.sample.light"
    assert summary["safety"] == {"class": "comfort", "roles": []}
    assert summary["components"]["main"]["label"] == {"zh": "主灯", "en": "Main light"}
    assert summary["components"]["main"]["capabilities"]["onoff"]["key"] == "onoff@1"
    assert "main/onoff.toggle" in summary["commands"]["matter"]
    assert light.model.id == light.id
