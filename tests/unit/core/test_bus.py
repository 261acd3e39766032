import asyncio
import logging

import pytest

from hub.core.bus import EventBus
from hub.core.context import Context, Origin
from hub.core.events import Event, EventType
from hub.core.tasks import TaskKeeper

PING: EventType[dict[str, int]] = EventType("ping")
PONG: EventType[str] = EventType("pong")


@pytest.fixture
def bus() -> EventBus:
    return EventBus(TaskKeeper("test"))


def test_dispatch_by_type_and_unsubscribe(bus: EventBus) -> None:
    pings: list[Event[dict[str, int]]] = []
    pongs: list[str] = []
    unsub = bus.listen(PING, pings.append)
    bus.listen(PONG, lambda e: pongs.append(e.data))

    bus.fire(PING, {"n": 1})
    bus.fire(PONG, "x")
    assert [e.data for e in pings] == [{"n": 1}]
    assert pongs == ["x"]
    assert pings[0].type == "ping"
    assert pings[0].time > 0
    assert pings[0].context.origin is Origin.HUB

    unsub()
    bus.fire(PING, {"n": 2})
    assert len(pings) == 1
    assert bus.listener_count(PING) == 0
    unsub()  # a second call is harmless


def test_filter_sees_payload_and_skips_event_creation(bus: EventBus) -> None:
    seen: list[int] = []
    calls: list[int] = []

    def only_even(data: dict[str, int]) -> bool:
        calls.append(data["n"])
        return data["n"] % 2 == 0

    bus.listen(PING, lambda e: seen.append(e.data["n"]), event_filter=only_even)
    for n in range(5):
        bus.fire(PING, {"n": n})
    assert seen == [0, 2, 4]
    assert calls == [0, 1, 2, 3, 4]


def test_one_failing_listener_does_not_stop_others(
    bus: EventBus, caplog: pytest.LogCaptureFixture
) -> None:
    got: list[str] = []

    def boom(event: Event[str]) -> None:
        raise RuntimeError("boom")

    bus.listen(PONG, boom)
    bus.listen(PONG, lambda e: got.append(e.data))
    with caplog.at_level(logging.ERROR):
        bus.fire(PONG, "still delivered")
    assert got == ["still delivered"]
    assert "boom" in caplog.text


def test_listener_may_unsubscribe_itself_while_firing(bus: EventBus) -> None:
    got: list[str] = []
    unsub_holder: list[object] = []

    def once(event: Event[str]) -> None:
        got.append(event.data)
        unsub()

    unsub = bus.listen(PONG, once)
    unsub_holder.append(unsub)
    bus.fire(PONG, "a")
    bus.fire(PONG, "b")
    assert got == ["a"]


async def test_async_listener_runs_as_kept_task() -> None:
    keeper = TaskKeeper("t")
    bus = EventBus(keeper)
    done = asyncio.Event()
    got: list[str] = []

    async def slow(event: Event[str]) -> None:
        await asyncio.sleep(0)
        got.append(event.data)
        done.set()

    bus.listen(PONG, slow)
    bus.fire(PONG, "later")
    assert got == []  # not inline
    assert len(keeper) == 1
    await asyncio.wait_for(done.wait(), 1)
    assert got == ["later"]
    assert await keeper.cancel_all() == []


def test_listen_all_and_context_passed_through(bus: EventBus) -> None:
    everything: list[Event[object]] = []
    bus.listen_all(everything.append)
    ctx = Context(Origin.USER, "alice")
    bus.fire(PING, {"n": 1}, ctx)
    bus.fire("custom", 5)
    assert [e.type for e in everything] == ["ping", "custom"]
    assert everything[0].context is ctx
    d = everything[0].as_dict()
    assert d["context"]["actor"] == "alice" and d["type"] == "ping"


async def test_task_keeper_cancels_and_refuses_after_close() -> None:
    keeper = TaskKeeper("t")
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.sleep(3600)

    keeper.create(forever(), name="forever")
    await started.wait()
    assert keeper.names() == ["forever"]
    assert await keeper.cancel_all(timeout=1) == []
    assert len(keeper) == 0

    async def nothing() -> None:
        return None

    with pytest.raises(RuntimeError, match="stopping"):
        keeper.create(nothing(), name="late")
