"""The ``zshub.plugins`` entry point of the rule engine (``rules = "rules.plugin:setup"``).

It starts before any integration (kind ``rules``), so the built-in safety rules from
``rules/packs/`` are listening before a device connects; then the user's rule and scene files
from ``<data_dir>/rules/`` and ``<data_dir>/scenes/``, then what was added through the API.
The API layer finds the engine as ``plugin.engine`` (``plugin.scenes``, ``plugin.notifications``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from hub.capabilities.model import CommandDef, PropertyDef
from hub.core.registry import Device
from hub.safety.arbiter import ProfilePolicy
from rules.engine import RuleEngine
from rules.kernel import ProfileView, RuleKernel
from rules.loader import LoadResult, load_dir
from rules.notify import NotificationCenter
from rules.scenes import SceneEngine

__all__ = ["PACKS_DIR", "HubProfileView", "RulesPlugin", "load_user_files", "setup"]

_LOGGER = logging.getLogger(__name__)

PACKS_DIR = Path(__file__).resolve().parent / "packs"


class HubProfileView:
    """:class:`rules.kernel.ProfileView` over the hub's ``ProfileRuntime`` (typed loosely here
    so the rule engine does not import the profile loader)."""

    __slots__ = ("_rt",)

    def __init__(self, runtime: Any) -> None:
        self._rt = runtime

    @property
    def id(self) -> str:
        value: str = self._rt.id
        return value

    @property
    def category(self) -> str:
        value: str = self._rt.category
        return value

    @property
    def roles(self) -> frozenset[str]:
        value: frozenset[str] = self._rt.roles
        return value

    @property
    def policy(self) -> ProfilePolicy:
        value: ProfilePolicy = self._rt.policy
        return value

    def command_def(self, target: str) -> CommandDef | None:
        value: CommandDef | None = self._rt.command_def(target)
        return value

    def property_def(self, path: str) -> PropertyDef | None:
        value: PropertyDef | None = self._rt.property_def(path)
        return value

    def components_with(self, capability: str) -> Sequence[str]:
        components: Mapping[str, Mapping[str, Any]] = self._rt.loaded.components.components
        return [name for name, caps in components.items() if capability in caps]

    def commands_of(self, component: str, capability: str) -> Mapping[str, CommandDef]:
        instance = self._rt.loaded.capability(component, capability)
        if instance is None:
            return {}
        commands: Mapping[str, CommandDef] = instance.commands
        return commands


class ProfileViews:
    """``profile_of(device)`` for the rule kernel, one adapter per loaded profile runtime."""

    def __init__(self, profiles: Any) -> None:
        self._profiles = profiles
        self._views: dict[int, tuple[Any, HubProfileView]] = {}

    def __call__(self, device: Device) -> ProfileView | None:
        runtime = self._profiles.runtime_for(device)
        if runtime is None:
            return None
        cached = self._views.get(id(runtime))
        if cached is not None and cached[0] is runtime:
            return cached[1]
        view = HubProfileView(runtime)
        self._views[id(runtime)] = (runtime, view)
        return view


def load_user_files(data_dir: Path) -> LoadResult:
    """Blocking: rule and scene files from ``<data_dir>/rules`` and ``<data_dir>/scenes``."""
    result = load_dir(data_dir / "rules")
    result.extend(load_dir(data_dir / "scenes"))
    return result


class RulesPlugin:
    name = "rules"
    kind: Literal["rules"] = "rules"

    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self.engine: RuleEngine | None = None
        self.scenes: SceneEngine | None = None
        self.notifications: NotificationCenter | None = None
        self.problems: list[str] = []

    async def async_start(self, hub: Any) -> None:
        kernel = RuleKernel(
            hub.bus, hub.states, hub.registry, hub.arbiter, hub.commands, ProfileViews(hub.profiles)
        )
        store = hub.storage
        loop = asyncio.get_running_loop()
        packs = await loop.run_in_executor(None, lambda: load_dir(PACKS_DIR, allow_safety=True))
        user = await loop.run_in_executor(None, load_user_files, Path(hub.config.data_dir))
        self.problems = [str(p) for p in (*packs.problems, *user.problems)]

        self.notifications = NotificationCenter(hub.bus)
        scenes = self.scenes = SceneEngine(kernel, store=store)
        scenes.load(packs.scenes, "pack")
        scenes.load(user.scenes, "file")
        await scenes.start()
        engine = self.engine = RuleEngine(
            kernel, store=store, scenes=scenes, notifier=self.notifications
        )
        engine.load(packs.rules, "pack")
        engine.load(user.rules, "file")
        await engine.start()

        self.problems += engine.problems + scenes.problems
        for problem in self.problems:
            _LOGGER.warning("%s", problem)
        hub.problems.extend(self.problems)
        _LOGGER.info(
            "Rules started: %d rules (%d safety), %d scenes",
            len(engine.rules()),
            sum(1 for r in engine.rules() if r.safety),
            len(scenes.scenes()),
        )

    async def async_stop(self) -> None:
        if self.engine is not None:
            await self.engine.stop()


class _Setup:
    """The entry-point factory. The hub orders plug-ins by the factory's ``kind`` before it
    calls it, so the factory carries ``kind = "rules"`` itself."""

    kind = "rules"
    __name__ = "rules"

    def __call__(self, hub: Any) -> RulesPlugin:
        return RulesPlugin(hub)


setup = _Setup()
