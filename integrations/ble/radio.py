"""Which bleak backends the hub uses, from the ``ble_radio`` setting.

``"system"`` (also ``"bluez"`` or empty): bleak's platform backend, BlueZ over D-Bus on Linux.
``"virtual:NAME"`` / ``"tcp:HOST:PORT"``: the bumble-based virtual radio (``virtual/``), for the
demo home and tests; it is imported only then, so a real hub never loads bumble.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Radio", "open_radio", "unavailable_reason"]

SYSTEM_NAMES = frozenset({"", "system", "bluez"})


@dataclass(slots=True)
class Radio:
    """The scanner and client backends to hand to ``BleakScanner``/``BleakClient`` (None: the
    platform's own), and the virtual radio object to close on stop."""

    spec: str
    scanner_backend: Any = None
    client_backend: Any = None
    virtual: Any = None

    @property
    def is_system(self) -> bool:
        return self.virtual is None

    def on_lost(self, token: object, callback: Callable[[], None]) -> None:
        """Call ``callback`` when the adapter goes away, where the backend can tell (the
        virtual radio can; bleak's BlueZ backend cannot — the scanner's watchdog covers it)."""
        add = getattr(self.virtual, "add_lost_listener", None)
        if add is not None:
            add(token, callback)

    def forget(self, token: object) -> None:
        remove = getattr(self.virtual, "remove_lost_listener", None)
        if remove is not None:
            remove(token)

    async def close(self) -> None:
        if self.virtual is not None:
            await self.virtual.close()


def open_radio(spec: str | None) -> Radio:
    """ValueError (readable) for a spec that names no radio."""
    text = (spec or "").strip()
    if text.lower() in SYSTEM_NAMES:
        return Radio("system")
    from integrations.ble.virtual import radio_from_spec

    virtual = radio_from_spec(text)
    if virtual is None:
        return Radio("system")
    return Radio(text, virtual.scanner_backend, virtual.client_backend, virtual)


def unavailable_reason(err: BaseException) -> tuple[str, str]:
    """``(kind, detail)`` for an error raised when the adapter cannot be used.

    Kinds: ``no_dbus`` (no system bus: bleak raises a bare FileNotFoundError), ``no_bluez``
    (D-Bus answers, BlueZ does not), ``no_permission``, ``powered_off``, ``no_adapter``,
    ``error``."""
    from bleak.exc import (
        BleakBluetoothNotAvailableError,
        BleakBluetoothNotAvailableReason,
        BleakDBusError,
        BleakError,
    )

    text = str(err.args[0]) if err.args else type(err).__name__
    if isinstance(err, PermissionError):
        return "no_permission", f"no permission to use Bluetooth ({text})"
    if isinstance(err, FileNotFoundError):
        return "no_dbus", "no D-Bus system bus (is BlueZ installed and running?)"
    if isinstance(err, BleakDBusError):
        name = getattr(err, "dbus_error", "") or ""
        if "AccessDenied" in name or "NotPermitted" in name:
            return "no_permission", f"BlueZ refused access ({name})"
        return "no_bluez", f"BlueZ is not available ({name or text})"
    if isinstance(err, BleakBluetoothNotAvailableError):
        reason = err.reason if len(err.args) > 1 else BleakBluetoothNotAvailableReason.UNKNOWN
        if reason.name.startswith("DENIED"):
            return "no_permission", text
        if reason is BleakBluetoothNotAvailableReason.POWERED_OFF:
            return "powered_off", text
        return "no_adapter", text
    if isinstance(err, BleakError):
        return "no_adapter", text
    if isinstance(err, OSError):
        return "no_adapter", f"{type(err).__name__}: {text}"
    return "error", f"{type(err).__name__}: {text}"
