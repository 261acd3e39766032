"""Dry runs: scripted events on a simulated clock against a copy of the current state; they
show what would be done and touch no device."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

from rules_home import START, TZ, Home

from hub.core.registry import Device, Room
from hub.storage import Storage
from rules.cli_rule import cmd_rule_test

GUARD = """
id: gas_leak
name: {zh: 燃气泄漏, en: Gas leak}
safety: true
triggers: [{event: {target: role:gas_detector, path: gas_detector/gas_alarm}}]
actions:
  - command: {target: role:gas_shutoff, room: same, do: valve.close}
  - notify:
      priority: critical
      text: {zh: "{room}燃气泄漏，已关阀", en: "Gas leak in the {room}; valve closed"}
  - block:
      targets: [role:ventilation, "category:light."]
      room: same
      until:
        event: {target: role:gas_detector, room: same, path: gas_detector/gas_cleared}
        plus_s: 600
"""

SCRIPT = [
    {"at": 0, "state": {"kitchen-hob/main/burner/ignited": True}},
    {"at": 5, "event": {"device": "kitchen-gas", "path": "main/gas_detector/gas_alarm"}},
    {"at": 65, "event": {"device": "kitchen-gas", "path": "main/gas_detector/gas_cleared"}},
]


async def test_dry_run_shows_what_would_happen_and_touches_nothing(home: Home) -> None:
    engine = await home.engine(GUARD)
    report = await engine.dry_run("gas_leak", SCRIPT)
    assert home.all_calls == []  # no device received anything
    assert home.states.value("kitchen-gas/valve/valve/state") == "open"
    assert home.states.value("kitchen-hob/main/burner/ignited") is False
    assert home.arbiter.blocks() == []
    assert engine.traces("gas_leak") == []  # the real rule did not run either

    kinds = [(round(e.t), e.kind) for e in report.entries]
    assert kinds == [
        (0, "input"),
        (5, "input"),
        (5, "command"),
        (5, "notify"),
        (5, "block"),
        (5, "run"),
        (65, "input"),
        (65, "block"),  # the all-clear: the block now counts down
        (665, "unblock"),
    ]
    command = report.commands()[0]
    assert command.detail["status"] == "confirmed"
    assert "kitchen-gas valve/valve.close → confirmed" in command.text
    assert "Gas leak in the Kitchen; valve closed" in report.entries[3].text
    assert report.link_calls == [
        {"at": START + 5, "device": "kitchen-gas", "target": "valve/valve.close", "args": {}}
    ]
    assert report.traces["gas_leak"][0]["status"] == "finished"
    json.dumps(report.as_dict(), allow_nan=False)
    assert report.lines()[2].startswith("+     5.0s  command  kitchen-gas valve/valve.close")
    assert report.entries[7].text.endswith("in kitchen: lifts in 600 s")


async def test_dry_run_starts_from_a_copy_of_current_state(home: Home) -> None:
    rule = """
id: hood_if_someone_cooks
name: {zh: 有人做饭开烟机, en: Hood when someone cooks}
triggers: [{state: {target: role:gas_source, path: burner/ignited, to: true}}]
conditions: [{state: {target: role:presence, room: same, path: occupancy/occupied, is: true}}]
actions: [{command: {target: role:ventilation, room: same, do: fan.set_mode, args: {mode: high}}}]
"""
    engine = await home.engine()
    script = [{"at": 1, "state": {"kitchen-hob/main/burner/ignited": True}}]
    report = await engine.dry_run(rule, script)
    assert report.commands() == []
    assert report.traces["hood_if_someone_cooks"][0]["status"] == "stopped"
    home.report("kitchen-pir/main/occupancy/occupied", True)  # the live home changes
    report = await engine.dry_run(rule, script)
    assert [e.detail["target"] for e in report.commands()] == ["main/fan.set_mode"]
    report = await engine.dry_run(
        rule, script, initial_state={"kitchen-pir/main/occupancy/occupied": False}
    )
    assert report.commands() == []
    assert home.all_calls == []


async def test_dry_run_shows_arbiter_refusals(home: Home) -> None:
    engine = await home.engine()
    rule = """
id: open_door
name: {zh: 开门, en: Open door}
triggers: [{state: {target: hall-pir, path: occupancy/occupied, to: true}}]
actions: [{command: {target: role:entry_lock, do: lock.unlock}}]
"""
    report = await engine.dry_run(
        rule, [{"at": 0, "state": {"hall-pir/main/occupancy/occupied": True}}]
    )
    (command,) = report.commands()
    assert command.detail["status"] == "refused" and command.detail["code"] == "automation_denied"
    assert report.link_calls == []


async def test_dry_run_with_a_start_time_and_delays(home: Home) -> None:
    engine = await home.engine()
    rule = """
id: morning
name: {zh: 早上, en: Morning}
triggers: [{time: {at: "07:00"}}]
actions:
  - command: {target: hall-light, do: onoff.on}
  - delay: 30m
  - command: {target: hall-light, do: onoff.off}
"""
    report = await engine.dry_run(
        rule, {"start": "2025-03-11T06:59:00", "duration": "1h", "events": []}
    )
    assert [(e.t, e.detail["target"]) for e in report.commands()] == [
        (60.0, "main/onoff.on"),
        (1860.0, "main/onoff.off"),
    ]
    assert report.start == START + 86400 - 3660  # 06:59 the next day
    assert TZ.key == "Asia/Shanghai"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


CLI_RULE = """\
schema: zshub.rules/1
rules:
  - id: hall_light
    name: {zh: 玄关灯, en: Hall light}
    triggers: [{state: {target: hall-pir, path: main/occupancy/occupied, to: true}}]
    actions:
      - command: {target: hall-light, do: main/onoff.on}
      - delay: 2m
      - command: {target: hall-light, do: main/onoff.off}
"""


def test_cli_prints_what_would_be_done(tmp_path: Path) -> None:
    rule = write(tmp_path / "rule.yaml", CLI_RULE)
    events = write(
        tmp_path / "events.yaml",
        "- {at: 0, state: {hall-pir/main/occupancy/occupied: false}}\n"
        "- {at: 10, state: {hall-pir/main/occupancy/occupied: true}}\n",
    )
    out = io.StringIO()
    assert cmd_rule_test(rule, events, out=out) == 0
    text = out.getvalue()
    assert "no device touched" in text
    # No hub data: the device is unknown here, so the command is shown unchecked.
    assert "+    10.0s  command  hall-light main/onoff.on → sent (dry_run_unchecked" in text
    assert "+   130.0s  command  hall-light main/onoff.off" in text
    out = io.StringIO()
    assert cmd_rule_test(rule, events, as_json=True, out=out) == 0
    assert json.loads(out.getvalue())["rules"] == ["hall_light"]


def test_cli_reports_broken_files_with_lines(tmp_path: Path) -> None:
    rule = write(tmp_path / "rule.yaml", CLI_RULE)
    events = write(
        tmp_path / "events.yaml",
        "- {at: 0, state: {hall-pir/main/occupancy/occupied: true}}\n- {at: soon, event: {}}\n",
    )
    out = io.StringIO()
    assert cmd_rule_test(rule, events, out=out) == 1
    assert f"{events}:2:" in out.getvalue()
    broken = write(tmp_path / "broken.yaml", CLI_RULE.replace("delay: 2m", "delay: later"))
    out = io.StringIO()
    assert cmd_rule_test(broken, events, out=out) == 1
    assert f"{broken}:8: rules.0.actions.1.delay:" in out.getvalue()
    out = io.StringIO()
    assert cmd_rule_test(rule, events, rule_id="nope", out=out) == 1


def test_cli_uses_the_hubs_registry_and_last_states(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()

    async def seed() -> None:
        storage = await Storage.open(data / "zshub.db")
        storage.save_room(Room("hall", "玄关", "Hall"))
        storage.save_device(
            Device("hall-light", "玄关灯", "Hall light", None, "fake", "fake", room_id="hall")
        )
        await storage.flush()
        await storage.close()

    asyncio.run(seed())
    rule = write(
        tmp_path / "rule.yaml",
        CLI_RULE.replace("target: hall-light", "target: room:hall"),
    )
    events = write(
        tmp_path / "events.yaml", "- {at: 0, state: {hall-pir/main/occupancy/occupied: true}}\n"
    )
    out = io.StringIO()
    assert cmd_rule_test(rule, events, data_dir=data, out=out) == 0
    # room:hall resolved through the hub's registry (without it: no device in the room).
    assert "hall-light main/onoff.on → sent" in out.getvalue()
