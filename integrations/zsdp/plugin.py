"""Plug-in entry point: ``zsdp = "integrations.zsdp.plugin:setup"`` in ``zshub.plugins``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from integrations.zsdp.integration import ZsdpIntegration

if TYPE_CHECKING:
    from hub.app import Hub

__all__ = ["setup"]


def setup(hub: Hub) -> ZsdpIntegration:
    """The hub's plug-in factory ``(hub) -> Plugin``; the plug-in's ``name`` is ``"zsdp"`` and its
    ``kind`` is ``"integration"``."""
    return ZsdpIntegration(hub)
