"""Which bleak backends the hub uses, from the ``ble_radio`` setting.

``"system"`` (also ``"bluez"`` or empty): bleak's platform backend, BlueZ over D-Bus on Linux.
``"virtual:NAME"`` / ``"tcp:HOST:PORT"``: the bumble-based virtual radio (``virtual/``), for the
demo home and tests; it is imported only then, so a real hub never loads bumble.

bleak itself (and, for the system radio, its BlueZ backend and dbus-fast, ~3 MiB) is imported only
when a radio is about to be used, off the event loop (:func:`load_bleak`); on Linux not at all
while the machine has no D-Bus system bus (:func:`check_system_bus`), the usual case on a hub
without Bluetooth.
"""

from __future__ import annotations

import asyncio
import errno
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Radio",
    "bleak_error",
    "check_system_bus",
    "load_bleak",
    "open_radio",
    "unavailable_reason",
]

SYSTEM_NAMES = frozenset({"", "system", "bluez"})
# dbus-fast's default when DBUS_SYSTEM_BUS_ADDRESS is not set.
DEFAULT_SYSTEM_BUS = "unix:path=/var/run/dbus/system_bus_socket"


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


def check_system_bus(address: str | None = None) -> None:
    """FileNotFoundError when the D-Bus system bus cannot be there: every ``unix:path=`` socket
    its address names is missing (what bleak's BlueZ backend would find, ~3 MiB of imports
    later). Other address kinds (abstract sockets, TCP) cannot be checked here and pass.

    ``address`` defaults to ``DBUS_SYSTEM_BUS_ADDRESS``, then to dbus-fast's default."""
    if address is None:
        address = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS") or DEFAULT_SYSTEM_BUS
    paths: list[str] = []
    for entry in address.split(";"):
        transport, _, options = entry.strip().partition(":")
        if not transport:
            continue
        if transport != "unix":
            return
        fields = dict(item.partition("=")[::2] for item in options.split(","))
        if "path" not in fields:
            return
        paths.append(fields["path"])
    if paths and not any(os.path.exists(path) for path in paths):
        raise FileNotFoundError(errno.ENOENT, "no D-Bus system bus", paths[0])


class _BleakNotLoaded(Exception):
    """Stands in for ``BleakError`` while bleak is not imported: nothing can have raised one."""


def bleak_error() -> type[Exception]:
    """``bleak.exc.BleakError`` once bleak is imported, else a class nothing raises (for
    ``except`` clauses in code that must not import bleak itself)."""
    exc = sys.modules.get("bleak.exc")
    error: type[Exception] = exc.BleakError if exc is not None else _BleakNotLoaded
    return error


def _import_bleak(backend: str | None) -> None:
    import bleak  # noqa: F401

    # The platform's backend too, which bleak would otherwise import on the loop at first use.
    if backend == "scanner":
        from bleak.backends.scanner import get_platform_scanner_backend_type

        get_platform_scanner_backend_type()
    elif backend == "client":
        from bleak.backends.client import get_platform_client_backend_type

        get_platform_client_backend_type()


_BACKENDS_LOADED: set[str] = set()


async def load_bleak(radio: Radio, *, client: bool = False) -> None:
    """Import bleak (and for the system radio the platform's scanner, or ``client``, backend)
    in a worker thread, so the event loop never waits for it; returns at once when done."""
    backend = ("client" if client else "scanner") if radio.is_system else None
    if "bleak" in sys.modules and (backend is None or backend in _BACKENDS_LOADED):
        return
    await asyncio.to_thread(_import_bleak, backend)
    if backend is not None:
        _BACKENDS_LOADED.add(backend)


def unavailable_reason(err: BaseException) -> tuple[str, str]:
    """``(kind, detail)`` for an error raised when the adapter cannot be used.

    Kinds: ``no_dbus`` (no system bus: bleak raises a bare FileNotFoundError, and so does
    :func:`check_system_bus`), ``no_bluez`` (D-Bus answers, BlueZ does not), ``no_permission``,
    ``powered_off``, ``no_adapter``, ``error``."""
    text = str(err.args[0]) if err.args else type(err).__name__
    if isinstance(err, PermissionError):
        return "no_permission", f"no permission to use Bluetooth ({text})"
    if isinstance(err, FileNotFoundError):
        return "no_dbus", "no D-Bus system bus (is BlueZ installed and running?)"
    if "bleak.exc" not in sys.modules:  # then no bleak error can have been raised
        if isinstance(err, OSError):
            return "no_adapter", f"{type(err).__name__}: {text}"
        return "error", f"{type(err).__name__}: {text}"
    from bleak.exc import (
        BleakBluetoothNotAvailableError,
        BleakBluetoothNotAvailableReason,
        BleakDBusError,
        BleakError,
    )

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
