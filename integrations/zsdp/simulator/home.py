"""What to simulate: profiles from the command line, or a home file with rooms and devices.

A home file (the demo's ``integrations/demo/demo_home.yaml``)::

    schema: zshub.sim-home/1
    rooms:
      - {id: living, name: {zh: 客厅, en: Living room}}
    devices:
      - key: living-ceiling                 # stable slot name; the device id derives from it
        profile: cn.zs.demo-guzhen-lighting.xdd-cct-480     # a profile id or a file
        room: living
        name: {zh: 客厅吸顶灯, en: Living room ceiling lamp}
        options: {wear_speed: 500}          # behaviour options (pin, hold_s, valve_travel_s …)
        state: {main/onoff/on: true}        # starting property values

Everything here is blocking file I/O: the simulator calls it in a worker thread.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.capabilities.catalogue import Catalogue, default_catalogue_dir
from hub.config import repo_root
from hub.profiles.compiled import LoadedProfile
from hub.profiles.loader import load_profile_dirs, load_profile_file
from hub.util.yamlio import YamlError, load_yaml_file
from integrations.zsdp.handshake import generate_pairing_code, normalize_pairing_code
from integrations.zsdp.messages import is_valid_id
from integrations.zsdp.simulator.device import DeviceSpec
from integrations.zsdp.simulator.state import StateFile

__all__ = ["HOME_SCHEMA", "Home", "HomeDevice", "HomeError", "Room", "build_specs", "load_home"]

HOME_SCHEMA = "zshub.sim-home/1"
_SLUG = re.compile(r"[^a-z0-9-]+")
ID_MAX = 32


class HomeError(ValueError):
    """A home file or profile reference that cannot be used (message names the file)."""


@dataclass(frozen=True, slots=True)
class Room:
    id: str
    name_zh: str
    name_en: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "name_zh": self.name_zh, "name_en": self.name_en}


@dataclass(slots=True)
class HomeDevice:
    key: str
    profile: str  # profile id or file path
    room: str | None = None
    name_zh: str | None = None
    name_en: str | None = None
    device_id: str | None = None
    pairing_code: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Home:
    rooms: list[Room]
    devices: list[HomeDevice]
    source: Path | None = None


def _text(node: Any, where: str) -> str:
    if not isinstance(node, str) or not node.strip():
        raise HomeError(f"{where}: expected text")
    return node


def _names(node: Any, where: str) -> tuple[str | None, str | None]:
    if node is None:
        return None, None
    if not isinstance(node, Mapping):
        raise HomeError(f"{where}: name must be {{zh: …, en: …}}")
    return _text(node.get("zh"), f"{where}.zh"), _text(node.get("en"), f"{where}.en")


def load_home(path: Path) -> Home:
    try:
        data, _lines = load_yaml_file(path)
    except (OSError, YamlError) as err:
        raise HomeError(f"{path}: {err}") from err
    if not isinstance(data, Mapping) or data.get("schema") != HOME_SCHEMA:
        raise HomeError(f"{path}: not a home file (schema: {HOME_SCHEMA})")
    rooms = []
    for i, node in enumerate(data.get("rooms") or []):
        where = f"{path}: rooms[{i}]"
        if not isinstance(node, Mapping):
            raise HomeError(f"{where}: expected a mapping")
        zh, en = _names(node.get("name"), where)
        rooms.append(Room(_text(node.get("id"), f"{where}.id"), zh or "", en or ""))
    room_ids = {r.id for r in rooms}
    devices = []
    seen: set[str] = set()
    for i, node in enumerate(data.get("devices") or []):
        where = f"{path}: devices[{i}]"
        if not isinstance(node, Mapping):
            raise HomeError(f"{where}: expected a mapping")
        key = _text(node.get("key"), f"{where}.key")
        if key in seen:
            raise HomeError(f"{where}: key {key!r} is used twice")
        seen.add(key)
        room = node.get("room")
        if room is not None and room not in room_ids:
            raise HomeError(f"{where}: unknown room {room!r}")
        zh, en = _names(node.get("name"), where)
        options, state = node.get("options") or {}, node.get("state") or {}
        if not isinstance(options, Mapping) or not isinstance(state, Mapping):
            raise HomeError(f"{where}: options and state are mappings")
        devices.append(
            HomeDevice(
                key=key,
                profile=_text(node.get("profile"), f"{where}.profile"),
                room=room,
                name_zh=zh,
                name_en=en,
                options=dict(options),
                state=dict(state),
            )
        )
    return Home(rooms, devices, path)


def home_from_profiles(
    refs: Sequence[str],
    *,
    count: int = 1,
    device_id: str | None = None,
    pairing_code: str | None = None,
) -> Home:
    """A home without rooms: ``count`` devices of each profile given on the command line."""
    devices: list[HomeDevice] = []
    total = count * len(refs)
    for ref in refs:
        for n in range(1, count + 1):
            explicit = None
            if device_id is not None:
                explicit = device_id if total == 1 else f"{device_id}-{len(devices) + 1}"
            devices.append(
                HomeDevice(
                    key=f"{ref}#{n}",
                    profile=ref,
                    device_id=explicit,
                    pairing_code=pairing_code,
                )
            )
    return Home([], devices)


def _looks_like_file(ref: str) -> bool:
    return ref.endswith((".yaml", ".yml")) or "/" in ref or Path(ref).exists()


def resolve_profiles(
    refs: Sequence[str], base: Path | None, extra_dirs: Sequence[Path] = ()
) -> dict[str, LoadedProfile]:
    """Load every referenced profile (files relative to ``base``; ids from the library)."""
    catalogue, errors = Catalogue.load_dir(default_catalogue_dir())
    if errors:
        raise HomeError(f"capability catalogue: {errors[0]}")
    out: dict[str, LoadedProfile] = {}
    library: dict[str, LoadedProfile] | None = None
    for ref in dict.fromkeys(refs):
        if _looks_like_file(ref):
            path = Path(ref)
            if not path.is_absolute() and base is not None and not path.exists():
                path = base / path
            result = load_profile_file(path, catalogue)
            if not isinstance(result, LoadedProfile):
                lines = "\n  ".join(str(p) for p in result[:10])
                raise HomeError(f"{ref}: the profile does not load:\n  {lines}")
            out[ref] = result
            continue
        found = _by_convention(ref, catalogue)
        if found is None and library is None:
            loaded = load_profile_dirs([repo_root() / "device_profiles", *extra_dirs], catalogue)
            library = {p.id: p for p in loaded}
        if found is None and library is not None:
            found = library.get(ref)
        if found is None:
            raise HomeError(f"no profile {ref!r} (give a file, or a profile id from the library)")
        out[ref] = found
    for ref, profile in out.items():
        if profile.binding("zsdp") is None:
            raise HomeError(f"{ref}: {profile.id} has no zsdp binding, so it cannot be simulated")
    return out


def _by_convention(ref: str, catalogue: Catalogue) -> LoadedProfile | None:
    """``cn.zs.<maker>.<model>`` usually lives in ``device_profiles/<maker>/<model>.yaml``:
    loading that one file is much cheaper than the whole library."""
    parts = ref.split(".")
    if len(parts) < 4:
        return None
    path = repo_root() / "device_profiles" / parts[2] / (".".join(parts[3:]) + ".yaml")
    if not path.is_file():
        return None
    result = load_profile_file(path, catalogue)
    return result if isinstance(result, LoadedProfile) and result.id == ref else None


def _new_id(stem: str, suffix: str) -> str:
    stem = _SLUG.sub("-", stem.lower()).strip("-") or "zs"
    return f"{stem[: ID_MAX - len(suffix) - 1]}-{suffix}"


def build_specs(
    home: Home, profiles: Mapping[str, LoadedProfile], state: StateFile
) -> list[DeviceSpec]:
    """Device specs with identities taken from (or recorded in) the state file."""
    specs = []
    used: set[str] = set()
    for n, device in enumerate(home.devices, start=1):
        profile = profiles[device.profile]
        slot = state.slot(device.key)
        device_id = device.device_id or slot.get("id")
        if not device_id:
            stem = device.key if "#" not in device.key else profile.model.model
            suffix = state.suffix if "#" not in device.key else f"{state.suffix}{n}"
            device_id = _new_id(stem, suffix)
        if not is_valid_id(device_id):
            raise HomeError(f"device id {device_id!r}: 1-32 of A-Z a-z 0-9 . _ : -")
        if device_id in used:
            raise HomeError(f"device id {device_id!r} is used twice")
        used.add(device_id)
        code = device.pairing_code or slot.get("pairing_code") or generate_pairing_code()
        try:
            code = normalize_pairing_code(str(code))
        except ValueError as err:
            raise HomeError(f"{device.key}: {err}") from err
        if slot.get("id") != device_id or slot.get("pairing_code") != code:
            slot.update(id=device_id, pairing_code=code, profile=profile.id)
            state.dirty = True
        specs.append(
            DeviceSpec(
                key=device.key,
                profile=profile,
                device_id=device_id,
                pairing_code=code,
                name_zh=device.name_zh or profile.model.name.zh,
                name_en=device.name_en or profile.model.name.en,
                room=device.room,
                options=dict(device.options),
                state=dict(device.state),
            )
        )
    return specs
