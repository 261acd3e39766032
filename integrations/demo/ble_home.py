"""The demo home's BLE devices (``ble_devices:`` in ``demo_home.yaml``).

They live in a ``zshub simulate-ble`` child process on a virtual radio; the hub's ``ble_radio``
points at that process's ``tcp:`` relay (set before the BLE integration starts). Each device is
added like any other discovered device, through :meth:`Hub.add_discovered` — the BTHome door
contact with the bind key from the simulator's manifest, as an owner would type it from the
label — with its room and zh/en names. After a restart the devices are in the registry already;
the BLE integration finds them on the air again (the bind key is a stored device secret).
"""

from __future__ import annotations

import json
import logging
import socket
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from hub.core.context import Context, Origin
from hub.core.registry import Device

if TYPE_CHECKING:
    from hub.app import Hub

__all__ = ["BLE", "BleDemoDevice", "free_loopback_port", "load_ble_devices", "point_radio_at"]

_LOGGER = logging.getLogger("integrations.demo.plugin")

BLE = "ble"
ADDED_FILE = "ble_added.json"  # in <data>/demo: home keys of the BLE devices added once
# Only what `zshub simulate-ble` reads goes into its devices file (room and names are the hub's).
_SIMULATOR_KEYS = ("key", "kind", "address", "local_name", "bindkey", "objects", "profile")
_SIMULATOR_KEYS_MORE = ("state", "interval_ms", "rssi")


@dataclass(frozen=True, slots=True)
class BleDemoDevice:
    key: str
    profile_id: str
    address: str
    room: str | None
    name_zh: str
    name_en: str
    spec: dict[str, Any]  # the simulator's entry
    bindkey: str | None = None  # from the simulator's manifest


def load_ble_devices(home_file: Path) -> list[BleDemoDevice]:
    """The ``ble_devices:`` of a home file; ValueError naming the entry when one is unusable."""
    data = yaml.safe_load(home_file.read_text(encoding="utf-8")) or {}
    out: list[BleDemoDevice] = []
    for i, node in enumerate(data.get("ble_devices") or []):
        where = f"{home_file}: ble_devices[{i}]"
        if not isinstance(node, dict):
            raise ValueError(f"{where}: expected a mapping")
        name = node.get("name") or {}
        try:
            out.append(
                BleDemoDevice(
                    key=str(node["key"]),
                    profile_id=str(node["profile"]),
                    address=str(node["address"]).upper(),
                    room=node.get("room"),
                    name_zh=str(name["zh"]),
                    name_en=str(name["en"]),
                    spec={
                        k: node[k] for k in (*_SIMULATOR_KEYS, *_SIMULATOR_KEYS_MORE) if k in node
                    },
                )
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"{where}: missing {err} (key, profile, address, name)") from None
    return out


def write_simulator_devices(devices: list[BleDemoDevice], path: Path) -> None:
    """The simulator's devices file (JSON is YAML too)."""
    path.write_text(json.dumps({"devices": [d.spec for d in devices]}, indent=2), "utf-8")


def with_manifest(devices: list[BleDemoDevice], manifest: dict[str, Any]) -> list[BleDemoDevice]:
    """The devices with the addresses and bind keys the simulator actually uses."""
    by_key = {str(entry.get("key")): entry for entry in manifest.get("devices") or []}
    out = []
    for device in devices:
        entry = by_key.get(device.key)
        if entry is None:
            _LOGGER.error("demo: the BLE simulator does not run %s; left out", device.key)
            continue
        out.append(
            replace(device, address=str(entry["address"]).upper(), bindkey=entry.get("bindkey"))
        )
    return out


def load_added(path: Path) -> set[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return set()
    except (OSError, ValueError) as err:
        _LOGGER.warning("demo: %s is unreadable (%s); BLE devices may be added again", path, err)
        return set()
    return {str(k) for k in data} if isinstance(data, list) else set()


def save_added(path: Path, keys: set[str]) -> None:
    path.write_text(json.dumps(sorted(keys)), encoding="utf-8")


def free_loopback_port() -> int:
    """A free TCP port on 127.0.0.1 for the relay (the BLE integration needs it before the
    simulator runs: the radio opens lazily and retries, so the gap is harmless)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def point_radio_at(hub: Hub, port: int) -> bool:
    """Point the hub's ``ble_radio`` at the demo's relay unless the owner configured a radio;
    False when the configured one is kept (the demo's BLE devices are then left out)."""
    configured = (hub.config.ble_radio or "system").strip().lower()
    if configured not in ("", "system"):
        _LOGGER.warning(
            "demo: ble_radio is set to %r; the demo's BLE devices are left out", configured
        )
        return False
    hub.config = replace(hub.config, ble_radio=f"tcp:127.0.0.1:{port}")
    return True


def find_device(hub: Hub, device: BleDemoDevice) -> Device | None:
    return hub.registry.find_by_identity(BLE, "key", device.address)


async def add_device(hub: Hub, device: BleDemoDevice) -> Device:
    """Add a discovered demo device the way an owner does (raises HubError)."""
    secrets = {"bthome_bindkey": device.bindkey} if device.bindkey else {}
    added = await hub.add_discovered(
        BLE,
        device.address,
        secrets=secrets,
        name_zh=device.name_zh,
        name_en=device.name_en,
        room_id=device.room,
        profile_id=device.profile_id,
        context=Context(Origin.INTEGRATION, "demo"),
    )
    _LOGGER.info("demo: added %s (%s)", device.name_en, device.address)
    return added


def retry_scanner_now(hub: Hub) -> None:
    """The relay listens now: scan at once instead of at the end of the scanner's backoff."""
    integration = hub.integrations.get(BLE)
    scanner = getattr(integration, "scanner", None)
    if scanner is None or getattr(scanner, "ok", False):
        return  # scanning already (a retry would restart the scan for nothing)
    retry_now = getattr(scanner, "retry_now", None)
    if retry_now is not None:
        retry_now()
