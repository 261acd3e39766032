"""Errors of the virtual radio that are not bleak's own."""

from __future__ import annotations

from bleak.exc import BleakError

__all__ = ["BleakConnectTimeout"]


class BleakConnectTimeout(BleakError, TimeoutError):
    """A connection attempt timed out: catchable as bleak's error and as the ``TimeoutError`` the
    BlueZ backend raises in the same situation."""
