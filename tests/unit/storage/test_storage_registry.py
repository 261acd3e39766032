"""Registry persistence through the kernel's DeviceRegistry, and device secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event, text
from storage_helpers import Kernel, count_rows, make_device, make_room

from hub.core.registry import Availability, DeviceRegistry, Room
from hub.storage import Storage
from hub.storage.tables import DeviceRow


async def test_restart_keeps_registry(db_path: Path, kernel: Kernel) -> None:
    storage = await Storage.open(db_path)
    registry = DeviceRegistry(kernel.bus, storage)
    registry.upsert_room(make_room("kitchen"))
    registry.upsert_room(Room("door", "玄关", "Entrance", order=0))
    registry.add(make_device("hood-1"))
    registry.add(make_device("lock-1", room_id="door"))
    registry.update("hood-1", name_en="Hood", config={"poll": 10})
    registry.set_availability("lock-1", Availability.ONLINE)
    expected_rooms = registry.rooms()
    expected_devices = sorted(registry, key=lambda d: d.id)
    await storage.close()

    reopened = await Storage.open(db_path)
    try:
        rooms, devices = await reopened.load_registry()
    finally:
        await reopened.close()
    assert rooms == expected_rooms
    assert devices == expected_devices
    assert devices[0].identity == {"mac": "aa:bb:cc:00:11:22", "pid": "X1"}
    assert devices[0].config == {"poll": 10}
    assert devices[1].availability is Availability.ONLINE

    fresh = DeviceRegistry(kernel.bus)
    fresh.restore(rooms, devices)
    assert fresh.device("lock-1").availability is Availability.UNKNOWN  # proven again at start
    assert fresh.device("hood-1").name_en == "Hood"


async def test_removals_persist(storage: Storage, kernel: Kernel) -> None:
    registry = DeviceRegistry(kernel.bus, storage)
    registry.upsert_room(make_room("kitchen"))
    registry.add(make_device("hood-1"))
    registry.add(make_device("hood-2"))
    registry.remove("hood-2")
    registry.remove_room("kitchen")
    rooms, devices = await storage.load_registry()
    assert rooms == []
    assert [d.id for d in devices] == ["hood-1"]
    assert devices[0].room_id is None


async def test_repeated_saves_are_coalesced(storage: Storage, kernel: Kernel) -> None:
    device_writes: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("INSERT INTO devices"):
            device_writes.append(statement)

    event.listen(storage.engine, "before_cursor_execute", count)
    registry = DeviceRegistry(kernel.bus, storage)
    registry.upsert_room(make_room())
    registry.add(make_device("hood-1"))
    for n in range(200):
        registry.update("hood-1", address=f"192.0.2.{n % 250}:6668")
    await storage.flush()
    assert len(device_writes) == 1
    _, devices = await storage.load_registry()
    assert devices[0].address == "192.0.2.199:6668"


async def test_one_bad_queued_write_does_not_lose_the_batch(storage: Storage) -> None:
    storage.save_room(make_room("kitchen"))
    storage.save_device(make_device("ghost", room_id="no-such-room"))  # foreign key violation
    storage.save_device(make_device("hood-1"))
    await storage.flush()
    rooms, devices = await storage.load_registry()
    assert [r.id for r in rooms] == ["kitchen"]
    assert [d.id for d in devices] == ["hood-1"]
    assert storage.failed_writes == 1


async def test_writes_keep_their_order(storage: Storage) -> None:
    # The device save is queued, the secret write is awaited: the secret needs the device row
    # (foreign key), so this only works if queued writes go first.
    storage.save_room(make_room())
    storage.save_device(make_device("lock-1"))
    await storage.set_secret("lock-1", "local_key", "0123456789abcdef")
    assert await storage.get_secret("lock-1", "local_key") == "0123456789abcdef"


async def test_secrets_never_in_device_rows(storage: Storage, kernel: Kernel) -> None:
    secret = "S3CRET-local-key-9f8e7d"
    registry = DeviceRegistry(kernel.bus, storage)
    registry.upsert_room(make_room())
    registry.add(make_device("lock-1"))
    await storage.set_secret("lock-1", "local_key", secret)
    await storage.set_secret("lock-1", "admin_pin", "246810")

    assert "secret" not in " ".join(DeviceRow.model_fields)
    _, devices = await storage.load_registry()
    assert secret not in repr(devices)
    assert secret not in repr(devices[0].as_dict())
    with storage.engine.connect() as conn:
        raw_rows = conn.execute(text("SELECT * FROM devices")).all()
    assert secret not in repr(raw_rows)
    assert await storage.get_secrets("lock-1") == {"local_key": secret, "admin_pin": "246810"}


async def test_secrets_go_with_the_device(storage: Storage, kernel: Kernel) -> None:
    registry = DeviceRegistry(kernel.bus, storage)
    registry.upsert_room(make_room())
    registry.add(make_device("lock-1"))
    await storage.set_secret("lock-1", "local_key", "k1")
    registry.update("lock-1", name_en="Front door")  # an update must not drop the secrets
    assert await storage.get_secret("lock-1", "local_key") == "k1"

    registry.remove("lock-1")
    registry.add(make_device("lock-1"))  # same id, a different physical lock
    await storage.flush()
    assert await storage.get_secrets("lock-1") == {}
    assert count_rows(storage.engine, "device_secrets") == 0


async def test_delete_secret(storage: Storage) -> None:
    storage.save_room(make_room())
    storage.save_device(make_device("lock-1"))
    await storage.set_secret("lock-1", "a", "1")
    await storage.set_secret("lock-1", "b", "2")
    await storage.set_secret("lock-1", "a", "3")  # replaces
    assert await storage.get_secrets("lock-1") == {"a": "3", "b": "2"}
    assert await storage.delete_secret("lock-1", "a") == 1
    assert await storage.get_secret("lock-1", "a") is None
    assert await storage.delete_secret("lock-1") == 1
    assert await storage.get_secrets("lock-1") == {}


async def test_writes_after_close_are_refused(db_path: Path) -> None:
    storage = await Storage.open(db_path)
    await storage.close()
    with pytest.raises(RuntimeError, match="closed"):
        storage.save_room(make_room())
    await storage.close()  # idempotent
