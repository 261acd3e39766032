"""Plug-in entry point: ``ble = "integrations.ble.plugin:setup"`` in ``zshub.plugins``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from integrations.ble.integration import BleIntegration

if TYPE_CHECKING:
    from hub.app import Hub

__all__ = ["setup"]


def setup(hub: Hub) -> BleIntegration:
    """The hub's plug-in factory ``(hub) -> Plugin``; the plug-in's ``name`` is ``"ble"`` and its
    ``kind`` is ``"integration"``."""
    return BleIntegration(hub)
