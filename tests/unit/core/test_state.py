import pytest

from hub.core.bus import EventBus
from hub.core.context import Context, Origin
from hub.core.events import Event
from hub.core.state import STATE_CHANGED, State, StateChange, StateStore, split_path
from hub.core.tasks import TaskKeeper


@pytest.fixture
def store() -> StateStore:
    return StateStore(EventBus(TaskKeeper("t")))


def _changes(store: StateStore) -> list[StateChange]:
    out: list[StateChange] = []
    store._bus.listen(STATE_CHANGED, lambda e: out.append(e.data))
    return out


def test_change_fires_once_and_same_value_only_refreshes_reported(store: StateStore) -> None:
    changes = _changes(store)
    ctx = Context(Origin.DEVICE, "lamp-1")
    assert store.set("lamp-1/main/onoff/on", True, ctx, now=100.0)
    assert not store.set("lamp-1/main/onoff/on", True, ctx, now=105.0)
    state = store.get("lamp-1/main/onoff/on")
    assert state is not None
    assert (state.last_changed, state.last_reported) == (100.0, 105.0)
    assert len(changes) == 1
    assert changes[0].old is None and changes[0].new is state
    assert state.context is ctx

    assert store.set("lamp-1/main/onoff/on", False, ctx, now=110.0)
    assert len(changes) == 2
    assert changes[1].old is state
    assert changes[1].new is not None and changes[1].new.value is False
    # the old State object is not mutated by the change
    assert state.value is True


def test_type_change_counts_as_change(store: StateStore) -> None:
    changes = _changes(store)
    store.set("d/main/x/y", 1)
    store.set("d/main/x/y", True)  # 1 == True in Python, but it is a different reported value
    store.set("d/main/x/y", 1.0)
    assert len(changes) == 3


def test_paths_are_checked(store: StateStore) -> None:
    with pytest.raises(ValueError, match="capability path"):
        store.set("lamp-1/main/onoff", True)
    with pytest.raises(ValueError):
        split_path("a//b/c")
    assert split_path("hood-1/main/fan/mode") == ("hood-1", "main", "fan", "mode")


def test_track_devices_routes_only_tracked(store: StateStore) -> None:
    got: list[str] = []
    unsub = store.track_devices(
        [f"dev-{i}" for i in range(1000)], lambda e: got.append(e.data.path)
    )
    store.set("dev-7/main/onoff/on", True)
    store.set("other/main/onoff/on", True)
    store.set("dev-999/main/brightness/level", 40)
    assert got == ["dev-7/main/onoff/on", "dev-999/main/brightness/level"]
    unsub()
    store.set("dev-7/main/onoff/on", False)
    assert len(got) == 2
    assert store._device_listeners == {}


def test_tracking_listener_failure_is_isolated(store: StateStore) -> None:
    got: list[str] = []

    def bad(event: Event[StateChange]) -> None:
        raise ValueError("bad listener")

    store.track_devices(["d"], bad)
    store.track_devices(["d"], lambda e: got.append(e.data.path))
    store.set("d/main/onoff/on", True)
    assert got == ["d/main/onoff/on"]


def test_device_states_restore_and_remove(store: StateStore) -> None:
    changes = _changes(store)
    restored = State("lamp/main/onoff/on", "lamp", True, 10.0, 20.0, None)
    assert store.restore([restored]) == 1
    assert changes == []  # restoring is silent
    assert store.value("lamp/main/onoff/on") is True
    assert store.get("lamp/main/onoff/on") is restored
    store.set("lamp/main/brightness/level", 30)
    assert set(store.device_states("lamp")) == {"lamp/main/onoff/on", "lamp/main/brightness/level"}
    store.remove_device("lamp")
    assert store.device_states("lamp") == {}
    assert len(store) == 0
    removed = [c for c in changes if c.new is None]
    assert {c.path for c in removed} == {"lamp/main/onoff/on", "lamp/main/brightness/level"}


def test_context_chain_through_state_change(store: StateStore) -> None:
    seen: list[Event[StateChange]] = []
    store._bus.listen(STATE_CHANGED, seen.append)
    user = Context(Origin.USER, "alice")
    rule = user.child(Origin.RULE, "evening")
    store.set("lamp/main/onoff/on", True, rule.child(Origin.DEVICE, "lamp"))
    ctx = seen[0].context
    assert [c.origin for c in ctx.chain()] == [Origin.DEVICE, Origin.RULE, Origin.USER]
    assert ctx.user() == "alice"
    assert seen[0].data.as_dict()["new"]["value"] is True
