"""The slice of the hub the rule engine and scenes use, as small protocols.

The engine never imports :mod:`hub.app`: the plug-in builds a :class:`RuleKernel` from the hub,
tests build one from a bare kernel, and the dry run builds one over copies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from hub.capabilities.model import CommandDef
from hub.core.bus import EventBus
from hub.core.commands import CommandProfile, CommandResult
from hub.core.context import Context
from hub.core.registry import Device, DeviceRegistry
from hub.core.state import StateStore
from hub.safety.arbiter import SafetyArbiter

__all__ = ["CommandSender", "ProfileView", "RuleKernel"]


class ProfileView(CommandProfile, Protocol):
    """What rules need of a device's profile beyond the command path: where a capability lives
    (to run ``fan.set_mode`` on whichever component has ``fan``) and its commands (to turn a
    scene's target state into a command)."""

    def components_with(self, capability: str) -> Sequence[str]: ...
    def commands_of(self, component: str, capability: str) -> Mapping[str, CommandDef]: ...


class CommandSender(Protocol):
    """:class:`hub.core.commands.CommandService` satisfies this; the dry run swaps in its own."""

    async def send(
        self,
        device_id: str,
        target: str,
        args: Mapping[str, Any] | None = None,
        *,
        context: Context,
        opt_in: frozenset[str] = frozenset(),
    ) -> CommandResult: ...


@dataclass(slots=True)
class RuleKernel:
    bus: EventBus
    states: StateStore
    registry: DeviceRegistry
    arbiter: SafetyArbiter
    commands: CommandSender
    profile_of: Callable[[Device], ProfileView | None]
    # The dry run's copy: a device or profile the copy does not know is still "would be sent
    # to", so a rule can be tried without the home it is written for.
    dry_run: bool = False

    def profile(self, device_id: str) -> ProfileView | None:
        device = self.registry.get(device_id)
        return self.profile_of(device) if device is not None else None
