"""Between the profile binding's raw DP values and ZS-DP's typed ``DPValue``.

A ``zsdp`` binding (hub/profiles/runtime.py) speaks plain Python values per DP id: ``bool`` for
``bool`` DPs, ``int`` for ``value`` and ``bitmap``, ``str`` for ``enum`` and ``string`` and hex text
for ``raw`` (the profile format writes raw bytes as hex, and hex keeps events JSON-ready). The wire
carries a type code with every value. The DP type declared in the profile decides the conversion
both ways; a value whose wire type disagrees with the profile is refused rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from integrations.zsdp.wire import DPType, DPValue

__all__ = [
    "PROFILE_DP_TYPES",
    "ConversionError",
    "dp_types_from_binding",
    "from_wire",
    "to_wire",
    "values_from_wire",
    "values_to_wire",
]

# Profile ``type:`` names -> wire types (docs/profile-format.md §4, docs/zsdp.md §6.2).
PROFILE_DP_TYPES: dict[str, DPType] = {
    "bool": DPType.BOOL,
    "value": DPType.VALUE,
    "enum": DPType.ENUM,
    "string": DPType.STRING,
    "raw": DPType.RAW,
    "bitmap": DPType.BITMAP,
}


class ConversionError(ValueError):
    """A value that does not fit its DP's type (in either direction)."""


def dp_types_from_binding(binding: Any) -> dict[int, DPType]:
    """DP id -> declared type from a profile document's ``bindings.zsdp`` section.

    ``binding`` is the pydantic ``DpBinding`` (``properties`` and ``events`` with ``dp`` and
    ``type``); properties win over event rules, as in the profile compiler. DPs that only appear in
    command writes have no declared type: :func:`to_wire` infers theirs from the value.
    """
    types: dict[int, DPType] = {}
    if binding is None:
        return types
    for entry in binding.properties.values():
        dp_type = PROFILE_DP_TYPES.get(str(entry.type))
        if dp_type is not None:
            types.setdefault(int(entry.dp), dp_type)
    for rules in binding.events.values():
        for rule in rules if isinstance(rules, list | tuple) else (rules,):
            rule_type = getattr(rule, "type", None)
            if rule_type is None:
                continue
            dp_type = PROFILE_DP_TYPES.get(str(rule_type))
            if dp_type is not None:
                types.setdefault(int(rule.dp), dp_type)
    return types


def from_wire(dp: int, value: DPValue, declared: DPType | None = None) -> Any:
    """A received ``DPValue`` -> the raw value the binding decodes.

    ``declared`` is the profile's type for this DP (None: take the wire's). An ``enum`` and a
    ``string`` are both text and are accepted for each other; any other mismatch raises.
    """
    wire_type = value.type
    if declared is not None and declared is not wire_type:
        text_types = {DPType.ENUM, DPType.STRING}
        if not (declared in text_types and wire_type in text_types):
            raise ConversionError(
                f"DP {dp} arrived as {wire_type.name.lower()}, "
                f"the profile declares {declared.name.lower()}"
            )
    v = value.value
    if isinstance(v, bytes):
        return v.hex()
    return v


def to_wire(dp: int, raw: Any, declared: DPType | None = None) -> DPValue:
    """A raw value from ``encode_command``/``encode_write`` -> the ``DPValue`` to send.

    Without a declared type the Python type decides: ``bool`` -> bool, ``int`` -> value,
    ``bytes`` -> raw, ``str`` -> enum when it is a valid enum name, else string.
    """
    dp_type = declared if declared is not None else _infer(dp, raw)
    try:
        return DPValue(dp_type, _coerce(dp, dp_type, raw))
    except ValueError as err:
        if isinstance(err, ConversionError):
            raise
        raise ConversionError(f"DP {dp}: {err}") from None


def values_from_wire(
    values: Mapping[int, DPValue], declared: Mapping[int, DPType]
) -> tuple[dict[int, Any], list[str]]:
    """Convert a REPORT or GET result; returns (raw values, problems with the values left out)."""
    raw: dict[int, Any] = {}
    problems: list[str] = []
    for dp, value in values.items():
        try:
            raw[dp] = from_wire(dp, value, declared.get(dp))
        except ConversionError as err:
            problems.append(str(err))
    return raw, problems


def values_to_wire(
    writes: Iterable[tuple[int, Any]], declared: Mapping[int, DPType]
) -> dict[int, DPValue]:
    """Convert a binding's ``[(dp, raw), …]`` into one SET's values (a later write of the same DP
    replaces an earlier one); raises :class:`ConversionError`."""
    out: dict[int, DPValue] = {}
    for dp, raw in writes:
        if not 1 <= dp <= 255:
            raise ConversionError(f"DP {dp} is outside 1..255 (ZS-DP ids are one byte)")
        out[dp] = to_wire(dp, raw, declared.get(dp))
    return out


def _infer(dp: int, raw: Any) -> DPType:
    if raw is True or raw is False:
        return DPType.BOOL
    if type(raw) is int:
        return DPType.VALUE
    if isinstance(raw, bytes | bytearray):
        return DPType.RAW
    if type(raw) is str:
        try:
            DPValue(DPType.ENUM, raw)
        except ValueError:
            return DPType.STRING
        return DPType.ENUM
    raise ConversionError(f"DP {dp}: cannot send {raw!r} (no DP type in the profile)")


def _coerce(dp: int, dp_type: DPType, raw: Any) -> bool | int | str | bytes:
    match dp_type:
        case DPType.BOOL:
            if raw is True or raw is False:
                return raw
            if type(raw) is int and raw in (0, 1):
                return bool(raw)
        case DPType.VALUE | DPType.BITMAP:
            if type(raw) is int:
                return raw
            if type(raw) is float and raw.is_integer():
                return int(raw)
        case DPType.ENUM | DPType.STRING:
            if type(raw) is str:
                return raw
            if type(raw) is int:
                return str(raw)
        case DPType.RAW:
            if isinstance(raw, bytes | bytearray | memoryview):
                return bytes(raw)
            if type(raw) is str:
                try:
                    return bytes.fromhex(raw)
                except ValueError:
                    raise ConversionError(f"DP {dp}: {raw!r} is not hex bytes") from None
    raise ConversionError(f"DP {dp}: {raw!r} is not a {dp_type.name.lower()} value")
