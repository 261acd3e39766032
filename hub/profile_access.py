"""The hub's view of the capability catalogue and the profile library, and the per-profile
runtime the command path uses (policy precomputed once per profile)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.capabilities.catalogue import Catalogue, default_catalogue_dir
from hub.capabilities.model import CommandDef, PropertyDef
from hub.config import HubConfig
from hub.core.registry import Device
from hub.profiles.compiled import LoadedProfile
from hub.profiles.loader import ProfileLibrary, load_profile_dirs
from hub.safety.arbiter import ProfilePolicy

__all__ = ["ProfileAccess", "ProfileRuntime"]


@dataclass(slots=True)
class ProfileRuntime:
    loaded: LoadedProfile
    id: str
    category: str
    roles: frozenset[str]
    policy: ProfilePolicy
    _commands: dict[str, CommandDef | None] = field(default_factory=dict)
    _reported: dict[str, frozenset[str] | None] = field(default_factory=dict)

    @classmethod
    def build(cls, loaded: LoadedProfile) -> ProfileRuntime:
        model = loaded.model
        safety: dict[str, Any] = (
            model.safety.model_dump(mode="python", by_alias=True) if model.safety else {}
        )
        units: dict[str, str] = {}
        for path in safety.get("limits") or {}:
            pdef = loaded.property_def(str(path))
            if pdef is not None and pdef.unit:
                units[str(path)] = pdef.unit
        return cls(
            loaded=loaded,
            id=model.id,
            category=model.category,
            roles=frozenset(safety.get("roles") or ()),
            policy=ProfilePolicy.from_safety(safety, units),
        )

    def command_def(self, target: str) -> CommandDef | None:
        try:
            return self._commands[target]
        except KeyError:
            cmd = self._commands[target] = self.loaded.command_def(target)
            return cmd

    def property_def(self, path: str) -> PropertyDef | None:
        return self.loaded.property_def(path)

    def reported_paths(self, transport: str) -> frozenset[str] | None:
        try:
            return self._reported[transport]
        except KeyError:
            binding = self.loaded.binding(transport)
            paths = self._reported[transport] = (
                binding.property_paths() if binding is not None else None
            )
            return paths


class ProfileAccess:
    def __init__(self) -> None:
        self.catalogue: Catalogue | None = None
        self.library: ProfileLibrary | None = None
        self._runtimes: dict[str, ProfileRuntime] = {}

    def load(self, config: HubConfig) -> tuple[Catalogue, list[str]]:
        """Blocking: read the catalogue and every profile folder (run in an executor)."""
        cat_dir = config.capabilities_dir or default_catalogue_dir()
        catalogue, cat_errors = Catalogue.load_dir(cat_dir)
        library = load_profile_dirs(list(config.all_profile_dirs), catalogue)
        self.catalogue = catalogue
        self.library = library
        self._runtimes = {}
        return catalogue, [str(e) for e in cat_errors] + [str(p) for p in library.problems]

    def get(self, profile_id: str) -> LoadedProfile | None:
        return self.library.get(profile_id) if self.library is not None else None

    def runtime(self, profile_id: str) -> ProfileRuntime | None:
        rt = self._runtimes.get(profile_id)
        if rt is None:
            loaded = self.get(profile_id)
            if loaded is None:
                return None
            rt = self._runtimes[profile_id] = ProfileRuntime.build(loaded)
        return rt

    def runtime_for(self, device: Device) -> ProfileRuntime | None:
        return self.runtime(device.profile_id) if device.profile_id else None
