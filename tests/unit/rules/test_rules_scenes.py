"""Scenes: target states to commands, applied concurrently, a result per device; unlocking
is never part of a scene unless the owner opted it in."""

from __future__ import annotations

import asyncio

from rules_home import Home, make_scene

from hub.core.context import Context, Origin
from hub.core.registry import Availability
from rules.messages import RuleError
from rules.scenes import SCENE_APPLIED
from rules.store import MemoryRuleStore

EVENING = """
id: evening
name: {zh: 晚间, en: Evening}
states:
  - target: room:kitchen
    set: {onoff/on: true, brightness/level: 40}
  - target: kitchen-hood
    set: {fan/mode: low}
  - target: [hall-light, no-such-lamp]
    do: onoff.off
"""


async def test_apply_gives_a_result_per_device(home: Home) -> None:
    scenes = home.scenes(EVENING)
    seen = []
    home.bus.listen(SCENE_APPLIED, seen.append)
    result = await scenes.apply("evening", Context(Origin.USER, "alice"))
    by_device = {d.device_id: d for d in result.devices}
    # Kitchen devices without a light or a switch are not part of "room:kitchen … on".
    assert set(by_device) == {"kitchen-hood", "kitchen-light", "hall-light"}
    light = by_device["kitchen-light"]
    assert light.status == "ok"
    assert [(c["target"], c["args"], c["status"]) for c in light.commands] == [
        ("main/onoff.on", {}, "confirmed"),
        ("main/brightness.set_level", {"level": 40}, "confirmed"),
    ]
    hood = by_device["kitchen-hood"]
    # A room target sets what each device has: the hood has a switch but no dimmer.
    assert hood.status == "ok" and hood.notes == []
    assert [c["target"] for c in hood.commands] == ["main/onoff.on", "main/fan.set_mode"]
    assert by_device["hall-light"].status == "ok"
    assert result.notes[0]["code"] == "no_such_device"
    assert home.states.value("kitchen-light/main/brightness/level") == 40
    assert home.states.value("kitchen-hood/main/fan/mode") == "low"
    assert result.ok
    assert seen and seen[0].data is result
    call = home.links["kitchen-light"].calls[0]
    assert call.context.origin is Origin.SCENE and call.context.actor == "evening"
    assert call.context.parent is not None and call.context.parent.actor == "alice"


async def test_a_named_device_must_take_every_target_state(home: Home) -> None:
    scenes = home.scenes(
        "id: s\nname: {zh: 场景, en: Scene}\n"
        "states: [{target: kitchen-hood, set: {onoff/on: true, brightness/level: 40}}]\n"
    )
    (hood,) = (await scenes.apply("s")).devices
    assert hood.status == "partial"
    assert hood.notes[0]["code"] == "no_command_for_state"
    assert "brightness/level to 40" in hood.notes[0]["en"]


async def test_devices_are_switched_concurrently(home: Home) -> None:
    scenes = home.scenes(EVENING)
    gate = asyncio.Event()
    for device in ("kitchen-light", "kitchen-hood", "hall-light"):
        home.links[device].gate = gate
    task = asyncio.create_task(scenes.apply("evening"))
    await home.clock.settle()
    # Every device got its first command before any device answered.
    assert {c[0] for c in home.calls()} == {"kitchen-light", "kitchen-hood", "hall-light"}
    gate.set()
    result = await task
    assert result.ok


async def test_failures_are_per_device(home: Home) -> None:
    scenes = home.scenes(EVENING)
    home.registry.set_availability("kitchen-light", Availability.OFFLINE)
    home.links["hall-light"].fail = True
    result = await scenes.apply("evening")
    by_device = {d.device_id: d for d in result.devices}
    assert by_device["kitchen-light"].status == "failed"
    assert by_device["kitchen-light"].commands[0]["code"] == "device_offline"
    assert by_device["hall-light"].status == "failed"
    assert by_device["kitchen-hood"].status == "ok"
    assert not result.ok


UNLOCK = """
id: welcome
name: {zh: 回家, en: Welcome home}
%s
states:
  - target: role:entry_lock
    set: {lock/lock_state: unlocked}
  - target: hall-light
    set: {onoff/on: true}
"""


async def test_unlocking_is_not_part_of_a_scene_by_default(home: Home) -> None:
    scenes = home.scenes(UNLOCK % "")
    result = await scenes.apply("welcome")
    by_device = {d.device_id: d for d in result.devices}
    door = by_device["front-door"]
    assert door.status == "refused"
    assert door.commands[0]["code"] == "scene_opt_in"
    assert home.calls("front-door") == []
    assert by_device["hall-light"].status == "ok"
    assert not result.ok


async def test_owner_opted_scene_may_unlock(home: Home) -> None:
    scenes = home.scenes()
    text = UNLOCK % "opt_in: [unlock]"
    try:
        await scenes.add(text)
        raise AssertionError("a non-owner opted a scene in to unlocking")
    except RuleError as err:
        assert err.code == "owner_required_opt_in"
    await scenes.add(text, by_owner=True)
    result = await scenes.apply("welcome")
    assert result.ok
    assert home.calls("front-door") == [("front-door", "main/lock.unlock", {})]
    assert home.states.value("front-door/main/lock/lock_state") == "unlocked"


async def test_scene_editing_and_storage(home: Home) -> None:
    store = MemoryRuleStore()
    scenes = home.scenes(EVENING, store=store)
    await scenes.start()
    edited = EVENING.replace("fan/mode: low", "fan/mode: high")
    await scenes.update("evening", edited)  # an API copy shadows the file scene
    assert scenes.get("evening") is not None and scenes.get("evening").origin == "api"  # type: ignore[union-attr]
    assert store.scenes["evening"].source == edited
    await scenes.apply("evening")
    assert home.states.value("kitchen-hood/main/fan/mode") == "high"
    await scenes.remove("evening")  # back to the file version
    info = scenes.get("evening")
    assert info is not None and info.origin == "file"
    try:
        await scenes.remove("evening")
        raise AssertionError("removed a file scene")
    except RuleError as err:
        assert err.code == "scene_from_file"
    await scenes.add(make_scene(EVENING.replace("id: evening", "id: late")))
    again = home.scenes(store=store)
    await again.start()
    assert [s.id for s in again.scenes()] == ["late"]
