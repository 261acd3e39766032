"""Mutation suite: one change to a good sample gives one precise ``file:line: field: message``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hub.capabilities.catalogue import Catalogue
from hub.profiles.loader import LoadedProfile, ProfileProblem
from hub.profiles.validator import validate_paths

Load = Callable[..., LoadedProfile | list[ProfileProblem]]


def line_of(text: str, needle: str, start: str | None = None) -> int:
    """1-based line of the first line with ``needle`` (after the first line with ``start``)."""
    lines = text.splitlines()
    first = 0
    if start is not None:
        first = next(i for i, line in enumerate(lines) if start in line) + 1
    return next(i for i, line in enumerate(lines) if i >= first and needle in line) + 1


def mutate(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once in the sample"
    return text.replace(old, new)


def problems_of(load: Load, text: str) -> list[ProfileProblem]:
    result = load(text)
    assert isinstance(result, list), "the mutated profile should not load"
    return result


def find(problems: list[ProfileProblem], field: str) -> ProfileProblem:
    hits = [p for p in problems if p.field == field]
    assert hits, f"no problem at {field}; got:\n" + "\n".join(str(p) for p in problems)
    return hits[0]


def test_samples_are_valid(samples_dir: Path, catalogue: Catalogue) -> None:
    assert validate_paths([samples_dir], catalogue) == []


def test_unknown_component_in_binding(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(sample("light"), "main/onoff/on: {dp: 20", "mian/onoff/on: {dp: 20")
    p = find(problems_of(load, text), "bindings.zsdp.properties.mian/onoff/on")
    assert p.line == line_of(text, "mian/onoff/on")
    assert "unknown component 'mian'" in p.message
    assert str(p).startswith(f"p.yaml:{p.line}: bindings.zsdp.properties.mian/onoff/on: ")


def test_wrong_unit(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(sample("light"), "unit: min, to_unit: s", 'unit: "%"')
    p = find(problems_of(load, text), "bindings.zsdp.properties.main/timer/remaining_s.unit")
    assert p.line == line_of(text, "main/timer/remaining_s:")
    assert "'%' cannot be converted to main/timer/remaining_s's unit 's'" in p.message


def test_wrong_to_unit(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(sample("light"), "unit: min, to_unit: s", "unit: min, to_unit: h")
    p = find(problems_of(load, text), "bindings.zsdp.properties.main/timer/remaining_s.to_unit")
    assert "to_unit must be 's'" in p.message


def test_missing_en_label(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(sample("light"), "name: {zh: 测试灯, en: Test lamp}", "name: {zh: 测试灯}")
    p = find(problems_of(load, text), "name.en")
    assert p.line == line_of(text, "name: {zh: 测试灯}")
    assert p.message == "required key is missing"


def test_missing_en_label_in_instance_values(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(sample("light"), "night: {zh: 夜灯, en: Night}", "night: {zh: 夜灯}")
    p = find(problems_of(load, text), "components.main.capabilities.light_effect@1.values.night")
    assert p.line == line_of(text, "night: {zh: 夜灯}")
    assert "en is missing" in p.message


def test_component_label_required(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(sample("cooktop"), "    label: {zh: 灶眼, en: Burner}\n", "")
    p = find(problems_of(load, text), "components.burner")
    assert p.line == line_of(text, "  burner:")
    assert "needs label" in p.message


def test_burner_on_command_cannot_be_bound(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(
        sample("cooktop"),
        "      burner/burner.off: {write: {bytes: [0x03]}}\n",
        "      burner/burner.off: {write: {bytes: [0x03]}}\n"
        "      burner/burner.on: {write: {bytes: [0x04]}}\n",
    )
    p = find(problems_of(load, text), 'bindings.ble_gatt.commands["burner/burner.on"]')
    assert p.line == line_of(text, "burner/burner.on:")
    assert "burner@1 has no command 'on'" in p.message
    assert "remote ignition" in p.message


def test_burner_ignite_cannot_be_bound(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(sample("cooktop"), "burner/burner.off:", "burner/burner.ignite:")
    p = find(problems_of(load, text), 'bindings.ble_gatt.commands["burner/burner.ignite"]')
    assert "no command 'ignite'" in p.message


def test_gas_source_cannot_bind_onoff_on(load: Load, sample: Callable[[str], str]) -> None:
    # A gas profile that tries to sneak an ignition in through onoff@1.
    text = mutate(
        sample("cooktop"), "      timer@1: {}\n", "      timer@1: {}\n      onoff@1: {}\n"
    )
    text = mutate(
        text,
        "      burner/timer.start:",
        "      burner/onoff.on: {write: {bytes: [0x04]}}\n      burner/timer.start:",
    )
    p = find(problems_of(load, text), 'bindings.ble_gatt.commands["burner/onoff.on"]')
    assert p.line == line_of(text, "burner/onoff.on:")
    assert "no remote on command" in p.message


def test_off_only_cannot_bind_toggle(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(sample("light"), "onoff@1: {}", "onoff@1: {features: [off_only]}")
    problems = problems_of(load, text)
    p = find(problems, 'bindings.matter.commands["main/onoff.toggle"]')
    assert p.line == line_of(text, "main/onoff.toggle:")
    assert "feature off_only is on" in p.message
    on = find(problems, 'bindings.zsdp.commands["main/onoff.on"]')
    assert on.line == line_of(text, "main/onoff.on: {write")


def test_unlock_without_confirmation_restriction(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(
        sample("lock"), "require: [user_confirmation, timed_command]", "require: [timed_command]"
    )
    p = find(problems_of(load, text), "safety.restrictions")
    assert p.line == line_of(text, "  restrictions:")
    assert "main/lock.unlock needs a restriction requiring user_confirmation" in p.message


def test_unlock_without_any_restriction(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(
        sample("lock"),
        "  restrictions:\n"
        "    - {target: main/lock.unlock, require: [user_confirmation, timed_command],"
        " scenes: deny_by_default, audit: true}\n",
        "",
    )
    p = find(problems_of(load, text), "safety.restrictions")
    assert p.line == line_of(text, "safety:")  # the key is absent: the section's line


def test_gas_shutoff_without_fail_safe(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(sample("gas"), "  fail_safe: {valve/valve/state: closed}\n", "")
    p = find(problems_of(load, text), "safety.fail_safe")
    assert p.line == line_of(text, "safety:")
    assert "gas_shutoff needs fail_safe" in p.message


def test_gas_shutoff_without_open_restriction(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(
        sample("gas"),
        "{target: valve/valve.open, rule: not_available}",
        "{target: valve/valve.open, audit: true}",
    )
    p = find(problems_of(load, text), "safety.restrictions")
    assert "valve/valve.open must be restricted" in p.message


def test_life_safety_needs_supervision(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(
        sample("gas"), "  supervision: {heartbeat_s: 300, on_missing: critical_alert}\n", ""
    )
    p = find(problems_of(load, text), "safety.supervision")
    assert "class life_safety needs supervision" in p.message


def test_bad_codec_spec(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(
        sample("light"),
        "linear: {raw: [10, 1000], value: [1, 100]}",
        "linear: {raw: [10, 10], value: [1, 100]}",
    )
    p = find(problems_of(load, text), "bindings.zsdp.properties.main/brightness/level.linear")
    assert p.line == line_of(text, "linear: {raw: [10, 10]")
    assert "must span a range" in p.message


def test_codec_that_does_not_fit_the_dp_type(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(
        sample("light"),
        "main/onoff/on: {dp: 20, type: bool}",
        "main/onoff/on: {dp: 20, type: bool, scale: 1}",
    )
    p = find(problems_of(load, text), "bindings.zsdp.properties.main/onoff/on.scale")
    assert p.line == line_of(text, "main/onoff/on: {dp: 20")
    assert "needs a number" in p.message


def test_bad_expression(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(sample("light"), '26: "round(duration_s/60)"', '26: "duration_s ** 2"')
    p = find(problems_of(load, text), 'bindings.zsdp.commands["main/timer.start"].write[26]')
    assert p.line == line_of(text, '26: "duration_s ** 2"')
    assert "not allowed" in p.message


def test_expression_with_unknown_parameter(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(sample("light"), '26: "round(duration_s/60)"', '26: "round(duraton_s/60)"')
    p = find(problems_of(load, text), 'bindings.zsdp.commands["main/timer.start"].write[26]')
    assert "unknown name 'duraton_s'" in p.message


def test_failing_fixture(
    tmp_path: Path, catalogue: Catalogue, sample: Callable[[str], str]
) -> None:
    text = mutate(
        sample("light"),
        "main/brightness/level: 100, main/color_temperature/kelvin: 2700",
        "main/brightness/level: 99, main/color_temperature/kelvin: 2700",
    )
    file = tmp_path / "light.yaml"
    file.write_text(text, encoding="utf-8")
    (p,) = validate_paths([file], catalogue)
    assert p.field == "tests[0]"
    assert p.line == line_of(text, "- transport: zsdp", start="tests:")
    assert "main/brightness/level: expected 99, got 100" in p.message


def test_duplicate_fingerprint_across_files(
    tmp_path: Path, catalogue: Catalogue, sample: Callable[[str], str]
) -> None:
    original = sample("light")
    copy = mutate(original, "id: test.sample.light", "id: test.sample.light-copy")
    (tmp_path / "a.yaml").write_text(original, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(copy, encoding="utf-8")
    problems = validate_paths([tmp_path], catalogue)
    assert {p.field for p in problems} == {"identity.fingerprints[0]", "identity.fingerprints[1]"}
    mdns = find(problems, "identity.fingerprints[0]")
    assert mdns.file == str(tmp_path / "b.yaml")
    assert mdns.line == line_of(copy, "- transport: mdns")
    assert "vid 0x7e01 pid 0x0001 is already claimed by test.sample.light" in mdns.message
    matter = find(problems, "identity.fingerprints[1]")
    assert "Matter vendor 0xFFF1 product 0x7E01" in matter.message


def test_duplicate_profile_id(
    tmp_path: Path, catalogue: Catalogue, sample: Callable[[str], str]
) -> None:
    text = sample("lock")
    other = mutate(
        text, 'txt: {vid: "0x7E03", pid: "0x0001"}', 'txt: {vid: "0x7E03", pid: "0x0002"}'
    )
    (tmp_path / "a.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(other, encoding="utf-8")
    (p,) = validate_paths([tmp_path], catalogue)
    assert (p.file, p.field, p.line) == (
        str(tmp_path / "b.yaml"),
        "id",
        line_of(other, "id: test.sample.lock"),
    )
    assert "already used by" in p.message


def test_yaml_syntax_error(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(sample("light"), "model: TL-1\n", "model: TL-1\n  bad: [unclosed\n")
    (p,) = problems_of(load, text)
    assert p.field == "(yaml)"
    assert p.line is not None and p.line >= line_of(text, "bad: [unclosed")


def test_duplicate_yaml_key(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(sample("light"), "model: TL-1\n", "model: TL-1\nmodel: TL-2\n")
    (p,) = problems_of(load, text)
    assert (p.field, p.line) == ("(yaml)", line_of(text, "model: TL-2"))
    assert "duplicate key" in p.message


def test_unknown_top_level_key(load: Load, sample: Callable[[str], str]) -> None:
    text = sample("light") + "colour: red\n"
    (p,) = problems_of(load, text)
    assert (p.field, p.line) == ("colour", line_of(text, "colour: red"))
    assert "unknown key" in p.message


def test_typo_in_binding_key(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(
        sample("light"), "main/onoff/on: {dp: 20, type: bool}", "main/onoff/on: {dp: 20, typ: bool}"
    )
    problems = problems_of(load, text)
    assert find(problems, "bindings.zsdp.properties.main/onoff/on.typ").message.startswith(
        "unknown key"
    )
    assert (
        find(problems, "bindings.zsdp.properties.main/onoff/on.type").message
        == "required key is missing"
    )


def test_unknown_capability(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(sample("light"), "timer@1: {}", "timer@2: {}")
    p = find(problems_of(load, text), "components.main.capabilities.timer@2")
    assert "unknown capability 'timer@2' (the catalogue has timer@1)" in p.message


def test_instance_config_error_is_located(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(
        sample("light"), "brightness@1: {range: [1, 100]}", "brightness@1: {range: [1, 200]}"
    )
    p = find(problems_of(load, text), "components.main.capabilities.brightness@1.range")
    assert p.line == line_of(text, "brightness@1:")
    assert "outside the catalogue range" in p.message


def test_unknown_event_field(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(sample("lock"), "source: auto}", "source: auto, who: robot}")
    p = find(problems_of(load, text), "bindings.zsdp.events.main/lock/lock_operation[1].emit.who")
    assert p.line == line_of(text, "who: robot")
    assert "has no field 'who'" in p.message


def test_bad_event_field_literal(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(sample("lock"), "source: auto}", "source: robot}")
    p = find(
        problems_of(load, text), "bindings.zsdp.events.main/lock/lock_operation[1].emit.source"
    )
    assert "'robot' is not one of" in p.message


def test_when_comparison_must_be_numeric(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(sample("lock"), "when: auto", 'when: "> threshold"')
    p = find(problems_of(load, text), "bindings.zsdp.events.main/lock/lock_operation[1].when")
    assert "not a comparison" in p.message


def test_set_target_must_be_bound(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(
        sample("light"),
        "set: {main/brightness/level: level}",
        "set: {main/color_temperature/min_kelvin: level}",
    )
    field = (
        'bindings.zsdp.commands["main/brightness.set_level"].set.main/color_temperature/min_kelvin'
    )
    p = find(problems_of(load, text), field)
    assert p.line == line_of(text, "main/brightness.set_level:")
    assert "main/color_temperature/min_kelvin is not bound in bindings.zsdp" in p.message


def test_set_through_a_non_invertible_codec(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(
        sample("light"),
        "main/onoff.on: {write: {20: true}}",
        "main/onoff.on: {set: {main/timer/remaining_s: 1}}",
    )
    text = mutate(
        text,
        "main/timer/remaining_s: {dp: 26, type: value, unit: min, to_unit: s}",
        "main/timer/remaining_s: {dp: 26, type: value, unit: min, to_unit: s, read_only: true}",
    )
    p = find(
        problems_of(load, text),
        'bindings.zsdp.commands["main/onoff.on"].set.main/timer/remaining_s',
    )
    assert "read_only" in p.message


def test_map_param_needs_a_map(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(
        sample("light"),
        "main/light_effect/effect: {dp: 21, type: enum, map: {white: normal, scene_3: night}}",
        "main/light_effect/effect: {dp: 21, type: enum}",
    )
    p = find(problems_of(load, text), 'bindings.zsdp.commands["main/light_effect.set_effect"]')
    assert "map(effect): main/light_effect/effect has no map in bindings.zsdp" in p.message


def test_unused_required_argument(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(sample("light"), '26: "round(duration_s/60)"', "26: 60")
    p = find(problems_of(load, text), 'bindings.zsdp.commands["main/timer.start"]')
    assert "ignores its argument(s) duration_s" in p.message


def test_timed_command_needs_timed_ms(load: Load, sample: Callable[[str], str]) -> None:
    text = sample("lock").replace(
        "  zsdp:\n",
        "  matter:\n    endpoints: {main: 1}\n    commands:\n"
        "      main/lock.unlock: {cluster: 0x0101, command: 0x01, fields: {PINCode: pin}}\n"
        "  zsdp:\n",
    )
    p = find(problems_of(load, text), 'bindings.matter.commands["main/lock.unlock"]')
    assert "timed command: give timed_ms" in p.message


def test_matter_component_needs_an_endpoint(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(sample("light"), "    endpoints: {main: 1}\n", "")
    p = find(problems_of(load, text), "bindings.matter.properties.main/onoff/on")
    assert "has no endpoint" in p.message


def test_unknown_gatt_field(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(
        sample("cooktop"), "{frame: status, field: level}", "{frame: status, field: levl}"
    )
    p = find(problems_of(load, text), "bindings.ble_gatt.properties.burner/burner/firepower.field")
    assert "frame 'status' has no field 'levl'" in p.message


def test_unknown_gatt_frame(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(
        sample("cooktop"), "{frame: status, field: level}", "{frame: stats, field: level}"
    )
    p = find(problems_of(load, text), "bindings.ble_gatt.properties.burner/burner/firepower.frame")
    assert "unknown frame 'stats'" in p.message


def test_gatt_byte_out_of_range(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(sample("cooktop"), "bytes: [0x03]", "bytes: [300]")
    p = find(
        problems_of(load, text), 'bindings.ble_gatt.commands["burner/burner.off"].write.bytes[0]'
    )
    assert "not a byte" in p.message


def test_fixture_paths_must_resolve(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(
        sample("lock"),
        "expect_event: {main/lock/lock_operation:",
        "expect_event: {main/lock/lock_opened:",
    )
    p = find(problems_of(load, text), "tests[0].expect_event.main/lock/lock_opened")
    assert "no event 'lock_opened'" in p.message


def test_fixture_transport_must_be_bound(load: Load, sample: Callable[[str], str]) -> None:
    text = sample("lock").replace(
        '  - transport: zsdp\n    given: {dps: {"12": 3}}',
        '  - transport: matter\n    given: {attributes: {"1/6/0": 3}}',
    )
    p = find(problems_of(load, text), "tests[0].transport")
    assert "no matter binding" in p.message


def test_fail_safe_value_checked(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(
        sample("gas"),
        "fail_safe: {valve/valve/state: closed}",
        "fail_safe: {valve/valve/state: shut}",
    )
    p = find(problems_of(load, text), "safety.fail_safe.valve/valve/state")
    assert "'shut' is not one of" in p.message


def test_restriction_target_checked(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(
        sample("gas"),
        "{target: valve/valve.open, rule: not_available}",
        "{target: valve/valve.opne, rule: not_available}",
    )
    p = find(problems_of(load, text), "safety.restrictions[0].target")
    assert "no command 'opne'" in p.message


def test_unknown_role(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(
        sample("gas"), "roles: [gas_detector, gas_shutoff]", "roles: [gas_detector, gas_valve]"
    )
    p = find(problems_of(load, text), "safety.roles[1]")
    assert p.line == line_of(text, "roles: [gas_detector, gas_valve]")


def test_role_needs_its_capability(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(sample("lock"), "roles: [entry_lock]", "roles: [entry_lock, ventilation]")
    p = find(problems_of(load, text), "safety.roles[1]")
    assert "role ventilation needs a component with fan" in p.message


def test_generic_profile_cannot_claim_product_ids(load: Load, sample: Callable[[str], str]) -> None:
    text = mutate(
        sample("generic-light"),
        "      device_types: [0x0101, 0x010C]\n",
        "      vendor_id: 0xFFF1\n      product_id: 0x0001\n      device_types: [0x0101]\n",
    )
    p = find(problems_of(load, text), "identity.fingerprints[0].vendor_id")
    assert "generic profile matches by device type" in p.message


def test_vendor_capability_namespace(load: Load, sample: Callable[[str], str]) -> None:
    text = sample("light").replace(
        "components:\n",
        "vendor_capabilities:\n  vendor.other-maker.flush@1:\n    title: {zh: 冲洗, en: Flush}\n"
        "    commands: {run: {title: {zh: 运行, en: Run}}}\ncomponents:\n",
        1,
    )
    p = find(problems_of(load, text), 'vendor_capabilities["vendor.other-maker.flush@1"]')
    assert "vendor.test-maker.<name>@<major>" in p.message


def test_vendor_capability_is_usable(
    loaded: Callable[[str], LoadedProfile], sample: Callable[[str], str]
) -> None:
    text = sample("light").replace(
        "components:\n",
        "vendor_capabilities:\n  vendor.test-maker.flush@1:\n    title: {zh: 冲洗, en: Flush}\n"
        "    commands: {run: {title: {zh: 运行, en: Run}}}\ncomponents:\n",
        1,
    )
    text = mutate(
        text, "      timer@1: {}\n", "      timer@1: {}\n      vendor.test-maker.flush@1: {}\n"
    )
    text = mutate(
        text,
        "      main/timer.cancel: {write: {26: 0}}\n",
        "      main/timer.cancel: {write: {26: 0}}\n"
        "      main/vendor.test-maker.flush.run: {write: {9: true}}\n",
    )
    profile = loaded(text)
    zsdp = profile.binding("zsdp")
    assert zsdp is not None
    assert zsdp.encode_command("main/vendor.test-maker.flush.run", {}) == [(9, True)]
    assert profile.command_def("main/vendor.test-maker.flush.run") is not None


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("version: 1.0.0", "version: one", "version"),
        ("id: test.sample.light", "id: Test_Sample", "id"),
        ("category: light.ceiling", "category: lamp", "category"),
        ("class: comfort", "class: cosy", "safety.class"),
        ("service: _zsdp._tcp", "service: zsdp", "identity.fingerprints[0].service"),
    ],
)
def test_schema_errors_are_located(
    load: Load, sample: Callable[[str], str], old: str, new: str, field: str
) -> None:
    text = mutate(sample("light"), old, new)
    p = find(problems_of(load, text), field)
    assert p.line == line_of(text, new)
