"""The recorder under load, with a full queue, with a failing database, and its retention."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from storage_helpers import Kernel, count_rows_async

from hub.core.context import Context, Origin
from hub.core.events import Event
from hub.core.state import STATE_CHANGED, State, StateChange
from hub.storage import Recorder, Storage

DAY = 86_400.0


async def _monitor_loop(stalls: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        started = loop.time()
        await asyncio.sleep(0.005)
        stalls.append(loop.time() - started - 0.005)


async def test_burst_of_50000_changes_is_fully_written(storage: Storage, kernel: Kernel) -> None:
    recorder = Recorder(storage, kernel.bus, kernel.tasks)  # default settings
    recorder.start()
    stalls: list[float] = []
    stop = asyncio.Event()
    monitor = asyncio.create_task(_monitor_loop(stalls, stop))
    context = Context(Origin.DEVICE, "zsdp")
    total, paths = 50_000, 500
    for n in range(total):
        kernel.states.set(f"dev-{n % paths}/main/sensor/value", n, context)
        if n % 1_000 == 999:
            await asyncio.sleep(0)  # devices report in chunks, the loop keeps running
    for _ in range(4_800):  # give up after 240 s (a loaded machine is slow, not wrong)
        if recorder.stats()["written"] >= total:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await monitor

    stats = recorder.stats()
    assert stats["written"] == total
    assert stats["dropped"] == 0
    assert stats["queued"] == 0
    assert await count_rows_async(storage.engine, "state_history") == total
    last = {s.path: s.value for s in await storage.load_last_states()}
    assert len(last) == paths
    assert last["dev-0/main/sensor/value"] == total - paths
    assert last[f"dev-{paths - 1}/main/sensor/value"] == total - 1
    assert stalls  # the loop kept running; how long it stalled is bench/recorder_burst.py's job


async def test_full_queue_drops_oldest_and_counts(
    storage: Storage, kernel: Kernel, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder(storage, kernel.bus, kernel.tasks, batch_size=5, max_batch=5, max_queue=10)
    recorder.start()
    caplog.set_level(logging.WARNING, logger="hub.storage.recorder")
    path = "lamp-1/main/light/brightness"
    for n in range(25):  # no await: the commit task cannot run, the queue overflows
        kernel.states.set(path, n, now=1_800_000_000.0 + n)
    assert recorder.stats()["dropped"] == 15
    assert recorder.stats()["queued"] == 10
    full_warnings = [r for r in caplog.records if "queue full" in r.getMessage()]
    assert len(full_warnings) == 1  # once per burst, not once per row

    await recorder.flush()
    assert [v for _, v in await storage.history(path)] == list(range(15, 25))  # the newest kept
    assert recorder.stats()["written"] == 10
    assert any("caught up; 15" in r.getMessage() for r in caplog.records)


async def test_commits_on_interval_without_a_full_batch(storage: Storage, kernel: Kernel) -> None:
    recorder = Recorder(storage, kernel.bus, kernel.tasks, commit_interval=0.05)
    recorder.start()
    kernel.states.set("lamp-1/main/light/on", True)
    for _ in range(100):
        await asyncio.sleep(0.02)
        if recorder.stats()["written"] == 1:
            break
    assert recorder.stats()["written"] == 1
    assert recorder.stats()["last_commit_ms"] > 0


async def test_close_flushes_the_recorder(db_path: Path, kernel: Kernel) -> None:
    storage = await Storage.open(db_path)
    Recorder(storage, kernel.bus, kernel.tasks, commit_interval=3600).start()
    for n in range(123):
        kernel.states.set(f"lamp-{n}/main/light/on", True)
    await storage.close()
    reopened = await Storage.open(db_path)
    try:
        assert len(await reopened.load_last_states()) == 123
    finally:
        await reopened.close()


async def test_failed_commit_is_retried(
    storage: Storage, kernel: Kernel, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder(storage, kernel.bus, kernel.tasks, commit_interval=0.01)
    failures = {"left": 2}
    real_run_write = storage.run_write

    async def flaky(fn: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise OSError("database is locked")
        return await real_run_write(fn)

    monkeypatch.setattr(storage, "run_write", flaky)
    recorder.start()
    kernel.states.set("lamp-1/main/light/on", True, now=1_800_000_000.0)
    for _ in range(200):
        await asyncio.sleep(0.01)
        if recorder.stats()["written"]:
            break
    assert recorder.stats()["written"] == 1
    assert recorder.stats()["failed"] == 0
    assert await storage.history("lamp-1/main/light/on") == [(1_800_000_000.0, True)]


async def test_retention_purge_removes_old_rows_only(storage: Storage, kernel: Kernel) -> None:
    now = time.time()
    recorder = Recorder(storage, kernel.bus, kernel.tasks, retention_days=10)
    recorder.start()
    old_path, new_path = "heater-1/main/water/temperature", "heater-1/main/water/target"
    for n in range(30):
        kernel.states.set(old_path, 40 + n, now=now - 20 * DAY + n)  # 20 days old
    for n in range(7):
        kernel.states.set(new_path, 50 + n, now=now - 9 * DAY + n)  # inside the 10 days
    kernel.states.set(old_path, 99, now=now)  # the old path is still reporting
    await recorder.flush()

    await recorder.purge(now=now)  # the purge at start may have run already: count both
    assert recorder.stats()["purged"] == 30
    assert await storage.history(old_path) == [(now, 99)]
    assert len(await storage.history(new_path)) == 7
    assert len(await storage.load_last_states()) == 2  # last states are never purged


async def test_purge_runs_in_small_batches(storage: Storage, kernel: Kernel) -> None:
    recorder = Recorder(storage, kernel.bus, kernel.tasks, retention_days=0)
    recorder.start()
    for n in range(23):
        kernel.states.set(f"lamp-{n}/main/light/on", True, now=1_000.0 + n)
    kernel.states.set("lamp-0/main/light/on", False, now=5_000.0)
    await recorder.flush()
    deletes: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("DELETE FROM state_history"):
            deletes.append(statement)

    event.listen(storage.engine, "before_cursor_execute", count)
    assert await storage.purge_history(2_000.0, batch=5) == 23
    assert len(deletes) == 5  # 5 + 5 + 5 + 5 + 3: small statements, each its own writer job
    assert [ts for ts, _ in await storage.history("lamp-0/main/light/on")] == [5_000.0]


async def test_listener_only_queues(storage: Storage, kernel: Kernel) -> None:
    # Its speed is measured by bench/recorder_burst.py; here: every call queues one row.
    recorder = Recorder(
        storage, kernel.bus, kernel.tasks, batch_size=10**6, max_batch=10**6, max_queue=10**6
    )
    new = State("lamp-1/main/light/brightness", "lamp-1", 50, 1.0, 1.0, None)
    event = Event(
        STATE_CHANGED, StateChange(new.path, "lamp-1", None, new), kernel.bus.hub_context, 1.0
    )
    listener = recorder._on_state_changed
    calls = 20_000
    for _ in range(calls):
        listener(event)
    assert recorder.stats()["queued"] == calls
    assert recorder.stats()["written"] == 0  # nothing written from the listener itself


async def test_bad_settings_are_refused(storage: Storage, kernel: Kernel) -> None:
    with pytest.raises(ValueError):
        Recorder(storage, kernel.bus, kernel.tasks, batch_size=0)
    with pytest.raises(ValueError):
        Recorder(storage, kernel.bus, kernel.tasks, batch_size=10, max_batch=5)
