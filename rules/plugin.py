"""The ``zshub.plugins`` entry point of the rule engine (``rules = "rules.plugin:setup"``).

It starts before any integration (kind ``rules``), so the built-in safety rules from
``rules/packs/`` are listening before a device connects; then the user's rule and scene files
from ``<data_dir>/rules/`` and ``<data_dir>/scenes/``, then what was added through the API.
The home's parameter overrides (``zshub.params/1`` files in those folders) are read first and
applied to the packs and the user's files alike.
The API layer finds the engine as ``plugin.engine`` (``plugin.scenes``, ``plugin.notifications``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from hub.capabilities.model import CommandDef, EventDef, LocalText, PropertyDef
from hub.core.registry import Device
from hub.safety.arbiter import ProfilePolicy
from rules.engine import RuleEngine
from rules.kernel import ProfileView, RuleKernel
from rules.loader import LoadProblem, LoadResult, load_dir, load_user_dirs
from rules.notify import NotificationCenter
from rules.scenes import SceneEngine
from rules.timers import Clock

__all__ = [
    "PACKS_DIR",
    "HubProfileView",
    "RulesPlugin",
    "load_packs",
    "load_user_files",
    "setup",
]

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

    def reported_paths(self, transport: str) -> frozenset[str] | None:
        value: frozenset[str] | None = self._rt.reported_paths(transport)
        return value

    def components_with(self, capability: str) -> Sequence[str]:
        components: Mapping[str, Mapping[str, Any]] = self._rt.loaded.components.components
        return [name for name, caps in components.items() if capability in caps]

    # Optional extras rules use when a view has them (notification labels, fail-safe).
    def event_def(self, path: str) -> EventDef | None:
        value: EventDef | None = self._rt.loaded.event_def(path)
        return value

    def component_label(self, component: str) -> LocalText | None:
        spec = self._rt.loaded.model.components.get(component)
        label: LocalText | None = getattr(spec, "label", None)
        return label

    @property
    def fail_safe(self) -> Mapping[str, Any]:
        """``safety.fail_safe``: property path -> the state the device should be put in when
        its protection is lost (``valve/valve/state: closed``)."""
        safety = self._rt.loaded.model.safety
        value: Mapping[str, Any] = safety.fail_safe if safety is not None else {}
        return value

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
    """Blocking: parameter overrides, rule and scene files from ``<data_dir>/rules`` and
    ``<data_dir>/scenes`` (``result.overrides`` is for loading the packs)."""
    return load_user_dirs([data_dir / "rules", data_dir / "scenes"])


def load_packs(user: LoadResult, folder: Path = PACKS_DIR) -> LoadResult:
    """Blocking: the built-in packs with the home's overrides; then reports overrides nothing
    declared (call after the user's files are loaded, so those count too)."""
    packs = load_dir(folder, allow_safety=True, overrides=user.overrides)
    if user.overrides is not None:
        packs.problems.extend(
            LoadProblem(p.file, p.line, p.field, p.message) for p in user.overrides.unused()
        )
    return packs


class RulesPlugin:
    name = "rules"
    kind: Literal["rules"] = "rules"

    def __init__(self, hub: Any, clock: Clock | None = None) -> None:
        self.hub = hub
        self.clock = clock  # None: the wall clock (tests and demos may give their own)
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
        user = await loop.run_in_executor(None, load_user_files, Path(hub.config.data_dir))
        packs = await loop.run_in_executor(None, load_packs, user)
        self.problems = [str(p) for p in (*packs.problems, *user.problems)]

        self.notifications = NotificationCenter(hub.bus, self.clock)
        scenes = self.scenes = SceneEngine(kernel, store=store)
        scenes.load(packs.scenes, "pack")
        scenes.load(user.scenes, "file")
        await scenes.start()
        engine = self.engine = RuleEngine(
            kernel, store=store, clock=self.clock, scenes=scenes, notifier=self.notifications
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

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock

    def __call__(self, hub: Any) -> RulesPlugin:
        return RulesPlugin(hub, self._clock)

    def with_clock(self, clock: Clock) -> _Setup:
        """A factory whose engine runs on ``clock`` (end-to-end tests jump it forward)."""
        return _Setup(clock)


setup = _Setup()
