"""Plug-in entry point: ``matter = "integrations.matter.plugin:setup"`` in ``zshub.plugins``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from integrations.matter.integration import MatterIntegration

if TYPE_CHECKING:
    from hub.app import Hub

__all__ = ["setup"]


def setup(hub: Hub) -> MatterIntegration:
    """The hub's plug-in factory; idle unless ``matter_url`` or ``matter_server`` is set."""
    return MatterIntegration(hub)
