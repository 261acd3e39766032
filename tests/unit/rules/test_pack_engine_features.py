"""Engine features the packs need: pack parameters and the home's overrides, trigger ids with
``trigger`` conditions, ``not_to``/``not_from``, ``*/`` components, ``capability:`` targets,
``scene`` triggers with ``failed`` conditions and the ``{failed}`` list, ``fail_safe_only``,
zh/en labels in notification texts, and dry runs against a floor plan (``--home``)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rules_home import PROFILES, FakeProfile, Home, statuses
from rules_pack_home import PackHome

from hub.config import HubConfig
from hub.core.registry import Availability
from hub.util.yamlio import load_yaml
from rules.cli_rule import cmd_rule_test
from rules.loader import parse_text
from rules.params import (
    ParamOverrides,
    format_duration,
    parse_assignment,
    parse_overrides,
)
from rules.plugin import RulesPlugin, load_packs, load_user_files, setup

# -- parameters ---------------------------------------------------------------------------------

PACK = """\
schema: zshub.rules/1
pack: {id: test.pack}
params:
  hold: {value: 30m, type: duration, min: 5m, max: 2h, title: {zh: 时长, en: Hold}}
  level: {value: 5, type: int, min: 1, max: 50}
  days: [mon, fri]
  room_id: kitchen
rules:
  - id: r
    name: {zh: 规则, en: Rule}
    description:
      zh: "保持 ${hold}，亮度 ${level}%，${days}"
      en: "hold ${hold}, ${level}%, ${days}"
    triggers:
      - state: {target: role:gas_source, path: burner/ignited, to: true, for: $hold}
      - time: {at: "07:00", weekdays: $days}
    actions:
      - command:
          target: "category:light."
          room: $room_id
          do: brightness.set_level
          args: {level: $level}
"""


def overrides(text: str) -> ParamOverrides:
    data, lines = load_yaml(text, "params.yaml")
    found, problems = parse_overrides(data, lines, "params.yaml")
    assert not problems, problems
    return found


def test_params_are_substituted_as_values_and_inside_texts() -> None:
    result = parse_text(PACK, "pack.yaml")
    assert result.problems == []
    rule = result.rules[0].rule
    assert rule.triggers[0].state is not None and rule.triggers[0].state.for_ == 1800
    assert rule.triggers[1].time is not None and rule.triggers[1].time.weekdays == ("mon", "fri")
    command = rule.actions[0].command
    assert command is not None and command.args == {"level": 5} and command.room == "kitchen"
    assert rule.description is not None
    assert rule.description.zh == "保持 30 分钟，亮度 5%，周一、周五"
    assert rule.description.en == "hold 30 min, 5%, Mon, Fri"
    assert [str(p) for p in result.params][:2] == ["hold = '30m' (default)", "level = 5 (default)"]


def test_overrides_by_pack_win_over_all_and_are_checked() -> None:
    found = overrides(
        "schema: zshub.params/1\n"
        "all: {level: 7, hold: 10m}\n"
        "packs:\n"
        "  test.pack: {hold: 45m}\n"
        "  other.pack: {hold: 1m}\n"
    )
    result = parse_text(PACK, "pack.yaml", overrides=found)
    assert result.problems == []
    rule = result.rules[0].rule
    assert rule.triggers[0].state is not None and rule.triggers[0].state.for_ == 2700
    assert rule.actions[0].command is not None and rule.actions[0].command.args == {"level": 7}
    origins = {p.name: p.origin for p in result.params}
    assert origins["hold"] == "params.yaml:4" and origins["level"] == "params.yaml:2"
    # other.pack is not loaded: its override is reported, not silently dropped.
    assert [p.field for p in found.unused()] == ["packs.other.pack.hold"]


def test_bad_override_is_reported_and_the_declared_value_stays() -> None:
    found = overrides("schema: zshub.params/1\npacks:\n  test.pack: {hold: 3h, level: many}\n")
    result = parse_text(PACK, "pack.yaml", overrides=found)
    assert len(result.rules) == 1  # a typo never sets a pack aside
    messages = sorted(str(p) for p in result.problems)
    assert messages == [
        "params.yaml:3: packs.test.pack.hold: 3h is above the maximum 2h; pack.yaml uses "
        "hold = '30m'",
        "params.yaml:3: packs.test.pack.level: 'many' is not a whole number; pack.yaml uses "
        "level = 5",
    ]
    assert result.rules[0].rule.triggers[0].state.for_ == 1800  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("for: $hold}", None),
        ("for: $hould}", "rules.0.triggers.0.state.for: unknown parameter $hould"),
        ("for: ${hold}}", None),  # inline in a value: text "30 min" is no duration
    ],
)
def test_unknown_params_in_a_file_set_it_aside_with_the_line(
    change: str, message: str | None
) -> None:
    result = parse_text(PACK.replace("for: $hold}", change), "pack.yaml")
    if message is None:
        return
    (problem,) = result.problems
    assert str(problem) == f"pack.yaml:15: {message} (params: days, hold, level, room_id)"
    assert result.rules == []


def test_a_declared_value_outside_its_own_bounds_is_a_file_problem() -> None:
    result = parse_text(PACK.replace("value: 30m", "value: 1m"), "pack.yaml")
    assert [str(p) for p in result.problems] == [
        "pack.yaml:4: params.hold: 1m is below the minimum 5m"
    ]


def test_parse_assignment_and_format_duration() -> None:
    assert parse_assignment("hold=45m") == ("hold", "45m")
    assert parse_assignment("days=[sat, sun]") == ("days", ["sat", "sun"])
    assert parse_assignment('at="22:30"') == ("at", "22:30")
    with pytest.raises(ValueError, match="name=value"):
        parse_assignment("45m")
    assert format_duration("1h30m", "zh") == "1 小时 30 分钟"
    assert format_duration(90, "en") == "1 min 30 s"


async def test_hub_applies_the_homes_overrides_to_the_packs(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "params.yaml").write_text(
        "schema: zshub.params/1\n"
        "packs:\n"
        "  builtin.kitchen_guard: {unattended_after: 45m}\n"
        "  zhongshan.home: {hood_run_onn: 1m}\n",
        encoding="utf-8",
    )
    user = load_user_files(tmp_path)
    packs = load_packs(user)
    rule = next(r.rule for r in packs.rules if r.rule.id == "unattended_cooking")
    assert rule.triggers[0].state is not None and rule.triggers[0].state.for_ == 2700
    assert [p.field for p in packs.problems] == ["packs.zhongshan.home.hood_run_onn"]
    # The same in a real hub: the typo is listed with the hub's problems.
    from hub.app import Hub

    hub = Hub(HubConfig.load(tmp_path, port=0, plugins=()), extra_plugins=[setup])
    await hub.start()
    try:
        (plugin,) = hub.plugins
        assert isinstance(plugin, RulesPlugin) and plugin.engine is not None
        assert any("hood_run_onn" in p for p in hub.problems), hub.problems
        info = plugin.engine.get("unattended_cooking")
        assert info.safety and info.rule.triggers[0].state.for_ == 2700  # type: ignore[union-attr]
    finally:
        await hub.stop()


# -- trigger ids, not_to, components, capability targets ---------------------------------------


async def test_trigger_ids_and_trigger_conditions(home: Home) -> None:
    engine = await home.engine(
        """
id: r
name: {zh: 规则, en: Rule}
triggers:
  - {id: on, state: {target: kitchen-light, path: onoff/on, to: true}}
  - {id: off, state: {target: kitchen-light, path: onoff/on, to: false}}
actions:
  - choose:
      - conditions: [{trigger: on}]
        actions: [{notify: {text: {zh: 开, en: "on"}}}]
      - conditions: [{trigger: [off]}]
        actions: [{notify: {text: {zh: 关, en: "off"}}}]
"""
    )
    home.report("kitchen-light/main/onoff/on", True)
    await home.clock.advance(1)
    home.report("kitchen-light/main/onoff/on", False)
    await home.clock.advance(1)
    assert [n.text_en for n in engine.notifier.recent()] == ["off", "on"]
    assert engine.traces("r")[0]["trigger"]["trigger_id"] == "off"


def test_trigger_condition_with_an_unknown_id_is_a_problem() -> None:
    text = """
schema: zshub.rules/1
rules:
  - id: r
    name: {zh: 规则, en: Rule}
    triggers:
      - {id: a, hub_start: {}}
      - {id: a, hub_start: {}}
    actions:
      - choose:
          - conditions: [{trigger: b}]
            actions: [{delay: 1}]
"""
    assert [str(p) for p in parse_text(text, "t.yaml").problems] == [
        "t.yaml:8: rules.0.triggers.1.id: trigger id a is used twice",
        "t.yaml:10: rules.0.actions.0.choose.branches.0.conditions.0.trigger: no trigger has "
        "the id b (trigger ids: a)",
    ]


async def test_not_to_and_not_from(home: Home) -> None:
    engine = await home.engine(
        """
id: r
name: {zh: 规则, en: Rule}
mode: queued
triggers:
  - state: {target: kitchen-hood, path: fan/mode, not_to: "off", not_from: boost}
actions: [{delay: 0}]
"""
    )
    for mode in ("low", "high", "off", "boost", "medium"):
        home.report("kitchen-hood/main/fan/mode", mode)
        await home.clock.advance(1)
    fired = [s for s in statuses(engine, "r") if s != "not_fired"]
    assert fired == ["finished", "finished", "finished"]  # low, high, boost


async def test_star_runs_a_command_on_every_component(home: Home) -> None:
    PROFILES["hob2"] = FakeProfile(
        "test.hob2",
        "kitchen.cooktop",
        {"left": ["burner"], "right": ["burner"], "main": ["appliance_link"]},
        ["gas_source"],
    )
    try:
        home.add_device("hob-2", "kitchen", "hob2")
        await home.engine(
            """
id: r
name: {zh: 规则, en: Rule}
triggers: [{event: {target: kitchen-gas, path: gas_detector/gas_alarm}}]
actions:
  - command: {target: hob-2, do: "*/burner.off"}
  - command: {target: hob-2, do: burner.off}
"""
        )
        home.event("kitchen-gas", "main/gas_detector/gas_alarm")
        await home.clock.advance(1)
        assert home.calls("hob-2") == [
            ("hob-2", "left/burner.off", {}),
            ("hob-2", "right/burner.off", {}),
            ("hob-2", "left/burner.off", {}),  # without */: the first component only
        ]
        scenes = home.scenes(
            """
schema: zshub.scenes/1
scenes:
  - id: off
    name: {zh: 关, en: "Off"}
    states: [{target: role:gas_source, set: {"*/burner/ignited": false}}]
"""
        )
        home.all_calls.clear()
        result = await scenes.apply("off")
        assert result.ok
        assert sorted(t for _, t, _ in home.calls("hob-2")) == [
            "left/burner.off",
            "right/burner.off",
        ]
    finally:
        del PROFILES["hob2"]


async def test_capability_targets_mean_every_device_that_has_it(home: Home) -> None:
    engine = await home.engine(
        """
id: r
name: {zh: 规则, en: Rule}
triggers: [{state: {target: capability:occupancy, path: occupancy/occupied, to: true}}]
actions:
  - command: {target: capability:brightness, room: same, do: brightness.set_level, args: {level: 5}}
"""
    )
    home.report("hall-pir/main/occupancy/occupied", True)
    await home.clock.advance(1)
    assert home.calls() == [("hall-light", "main/brightness.set_level", {"level": 5})]
    home.report("kitchen-hood/main/fan/mode", "low")  # not an occupancy path
    await home.clock.advance(1)
    assert statuses(engine, "r") == ["finished"]
    bad = parse_text(
        "id: b\nname: {zh: b, en: b}\ntriggers: [{hub_start: {}}]\n"
        "actions: [{block: {targets: capability:onoff, until: {after: 1}}}]\n",
        "t.yaml",
    )
    assert "scope it with room:" in str(bad.problems[0])


# -- scene triggers, failed, {failed}, fail_safe_only ---------------------------------------------

REPORT = """
id: report
name: {zh: 报告, en: Report}
triggers: [{scene: all_off}]
actions:
  - choose:
      branches:
        - conditions: [{failed: true}]
          actions:
            - notify: {text: {zh: "未完成：{failed}", en: "Not done ({failed_count}): {failed}"}}
      default:
        - notify: {text: {zh: 完成, en: Done}}
"""
ALL_OFF = """
schema: zshub.scenes/1
scenes:
  - id: all_off
    name: {zh: 全关, en: All off}
    states:
      - {target: "category:light.", set: {onoff/on: false}}
      - {target: role:entry_lock, set: {lock/lock_state: locked}}
"""


async def test_scene_trigger_sees_what_the_scene_could_not_do(home: Home) -> None:
    scenes = home.scenes(ALL_OFF)
    engine = await home.engine(REPORT, scenes=scenes)
    await scenes.apply("all_off")
    await home.clock.advance(1)
    home.links["hall-light"].fail = True
    home.links["front-door"].online = False
    await scenes.apply("all_off")
    await home.clock.advance(1)
    done, failed = reversed(engine.notifier.recent())
    assert done.text_en == "Done"
    assert failed.text_en.startswith("Not done (2): Device hall-light (")
    assert "Device front-door (Device front-door is offline)" in failed.text_en
    assert failed.text_zh.startswith("未完成：设备hall-light（")


async def test_failed_condition_after_a_command_step(home: Home) -> None:
    home.links["kitchen-hood"].fail = True
    engine = await home.engine(
        """
id: r
name: {zh: 规则, en: Rule}
triggers: [{state: {target: kitchen-pir, path: occupancy/occupied, to: true}}]
actions:
  - command: {target: [kitchen-hood, kitchen-light], do: onoff.on}
  - choose:
      - conditions: [{failed: true}]
        actions: [{notify: {priority: alert, text: {zh: "{failed}", en: "{failed}"}}}]
"""
    )
    home.report("kitchen-pir/main/occupancy/occupied", True)
    await home.clock.advance(1)
    (note,) = engine.notifier.recent()
    assert note.text_en.startswith("Device kitchen-hood (") and "kitchen-light" not in note.text_en


async def test_fail_safe_only_sends_where_the_profile_declares_it(home: Home) -> None:
    class FailSafeProfile(FakeProfile):
        fail_safe = {"valve/valve/state": "closed"}

    PROFILES["gas_fs"] = FailSafeProfile(
        "test.gas_fs",
        "safety.gas_detector",
        {"main": ["gas_detector"], "valve": ["valve"]},
        ["gas_detector", "gas_shutoff"],
    )
    try:
        home.add_device("kitchen-gas-2", "kitchen", "gas_fs")
        engine = await home.engine(
            """
id: r
name: {zh: 规则, en: Rule}
triggers: [{availability: {target: role:gas_detector, to: offline}}]
actions:
  - command: {target: role:gas_shutoff, room: same, do: valve.close, fail_safe_only: true}
"""
        )
        home.registry.set_availability("kitchen-gas", Availability.OFFLINE)
        await home.clock.advance(1)
        devices = engine.traces("r")[0]["steps"][0]["result"]["devices"]
        by_device = {d["device"]: d for d in devices}
        assert by_device["kitchen-gas"]["status"] == "skipped"
        assert by_device["kitchen-gas"]["notes"][0]["code"] == "not_fail_safe"
        assert by_device["kitchen-gas-2"]["status"] == "confirmed"
    finally:
        del PROFILES["gas_fs"]


# -- labels in notification texts ---------------------------------------------------------------


async def test_notification_texts_use_the_profiles_labels() -> None:
    home = await PackHome.start()
    try:
        assert home.engine is not None
        await home.engine.add(
            """
id: labels
name: {zh: 标签, en: Labels}
triggers:
  - state: {target: role:entry_lock, path: lock/lock_state}
  - event: {target: role:entry_lock, path: lock/lock_operation}
actions:
  - notify:
      text:
        zh: "{device}：{value}{operation}{source}"
        en: "{device}: {value}{operation} {source} {unknown}"
"""
        )
        await home.state({"front-door/main/lock/lock_state": "jammed"})
        await home.event(
            "front-door", "main/lock/lock_operation", operation="unlock", source="face"
        )
        # A placeholder the trigger has no value for stays as written.
        assert home.texts("labels", "zh") == [
            "入户门锁：锁舌卡住{operation}{source}",
            "入户门锁：开锁人脸识别",
        ]
        assert home.texts("labels") == [
            "Front door lock: Jammed{operation} {source} {unknown}",
            "Front door lock: Unlocked Face recognition {unknown}",
        ]
    finally:
        await home.close()


# -- dry runs against a floor plan --------------------------------------------------------------

PLAN = """\
schema: zshub.sim-home/1
rooms:
  - {id: chufang, name: {zh: 厨房, en: Kitchen}}
devices:
  - key: gas
    profile: cn.zs.demo-safety.jt-rq-v1
    room: chufang
    name: {zh: 燃气报警器, en: Gas detector}
    state: {valve/valve/state: open}
  - {key: hob, profile: cn.zs.demo-kitchen.jzt-b2w, room: chufang}
"""


def test_cli_dry_run_on_a_floor_plan_with_params(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN, encoding="utf-8")
    events = tmp_path / "events.yaml"
    events.write_text(
        "- {at: 0, state: {hob/burner_right/burner/ignited: true}}\n", encoding="utf-8"
    )
    pack = Path("rules/packs/kitchen_guard.yaml").resolve()
    out = io.StringIO()
    code = cmd_rule_test(
        pack,
        events,
        rule_id="unattended_cooking",
        home=plan,
        params=["unattended_after=10m", "unattended_grace=1m"],
        out=out,
    )
    text = out.getvalue()
    assert code == 0, text
    assert "param unattended_after = '10m' (--param)" in text
    assert "+   600.0s  notify   [alert] 厨房的灶具已连续燃烧 10 分钟且无人看管" in text
    assert "+   660.0s  command  hob burner_left/burner.off → confirmed" in text
    assert "+   660.0s  command  hob burner_right/burner.off → confirmed" in text
    assert "unattended_cooking: 1 finished" in text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (["unattended_after=1m"], "--param: unattended_after: 1m is below the minimum 5m"),
        (["unatended_after=10m"], "--param: unatended_after: the file declares no parameter"),
        (["10m"], "zshub rule test: '10m': write --param name=value"),
    ],
)
def test_cli_refuses_bad_params(tmp_path: Path, params: list[str], message: str) -> None:
    events = tmp_path / "events.yaml"
    events.write_text("[]\n", encoding="utf-8")
    out = io.StringIO()
    code = cmd_rule_test(Path("rules/packs/kitchen_guard.yaml"), events, params=params, out=out)
    assert code == 1
    assert out.getvalue().startswith(message), out.getvalue()


def test_cli_reports_a_broken_floor_plan(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN.replace("room: chufang}", "room: kitchen}"), encoding="utf-8")
    events = tmp_path / "events.yaml"
    events.write_text("[]\n", encoding="utf-8")
    out = io.StringIO()
    code = cmd_rule_test(Path("rules/packs/kitchen_guard.yaml"), events, home=plan, out=out)
    assert code == 1
    assert "devices.1.room: no room 'kitchen' in this file" in out.getvalue()
