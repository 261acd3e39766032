"""The shipped capability catalogue and its loader, instance narrowing and value checks."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from hub.capabilities.catalogue import (
    CAPABILITIES_DIR_ENV,
    Catalogue,
    CatalogueError,
    InstanceConfigError,
    apply_instance,
    check_value,
    default_catalogue_dir,
)
from hub.capabilities.model import (
    CapabilityDef,
    FieldDef,
    LocalText,
    ParamDef,
    Privilege,
    PropertyDef,
    ValueType,
)
from hub.util.yamlio import load_yaml_file

# Member names of the design registry (profile-sketches/registry.yaml): profiles are written
# against these, so the catalogue may add members but never rename or drop one.
REGISTRY: dict[str, dict[str, set[str]]] = {
    "onoff@1": {
        "properties": {"on"},
        "commands": {"on", "off", "toggle"},
        "features": {"off_only"},
    },
    "brightness@1": {"properties": {"level"}, "commands": {"set_level"}},
    "color_temperature@1": {
        "properties": {"kelvin", "min_kelvin", "max_kelvin"},
        "commands": {"set_kelvin"},
    },
    "color@1": {"properties": {"mode", "hue", "saturation"}, "commands": {"set_hs"}},
    "light_effect@1": {"properties": {"effect"}, "commands": {"set_effect"}},
    "timer@1": {
        "properties": {"duration_s", "remaining_s"},
        "commands": {"start", "cancel"},
        "events": {"expired"},
    },
    "lock@1": {
        "properties": {"lock_state", "door_state", "auto_relock_s"},
        "commands": {"lock", "unlock"},
        "events": {"lock_operation", "lock_operation_error", "lock_alarm"},
    },
    "lock_users@1": {
        "properties": {"users_supported", "credential_types"},
        "commands": {"add_user", "remove_user", "add_credential", "remove_credential"},
        "events": {"user_changed"},
    },
    "doorbell@1": {"events": {"ring"}},
    "contact@1": {"properties": {"open", "tampered"}, "events": {"changed", "tamper"}},
    "occupancy@1": {"properties": {"occupied"}},
    "battery@1": {"properties": {"percent", "low"}},
    "temperature@1": {"properties": {"celsius"}},
    "temperature_setpoint@1": {
        "properties": {"setpoint", "min", "max", "step"},
        "commands": {"set"},
    },
    "fan@1": {
        "properties": {"mode", "percent", "delay_off_s"},
        "commands": {"set_mode", "set_percent"},
    },
    "operational_state@1": {
        "properties": {"state", "phase", "remaining_s"},
        "commands": {"start", "stop", "pause", "resume"},
        "events": {"completed", "error"},
    },
    "program@1": {"properties": {"program"}, "commands": {"select"}},
    "filter_life@1": {
        "properties": {"percent", "remaining_d", "remaining_h", "change"},
        "commands": {"reset"},
        "events": {"replace_needed"},
    },
    "water_quality@1": {"properties": {"tds_in", "tds_out"}, "events": {"quality_alert"}},
    "water_flow@1": {"properties": {"lpm"}},
    "consumption@1": {"properties": {"total", "session"}},
    "gas_detector@1": {
        "properties": {"gas_detected", "concentration", "sensor_state"},
        "commands": {"self_test", "mute"},
        "events": {"gas_alarm", "gas_cleared", "sensor_fault", "self_test_result"},
    },
    "valve@1": {
        "properties": {"state", "fault"},
        "commands": {"open", "close"},
        "events": {"state_changed", "fault"},
    },
    "burner@1": {
        "properties": {"ignited", "firepower", "flame_protection"},
        "commands": {"off"},
        "events": {"ignited", "extinguished", "flame_out", "dry_burn_protect"},
    },
    "heating@1": {"properties": {"state", "source"}, "events": {"combustion_fault"}},
    "appliance_link@1": {"properties": {"enabled", "linked", "medium"}},
    "alarm_sounder@1": {
        "properties": {"sounding", "muted", "volume"},
        "commands": {"mute", "test"},
    },
    "child_lock@1": {"properties": {"enabled"}},
    "fault@1": {"properties": {"active", "codes"}, "events": {"raised", "cleared"}},
}

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    catalogue, errors = Catalogue.load_dir(default_catalogue_dir())
    assert errors == [], "\n".join(str(e) for e in errors)
    return catalogue


def _texts(capdef: CapabilityDef) -> list[tuple[str, LocalText | None]]:
    """Every user-facing text of a capability, with where it sits."""
    out: list[tuple[str, LocalText | None]] = [("title", capdef.title)]
    if capdef.description is not None:
        out.append(("description", capdef.description))
    out += [(f"features.{f}", t) for f, t in capdef.features.items()]
    for pname, prop in capdef.properties.items():
        out.append((f"properties.{pname}.title", prop.title))
        out += [(f"properties.{pname}.labels.{v}", t) for v, t in prop.labels.items()]
    for cname, cmd in capdef.commands.items():
        out.append((f"commands.{cname}.title", cmd.title))
        out += [(f"commands.{cname}.params.{p}", d.title) for p, d in cmd.params.items()]
    for ename, event in capdef.events.items():
        out.append((f"events.{ename}.title", event.title))
        for fname, fdef in event.fields.items():
            out.append((f"events.{ename}.fields.{fname}", fdef.title))
            out += [(f"events.{ename}.fields.{fname}.{v}", t) for v, t in fdef.labels.items()]
    return out


# ------------------------------------------------------------------------------------------
# The shipped catalogue


def test_shipped_catalogue_has_all_29_capabilities(cat: Catalogue) -> None:
    assert cat.keys() == sorted(REGISTRY)
    assert len(cat) == 29


@pytest.mark.parametrize("key", sorted(REGISTRY))
def test_registry_member_names_are_kept(cat: Catalogue, key: str) -> None:
    capdef = cat.get(key)
    for group, names in REGISTRY[key].items():
        have = set(getattr(capdef, group))
        assert names <= have, f"{key}.{group} misses {names - have}"


@pytest.mark.parametrize("key", sorted(REGISTRY))
def test_every_text_has_real_zh_and_en(cat: Catalogue, key: str) -> None:
    for where, text in _texts(cat.get(key)):
        assert text is not None, f"{key}.{where} has no zh/en title"
        assert text.zh.strip() and text.en.strip(), f"{key}.{where}"
        assert CJK.search(text.zh), f"{key}.{where}: zh text {text.zh!r} is not Chinese"
        assert not CJK.search(text.en), f"{key}.{where}: en text {text.en!r} has Chinese"


@pytest.mark.parametrize("key", sorted(REGISTRY))
def test_every_declared_enum_value_is_labelled(cat: Catalogue, key: str) -> None:
    capdef = cat.get(key)
    defs: list[tuple[str, PropertyDef | FieldDef]] = list(capdef.properties.items())
    for ename, event in capdef.events.items():
        defs += [(f"{ename}.{f}", d) for f, d in event.fields.items()]
    for where, d in defs:
        if d.type in (ValueType.ENUM, ValueType.SET) and d.values is not None:
            assert set(d.labels) == set(d.values), f"{key}.{where}"


def test_fan_modes_have_the_kitchen_labels(cat: Catalogue) -> None:
    labels = cat.get("fan@1").properties["mode"].labels
    assert {v: t.zh for v, t in labels.items()} == {
        "off": "关",
        "low": "低速",
        "medium": "中速",
        "high": "高速",
        "boost": "爆炒",
        "auto": "自动",
    }


def test_burner_can_only_be_switched_off(cat: Catalogue) -> None:
    burner = cat.get("burner@1")
    assert set(burner.commands) == {"off"}
    assert burner.commands["off"].effects == {"ignited": False}
    assert burner.events["flame_out"].priority == "critical"
    assert burner.events["dry_burn_protect"].priority == "critical"


def test_unlock_needs_confirmation_and_a_timed_command(cat: Catalogue) -> None:
    unlock = cat.get("lock@1").commands["unlock"]
    assert unlock.confirm is True
    assert unlock.timed is True
    assert unlock.params["pin"].type is ValueType.SECRET
    assert unlock.params["pin"].required is False
    assert unlock.effects == {"lock_state": "unlocked"}
    assert cat.get("lock@1").commands["lock"].confirm is False


def test_lock_users_commands_need_manage(cat: Catalogue) -> None:
    commands = cat.get("lock_users@1").commands
    assert commands
    assert {c.privilege for c in commands.values()} == {Privilege.MANAGE}


@pytest.mark.parametrize(
    ("key", "command", "effects"),
    [
        ("onoff@1", "on", {"on": True}),
        ("onoff@1", "off", {"on": False}),
        ("brightness@1", "set_level", {"level": "$level"}),
        ("lock@1", "lock", {"lock_state": "locked"}),
        ("valve@1", "close", {"state": "closed"}),
        ("valve@1", "open", {"state": "open"}),
        ("fan@1", "set_mode", {"mode": "$mode"}),
    ],
)
def test_command_effects(
    cat: Catalogue, key: str, command: str, effects: dict[str, object]
) -> None:
    assert cat.get(key).commands[command].effects == effects


def test_command_param_refs(cat: Catalogue) -> None:
    assert cat.get("brightness@1").commands["set_level"].params["level"].ref == "level"
    assert cat.get("fan@1").commands["set_mode"].params["mode"].ref == "mode"
    assert cat.get("brightness@1").commands["set_level"].params["transition_s"].required is False


def test_off_only_excludes_on_and_toggle(cat: Catalogue) -> None:
    commands = cat.get("onoff@1").commands
    assert commands["on"].excluded_by == ("off_only",)
    assert commands["toggle"].excluded_by == ("off_only",)
    assert commands["off"].excluded_by == ()


def test_per_profile_enums_are_open(cat: Catalogue) -> None:
    assert cat.get("light_effect@1").properties["effect"].values is None
    assert cat.get("program@1").properties["program"].values is None
    assert cat.get("fault@1").properties["codes"].values is None
    assert cat.get("operational_state@1").properties["phase"].values is None
    state = cat.get("operational_state@1").properties["state"]
    assert state.values == ("stopped", "running", "paused", "error")
    assert state.open_values is True


def test_consumption_unit_is_per_instance(cat: Catalogue) -> None:
    for prop in cat.get("consumption@1").properties.values():
        assert prop.unit_per_instance is True
        assert prop.unit is None
        assert prop.instance_units == ("m3", "L", "kWh")


def test_event_priorities(cat: Catalogue) -> None:
    assert cat.get("gas_detector@1").events["gas_alarm"].priority == "critical"
    assert cat.get("valve@1").events["fault"].priority == "alert"
    assert cat.get("doorbell@1").events["ring"].priority == "info"
    fields = cat.get("gas_detector@1").events["gas_alarm"].fields
    assert fields["concentration"].unit == "%LEL"
    assert fields["severity"].values == ("warning", "critical")


# ------------------------------------------------------------------------------------------
# Loading and errors


def _copy_shipped(tmp_path: Path) -> Path:
    target = tmp_path / "caps"
    shutil.copytree(default_catalogue_dir(), target)
    return target


def _write(path: Path, text: str) -> None:
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def test_broken_file_is_reported_with_line_and_field_and_others_load(tmp_path: Path) -> None:
    caps = _copy_shipped(tmp_path)
    _write(
        caps / "zz_broken.yaml",
        """
        schema: zshub.capabilities/1
        capabilities:
          widget@1:
            title: {zh: 小部件, en: Widget}
            properties:
              size:
                type: integer
                access: r
        """,
    )
    catalogue, errors = Catalogue.load_dir(caps)
    assert len(errors) == 1
    err = errors[0]
    assert err.file.endswith("zz_broken.yaml")
    assert err.line == 7
    assert err.field == "capabilities.widget@1.properties.size.type"
    assert str(err).startswith(f"{err.file}:7: capabilities.widget@1.properties.size.type: ")
    assert "widget@1" not in catalogue
    assert len(catalogue) == 29


def test_a_broken_file_is_skipped_as_a_whole(tmp_path: Path) -> None:
    _write(
        tmp_path / "a.yaml",
        """
        schema: zshub.capabilities/1
        capabilities:
          good@1:
            title: {zh: 好, en: Good}
          bad@1:
            title: {zh: 坏, en: Bad}
            properties:
              level: {type: number, access: rw, unti: "%"}
        """,
    )
    _write(
        tmp_path / "b.yaml",
        """
        schema: zshub.capabilities/1
        capabilities:
          other@1:
            title: {zh: 其他, en: Other}
        """,
    )
    catalogue, errors = Catalogue.load_dir(tmp_path)
    assert [(e.line, e.field, e.message) for e in errors] == [
        (8, "capabilities.bad@1.properties.level.unti", "unknown key (misspelt?)")
    ]
    assert catalogue.keys() == ["other@1"]


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    _write(
        tmp_path / "a.yaml",
        """
        schema: zshub.capabilities/1
        capabilities:
          x@1:
            title: {zh: 甲, en: X
        """,
    )
    _catalogue, errors = Catalogue.load_dir(tmp_path)
    assert len(errors) == 1
    assert errors[0].field == "(yaml)"
    assert errors[0].line is not None and errors[0].line >= 4


def test_missing_english_label_is_an_error(tmp_path: Path) -> None:
    _write(
        tmp_path / "a.yaml",
        """
        schema: zshub.capabilities/1
        capabilities:
          x@1:
            title: {zh: 甲, en: X}
            properties:
              mode:
                type: enum
                values: [a, b]
                labels:
                  a: {zh: 甲}
        """,
    )
    _catalogue, errors = Catalogue.load_dir(tmp_path)
    assert [(e.line, e.field) for e in errors] == [
        (10, "capabilities.x@1.properties.mode.labels.a.en")
    ]


@pytest.mark.parametrize(
    ("body", "line", "field"),
    [
        (  # a burner that could ignite is refused
            """
            burner@1:
              title: {zh: 灶眼, en: Burner}
              properties:
                ignited: {type: bool}
              commands:
                "off": {title: {zh: 关火, en: "Off"}, effects: {ignited: false}}
                ignite: {title: {zh: 点火, en: Ignite}}
            """,
            9,
            "capabilities.burner@1.commands.ignite",
        ),
        (  # effect refers to a parameter that does not exist
            """
            x@1:
              title: {zh: 甲, en: X}
              properties:
                level: {type: int, access: rw}
              commands:
                set:
                  title: {zh: 设置, en: Set}
                  effects: {level: $lvl}
            """,
            10,
            "capabilities.x@1.commands.set.effects.level",
        ),
        (  # literal effect outside the property's values
            """
            x@1:
              title: {zh: 甲, en: X}
              properties:
                state: {type: enum, values: [open, closed]}
              commands:
                close: {title: {zh: 关, en: Close}, effects: {state: shut}}
            """,
            8,
            "capabilities.x@1.commands.close.effects.state",
        ),
        (  # label for a value that is not declared
            """
            x@1:
              title: {zh: 甲, en: X}
              properties:
                state:
                  type: enum
                  values: [open, closed]
                  labels: {opn: {zh: 开, en: Open}}
            """,
            9,
            "capabilities.x@1.properties.state.labels.opn",
        ),
        (  # unit outside the closed vocabulary
            """
            x@1:
              title: {zh: 甲, en: X}
              properties:
                t: {type: number, unit: "℃"}
            """,
            6,
            "capabilities.x@1.properties.t.unit",
        ),
        (  # vendor capabilities live in profiles
            """
            vendor.acme.flush@1:
              title: {zh: 冲洗, en: Flush}
            """,
            3,
            "capabilities.vendor.acme.flush@1",
        ),
    ],
)
def test_semantic_errors_are_located(tmp_path: Path, body: str, line: int, field: str) -> None:
    text = "schema: zshub.capabilities/1\ncapabilities:\n" + textwrap.indent(
        textwrap.dedent(body).lstrip("\n"), "  "
    )
    (tmp_path / "a.yaml").write_text(text, encoding="utf-8")
    catalogue, errors = Catalogue.load_dir(tmp_path)
    assert [(e.line, e.field) for e in errors] == [(line, field)], [str(e) for e in errors]
    assert len(catalogue) == 0


def test_duplicate_capability_across_files(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        _write(
            tmp_path / name,
            f"""
            schema: zshub.capabilities/1
            capabilities:
              only_{name[0]}@1: {{title: {{zh: 甲, en: A}}}}
              shared@1: {{title: {{zh: 乙, en: B}}}}
            """,
        )
    catalogue, errors = Catalogue.load_dir(tmp_path)
    assert len(errors) == 1
    assert errors[0].file.endswith("b.yaml")
    assert errors[0].line == 4
    assert errors[0].field == "capabilities.shared@1"
    assert "a.yaml" in errors[0].message
    assert catalogue.keys() == ["only_a@1", "only_b@1", "shared@1"]
    assert (catalogue.source("shared@1") or "").endswith("a.yaml")


def test_missing_directory_is_reported_not_raised(tmp_path: Path) -> None:
    catalogue, errors = Catalogue.load_dir(tmp_path / "nope")
    assert len(catalogue) == 0
    assert len(errors) == 1


def test_catalogue_error_format() -> None:
    assert str(CatalogueError("a.yaml", 3, "capabilities.x@1", "bad")) == (
        "a.yaml:3: capabilities.x@1: bad"
    )
    assert str(CatalogueError("a.yaml", None, "(file)", "empty")) == "a.yaml: (file): empty"


def test_default_dir_can_be_overridden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CAPABILITIES_DIR_ENV, raising=False)
    assert default_catalogue_dir().parts[-2:] == ("device_profiles", "capabilities")
    assert (default_catalogue_dir() / "core.yaml").is_file()
    monkeypatch.setenv(CAPABILITIES_DIR_ENV, str(tmp_path))
    assert default_catalogue_dir() == tmp_path


# ------------------------------------------------------------------------------------------
# Lookup and vendor capabilities


def test_get_find_and_contains(cat: Catalogue) -> None:
    assert "fan@1" in cat
    assert "fan@2" not in cat
    with pytest.raises(KeyError):
        cat.get("fan@2")
    found = cat.find("fan")
    assert found is not None and found[0] == "fan@1"
    assert cat.find("fan@1") == ("fan@1", cat.get("fan@1"))
    assert cat.find("fan@2") is None
    assert cat.find("blender") is None


def test_find_picks_the_newest_major() -> None:
    v1 = CapabilityDef(title=LocalText(zh="风机", en="Fan"))
    v2 = CapabilityDef(title=LocalText(zh="风机二", en="Fan 2"))
    catalogue = Catalogue({"fan@2": v2, "fan@1": v1, "fan@10": v2})
    assert catalogue.find("fan") == ("fan@10", v2)


def test_add_vendor_layers_a_new_catalogue(cat: Catalogue) -> None:
    flush = CapabilityDef.model_validate(
        {
            "title": {"zh": "手动冲洗", "en": "Manual flush"},
            "commands": {"run": {"title": {"zh": "冲洗", "en": "Flush"}}},
        }
    )
    layered = cat.add_vendor("vendor.demo-water.ro_flush@1", flush)
    assert "vendor.demo-water.ro_flush@1" in layered
    assert "vendor.demo-water.ro_flush@1" not in cat
    assert "fan@1" in layered
    assert layered.find("vendor.demo-water.ro_flush") == ("vendor.demo-water.ro_flush@1", flush)
    with pytest.raises(ValueError, match="vendor"):
        cat.add_vendor("ro_flush@1", flush)
    with pytest.raises(ValueError, match="already"):
        layered.add_vendor("vendor.demo-water.ro_flush@1", flush)
    bad = CapabilityDef.model_validate(
        {
            "title": {"zh": "甲", "en": "A"},
            "properties": {
                "p": {"type": "enum", "values": ["a"], "labels": {"b": {"zh": "乙", "en": "B"}}}
            },
        }
    )
    with pytest.raises(ValueError, match=r"properties\.p\.labels\.b"):
        cat.add_vendor("vendor.acme.thing@1", bad)


# ------------------------------------------------------------------------------------------
# Instances


def test_instance_range_shorthand_narrows_the_property_and_its_parameter(cat: Catalogue) -> None:
    inst = apply_instance("brightness@1", cat.get("brightness@1"), {"range": [1, 100]})
    assert inst.key == "brightness@1" and inst.name == "brightness" and inst.major == 1
    assert inst.properties["level"].range == (1, 100)
    assert inst.properties["level"].unit == "%"
    assert inst.commands["set_level"].params["level"].range == (1, 100)
    assert inst.commands["set_level"].params["transition_s"].range == (0, 6553)
    assert cat.get("brightness@1").properties["level"].range == (0, 100)  # catalogue untouched


def test_instance_rejects_ranges_outside_the_catalogue(cat: Catalogue) -> None:
    with pytest.raises(InstanceConfigError) as info:
        apply_instance("brightness@1", cat.get("brightness@1"), {"range": [0, 101]})
    assert info.value.field_path == ("range",)
    with pytest.raises(InstanceConfigError) as info:
        apply_instance("fan@1", cat.get("fan@1"), {"percent": {"range": [-1, 50]}})
    assert info.value.field_path == ("percent", "range")
    with pytest.raises(InstanceConfigError, match="outside"):  # mireds typed in as kelvin
        apply_instance(
            "color_temperature@1",
            cat.get("color_temperature@1"),
            {"min_kelvin": 153, "max_kelvin": 500},
        )
    with pytest.raises(InstanceConfigError, match="above"):
        apply_instance("fan@1", cat.get("fan@1"), {"delay_off_s": {"range": [300, 0]}})


def test_instance_kelvin_and_setpoint_bounds(cat: Catalogue) -> None:
    ct = apply_instance(
        "color_temperature@1",
        cat.get("color_temperature@1"),
        {"min_kelvin": 2700, "max_kelvin": 6500},
    )
    assert ct.properties["kelvin"].range == (2700, 6500)
    assert ct.commands["set_kelvin"].params["kelvin"].range == (2700, 6500)
    one_side = apply_instance(
        "color_temperature@1", cat.get("color_temperature@1"), {"min_kelvin": 2200}
    )
    assert one_side.properties["kelvin"].range == (2200, 20000)

    sp = apply_instance(
        "temperature_setpoint@1",
        cat.get("temperature_setpoint@1"),
        {"min": 35, "max": 65, "step": 1},
    )
    assert sp.properties["setpoint"].range == (35, 65)
    assert sp.properties["setpoint"].step == 1
    with pytest.raises(InstanceConfigError, match="both"):
        apply_instance("temperature_setpoint@1", cat.get("temperature_setpoint@1"), {"min": 35})
    # `step: {…}` as a mapping narrows the `step` property itself, not the setpoint.
    sp2 = apply_instance(
        "temperature_setpoint@1", cat.get("temperature_setpoint@1"), {"step": {"range": [0.5, 1]}}
    )
    assert sp2.properties["step"].range == (0.5, 1)
    assert sp2.properties["setpoint"].step is None


def test_instance_firepower_levels(cat: Catalogue) -> None:
    inst = apply_instance("burner@1", cat.get("burner@1"), {"firepower_levels": 9})
    assert inst.properties["firepower"].range == (0, 9)  # 0 while the burner is out
    assert set(inst.commands) == {"off"}
    with pytest.raises(InstanceConfigError):
        apply_instance("burner@1", cat.get("burner@1"), {"firepower_levels": 0})


def test_instance_enum_subset_and_labels(cat: Catalogue) -> None:
    modes = ["off", "low", "medium", "high", "boost"]
    inst = apply_instance(
        "fan@1", cat.get("fan@1"), {"modes": modes, "delay_off_s": {"range": [0, 300]}}
    )
    assert inst.properties["mode"].values == tuple(modes)
    assert inst.commands["set_mode"].params["mode"].values == tuple(modes)
    assert set(inst.value_labels("mode")) == set(modes)
    assert inst.value_labels("mode")["boost"].zh == "爆炒"
    assert inst.properties["delay_off_s"].range == (0, 300)
    with pytest.raises(InstanceConfigError) as info:
        apply_instance("fan@1", cat.get("fan@1"), {"modes": ["low", "turbo"]})
    assert info.value.field_path == ("modes", 1)
    with pytest.raises(InstanceConfigError) as info:
        apply_instance("valve@1", cat.get("valve@1"), {"state": {"values": ["open", "ajar"]}})
    assert info.value.field_path == ("state", "values", 1)


def test_instance_open_enums_take_declared_values_with_labels(cat: Catalogue) -> None:
    inst = apply_instance(
        "program@1",
        cat.get("program@1"),
        {
            "values": {
                "congee": {"zh": "煲粥", "en": "Congee", "tags": ["porridge"]},
                "quick": {"zh": "快煮", "en": "Quick cook"},
            }
        },
    )
    assert inst.properties["program"].values == ("congee", "quick")
    assert inst.value_labels("program")["congee"] == LocalText(zh="煲粥", en="Congee")
    assert inst.value_tags("program") == {"congee": ("porridge",)}
    assert inst.commands["select"].params["program"].values == ("congee", "quick")

    fault = apply_instance(
        "fault@1", cat.get("fault@1"), {"codes": {"E1": {"zh": "电机故障", "en": "Motor fault"}}}
    )
    assert fault.properties["codes"].values == ("E1",)
    assert fault.value_labels("codes")["E1"].zh == "电机故障"


def test_instance_extra_states_extend_the_base_states(cat: Catalogue) -> None:
    inst = apply_instance(
        "operational_state@1",
        cat.get("operational_state@1"),
        {"extra_states": {"keep_warm": {"zh": "保温中", "en": "Keeping warm"}}},
    )
    state = inst.properties["state"]
    assert state.values == ("stopped", "running", "paused", "error", "keep_warm")
    assert inst.value_labels("state")["running"].zh == "运行中"
    assert inst.value_labels("state")["keep_warm"].en == "Keeping warm"
    with pytest.raises(InstanceConfigError, match="base value"):
        apply_instance(
            "operational_state@1", cat.get("operational_state@1"), {"extra_states": ["running"]}
        )
    with pytest.raises(InstanceConfigError, match="ambiguous"):
        apply_instance("operational_state@1", cat.get("operational_state@1"), {"values": ["x"]})


def test_instance_labels_need_zh_and_en(cat: Catalogue) -> None:
    with pytest.raises(InstanceConfigError) as info:
        apply_instance(
            "light_effect@1", cat.get("light_effect@1"), {"values": {"reading": {"zh": "阅读"}}}
        )
    assert info.value.field_path == ("values", "reading")
    assert "en" in info.value.message
    with pytest.raises(InstanceConfigError) as info:
        apply_instance("fault@1", cat.get("fault@1"), {"codes": {"E1": {"en": "Motor"}}})
    assert "zh" in info.value.message
    with pytest.raises(InstanceConfigError) as info:
        apply_instance("fault@1", cat.get("fault@1"), {"codes": ["E1"]})  # codes need texts
    assert info.value.field_path == ("codes",)
    with pytest.raises(InstanceConfigError) as info:
        apply_instance(
            "program@1",
            cat.get("program@1"),
            {"values": {"a": {"zh": "甲", "en": "A", "matter": 1}}},
        )
    assert info.value.field_path == ("values", "a", "matter")


def test_instance_unknown_keys_are_errors(cat: Catalogue) -> None:
    with pytest.raises(InstanceConfigError) as info:
        apply_instance("timer@1", cat.get("timer@1"), {"max_s": 86400})
    assert info.value.field_path == ("max_s",)
    assert "duration_s" in info.value.message  # the message lists what is allowed
    with pytest.raises(InstanceConfigError) as info:
        apply_instance("brightness@1", cat.get("brightness@1"), {"level": {"rnage": [1, 100]}})
    assert info.value.field_path == ("level", "rnage")
    with pytest.raises(InstanceConfigError):
        apply_instance("onoff@1", cat.get("onoff@1"), {"min_kelvin": 2700})  # not a lamp colour
    with pytest.raises(InstanceConfigError):
        apply_instance("onoff@1", cat.get("onoff@1"), {"features": ["of_only"]})


def test_instance_conflicting_settings(cat: Catalogue) -> None:
    with pytest.raises(InstanceConfigError, match="already set"):
        apply_instance(
            "brightness@1",
            cat.get("brightness@1"),
            {"range": [1, 100], "level": {"range": [5, 90]}},
        )


def test_instance_units(cat: Catalogue) -> None:
    inst = apply_instance(
        "consumption@1", cat.get("consumption@1"), {"unit": "m3", "info": {"kind": "gas"}}
    )
    assert inst.properties["total"].unit == "m3"
    assert inst.properties["session"].unit == "m3"
    assert inst.info == {"kind": "gas"}
    mixed = apply_instance(
        "consumption@1",
        cat.get("consumption@1"),
        {"total": {"unit": "m3"}, "session": {"unit": "L"}},
    )
    assert mixed.properties["session"].unit == "L"
    with pytest.raises(InstanceConfigError, match="needs a unit"):
        apply_instance("consumption@1", cat.get("consumption@1"), {})
    with pytest.raises(InstanceConfigError):
        apply_instance("consumption@1", cat.get("consumption@1"), {"unit": "W"})
    with pytest.raises(InstanceConfigError, match="fixed unit"):
        apply_instance("temperature@1", cat.get("temperature@1"), {"celsius": {"unit": "K"}})


def test_instance_features_remove_excluded_commands(cat: Catalogue) -> None:
    plain = apply_instance("onoff@1", cat.get("onoff@1"), {})
    assert set(plain.commands) == {"on", "off", "toggle"}
    assert plain.features == frozenset()
    off_only = apply_instance("onoff@1", cat.get("onoff@1"), {"features": ["off_only"]})
    assert set(off_only.commands) == {"off"}
    assert off_only.features == frozenset({"off_only"})
    assert set(apply_instance("onoff@1", cat.get("onoff@1"), None).commands) == {
        "on",
        "off",
        "toggle",
    }


def test_instance_info_is_free_but_must_be_a_mapping(cat: Catalogue) -> None:
    inst = apply_instance("filter_life@1", cat.get("filter_life@1"), {"info": {"rated_d": 365}})
    assert inst.info == {"rated_d": 365}
    assert inst.properties is not None and inst.events == cat.get("filter_life@1").events
    with pytest.raises(InstanceConfigError):
        apply_instance("filter_life@1", cat.get("filter_life@1"), {"info": ["rated_d"]})


# ------------------------------------------------------------------------------------------
# check_value


def _prop(**kw: object) -> PropertyDef:
    return PropertyDef.model_validate(kw)


def test_check_value_bool_is_strict() -> None:
    p = _prop(type="bool")
    assert check_value(p, True) is True
    for bad in (1, 0, "on", "true", None):
        with pytest.raises(ValueError):
            check_value(p, bad)


def test_check_value_int_rounds_only_near_integers() -> None:
    p = _prop(type="int", range=[0, 100])
    assert check_value(p, 5) == 5
    assert check_value(p, 5.0) == 5 and type(check_value(p, 5.0)) is int
    assert check_value(p, 41.99999999999) == 42
    for bad in (5.5, 100.2, 101, -1, True, "5", float("nan")):
        with pytest.raises(ValueError):
            check_value(p, bad)


def test_check_value_number_and_range() -> None:
    p = _prop(type="number", range=[0, 100])
    assert check_value(p, 8.2) == 8.2
    assert check_value(p, 3) == 3
    assert check_value(p, 100.0000000001) == 100  # float noise from a linear map
    with pytest.raises(ValueError, match="outside"):
        check_value(p, 100.1)
    with pytest.raises(ValueError):
        check_value(p, float("inf"))
    with pytest.raises(ValueError):
        check_value(p, False)
    assert check_value(_prop(type="number"), -1e9) == -1e9


def test_check_value_enum() -> None:
    p = _prop(type="enum", values=["off", "low"])
    assert check_value(p, "off") == "off"
    with pytest.raises(ValueError, match="turbo"):
        check_value(p, "turbo")
    with pytest.raises(ValueError):
        check_value(p, False)
    assert check_value(_prop(type="enum"), "anything") == "anything"  # values declared elsewhere


def test_check_value_set() -> None:
    p = _prop(type="set", values=["E1", "E2", "E3"])
    assert check_value(p, ["E3", "E1", "E3"]) == ("E1", "E3")
    assert check_value(p, frozenset({"E2"})) == ("E2",)
    assert check_value(p, ()) == ()
    with pytest.raises(ValueError):
        check_value(p, ["E4"])
    with pytest.raises(ValueError):
        check_value(p, "E1")


def test_check_value_string_params_and_fields() -> None:
    assert check_value(_prop(type="string"), "abc") == "abc"
    with pytest.raises(ValueError):
        check_value(_prop(type="string"), 3)
    pin = ParamDef(type=ValueType.SECRET, required=False)
    assert check_value(pin, "1234") == "1234"
    level = ParamDef(type=ValueType.NUMBER, range=(1, 100))
    with pytest.raises(ValueError):
        check_value(level, 0)
    assert check_value(FieldDef(type=ValueType.INT), 7.0) == 7


def test_check_value_against_narrowed_instance(cat: Catalogue) -> None:
    inst = apply_instance("burner@1", cat.get("burner@1"), {"firepower_levels": 9})
    assert check_value(inst.properties["firepower"], 9) == 9
    with pytest.raises(ValueError):
        check_value(inst.properties["firepower"], 10)


def test_shipped_files_read_the_same_in_yaml_1_1() -> None:
    """on/off/yes/no are quoted, so other (YAML 1.1) tools see the same catalogue."""
    files = sorted(default_catalogue_dir().glob("*.yaml"))
    assert files
    for file in files:
        data, _lines = load_yaml_file(file)
        assert yaml.safe_load(file.read_text(encoding="utf-8")) == data, file.name
