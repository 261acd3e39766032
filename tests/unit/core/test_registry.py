import pytest

from hub.core.bus import EventBus
from hub.core.registry import (
    AVAILABILITY_CHANGED,
    DEVICE_ADDED,
    Availability,
    AvailabilityChange,
    Device,
    DeviceRegistry,
    RegistryError,
    Room,
)
from hub.core.tasks import TaskKeeper


class RecordingStore:
    def __init__(self) -> None:
        self.ops: list[tuple[str, str]] = []

    def save_device(self, device: Device) -> None:
        self.ops.append(("save_device", device.id))

    def delete_device(self, device_id: str) -> None:
        self.ops.append(("delete_device", device_id))

    def save_room(self, room: Room) -> None:
        self.ops.append(("save_room", room.id))

    def delete_room(self, room_id: str) -> None:
        self.ops.append(("delete_room", room_id))


def _device(id: str = "lamp-1", room: str | None = "living") -> Device:
    return Device(id, "吸顶灯", "Ceiling lamp", "cn.zs.x.y", "zsdp", "mdns", {"id": "abc"}, room)


@pytest.fixture
def reg() -> tuple[DeviceRegistry, RecordingStore, EventBus]:
    bus = EventBus(TaskKeeper("t"))
    store = RecordingStore()
    registry = DeviceRegistry(bus, store)
    registry.upsert_room(Room("living", "客厅", "Living room", 1))
    return registry, store, bus


def test_add_update_remove_persist_and_fire(
    reg: tuple[DeviceRegistry, RecordingStore, EventBus],
) -> None:
    registry, store, bus = reg
    added: list[str] = []
    bus.listen(DEVICE_ADDED, lambda e: added.append(e.data.id))
    registry.add(_device())
    assert added == ["lamp-1"]
    updated = registry.update("lamp-1", name_en="Lamp", room_id=None)
    assert updated.name_en == "Lamp" and updated.room_id is None
    registry.remove("lamp-1")
    assert store.ops == [
        ("save_room", "living"),
        ("save_device", "lamp-1"),
        ("save_device", "lamp-1"),
        ("delete_device", "lamp-1"),
    ]
    assert "lamp-1" not in registry


def test_invalid_changes_are_refused(reg: tuple[DeviceRegistry, RecordingStore, EventBus]) -> None:
    registry, _, _ = reg
    registry.add(_device())
    with pytest.raises(RegistryError, match="already exists"):
        registry.add(_device())
    with pytest.raises(RegistryError, match="unknown room"):
        registry.add(_device("lamp-2", room="garage"))
    with pytest.raises(RegistryError, match="lowercase"):
        registry.add(_device("Lamp 2"))
    with pytest.raises(RegistryError, match="cannot change"):
        registry.update("lamp-1", availability="online")
    with pytest.raises(RegistryError, match="empty"):
        registry.update("lamp-1", name_zh=" ")
    with pytest.raises(RegistryError, match="unknown device"):
        registry.device("nope")
    with pytest.raises(RegistryError, match="Chinese and an English"):
        registry.upsert_room(Room("kitchen", "厨房", ""))


def test_availability_transitions_fire_once(
    reg: tuple[DeviceRegistry, RecordingStore, EventBus],
) -> None:
    registry, _, bus = reg
    registry.add(_device())
    changes: list[AvailabilityChange] = []
    bus.listen(AVAILABILITY_CHANGED, lambda e: changes.append(e.data))
    registry.seen("lamp-1", now=50.0)
    registry.seen("lamp-1", now=51.0)
    registry.set_availability("lamp-1", Availability.OFFLINE)
    registry.set_availability("lamp-1", Availability.OFFLINE)
    assert [(c.old, c.new) for c in changes] == [
        (Availability.UNKNOWN, Availability.ONLINE),
        (Availability.ONLINE, Availability.OFFLINE),
    ]
    assert registry.device("lamp-1").last_seen == 51.0


def test_restore_starts_unknown_and_ids_are_unique(
    reg: tuple[DeviceRegistry, RecordingStore, EventBus],
) -> None:
    registry, _, _ = reg
    dev = _device()
    dev.availability = Availability.ONLINE
    registry.restore([Room("kitchen", "厨房", "Kitchen")], [dev])
    assert registry.device("lamp-1").availability is Availability.UNKNOWN
    assert [r.id for r in registry.rooms()] == ["kitchen", "living"]
    assert registry.new_id("Lamp 1") == "lamp-1-2"
    assert registry.new_id("吸顶灯") == "device"
    assert registry.find_by_identity("zsdp", "id", "abc") is dev


def test_removing_room_unassigns_devices(
    reg: tuple[DeviceRegistry, RecordingStore, EventBus],
) -> None:
    registry, store, _ = reg
    registry.add(_device())
    registry.remove_room("living")
    assert registry.device("lamp-1").room_id is None
    assert ("delete_room", "living") in store.ops


def test_identity_lookup_follows_adds_updates_and_removals(
    reg: tuple[DeviceRegistry, RecordingStore, EventBus],
) -> None:
    registry, _, _ = reg
    assert registry.find_by_identity("zsdp", "id", "abc") is None  # builds an empty index
    lamp = registry.add(_device())
    assert registry.find_by_identity("zsdp", "id", "abc") is lamp
    assert registry.find_by_identity("matter", "id", "abc") is None
    assert registry.find_by_identity("zsdp", "id", None) is None
    assert registry.find_by_identity("zsdp", "id", ["unhashable"]) is None
    moved = registry.update("lamp-1", identity={"id": "def"})
    assert registry.find_by_identity("zsdp", "id", "abc") is None
    assert registry.find_by_identity("zsdp", "id", "def") is moved
    registry.remove("lamp-1")
    assert registry.find_by_identity("zsdp", "id", "def") is None
