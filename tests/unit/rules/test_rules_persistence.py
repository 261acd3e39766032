"""Delays, waits, ``for:`` durations, clock times and blocks survive a restart; timers missed
while the hub was off go through the rule's catch-up policy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from rules_home import START, Home, statuses

from hub.core.context import Context, Origin
from hub.storage import Storage
from hub.storage.tables import RuleTimerRow
from rules.store import MemoryRuleStore

DELAYED = """
id: d
name: {{zh: 延时, en: Delayed}}
catch_up: {catch_up}
triggers: [{{event: {{target: role:presence, path: occupancy/motion}}}}]
actions:
  - command: {{target: hall-light, do: onoff.on}}
  - delay: 60
  - command: {{target: hall-light, do: onoff.off}}
"""


@pytest.fixture
async def homes() -> AsyncIterator[list[Home]]:
    made: list[Home] = []
    yield made
    for home in made:
        await home.close()


def restart(homes: list[Home], old: Home, down_s: float) -> Home:
    """The hub stops, stays off ``down_s`` seconds and starts again with a fresh kernel."""
    new = Home.build(start=old.clock.now() + down_s, after=old)
    homes.append(new)
    return new


async def test_delay_resumes_after_a_restart(home: Home, homes: list[Home]) -> None:
    store = MemoryRuleStore()
    engine = await home.engine(DELAYED.format(catch_up="run"), store=store)
    home.event("hall-pir", "main/occupancy/motion")
    await home.clock.advance(10)
    run_id = engine.running("d")[0]
    await engine.stop()
    assert statuses(engine, "d") == ["interrupted"]
    (timer,) = store.timers.values()
    assert (timer.rule_id, timer.run_id, timer.kind) == ("d", run_id, "delay")
    assert timer.due_at == START + 60

    again = restart(homes, home, down_s=5)
    engine2 = await again.engine(DELAYED.format(catch_up="run"), store=store)
    await again.clock.advance(44)
    assert again.calls() == []
    await again.clock.advance(1)
    assert again.calls() == [("hall-light", "main/onoff.off", {})]
    trace = engine2.traces("d")[0]
    assert trace["status"] == "finished" and trace["resumed"] is True
    assert trace["run_id"] == run_id  # the same run, same Context id
    assert [c["origin"] for c in trace["context"]] == ["rule", "device"]
    assert trace["notes"][0]["code"] == "resumed" and "actions/1" in trace["notes"][0]["en"]
    assert [s["path"] for s in trace["prior_steps"]] == ["actions/0"]
    assert [s["path"] for s in trace["steps"]] == ["actions/1", "actions/2"]
    await engine2.flush()
    assert store.timers == {}
    # The command's context chain still leads back to the device that triggered the run.
    ctx = again.links["hall-light"].calls[0].context
    assert ctx.id == run_id and ctx.parent is not None and ctx.parent.origin is Origin.DEVICE


@pytest.mark.parametrize(
    ("catch_up", "down_s", "runs"),
    [
        ("run", 7200, True),
        ("skip", 7200, False),
        ("{run_if_within: 3600}", 7200, False),
        ("{run_if_within: 3600}", 1800, True),
    ],
)
async def test_missed_delay_follows_the_catch_up_policy(
    home: Home, homes: list[Home], catch_up: str, down_s: float, runs: bool
) -> None:
    store = MemoryRuleStore()
    engine = await home.engine(DELAYED.format(catch_up=catch_up), store=store)
    home.event("hall-pir", "main/occupancy/motion")
    await home.clock.advance(10)
    await engine.stop()

    again = restart(homes, home, down_s=down_s)
    engine2 = await again.engine(DELAYED.format(catch_up=catch_up), store=store)
    await again.clock.settle()
    assert bool(again.calls()) is runs
    trace = engine2.traces("d")[0]
    assert trace["status"] == ("finished" if runs else "stopped")
    code = "catch_up_run" if runs else "catch_up_skip"
    assert trace["notes"][0]["code"] == code
    await engine2.flush()
    assert store.timers == {}


async def test_changed_rule_does_not_resume_an_old_run(home: Home, homes: list[Home]) -> None:
    store = MemoryRuleStore()
    engine = await home.engine(DELAYED.format(catch_up="run"), store=store)
    home.event("hall-pir", "main/occupancy/motion")
    await home.clock.advance(10)
    await engine.stop()
    again = restart(homes, home, down_s=5)
    edited = DELAYED.format(catch_up="run").replace("delay: 60", "delay: 90")
    engine2 = await again.engine(edited, store=store)
    await again.clock.advance(200)
    assert again.calls() == []
    assert engine2.traces("d")[0]["notes"][0]["code"] == "not_resumed_changed"


UNATTENDED = """
id: unattended
name: {{zh: 用火不离人, en: Unattended cooking}}
catch_up: {catch_up}
triggers:
  - state: {{target: role:gas_source, path: burner/ignited, to: true, for: 30m}}
actions:
  - notify: {{priority: alert, text: {{zh: 无人看火, en: Nobody at the stove}}}}
  - command: {{target: kitchen-light, do: onoff.on}}
"""


async def test_for_duration_survives_a_restart(home: Home, homes: list[Home]) -> None:
    store = MemoryRuleStore()
    engine = await home.engine(UNATTENDED.format(catch_up="run"), store=store)
    home.report("kitchen-hob/main/burner/ignited", True)
    await home.clock.advance(600)
    await engine.stop()
    assert [t.kind for t in store.timers.values()] == ["for"]

    again = restart(homes, home, down_s=300)
    engine2 = await again.engine(UNATTENDED.format(catch_up="run"), store=store)
    await again.clock.advance(899)
    assert again.calls() == []
    await again.clock.advance(1)
    assert again.calls() == [("kitchen-light", "main/onoff.on", {})]
    assert engine2.traces("unattended")[0]["trigger"]["held_s"] == 1800.0


class CountingStore(MemoryRuleStore):
    """The memory store, counting the timer writes that reach it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.saved = asyncio.Event()

    async def save_timer(self, timer: RuleTimerRow) -> None:
        self.writes += 1
        await super().save_timer(timer)
        self.saved.set()

    async def delete_timer(self, rule_id: str, run_id: str, kind: str | None = None) -> int:
        self.writes += 1
        return await super().delete_timer(rule_id, run_id, kind)


async def test_a_for_cancelled_at_once_never_reaches_the_store(home: Home) -> None:
    store = CountingStore()
    engine = await home.engine(UNATTENDED.format(catch_up="run"), store=store)
    # The burner flickers: the countdown starts and is cancelled within the journal's delay.
    home.report("kitchen-hob/main/burner/ignited", True)
    await home.clock.advance(1)
    home.report("kitchen-hob/main/burner/ignited", False)
    await engine.flush()
    assert store.writes == 0 and store.timers == {}
    assert engine.traces("unattended")[0]["notes"][0]["code"] == "for_not_met"
    # A countdown that keeps going is written after the delay, without anyone flushing.
    home.report("kitchen-hob/main/burner/ignited", True)
    await asyncio.wait_for(store.saved.wait(), 10)
    assert [t.kind for t in store.timers.values()] == ["for"] and store.writes == 1
    await engine.stop()


async def test_for_duration_dropped_when_the_state_changed_while_off(
    home: Home, homes: list[Home]
) -> None:
    store = MemoryRuleStore()
    engine = await home.engine(UNATTENDED.format(catch_up="run"), store=store)
    home.report("kitchen-hob/main/burner/ignited", True)
    await home.clock.advance(600)
    await engine.stop()
    home.report("kitchen-hob/main/burner/ignited", False)  # turned off while the hub was down
    again = restart(homes, home, down_s=3600)
    engine2 = await again.engine(UNATTENDED.format(catch_up="run"), store=store)
    await again.clock.advance(3600)
    assert again.calls() == []
    (miss,) = engine2.traces("unattended")
    assert miss["status"] == "not_fired"
    assert miss["notes"][0]["code"] == "for_gone_after_restart"


async def test_missed_for_duration_fires_late_by_policy(home: Home, homes: list[Home]) -> None:
    store = MemoryRuleStore()
    engine = await home.engine(UNATTENDED.format(catch_up="run"), store=store)
    home.report("kitchen-hob/main/burner/ignited", True)
    await home.clock.advance(600)
    await engine.stop()
    again = restart(homes, home, down_s=3600)  # due 1200 s after the stop: missed by 2400 s
    engine2 = await again.engine(UNATTENDED.format(catch_up="run"), store=store)
    await again.clock.settle()
    assert again.calls() == [("kitchen-light", "main/onoff.on", {})]
    trace = engine2.traces("unattended")[0]
    assert trace["trigger"]["late_s"] == 2400.0
    assert trace["notes"][0]["code"] == "catch_up_run"


MORNING = """
id: morning
name: {{zh: 早上, en: Morning}}
catch_up: {catch_up}
triggers: [{{time: {{at: "08:30"}}}}]
actions: [{{command: {{target: hall-light, do: onoff.on}}}}]
"""


@pytest.mark.parametrize(("catch_up", "runs"), [("run", True), ("{run_if_within: 900}", False)])
async def test_time_trigger_missed_while_off(
    home: Home, homes: list[Home], catch_up: str, runs: bool
) -> None:
    store = MemoryRuleStore()
    engine = await home.engine(MORNING.format(catch_up=catch_up), store=store)
    await home.clock.advance(600)  # 08:10
    await engine.stop()
    again = restart(homes, home, down_s=50 * 60)  # back at 09:00
    engine2 = await again.engine(MORNING.format(catch_up=catch_up), store=store)
    await again.clock.settle()
    assert bool(again.calls()) is runs
    trace = engine2.traces("morning")[0]
    assert trace["status"] == ("finished" if runs else "not_fired")
    assert trace["notes"][0]["code"] == ("catch_up_run" if runs else "catch_up_skip")
    await again.clock.advance(86400)  # the next morning it runs normally
    assert len(again.calls()) == (2 if runs else 1)


GAS_GUARD = """
id: gas_leak
name: {zh: 燃气泄漏, en: Gas leak}
safety: true
triggers: [{event: {target: role:gas_detector, path: gas_detector/gas_alarm}}]
actions:
  - block:
      targets: [role:ventilation]
      room: same
      until:
        event: {target: role:gas_detector, room: same, path: gas_detector/gas_cleared}
        plus_s: 600
"""


async def test_gas_block_survives_a_restart(home: Home, homes: list[Home]) -> None:
    store = MemoryRuleStore()
    engine = await home.engine(GAS_GUARD, store=store)
    home.event("kitchen-gas", "main/gas_detector/gas_alarm")
    await home.clock.advance(1)
    await engine.stop()

    again = restart(homes, home, down_s=60)
    user = Context(Origin.USER, "alice")
    assert (await again.commands.send("kitchen-hood", "main/onoff.on", context=user)).ok
    again.report("kitchen-hood/main/onoff/on", False)
    engine2 = await again.engine(GAS_GUARD, store=store)
    assert engine2.blocks()[0]["phase"] == "alarm"
    refused = await again.commands.send("kitchen-hood", "main/onoff.on", context=user)
    assert refused.code == "blocked"
    again.event("kitchen-gas", "main/gas_detector/gas_cleared")
    await again.clock.advance(300)
    await engine2.stop()  # restart again while clearing

    third = restart(homes, again, down_s=100)
    engine3 = await third.engine(GAS_GUARD, store=store)
    assert engine3.blocks()[0]["phase"] == "clearing"
    await third.clock.advance(199)
    assert third.arbiter.blocks()
    await third.clock.advance(1)
    assert third.arbiter.blocks() == []
    await engine3.flush()
    assert store.timers == {}


async def test_real_database_round_trip(tmp_path: Path, home: Home, homes: list[Home]) -> None:
    db = tmp_path / "zshub.db"
    storage = await Storage.open(db)
    engine = await home.engine(DELAYED.format(catch_up="run"), store=storage, start=False)
    engine.load([], "pack")
    await engine.start()
    await engine.add(
        "# kept: comments survive\nid: api_rule\nname: {zh: 接口, en: API}\n"
        "triggers: [{hub_start: {}}]\nactions: [{delay: 1}]\n"
    )
    await engine.disable("d")
    await engine.enable("d")
    await engine.disable("api_rule")
    home.event("hall-pir", "main/occupancy/motion")
    await home.clock.advance(10)
    await engine.stop()
    await storage.close()

    storage = await Storage.open(db)
    try:
        again = restart(homes, home, down_s=5)
        engine2 = await again.engine(DELAYED.format(catch_up="run"), store=storage)
        info = engine2.get("api_rule")
        assert info.origin == "api" and not info.enabled
        assert info.text is not None and info.text.startswith("# kept: comments survive")
        assert engine2.get("d").enabled
        await again.clock.advance(45)
        assert again.calls() == [("hall-light", "main/onoff.off", {})]
        await engine2.stop()
        assert await storage.list_timers() == []
    finally:
        await storage.close()


NESTED = """
id: nested
name: {zh: 嵌套, en: Nested}
catch_up: run
triggers: [{event: {target: role:presence, path: occupancy/motion}}]
actions:
  - command: {target: hall-light, do: onoff.on}
  - choose:
      - conditions: [{time: {after: "07:00", before: "09:00"}}]
        actions:
          - delay: 60
          - command: {target: hall-light, do: brightness.set_level, args: {level: 30}}
          - delay: 60
          - command: {target: hall-light, do: onoff.off}
  - notify: {text: {zh: 完成, en: Done}}
"""


async def test_delay_inside_a_branch_resumes_across_two_restarts(
    home: Home, homes: list[Home]
) -> None:
    store = MemoryRuleStore()
    engine = await home.engine(NESTED, store=store)
    home.event("hall-pir", "main/occupancy/motion")
    await home.clock.advance(10)
    await engine.stop()
    second = restart(homes, home, down_s=5)
    engine2 = await second.engine(NESTED, store=store)
    await second.clock.advance(50)  # the first delay ends, the second starts
    assert second.calls() == [("hall-light", "main/brightness.set_level", {"level": 30})]
    await engine2.stop()
    third = restart(homes, second, down_s=30)
    engine3 = await third.engine(NESTED, store=store)
    await third.clock.advance(30)
    assert third.calls() == [("hall-light", "main/onoff.off", {})]
    trace = engine3.traces("nested")[0]
    assert trace["status"] == "finished"
    assert "actions/1/branches/0/actions/2" in trace["notes"][0]["en"]
    assert [s["path"] for s in trace["prior_steps"]] == [
        "actions/0",
        "actions/1",
        "actions/1/branches/0/actions/0",
        "actions/1/branches/0/actions/1",
    ]
    assert [s["path"] for s in trace["steps"]] == [
        "actions/1/branches/0/actions/2",
        "actions/1/branches/0/actions/3",
        "actions/2",
    ]


WAITING = """
id: waiting
name: {zh: 等待, en: Waiting}
catch_up: run
triggers: [{event: {target: role:gas_detector, path: gas_detector/gas_alarm}}]
actions:
  - wait:
      trigger: {event: {target: role:gas_detector, room: same, path: gas_detector/gas_cleared}}
      timeout: 10m
      on_timeout: stop
  - command: {target: kitchen-hood, do: fan.set_mode, args: {mode: low}}
"""


async def test_wait_resumes_with_its_remaining_timeout(home: Home, homes: list[Home]) -> None:
    store = MemoryRuleStore()
    engine = await home.engine(WAITING, store=store)
    home.event("kitchen-gas", "main/gas_detector/gas_alarm")
    await home.clock.advance(120)
    await engine.stop()
    again = restart(homes, home, down_s=60)
    engine2 = await again.engine(WAITING, store=store)
    again.event("bath-gas", "main/gas_detector/gas_cleared")  # "room: same" still means kitchen
    await again.clock.advance(60)
    assert again.calls() == []
    again.event("kitchen-gas", "main/gas_detector/gas_cleared")
    await again.clock.advance(1)
    assert again.calls() == [("kitchen-hood", "main/fan.set_mode", {"mode": "low"})]
    assert engine2.traces("waiting")[0]["steps"][0]["result"]["fired"] is True

    again.event("kitchen-gas", "main/gas_detector/gas_alarm")
    await again.clock.advance(300)
    await engine2.stop()
    third = restart(homes, again, down_s=600)  # the timeout ran out while the hub was off
    engine3 = await third.engine(WAITING, store=store)
    await third.clock.settle()
    trace = engine3.traces("waiting")[0]
    assert trace["status"] == "stopped" and trace["notes"][-1]["code"] == "stopped_by_wait"
    assert third.calls() == []


async def test_queued_runs_are_dropped_at_shutdown_with_a_reason(home: Home) -> None:
    engine = await home.engine(
        """
id: q
name: {zh: 排队, en: Queue}
mode: queued
triggers: [{event: {target: role:presence, path: occupancy/motion}}]
actions: [{delay: 60}]
"""
    )
    for _ in range(2):
        home.event("hall-pir", "main/occupancy/motion")
    await home.clock.settle()
    await engine.stop()
    assert statuses(engine, "q") == ["interrupted", "cancelled"]
    assert engine.traces("q")[0]["notes"][0]["code"] == "dropped_shutdown"
