"""Last states across a restart, history queries, and value encoding."""

from __future__ import annotations

from pathlib import Path

from storage_helpers import Kernel, count_rows

from hub.core.bus import EventBus
from hub.core.context import Context, Origin
from hub.core.state import StateStore
from hub.core.tasks import TaskKeeper
from hub.storage import Recorder, Storage

T0 = 1_800_000_000.0


async def test_last_states_restored_after_restart(db_path: Path, kernel: Kernel) -> None:
    storage = await Storage.open(db_path)
    Recorder(storage, kernel.bus, kernel.tasks).start()
    states = kernel.states
    states.set("hood-1/main/fan/mode", "low", now=T0)
    states.set("hood-1/main/fan/mode", "high", now=T0 + 5)
    states.set("lamp-1/main/light/brightness", 40, now=T0 + 1)
    states.set("lamp-1/main/light/color_xy", (0.31, 0.32), now=T0 + 2)
    states.set("lamp-1/main/light/brightness", 40, now=T0 + 9)  # same value: no change
    states.set("cooktop-1/left/burner/on", False, now=T0 + 3)
    await storage.close()  # flushes the recorder

    reopened = await Storage.open(db_path)
    try:
        restored = {s.path: s for s in await reopened.load_last_states()}
    finally:
        await reopened.close()
    assert set(restored) == {
        "hood-1/main/fan/mode",
        "lamp-1/main/light/brightness",
        "lamp-1/main/light/color_xy",
        "cooktop-1/left/burner/on",
    }
    hood = restored["hood-1/main/fan/mode"]
    assert (hood.value, hood.device, hood.last_changed, hood.context) == (
        "high",
        "hood-1",
        T0 + 5,
        None,
    )
    assert restored["lamp-1/main/light/color_xy"].value == [0.31, 0.32]  # tuples come back as lists
    assert restored["cooktop-1/left/burner/on"].value is False

    tasks = TaskKeeper("restored")
    fresh = StateStore(EventBus(tasks))
    assert fresh.restore(restored.values()) == 4
    assert fresh.value("hood-1/main/fan/mode") == "high"
    assert fresh.get("hood-1/main/fan/mode").last_changed == T0 + 5  # the age survives


async def test_removed_device_leaves_no_last_state(storage: Storage, kernel: Kernel) -> None:
    recorder = Recorder(storage, kernel.bus, kernel.tasks)
    recorder.start()
    kernel.states.set("lamp-1/main/light/on", True, now=T0)
    kernel.states.set("lamp-2/main/light/on", True, now=T0)
    kernel.states.remove_device("lamp-1")
    await recorder.flush()
    assert [s.path for s in await storage.load_last_states()] == ["lamp-2/main/light/on"]
    assert await storage.history("lamp-1/main/light/on") == [(T0, True)]  # history is kept


async def test_history_query(storage: Storage, kernel: Kernel) -> None:
    recorder = Recorder(storage, kernel.bus, kernel.tasks)
    recorder.start()
    path = "heater-1/main/water/temperature"
    for n in range(10):
        kernel.states.set(path, 40.0 + n, now=T0 + n * 60)
    kernel.states.set("heater-1/main/water/target", 45, now=T0)
    kernel.states.set("other-1/main/water/temperature", 1.0, now=T0)
    await recorder.flush()

    everything = await storage.history(path)
    assert everything == [(T0 + n * 60, 40.0 + n) for n in range(10)]
    window = await storage.history(path, since=T0 + 120, until=T0 + 300)
    assert [v for _, v in window] == [42.0, 43.0, 44.0, 45.0]
    newest = await storage.history(path, limit=3)
    assert [v for _, v in newest] == [47.0, 48.0, 49.0]  # newest three, oldest first
    assert await storage.history("nobody/main/x/y") == []

    per_device = await storage.device_history("heater-1", since=T0, until=T0)
    assert sorted(per_device) == [
        ("heater-1/main/water/target", T0, 45),
        (path, T0, 40.0),
    ]


async def test_history_rows_carry_the_context(storage: Storage, kernel: Kernel) -> None:
    recorder = Recorder(storage, kernel.bus, kernel.tasks)
    recorder.start()
    context = Context(Origin.USER, "alice")
    kernel.states.set("lamp-1/main/light/on", True, context, now=T0)
    await recorder.flush()
    with storage.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT device, context_id FROM state_history").one()
    assert tuple(stored) == ("lamp-1", context.id)


async def test_unencodable_value_is_kept_as_text(storage: Storage, kernel: Kernel) -> None:
    recorder = Recorder(storage, kernel.bus, kernel.tasks)
    recorder.start()
    kernel.states.set("odd-1/main/x/y", object(), now=T0)
    kernel.states.set("odd-1/main/x/z", {"a": frozenset({2, 1})}, now=T0)
    await recorder.flush()
    assert recorder.stats()["written"] == 2
    assert count_rows(storage.engine, "state_history") == 2
    value = (await storage.history("odd-1/main/x/y"))[0][1]
    assert isinstance(value, str) and value.startswith("<object object")
    assert (await storage.history("odd-1/main/x/z"))[0][1] == {"a": [1, 2]}
