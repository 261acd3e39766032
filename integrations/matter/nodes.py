"""Reading a Matter node in the server's dump format: identity, device types, raw attributes.

A node dump (what ``start_listening``/``get_node`` return and ``tests/fixtures/matter`` hold)::

    {"node_id": 5, "available": true, "is_bridge": false, "date_commissioned": "…",
     "last_interview": "…", "interview_version": 6,
     "attributes": {"0/40/2": 65521, "1/29/0": [{"0": 256, "1": 3}], "1/6/0": true, …}}

Attribute keys are decimal ``endpoint/cluster/attribute``; structs are objects keyed by field tag
(``{"0": device type, "1": revision}`` in the Descriptor's DeviceTypeList).

Profiles address endpoints by their own numbers (``endpoints: {main: 1}``); a device may put the
function elsewhere (a lamp on endpoint 2). :class:`EndpointMap` translates between the two: for a
generic profile the endpoint carrying its device type replaces the profile's endpoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BASIC_INFORMATION",
    "DESCRIPTOR",
    "EndpointMap",
    "device_types",
    "endpoint_of_types",
    "node_identity",
    "node_label",
    "parse_path",
    "raw_attributes",
]

DESCRIPTOR = 0x001D
BASIC_INFORMATION = 0x0028
_VENDOR_NAME, _VENDOR_ID, _PRODUCT_NAME, _PRODUCT_ID, _NODE_LABEL = 1, 2, 3, 4, 5
_SOFTWARE_VERSION_STRING, _SERIAL_NUMBER = 10, 15
# Device types every node carries that say nothing about its function.
_UTILITY_TYPES = frozenset({0x0016, 0x0011, 0x0012, 0x000E, 0x0013, 0x0014, 0x0510})


def parse_path(path: str) -> tuple[int, int, int] | None:
    """``"1/6/0"`` -> ``(1, 6, 0)``; None when malformed (wildcards included)."""
    parts = str(path).split("/")
    if len(parts) != 3:
        return None
    try:
        ep, cluster, attr = (int(p) for p in parts)
    except ValueError:
        return None
    return ep, cluster, attr


def raw_attributes(node: Mapping[str, Any]) -> dict[tuple[int, int, int], Any]:
    attributes = node.get("attributes")
    out: dict[tuple[int, int, int], Any] = {}
    if isinstance(attributes, Mapping):
        for key, value in attributes.items():
            address = parse_path(key)
            if address is not None:
                out[address] = value
    return out


def _attr(node: Mapping[str, Any], ep: int, cluster: int, attr: int) -> Any:
    attributes = node.get("attributes")
    if not isinstance(attributes, Mapping):
        return None
    return attributes.get(f"{ep}/{cluster}/{attr}")


def _device_type_ids(value: Any) -> list[int]:
    out: list[int] = []
    if isinstance(value, list):
        for entry in value:
            if isinstance(entry, Mapping):
                dt = entry.get("0", entry.get("deviceType"))
                if isinstance(dt, int) and not isinstance(dt, bool):
                    out.append(dt)
    return out


def device_types(node: Mapping[str, Any]) -> dict[int, list[int]]:
    """Endpoint -> device types it declares (Descriptor DeviceTypeList)."""
    out: dict[int, list[int]] = {}
    for (ep, cluster, attr), value in raw_attributes(node).items():
        if cluster == DESCRIPTOR and attr == 0:
            out[ep] = _device_type_ids(value)
    return dict(sorted(out.items()))


def endpoint_of_types(node: Mapping[str, Any], wanted: Iterable[int]) -> int | None:
    """The lowest endpoint declaring one of ``wanted`` device types."""
    want = set(wanted)
    for ep, types in device_types(node).items():
        if want & set(types):
            return ep
    return None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def node_identity(node: Mapping[str, Any]) -> dict[str, Any]:
    """What profile fingerprints match on: ``vendor_id``, ``product_id``, ``device_types``
    (functional ones first, root/utility types left out), plus what is shown to the user."""
    types: list[int] = []
    for ep, ep_types in device_types(node).items():
        for t in ep_types:
            if t not in _UTILITY_TYPES and t not in types and ep != 0:
                types.append(t)
    identity: dict[str, Any] = {
        "node_id": node.get("node_id"),
        "vendor_id": _int_or_none(_attr(node, 0, BASIC_INFORMATION, _VENDOR_ID)),
        "product_id": _int_or_none(_attr(node, 0, BASIC_INFORMATION, _PRODUCT_ID)),
        "device_types": types,
    }
    for key, attr in (
        ("vendor_name", _VENDOR_NAME),
        ("product_name", _PRODUCT_NAME),
        ("serial_number", _SERIAL_NUMBER),
        ("software_version", _SOFTWARE_VERSION_STRING),
    ):
        value = _attr(node, 0, BASIC_INFORMATION, attr)
        if isinstance(value, str) and value.strip():
            identity[key] = value.strip()
    return identity


def node_label(node: Mapping[str, Any]) -> str | None:
    """The name the device gives itself: its NodeLabel, else its product name."""
    for attr in (_NODE_LABEL, _PRODUCT_NAME):
        value = _attr(node, 0, BASIC_INFORMATION, attr)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


@dataclass(frozen=True, slots=True)
class EndpointMap:
    """Profile endpoint -> node endpoint, for the endpoints that differ."""

    moved: tuple[tuple[int, int], ...] = ()

    @classmethod
    def from_config(cls, value: Any) -> EndpointMap:
        """From the device config ``{"1": 2}`` (JSON keys are text)."""
        pairs: list[tuple[int, int]] = []
        if isinstance(value, Mapping):
            for k, v in value.items():
                try:
                    a, b = int(k), int(v)
                except (TypeError, ValueError):
                    continue
                if a != b:
                    pairs.append((a, b))
        return cls(tuple(sorted(pairs)))

    def as_config(self) -> dict[str, int]:
        return {str(a): b for a, b in self.moved}

    def to_node(self, endpoint: int) -> int:
        for a, b in self.moved:
            if a == endpoint:
                return b
        return endpoint

    def to_profile(self, endpoint: int) -> int | None:
        """None for a node endpoint hidden by the map (the profile's number moved away)."""
        for a, b in self.moved:
            if b == endpoint:
                return a
        if any(a == endpoint for a, _ in self.moved):
            return None
        return endpoint

    def attributes_to_profile(
        self, raw: Mapping[tuple[int, int, int], Any]
    ) -> dict[tuple[int, int, int], Any]:
        if not self.moved:
            return dict(raw)
        out: dict[tuple[int, int, int], Any] = {}
        for (ep, cluster, attr), value in raw.items():
            mapped = self.to_profile(ep)
            if mapped is not None:
                out[(mapped, cluster, attr)] = value
        return out
