"""What a simulated device keeps across restarts, like flash on real firmware: its device id,
its pairing code and the long-term key of each hub it paired with.

One JSON file per simulator run (``--state FILE``; the demo home uses ``<data>/demo/keys.json``),
so a restarted demo keeps its pairings and hubs simply reconnect. Keys are written from a worker
thread, never on the event loop; the file is readable by its owner only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
from collections import OrderedDict
from pathlib import Path
from typing import Any

__all__ = ["SlotKeys", "StateFile"]

_LOGGER = logging.getLogger(__name__)
VERSION = 1
MAX_HUBS = 8
SAVE_DELAY = 0.05


class StateFile:
    def __init__(self, path: Path | None, data: dict[str, Any] | None = None) -> None:
        self.path = path
        self.data: dict[str, Any] = data or {"version": VERSION, "devices": {}}
        self.data.setdefault("devices", {})
        if "suffix" not in self.data:
            self.data["suffix"] = secrets.token_hex(3)
        self._save_task: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()
        self.dirty = False

    @classmethod
    def load(cls, path: Path | None) -> StateFile:
        """Read the file (blocking: call it in a worker thread); a missing file starts empty."""
        if path is None or not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ValueError(f"{path}: cannot read the simulator state: {err}") from err
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError(f"{path}: not a simulator state file (version {VERSION})")
        return cls(path, dict(data))

    @property
    def suffix(self) -> str:
        """Random, per state file: keeps device ids of two demo homes on one machine apart."""
        return str(self.data["suffix"])

    def slot(self, key: str) -> dict[str, Any]:
        devices: dict[str, dict[str, Any]] = self.data["devices"]
        return devices.setdefault(key, {})

    def keys(self, key: str) -> SlotKeys:
        return SlotKeys(self, self.slot(key))

    # -- saving ---------------------------------------------------------------------------------

    def changed(self) -> None:
        self.dirty = True
        if self.path is None or (self._save_task is not None and not self._save_task.done()):
            return
        self._save_task = asyncio.get_running_loop().create_task(
            self._save_soon(), name="zsdp simulator state"
        )

    async def _save_soon(self) -> None:
        await asyncio.sleep(SAVE_DELAY)
        await self.save()

    async def save(self) -> None:
        if self.path is None:
            return
        async with self._write_lock:  # one write at a time: an older one must not land last
            self.dirty = False
            text = json.dumps(self.data, indent=2, ensure_ascii=False, sort_keys=True)
            await asyncio.to_thread(_write_private, self.path, text)

    async def close(self) -> None:
        """Finish any pending write (a key that is not on disk means pairing again)."""
        task, self._save_task = self._save_task, None
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.dirty:
            await self.save()


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


class SlotKeys:
    """The ``KeyStore`` of one device: hub id -> long-term key, least recently paired evicted."""

    def __init__(self, owner: StateFile, slot: dict[str, Any]) -> None:
        self._owner = owner
        self._slot = slot
        raw = slot.get("keys") or {}
        self._keys: OrderedDict[str, bytes] = OrderedDict(
            (hub, bytes.fromhex(key)) for hub, key in raw.items()
        )

    def get(self, hub_id: str) -> bytes | None:
        return self._keys.get(hub_id)

    def put(self, hub_id: str, key: bytes) -> None:
        self._keys.pop(hub_id, None)
        self._keys[hub_id] = key
        while len(self._keys) > MAX_HUBS:
            self._keys.popitem(last=False)
        self._store()

    def hub_ids(self) -> list[str]:
        return list(self._keys)

    def clear(self) -> None:
        self._keys.clear()
        self._store()

    def _store(self) -> None:
        self._slot["keys"] = {hub: key.hex() for hub, key in self._keys.items()}
        self._owner.changed()
