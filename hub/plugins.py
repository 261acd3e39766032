"""Plug-in discovery: the hub never imports integrations or rules by name.

Installed distributions declare entry points in the group ``zshub.plugins``; each names a
factory ``(hub) -> Plugin``. Rule plug-ins start before integrations (safety rules must be in
place before any device connects) and stop after them.

:func:`import_in_background` lets a plug-in import a heavy library it needs only sometimes (a
cipher once a device pairs, a radio stack once a radio works) when it becomes likely to be
needed, in a thread, instead of at start (memory) or at first use (on the event loop).
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from hub.app import Hub

__all__ = [
    "ENTRY_POINT_GROUP",
    "Plugin",
    "PluginFactory",
    "discover_plugins",
    "import_in_background",
    "plugin_order",
]

_LOGGER = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "zshub.plugins"


@runtime_checkable
class Plugin(Protocol):
    name: str
    kind: Literal["rules", "integration", "service"]

    async def async_start(self, hub: Any) -> None: ...
    async def async_stop(self) -> None: ...


PluginFactory = Callable[["Hub"], Plugin]

_ORDER = {"rules": 0, "service": 1, "integration": 2}


def discover_plugins(
    enabled: Sequence[str] | None,
) -> tuple[list[tuple[str, PluginFactory]], list[str]]:
    """Load plug-in factories; returns them in start order and a list of load problems."""
    found: list[tuple[str, PluginFactory]] = []
    problems: list[str] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if enabled is not None and ep.name not in enabled:
            continue
        try:
            factory = ep.load()
        except Exception as err:  # a broken plug-in must not stop the hub
            problems.append(f"plug-in {ep.name} ({ep.value}) failed to load: {err}")
            _LOGGER.exception("Plug-in %s failed to load", ep.name)
            continue
        found.append((ep.name, factory))
    if enabled is not None:
        missing = set(enabled) - {name for name, _ in found} - {p.split(" ")[1] for p in problems}
        problems.extend(f"plug-in {name} is not installed" for name in sorted(missing))
    found.sort(key=lambda item: (plugin_order(item[1]), item[0]))
    return found, problems


def plugin_order(factory: object) -> int:
    """Start order by kind: rules (safety first), services, then integrations."""
    return _ORDER.get(getattr(factory, "kind", "integration"), 2)


_IMPORTING: dict[tuple[str, ...], threading.Thread] = {}
_IMPORTING_LOCK = threading.Lock()


def import_in_background(*modules: str) -> threading.Thread | None:
    """Import ``modules`` in a daemon thread, once, so that the code about to need them finds
    them imported instead of importing them on the event loop. Returns the thread (the one
    already under way for the same modules, if any), or None when all are imported already.
    A failed import is only logged here: the caller's own import raises it where it matters."""
    wanted = tuple(name for name in modules if name not in sys.modules)
    if not wanted:
        return None
    with _IMPORTING_LOCK:
        thread = _IMPORTING.get(wanted)
        if thread is None or not thread.is_alive():
            thread = threading.Thread(
                target=_import_all, args=(wanted,), name=f"import {wanted[0]}", daemon=True
            )
            _IMPORTING[wanted] = thread
            thread.start()
        return thread


def _import_all(modules: tuple[str, ...]) -> None:
    try:
        for name in modules:
            importlib.import_module(name)
    except Exception:
        _LOGGER.warning("Importing %s in the background failed", name, exc_info=True)
    finally:
        with _IMPORTING_LOCK:
            _IMPORTING.pop(modules, None)
