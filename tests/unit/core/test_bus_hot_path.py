"""Semantics the bus's fast paths must keep: event reuse never touches an event someone kept,
the dispatch table follows every subscribe/unsubscribe, event types are plain strings."""

import asyncio
import gc
import logging
import sys
import weakref

import pytest

import hub.core.bus as bus_module
from hub.core.bus import EventBus
from hub.core.context import Context, Origin
from hub.core.events import Event, EventType
from hub.core.tasks import TaskKeeper

A: EventType[int] = EventType("hot_a")
B: EventType[str] = EventType("hot_b")


@pytest.fixture
def bus() -> EventBus:
    return EventBus(TaskKeeper("test"))


def _snapshot(e: Event[object]) -> tuple[object, ...]:
    return (e.type, e.data, e.context, e.time)


def test_kept_events_are_never_reused(bus: EventBus) -> None:
    kept: list[Event[int]] = []
    bus.listen(A, kept.append)
    ctx = Context(Origin.USER, "u")
    for n in range(50):
        bus.fire(A, n, ctx if n % 2 else None)
    assert [e.data for e in kept] == list(range(50))
    assert len({id(e) for e in kept}) == 50
    assert all(e.type == "hot_a" for e in kept)
    assert [e.context is ctx for e in kept] == [n % 2 == 1 for n in range(50)]
    times = [e.time for e in kept]
    assert times == sorted(times)


def test_an_event_kept_only_sometimes_is_left_alone(bus: EventBus) -> None:
    """A listener that keeps only some events: each kept one keeps its own fields, whatever is
    fired (and reused) after it."""
    kept: list[tuple[Event[int], tuple[object, ...]]] = []

    def sometimes(event: Event[int]) -> None:
        if event.data % 7 == 0:
            kept.append((event, _snapshot(event)))

    bus.listen(A, sometimes)
    for n in range(100):
        bus.fire(A, n)
    assert [e.data for e, _ in kept] == list(range(0, 100, 7))
    for event, snapshot in kept:
        assert _snapshot(event) == snapshot


def test_reuse_is_real_when_nobody_keeps_the_event(bus: EventBus) -> None:
    seen: list[int] = []
    bus.listen(A, lambda e: seen.append(id(e)))
    for n in range(10):
        bus.fire(A, n)
    if bus_module._UNSHARED:  # CPython with the GIL: one event object serves every fire
        assert len(set(seen)) == 1
    else:
        assert len(seen) == 10


def test_nested_fire_does_not_disturb_the_outer_event(bus: EventBus) -> None:
    """A listener fires another event; the outer event still reaches later listeners intact."""
    outer_seen: list[tuple[object, ...]] = []
    inner_seen: list[str] = []

    def first(event: Event[int]) -> None:
        bus.fire(B, f"inner-{event.data}")

    def second(event: Event[int]) -> None:
        outer_seen.append((event.type, event.data))

    bus.listen(A, first)
    bus.listen(A, second)
    bus.listen(B, lambda e: inner_seen.append(e.data))
    for n in range(3):
        bus.fire(A, n)
    assert outer_seen == [("hot_a", 0), ("hot_a", 1), ("hot_a", 2)]
    assert inner_seen == ["inner-0", "inner-1", "inner-2"]


def test_single_listener_that_fires_the_same_type(bus: EventBus) -> None:
    got: list[tuple[int, int]] = []

    def recurse(event: Event[int]) -> None:
        if event.data > 0:
            bus.fire(A, event.data - 1)
        got.append((event.data, event.data))  # read after the nested fire returned

    bus.listen(A, recurse)
    bus.fire(A, 3)
    assert got == [(0, 0), (1, 1), (2, 2), (3, 3)]


async def test_async_listener_gets_its_own_event() -> None:
    keeper = TaskKeeper("t")
    bus = EventBus(keeper)
    got: list[tuple[object, ...]] = []

    async def later(event: Event[int]) -> None:
        await asyncio.sleep(0)
        got.append((event.type, event.data))

    bus.listen(A, later)
    bus.listen(B, lambda e: None)
    for n in range(5):
        bus.fire(A, n)
        bus.fire(B, "noise")
    await asyncio.sleep(0.01)
    assert sorted(got, key=lambda t: int(str(t[1]))) == [("hot_a", n) for n in range(5)]
    assert await keeper.cancel_all() == []


def test_event_held_by_a_failing_listener_traceback_is_safe(
    bus: EventBus, caplog: pytest.LogCaptureFixture
) -> None:
    kept: list[Event[int]] = []

    def boom(event: Event[int]) -> None:
        raise RuntimeError("boom")

    bus.listen(A, boom)
    bus.listen(A, kept.append)
    with caplog.at_level(logging.ERROR):
        for n in range(3):
            bus.fire(A, n)
    assert [e.data for e in kept] == [0, 1, 2]


def test_no_reuse_where_refcounts_are_not_exact(
    bus: EventBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bus_module, "_UNSHARED", 0)
    seen: list[int] = []
    events: list[Event[int]] = []

    def listener(event: Event[int]) -> None:
        seen.append(id(event))
        events.append(event)  # keep them alive so ids cannot repeat

    bus.listen(A, listener)
    for n in range(5):
        bus.fire(A, n)
    assert len(set(seen)) == 5


def test_spare_event_keeps_nothing_but_the_last_payload_alive(bus: EventBus) -> None:
    class Payload:
        pass

    bus.listen(A, lambda e: None)
    refs = []
    for _ in range(3):
        payload = Payload()
        refs.append(weakref.ref(payload))
        bus.fire(A, payload)  # type: ignore[arg-type]
        del payload
    gc.collect()
    # the bus holds the last event (until the next fire) and so its payload; nothing older
    assert [r() is None for r in refs] == [True, True, False]
    bus.fire(A, 0)
    assert refs[2]() is None


def test_dispatch_table_follows_listen_all_and_unsubscribe(bus: EventBus) -> None:
    calls: list[str] = []
    un_a = bus.listen(A, lambda e: calls.append("a"))
    un_all = bus.listen_all(lambda e: calls.append(f"all:{e.type}"))
    bus.listen(B, lambda e: calls.append("b"))  # subscribed after listen_all: gets both too
    bus.fire(A, 1)
    bus.fire(B, "x")
    bus.fire("hot_other", None)  # no own listener: listen_all only
    assert calls == ["a", "all:hot_a", "b", "all:hot_b", "all:hot_other"]
    calls.clear()
    un_all()
    bus.fire(A, 1)
    bus.fire("hot_other", None)
    assert calls == ["a"]
    calls.clear()
    un_a()
    bus.fire(A, 1)
    assert calls == []
    assert bus.listener_count(A) == 0 and bus.listener_count(B) == 1
    un_all()  # twice is harmless


def test_filters_with_several_listeners_create_one_event(bus: EventBus) -> None:
    got: list[Event[int]] = []
    bus.listen(A, got.append, event_filter=lambda n: n > 1)
    bus.listen(A, got.append, event_filter=lambda n: n > 2)
    bus.listen(A, got.append)
    for n in range(4):
        bus.fire(A, n)
    assert [e.data for e in got] == [0, 1, 2, 2, 3, 3, 3]
    assert got[2] is got[3]  # one event per fire, shared by the listeners that accepted it
    assert got[4] is got[5] is got[6]
    assert got[3] is not got[4]


def test_event_types_are_plain_interned_strings(bus: EventBus) -> None:
    t = EventType("hot_" + "dynamic")
    assert type(t) is str and t == "hot_dynamic"
    assert t is sys.intern("hot_dynamic")
    assert EventType[int]("hot_a") is A  # subscripting for annotations still works
    got: list[object] = []
    bus.listen("hot_" + "dynamic", lambda e: got.append(e.data))  # a str built at run time
    bus.fire(t, 1)
    bus.fire("hot_dynamic", 2)
    assert got == [1, 2]
    assert Event(A, 1, Context(), 0.0).as_dict()["type"] == "hot_a"
