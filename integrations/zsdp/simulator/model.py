"""The state of one simulated device: its raw DP map, read and written as capability values.

Behaviours work with capability paths (``main/brightness/level``); the model encodes them into
the DP map through the profile's own codecs and records what changed, in batches, for REPORT.
Event-only DPs ("unlocked by user 3") are reported once and never kept, so a later GET does not
make the hub derive the event again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from hub.capabilities.catalogue import check_value
from hub.capabilities.codecs import CodecError
from integrations.zsdp.simulator.table import DpTable, to_dp_value
from integrations.zsdp.wire import DPValue

__all__ = ["DpModel", "ModelError"]

_LOGGER = logging.getLogger(__name__)
_NONE = object()


class ModelError(ValueError):
    """A value that the profile cannot carry (unknown path, out of range, no encoding)."""


class DpModel:
    def __init__(self, table: DpTable) -> None:
        self.table = table
        self.raw: dict[int, Any] = {s.dp: s.default_raw() for s in table.stateful()}
        self._batches: list[dict[int, Any]] = [{}]

    # ------------------------------------------------------------------ reading

    def has(self, path: str) -> bool:
        return path in self.table.properties

    def value(self, path: str, default: Any = None) -> Any:
        """The current value of a property (``default`` when unbound or undecodable)."""
        entry = self.table.properties.get(path)
        if entry is None:
            return default
        dp, codec, prop = entry
        if dp not in self.raw:
            return default
        try:
            return check_value(prop, codec.decode(self.raw[dp]))
        except (CodecError, ValueError):
            return default

    def state(self) -> dict[str, Any]:
        """Every property value the DP map decodes to, as the hub would see it."""
        return dict(self.table.binding.decode(self.raw).states)

    def dp_values(self, dps: tuple[int, ...] = ()) -> dict[int, DPValue]:
        wanted = dps or tuple(self.raw)
        return {
            dp: to_dp_value(self.table.specs[dp].type, self.raw[dp])
            for dp in wanted
            if dp in self.raw
        }

    # ------------------------------------------------------------------ writing

    def encode(self, path: str, value: Any) -> tuple[int, Any]:
        """(DP, raw) for a property value; ModelError when the profile cannot carry it."""
        entry = self.table.properties.get(path)
        if entry is None:
            raise ModelError(f"{path} is not bound to a DP in this profile")
        dp, codec, prop = entry
        if not codec.invertible:
            primary = self.table.specs[dp].primary
            raise ModelError(
                f"{path} is derived from DP {dp}"
                + (f"; set {primary} instead" if primary else " and cannot be set")
            )
        try:
            return dp, codec.encode(check_value(prop, value))
        except (CodecError, ValueError) as err:
            raise ModelError(f"{path}: {err}") from err

    def put(self, path: str, value: Any) -> bool:
        """Set a property; False (and nothing changes) when the profile does not bind it."""
        if path not in self.table.properties:
            return False
        current = self.value(path, _NONE)
        if current is not _NONE and type(current) is type(value) and current == value:
            return True  # keep the raw value: several raw values may decode to this one
        dp, raw = self.encode(path, value)
        self.put_raw(dp, raw)
        return True

    def put_raw(self, dp: int, raw: Any) -> None:
        """Set a DP; stateful DPs are kept, event-only DPs are only reported."""
        spec = self.table.specs[dp]
        if spec.stateful:
            if dp in self.raw and type(self.raw[dp]) is type(raw) and self.raw[dp] == raw:
                return
            self.raw[dp] = raw
        batch = self._batches[-1]
        if not spec.stateful and dp in batch:
            self._batches.append({})  # two momentary values of one DP: two reports, in order
            batch = self._batches[-1]
        batch[dp] = raw

    def emit(self, path: str, **fields: Any) -> bool:
        """Produce the DP pattern from which the hub derives event ``path`` with ``fields``."""
        found = self.table.event_raw(path, fields, self.raw)
        if found is None:
            return False
        dp, raw = found
        self.put_raw(dp, raw)
        return True

    def take_reports(self) -> list[dict[int, DPValue]]:
        """The changes since the last call, as REPORT payloads in order."""
        batches, self._batches = self._batches, [{}]
        return [
            {dp: to_dp_value(self.table.specs[dp].type, raw) for dp, raw in b.items()}
            for b in batches
            if b
        ]

    def discard_reports(self) -> None:
        self._batches = [{}]

    def load(self, values: Mapping[str, Any]) -> None:
        """Set initial property values (unbound paths are ignored)."""
        for path, value in values.items():
            try:
                self.put(path, value)
            except ModelError as err:
                _LOGGER.warning("%s: initial value not set: %s", self.table.profile.id, err)
