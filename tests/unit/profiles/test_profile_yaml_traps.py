"""YAML 1.1 boolean traps: on/off/yes/no stay words; booleans meant as words are reported."""

from __future__ import annotations

from collections.abc import Callable

from hub.profiles.loader import LoadedProfile, ProfileProblem
from hub.util.yamlio import load_yaml

Load = Callable[..., LoadedProfile | list[ProfileProblem]]

HOOD = """\
schema: zshub.profile/1
id: test.sample.hood
version: 1.0.0
name: {zh: 测试油烟机, en: Test hood}
manufacturer: {id: test-maker, name: {zh: 测试厂, en: Test Maker}}
model: TH-1
category: kitchen.range_hood
identity:
  fingerprints:
    - transport: mdns
      service: _zsdp._tcp
      txt: {vid: "0x7E05", pid: "0x0001"}
components:
  main:
    capabilities:
      fan@1: {modes: [off, low, high]}
  light:
    label: {zh: 照明, en: Light}
    capabilities:
      onoff@1: {}
bindings:
  zsdp:
    properties:
      main/fan/mode: {dp: 2, type: enum, map: {"0": off, "1": low, "2": high}}
      light/onoff/on: {dp: 3, type: bool}
    commands:
      main/fan.set_mode: {write: {2: "map(mode)"}}
safety:
  class: comfort
  roles: [ventilation]
  gas_leak_behaviour: do_not_switch
tests:
  - transport: zsdp
    given: {dps: {"2": "0", "3": true}}
    expect: {main/fan/mode: off, light/onoff/on: true}
  - transport: zsdp
    command: {main/fan.set_mode: {mode: off}}
    expect_write: {dps: {"2": "0"}}
"""


def test_unquoted_off_stays_a_string() -> None:
    data, _lines = load_yaml("mode: off\nother: yes\nflag: true\nx: On\n")
    assert data == {"mode": "off", "other": "yes", "flag": True, "x": "On"}


def test_profile_with_unquoted_off_works(loaded: Callable[[str], LoadedProfile]) -> None:
    profile = loaded(HOOD)
    mode = profile.property_def("main/fan/mode")
    assert mode is not None and mode.values == ("off", "low", "high")
    zsdp = profile.binding("zsdp")
    assert zsdp is not None
    assert zsdp.decode({2: "0"}).states == {"main/fan/mode": "off"}
    assert zsdp.encode_command("main/fan.set_mode", {"mode": "off"}) == [(2, "0")]


def test_boolean_map_key_on_an_enum_dp(load: Load) -> None:
    text = HOOD.replace('map: {"0": off, "1": low, "2": high}', "map: {false: off, true: high}")
    problems = load(text)
    assert isinstance(problems, list)
    fields = {p.field: p for p in problems}
    p = fields["bindings.zsdp.properties.main/fan/mode.map[false]"]
    assert "map key false is a YAML boolean, but DP type is enum" in p.message
    assert (
        p.line
        == text.splitlines().index(
            "      main/fan/mode: {dp: 2, type: enum, map: {false: off, true: high}}"
        )
        + 1
    )


def test_boolean_map_value_for_an_enum_property(load: Load) -> None:
    text = HOOD.replace(
        'map: {"0": off, "1": low, "2": high}', 'map: {"0": false, "1": low, "2": high}'
    )
    problems = load(text)
    assert isinstance(problems, list)
    (p,) = [p for p in problems if p.field.startswith("bindings.zsdp.properties.main/fan/mode.map")]
    assert p.field == 'bindings.zsdp.properties.main/fan/mode.map["0"]'
    assert "map value false is a YAML boolean" in p.message


def test_word_map_value_for_a_bool_property(load: Load) -> None:
    text = HOOD.replace(
        "light/onoff/on: {dp: 3, type: bool}",
        "light/onoff/on: {dp: 3, type: enum, map: {open: on, shut: off}}",
    )
    problems = load(text)
    assert isinstance(problems, list)
    p = next(p for p in problems if p.field == "bindings.zsdp.properties.light/onoff/on.map.open")
    assert "'on' is text, but light/onoff/on is a bool: write true or false" in p.message


def test_word_written_to_a_bool_dp(load: Load) -> None:
    text = HOOD.replace(
        '      main/fan.set_mode: {write: {2: "map(mode)"}}\n',
        '      main/fan.set_mode: {write: {2: "map(mode)"}}\n'
        "      light/onoff.on: {write: {3: on}}\n",
    )
    problems = load(text)
    assert isinstance(problems, list)
    (p,) = problems
    assert p.field == 'bindings.zsdp.commands["light/onoff.on"].write[3]'
    assert "write true or false" in p.message


def test_boolean_expectation_for_an_enum(load: Load) -> None:
    text = HOOD.replace("expect: {main/fan/mode: off,", "expect: {main/fan/mode: false,")
    problems = load(text)
    assert isinstance(problems, list)
    (p,) = problems
    assert p.field == "tests[0].expect.main/fan/mode"
    assert "YAML boolean" in p.message


def test_boolean_fail_safe_for_an_enum(load: Load) -> None:
    text = HOOD.replace(
        "  gas_leak_behaviour: do_not_switch\n",
        "  gas_leak_behaviour: do_not_switch\n  fail_safe: {main/fan/mode: false}\n",
    )
    problems = load(text)
    assert isinstance(problems, list)
    (p,) = problems
    assert p.field == "safety.fail_safe.main/fan/mode"
    assert "a YAML boolean: quote the word" in p.message
