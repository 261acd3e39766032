"""The engine's Python API: add, update, remove, enable, disable, manual runs, traces, and who
may change safety rules."""

from __future__ import annotations

import asyncio
import json

import pytest
from rules_home import Home, statuses

from hub.core.context import Context, Origin
from rules.loader import LoadedRule
from rules.messages import RuleError
from rules.store import MemoryRuleStore

LIGHT = """
id: {id}
name: {{zh: 灯, en: Light}}
{extra}
triggers: [{{event: {{target: role:presence, path: occupancy/motion}}}}]
actions:
  - command: {{target: hall-light, do: onoff.on}}
  - delay: 30
  - command: {{target: hall-light, do: onoff.off}}
"""


def light(rule_id: str = "light", extra: str = "") -> str:
    return LIGHT.format(id=rule_id, extra=extra)


def motion(home: Home) -> None:
    home.event("hall-pir", "main/occupancy/motion")


async def test_add_update_remove_through_the_api(home: Home) -> None:
    store = MemoryRuleStore()
    engine = await home.engine(store=store)
    info = await engine.add(light())
    assert (info.origin, info.enabled) == ("api", True)
    assert store.rules["light"].format == "yaml"
    with pytest.raises(RuleError) as err:
        await engine.add(light())
    assert err.value.code == "rule_exists"
    motion(home)
    await home.clock.advance(5)
    # Updating cancels the going run and the new version answers the next trigger.
    await engine.update("light", light().replace("delay: 30", "delay: 5"))
    assert statuses(engine, "light") == ["cancelled"]
    assert engine.traces("light")[0]["notes"][0]["code"] == "cancelled_rule_changed"
    motion(home)
    await home.clock.advance(5)
    assert home.calls()[-1] == ("hall-light", "main/onoff.off", {})
    await engine.remove("light")
    assert "light" not in store.rules
    with pytest.raises(RuleError) as err:
        engine.traces("light")
    assert err.value.code == "unknown_rule"


async def test_invalid_rule_text_says_where(home: Home) -> None:
    engine = await home.engine()
    with pytest.raises(RuleError) as err:
        await engine.add(light().replace("onoff.on", "onoff"))
    assert err.value.code == "invalid_rule"
    assert "api:7: rules.0.actions.0.command.do:" in err.value.en
    with pytest.raises(RuleError):
        await engine.add({"id": "x", "name": {"zh": "x", "en": "x"}, "triggers": []})


async def test_disable_cancels_and_detaches_enable_reattaches(home: Home) -> None:
    engine = await home.engine(light(), origin="file", store=MemoryRuleStore())
    motion(home)
    await home.clock.advance(1)
    await engine.disable("light")
    assert statuses(engine, "light") == ["cancelled"]
    motion(home)
    await home.clock.advance(60)
    assert home.calls() == [("hall-light", "main/onoff.on", {})]
    await engine.enable("light")
    motion(home)
    await home.clock.advance(60)
    assert len(home.calls()) == 3


async def test_safety_rules_only_change_with_the_owner(home: Home) -> None:
    engine = await home.engine(light("guard", "safety: true"))
    for action in (
        engine.disable("guard"),
        engine.update("guard", light("guard", "safety: true")),
        engine.remove("guard"),
    ):
        with pytest.raises(RuleError) as err:
            await action
        assert err.value.code == "owner_required"
    assert "Only the owner may" in err.value.en and "只有户主" in err.value.zh
    with pytest.raises(RuleError) as err:
        await engine.add(light("mine", "safety: true"))
    assert err.value.code == "invalid_rule" and "reserved" in err.value.en
    await engine.disable("guard", by_owner=True)
    assert not engine.get("guard").enabled
    await engine.enable("guard")  # turning safety back on needs nobody's permission
    assert engine.get("guard").enabled


async def test_editing_a_file_rule_shadows_it_until_removed(home: Home) -> None:
    engine = await home.engine(light(), origin="file")
    with pytest.raises(RuleError) as err:
        await engine.remove("light")
    assert err.value.code == "rule_from_file"
    info = await engine.update("light", light().replace("delay: 30", "delay: 1"))
    assert (info.origin, info.shadows) == ("api", "test")
    await engine.remove("light")
    restored = engine.get("light")
    assert restored.origin == "file"
    assert restored.rule.actions[1].delay == 30


async def test_opt_in_rules_only_with_the_owner(home: Home) -> None:
    engine = await home.engine()
    opted = light("door", "opt_in: [unlock]")
    with pytest.raises(RuleError):
        await engine.add(opted)
    await engine.add(opted, by_owner=True)
    with pytest.raises(RuleError) as err:  # even an edit that keeps the opt-in
        await engine.update("door", opted)
    assert err.value.code == "owner_required_opt_in"
    await engine.update("door", opted, by_owner=True)


async def test_manual_run_checks_conditions(home: Home) -> None:
    engine = await home.engine(
        light(extra="conditions: [{state: {target: hall-pir, path: occupancy/occupied, is: true}}]")
    )
    trace = await engine.trigger("light", context=Context(Origin.USER, "alice"))
    assert trace["status"] == "stopped"
    assert trace["trigger"]["kind"] == "manual"
    assert [c["origin"] for c in trace["context"]] == ["rule", "user"]
    assert home.calls() == []
    home.report("hall-pir/main/occupancy/occupied", True)
    task = asyncio.create_task(engine.trigger("light"))
    await home.clock.advance(30)
    assert (await task)["status"] == "finished"


async def test_listing_and_traces_are_json(home: Home) -> None:
    engine = await home.engine(light(), light("other"))
    engine.load([LoadedRule(engine.get("light").rule, "elsewhere.yaml", 3)], "file")
    assert engine.problems == [
        "elsewhere.yaml:3: id: rule light is already loaded from test; this one is set aside"
    ]
    assert [r.id for r in engine.rules()] == ["light", "other"]
    motion(home)
    await home.clock.advance(31)
    json.dumps([r.as_dict() for r in engine.rules()])
    json.dumps(engine.traces("light"), allow_nan=False)
    step = engine.traces("light")[0]["steps"][1]
    assert (step["kind"], step["duration_s"]) == ("delay", 30.0)
