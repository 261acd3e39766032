"""The rule and scene file formats: loading, line-precise problems, files set aside."""

from __future__ import annotations

from pathlib import Path

import pytest
from rules_home import make_rule

from rules.loader import load_dir, load_file, parse_text
from rules.schema import RunIfWithin, parse_duration

GOOD = """\
schema: zshub.rules/1
rules:
  - id: hall_light
    name: {zh: 玄关灯, en: Hall light}
    mode: restart
    triggers:
      - state: {target: hall-pir, path: occupancy/occupied, to: true}
    actions:
      - command: {target: hall-light, do: onoff.on}
      - delay: 2m
      - command: {target: hall-light, do: onoff.off}
"""

BROKEN = """\
schema: zshub.rules/1
rules:
  - id: night_light
    name: {zh: 夜灯, en: Night light}
    triggers:
      - state: {target: hall-pir, path: occupancy/occupied, to: true}
    conditions:
      - time: {after: 22:00, before: "06:00"}
    actions:
      - command: {target: hall-light, do: onoff.on}
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_broken_file_is_reported_with_line_and_set_aside_others_load(tmp_path: Path) -> None:
    write(tmp_path, "a_good.yaml", GOOD)
    bad = write(tmp_path, "b_broken.yaml", BROKEN)
    result = load_dir(tmp_path)
    assert [r.rule.id for r in result.rules] == ["hall_light"]
    assert len(result.problems) == 1
    problem = str(result.problems[0])
    # An unquoted 22:00 is the YAML 1.1 number 1320: refused, pointing at the line.
    assert problem.startswith(f"{bad}:8: rules.0.conditions.0.time.after: ")
    assert '"22:00"' in problem and "1320" in problem


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", "schema: zshub.rules/1\nrules:\n  - id: [unclosed\n")
    result = load_file(path)
    assert not result.rules
    assert result.problems[0].line is not None and result.problems[0].line >= 3


@pytest.mark.parametrize(
    ("snippet", "field", "words"),
    [
        ("- state: hall-pir\n        to: true", "rules.0.triggers.0", "belong inside state"),
        ("- sunrise: {}", "rules.0.triggers.0", "unknown trigger"),
        (
            "- state: {target: hall-pir, path: occupancy/occupied, for: 30}",
            "rules.0.triggers.0.state",
            "for: needs to",
        ),
        (
            "- state: {target: 'room:Kitchen!', path: occupancy/occupied}",
            "rules.0.triggers.0.state.target.0",
            "not a valid room",
        ),
        (
            "- event: {target: hall-pir, path: occupancy, count: 2}",
            "rules.0.triggers.0.event.path",
            "not a path",
        ),
        (
            "- state: {target: hall-pir, path: occupancy/occupied, room: same}",
            "rules.0.triggers.0.state.room",
            "room: same needs a run",
        ),
    ],
)
def test_trigger_mistakes_name_field_and_line(snippet: str, field: str, words: str) -> None:
    text = (
        "schema: zshub.rules/1\nrules:\n  - id: r\n    name: {zh: 规则, en: Rule}\n"
        f"    triggers:\n      {snippet}\n    actions:\n      - delay: 1\n"
    )
    result = parse_text(text, "t.yaml")
    assert not result.rules
    assert any(p.field.startswith(field) and words in p.message for p in result.problems), [
        str(p) for p in result.problems
    ]
    assert all(p.line == 6 for p in result.problems if p.field.startswith(field))


def test_safety_rules_only_from_packs(tmp_path: Path) -> None:
    text = GOOD.replace("mode: restart", "mode: restart\n    safety: true")
    path = write(tmp_path, "s.yaml", text)
    user = load_file(path)
    assert not user.rules
    assert "reserved for built-in safety rules" in str(user.problems[0])
    assert user.problems[0].line == 6
    assert load_file(path, allow_safety=True).rules[0].rule.safety


def test_duplicate_rule_id_in_a_later_file_sets_that_file_aside(tmp_path: Path) -> None:
    write(tmp_path, "1.yaml", GOOD)
    second = write(tmp_path, "2.yaml", GOOD)
    result = load_dir(tmp_path)
    assert len(result.rules) == 1
    assert str(second) in str(result.problems[0]) and "already in" in str(result.problems[0])


def test_scene_file_and_unknown_schema(tmp_path: Path) -> None:
    scene = write(
        tmp_path,
        "scenes.yaml",
        "schema: zshub.scenes/1\nscenes:\n  - id: evening\n    name: {zh: 晚上, en: Evening}\n"
        "    states:\n      - {target: room:hall, set: {onoff/on: true}}\n",
    )
    assert [s.scene.id for s in load_file(scene).scenes] == ["evening"]
    other = write(tmp_path, "other.yaml", "schema: zshub.rules/9\nrules: []\n")
    problem = load_file(other).problems[0]
    assert problem.field == "schema" and problem.line == 1


def test_yaml_12_booleans_keep_on_off_as_text() -> None:
    rule = make_rule(
        """
id: fan_off
name: {zh: 关风机, en: Fan off}
triggers:
  - state: {target: kitchen-hood, path: fan/mode, to: off}
actions:
  - command: {target: kitchen-hood, do: fan.set_mode, args: {mode: off}}
"""
    )
    state = rule.triggers[0].state
    command = rule.actions[0].command
    assert state is not None and state.to == "off"
    assert command is not None and command.args == {"mode": "off"}


def test_durations_catch_up_and_defaults() -> None:
    assert parse_duration(90) == 90.0
    assert parse_duration("1h30m") == 5400.0
    assert parse_duration("2m") == 120.0
    assert parse_duration("45s") == 45.0
    assert parse_duration("01:00:05") == 3605.0
    for bad in (True, -1, "soon", ""):
        with pytest.raises(ValueError):
            parse_duration(bad)
    rule = make_rule(
        "id: r\nname: {zh: 规则, en: Rule}\ntriggers: [{hub_start: {}}]\nactions: [{delay: 1}]\n"
    )
    assert rule.mode == "single" and rule.max_runs == 10
    assert rule.catch_up == RunIfWithin(run_if_within=900.0)
    result = parse_text(
        "id: r\nname: {zh: 规则, en: Rule}\nmode: single\nmax: 3\n"
        "triggers: [{hub_start: {}}]\nactions: [{delay: 1}]\n"
    )
    assert result.problems[0].field == "rules.0.max" and result.problems[0].line == 4
