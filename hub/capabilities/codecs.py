"""The closed codec library: raw transport values <-> canonical capability values.

Profiles reference these codecs by key (docs/profile-format.md §4.1); they never run code. A
binding's codec keys are turned into a :class:`Codec` once, when the profile is loaded, so that
:meth:`Codec.decode` (called for every device report) is a short loop over precomputed stages.

Decode order: tuya_hsv12 (splits the raw string) -> bit/bits -> invert -> scale/factor/linear ->
unit -> mireds_to_kelvin -> map -> ranges -> check against the property's type. Encoding runs the
inverse stages in reverse order; ``bit``, ``ranges`` and ``tuya_hsv12`` cannot be inverted.

The module also decodes BLE GATT struct frames (:func:`decode_struct`) and packs integers for writes
(:func:`encode_int`).
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final

from hub.capabilities.model import ValueType
from hub.capabilities.units import UNITS, UnitError, convert

__all__ = [
    "CODEC_KEYS",
    "CODEC_NAMES",
    "RAW_TYPES",
    "STRUCT_TYPES",
    "Codec",
    "CodecError",
    "CodecSpecError",
    "StructField",
    "StructLayout",
    "build_codec",
    "compile_struct",
    "decode_struct",
    "encode_int",
    "hsv12_decode",
    "hsv12_encode",
    "round_half_away",
]


class CodecError(ValueError):
    """A raw value (or a value to encode) that the codec cannot convert."""


class CodecSpecError(ValueError):
    """A codec specification in a profile that is invalid; ``key`` names the binding key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


CODEC_KEYS: Final[frozenset[str]] = frozenset(
    {
        "bit",
        "bits",
        "invert",
        "scale",
        "factor",
        "linear",
        "unit",
        "to_unit",
        "codec",
        "field",
        "map",
        "ranges",
    }
)
CODEC_NAMES: Final[frozenset[str]] = frozenset({"mireds_to_kelvin", "tuya_hsv12"})
RAW_TYPES: Final[frozenset[str]] = frozenset({"bool", "value", "enum", "string", "raw", "bitmap"})

_Fn = Callable[[Any], Any]
_INT_TEXT = re.compile(r"-?[0-9]+")
_HEX12 = re.compile(r"[0-9A-Fa-f]{12}")
_MAX_BIT = 63
_UNKNOWN = "unknown"


def round_half_away(x: float) -> int:
    """Round half away from zero (Python's ``round`` rounds half to even: 2.5 -> 2)."""
    if x >= 0:
        return math.floor(x + 0.5)
    return -math.floor(-x + 0.5)


def _is_num(v: Any) -> bool:
    # type() rather than isinstance(): bool is an int subclass and must not pass as a number.
    t = type(v)
    return t is int or (t is float and math.isfinite(v))


_is_spec_num = _is_num


# --------------------------------------------------------------------------- Tuya HSV


def hsv12_decode(text: Any) -> tuple[int, int, int]:
    """``"HHHHSSSSVVVV"`` (hex; h 0-360, s/v 0-1000) -> ``(h, s, v)``."""
    if type(text) is not str or _HEX12.fullmatch(text) is None:
        raise CodecError(f"expected a 12-digit HHHHSSSSVVVV hex string, got {text!r}")
    return int(text[0:4], 16), int(text[4:8], 16), int(text[8:12], 16)


def _hsv_field(value: Any, name: str, top: int) -> int:
    if not _is_num(value):
        raise CodecError(f"tuya_hsv12 {name} must be a number, got {value!r}")
    n = round_half_away(value)
    if not 0 <= n <= top:
        raise CodecError(f"tuya_hsv12 {name} {value!r} is outside 0..{top}")
    return n


def hsv12_encode(h: Any, s: Any, v: Any) -> str:
    """``(h 0-360, s 0-1000, v 0-1000)`` -> ``"HHHHSSSSVVVV"`` (lowercase hex, values rounded)."""
    hi = _hsv_field(h, "hue", 360)
    si = _hsv_field(s, "saturation", 1000)
    vi = _hsv_field(v, "value", 1000)
    return f"{hi:04x}{si:04x}{vi:04x}"


# --------------------------------------------------------------------------- struct frames

_STRUCT_FORMATS: Final[dict[str, str]] = {
    "u8": "<B",
    "i8": "<b",
    "u16le": "<H",
    "u16be": ">H",
    "i16le": "<h",
    "i16be": ">h",
    "u32le": "<I",
    "u32be": ">I",
    "i32le": "<i",
    "i32be": ">i",
}
_STRUCTS: Final[dict[str, struct.Struct]] = {
    k: struct.Struct(f) for k, f in _STRUCT_FORMATS.items()
}
# u24le has no struct format character; it is read with int.from_bytes.
STRUCT_TYPES: Final[Mapping[str, int]] = MappingProxyType(
    {**{k: s.size for k, s in _STRUCTS.items()}, "u24le": 3}
)


@dataclass(frozen=True, slots=True)
class StructField:
    """One named integer field of a fixed-layout frame (``{name, offset, type}`` in a profile)."""

    name: str
    offset: int
    type: str

    def __post_init__(self) -> None:
        if self.type not in STRUCT_TYPES:
            raise CodecSpecError(
                "struct",
                f"field {self.name!r}: type {self.type!r} is not one of {sorted(STRUCT_TYPES)}",
            )
        if type(self.offset) is not int or self.offset < 0:
            raise CodecSpecError(
                "struct", f"field {self.name!r}: offset must be a non-negative integer"
            )

    @property
    def end(self) -> int:
        return self.offset + STRUCT_TYPES[self.type]


def _reader(type_: str, offset: int) -> Callable[[bytes], int]:
    if type_ == "u24le":
        end = offset + 3
        return lambda data: int.from_bytes(data[offset:end], "little")
    unpack_from = _STRUCTS[type_].unpack_from
    return lambda data: int(unpack_from(data, offset)[0])


class StructLayout:
    """A compiled struct layout; :meth:`decode` maps a frame to ``{field name: int}``."""

    __slots__ = ("_readers", "fields", "size")

    def __init__(self, fields: Sequence[StructField]) -> None:
        names = [f.name for f in fields]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise CodecSpecError("struct", f"duplicate field names {dupes}")
        self.fields: tuple[StructField, ...] = tuple(fields)
        # Minimum frame length: the end of the furthest field; checked once per frame.
        self.size: int = max((f.end for f in fields), default=0)
        self._readers: tuple[tuple[str, Callable[[bytes], int]], ...] = tuple(
            (f.name, _reader(f.type, f.offset)) for f in fields
        )

    def decode(self, data: bytes | bytearray | memoryview) -> dict[str, int]:
        if len(data) < self.size:
            short = [f.name for f in self.fields if f.end > len(data)]
            raise CodecError(
                f"frame of {len(data)} bytes is too short: needs {self.size} "
                f"(missing fields {', '.join(short)})"
            )
        raw = bytes(data)
        return {name: read(raw) for name, read in self._readers}


@lru_cache(maxsize=512)
def _cached_layout(fields: tuple[StructField, ...]) -> StructLayout:
    return StructLayout(fields)


def compile_struct(fields: Sequence[StructField]) -> StructLayout:
    """A (cached) compiled layout for ``fields``."""
    return _cached_layout(tuple(fields))


def decode_struct(
    fields: Sequence[StructField], data: bytes | bytearray | memoryview
) -> dict[str, int]:
    """Decode a frame into ``{field name: int}``; :class:`CodecError` if the frame is too short."""
    return compile_struct(fields).decode(data)


def encode_int(type: str, value: int) -> bytes:
    """Pack ``value`` as struct field ``type`` (BLE writes); :class:`CodecError` if out of range."""
    size = STRUCT_TYPES.get(type)
    if size is None:
        raise CodecSpecError("type", f"{type!r} is not one of {sorted(STRUCT_TYPES)}")
    # The parameter is named like the profile key, so isinstance() stands in for type() here.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CodecError(f"{type} needs an integer, got {value!r}")
    try:
        if type == "u24le":
            return value.to_bytes(3, "little", signed=False)
        return _STRUCTS[type].pack(value)
    except (struct.error, OverflowError) as err:
        raise CodecError(f"{value} does not fit in {type}") from err


# --------------------------------------------------------------------------- codecs


class Codec:
    """A compiled codec pipeline for one binding. Build with :func:`build_codec`."""

    __slots__ = ("_decoders", "_encode_error", "_encoders", "_unmap", "raw_type", "value_type")

    def __init__(
        self,
        *,
        decoders: Sequence[_Fn],
        encoders: Sequence[_Fn],
        encode_error: str | None,
        unmap: _Fn | None,
        raw_type: str | None,
        value_type: ValueType,
    ) -> None:
        self._decoders: tuple[_Fn, ...] = tuple(decoders)
        self._encoders: tuple[_Fn, ...] = tuple(encoders)
        self._encode_error = encode_error
        self._unmap = unmap
        self.raw_type = raw_type
        self.value_type = value_type

    @property
    def invertible(self) -> bool:
        """Whether :meth:`encode` can work at all (``bit``, ``ranges``, ``tuya_hsv12`` cannot)."""
        return self._encode_error is None

    @property
    def has_map(self) -> bool:
        return self._unmap is not None

    def decode(self, raw: Any) -> Any:
        """Raw transport value -> canonical value; :class:`CodecError` if it cannot be decoded."""
        v = raw
        try:
            for stage in self._decoders:
                v = stage(v)
        except CodecError:
            raise
        # Stages check types up front; this is the net for anything they did not anticipate.
        except (TypeError, ValueError, ArithmeticError) as err:
            raise CodecError(f"cannot decode {raw!r}: {err}") from err
        return v

    def encode(self, value: Any) -> Any:
        """Canonical value -> raw transport value (the inverse of :meth:`decode`)."""
        if self._encode_error is not None:
            raise CodecError(self._encode_error)
        v = value
        try:
            for stage in self._encoders:
                v = stage(v)
        except CodecError:
            raise
        except (TypeError, ValueError, ArithmeticError) as err:
            raise CodecError(f"cannot encode {value!r}: {err}") from err
        return v

    def unmap(self, value: Any) -> Any:
        """Reverse of the ``map`` stage alone (the expression function ``map(param)``)."""
        if self._unmap is None:
            raise CodecError("this binding has no map to reverse")
        return self._unmap(value)

    def __repr__(self) -> str:
        return f"<Codec {self.raw_type}->{self.value_type.value}>"


# Kinds track what a stage outputs, so that misplaced keys are rejected when the profile loads.
_K_BOOL, _K_INT, _K_NUM, _K_STR, _K_SET, _K_BYTES, _K_ANY = (
    "bool",
    "int",
    "num",
    "str",
    "set",
    "bytes",
    "any",
)
_NUMERIC_KINDS = frozenset({_K_INT, _K_NUM, _K_ANY})
_RAW_KIND: Final[dict[str | None, str]] = {
    "bool": _K_BOOL,
    "value": _K_INT,
    "bitmap": _K_INT,
    "enum": _K_STR,
    "string": _K_STR,
    "raw": _K_BYTES,
    None: _K_ANY,
}
_KIND_FITS: Final[dict[str, frozenset[ValueType]]] = {
    _K_BOOL: frozenset({ValueType.BOOL}),
    _K_INT: frozenset({ValueType.INT, ValueType.NUMBER}),
    _K_NUM: frozenset({ValueType.INT, ValueType.NUMBER}),
    _K_STR: frozenset({ValueType.ENUM, ValueType.STRING}),
    _K_SET: frozenset({ValueType.SET}),
    _K_BYTES: frozenset({ValueType.STRING}),
    _K_ANY: frozenset(ValueType) - {ValueType.SECRET},
}


def _num_in(v: Any) -> Any:
    if _is_num(v):
        return v
    raise CodecError(f"expected a number, got {v!r}")


def _bool_in(v: Any) -> bool:
    if v is True or v is False:
        return v
    if type(v) is int and v in (0, 1):  # some firmwares report booleans as 0/1
        return bool(v)
    raise CodecError(f"expected a boolean, got {v!r}")


def _bool_value(v: Any) -> bool:
    # Values handed to encode come from validated commands: only real booleans are accepted.
    if v is True or v is False:
        return v
    raise CodecError(f"expected true or false, got {v!r}")


def _int_in(v: Any) -> int:
    if type(v) is int:
        return v
    if type(v) is float and v.is_integer():
        return int(v)
    raise CodecError(f"expected an integer, got {v!r}")


def _bitmap_in(v: Any) -> int:
    n = _int_in(v)
    if n < 0:
        raise CodecError(f"a bitmap cannot be negative: {v!r}")
    return n


def _str_in(v: Any) -> str:
    if type(v) is str:
        return v
    raise CodecError(f"expected a string, got {v!r}")


def _enum_in(v: Any) -> str:
    if type(v) is str:
        return v
    if type(v) is int:  # enum DPs sometimes arrive as numbers; "0" and 0 are the same value
        return str(v)
    raise CodecError(f"expected an enum string, got {v!r}")


def _bytes_in(v: Any) -> bytes:
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v)
    if type(v) is str:
        try:
            return bytes.fromhex(v)
        except ValueError as err:
            raise CodecError(f"expected hex bytes, got {v!r}") from err
    raise CodecError(f"expected bytes, got {v!r}")


def _round_int(v: Any) -> int:
    if type(v) is int:
        return v
    if type(v) is float and math.isfinite(v):
        return round_half_away(v)
    raise CodecError(f"expected a number, got {v!r}")


def _raw_value_out(v: Any) -> int:
    return _round_int(v)


def _raw_bitmap_out(v: Any) -> int:
    n = _round_int(v)
    if n < 0:
        raise CodecError(f"a bitmap cannot be negative: {v!r}")
    return n


def _raw_enum_out(v: Any) -> str:
    if type(v) is str:
        return v
    if type(v) is int:
        return str(v)
    raise CodecError(f"expected an enum string, got {v!r}")


def _raw_bytes_out(v: Any) -> bytes:
    return _bytes_in(v)


_RAW_IN: Final[dict[str | None, _Fn | None]] = {
    "bool": _bool_in,
    "value": _num_in,
    "bitmap": _bitmap_in,
    "enum": _enum_in,
    "string": _str_in,
    "raw": _bytes_in,
    None: None,
}
_RAW_OUT: Final[dict[str | None, _Fn | None]] = {
    "bool": _bool_in,
    "value": _raw_value_out,
    "bitmap": _raw_bitmap_out,
    "enum": _raw_enum_out,
    "string": _str_in,
    "raw": _raw_bytes_out,
    None: None,
}


def _not_invertible(message: str) -> _Fn:
    def stage(v: Any) -> Any:
        raise CodecError(message)

    return stage


class _Builder:
    """Accumulates stages while tracking the value kind flowing between them."""

    def __init__(
        self,
        raw_type: str | None,
        value_type: ValueType,
        unit: str | None,
        values: tuple[str, ...] | None,
    ) -> None:
        self.raw_type = raw_type
        self.value_type = value_type
        self.unit = unit
        self.values = values
        self.kind = _RAW_KIND[raw_type]
        self.decoders: list[_Fn] = []
        self.encoders: list[_Fn] = []  # in decode order; reversed when the codec is made
        self.encode_error: str | None = None
        self.last_key = "type"
        self.numeric_transform = False
        self.checked_output = False  # map/ranges/bits already validated the output values
        self.unmap: _Fn | None = None
        self.passthrough = False  # map values are event-field mappings: no value-type check

    def add(self, key: str, decode: _Fn, encode: _Fn, kind: str) -> None:
        self.decoders.append(decode)
        self.encoders.append(encode)
        self.kind = kind
        self.last_key = key

    def no_encode(self, message: str) -> None:
        if self.encode_error is None:
            self.encode_error = message

    def need(self, key: str, kinds: frozenset[str] | set[str], what: str) -> None:
        if self.kind not in kinds:
            source = f"raw type {self.raw_type!r}" if self.last_key == "type" else self.last_key
            raise CodecSpecError(key, f"needs {what}, but {source} gives a {self.kind} value")

    @property
    def unknown_ok(self) -> bool:
        return self.values is not None and _UNKNOWN in self.values


def build_codec(
    spec: Mapping[str, Any],
    *,
    raw_type: str | None,
    value_type: ValueType,
    unit: str | None,
    values: Sequence[str] | None = None,
) -> Codec:
    """Compile a binding's codec keys into a :class:`Codec`.

    ``raw_type`` is the DP type (``bool value enum string raw bitmap``) or None for transports with
    typed raw values (Matter attributes, struct fields, BTHome objects). ``unit`` is the property's
    canonical unit and ``values`` its allowed enum/set values (None = not checked).
    """
    for key in spec:
        if key not in CODEC_KEYS:
            raise CodecSpecError(
                str(key), f"{key!r} is not a codec key ({', '.join(sorted(CODEC_KEYS))})"
            )
    if raw_type is not None and raw_type not in RAW_TYPES:
        raise CodecSpecError(
            "type", f"{raw_type!r} is not a DP type ({', '.join(sorted(RAW_TYPES))})"
        )
    try:
        vt = ValueType(value_type)
    except ValueError as err:
        raise CodecSpecError("type", f"{value_type!r} is not a value type") from err
    if vt is ValueType.SECRET:
        raise CodecSpecError("type", "secret values are never decoded from a device")
    b = _Builder(raw_type, vt, unit, tuple(values) if values is not None else None)

    raw_in, raw_out = _RAW_IN[raw_type], _RAW_OUT[raw_type]
    if raw_in is not None and raw_out is not None:
        b.add("type", raw_in, raw_out, b.kind)

    codec_name = spec.get("codec")
    if codec_name is not None and (
        not isinstance(codec_name, str) or codec_name not in CODEC_NAMES
    ):
        raise CodecSpecError(
            "codec", f"unknown codec {codec_name!r} (known: {', '.join(sorted(CODEC_NAMES))})"
        )
    if "field" in spec and codec_name != "tuya_hsv12":
        raise CodecSpecError("field", "field selects a part of codec: tuya_hsv12 only")

    if codec_name == "tuya_hsv12":
        _stage_hsv12(b, spec.get("field"))
    if "bit" in spec and "bits" in spec:
        raise CodecSpecError("bits", "use either bit or bits, not both")
    if "bit" in spec:
        _stage_bit(b, spec["bit"])
    if "bits" in spec:
        _stage_bits(b, spec["bits"])
    if "invert" in spec:
        _stage_invert(b, spec["invert"])
    numeric = [k for k in ("scale", "factor", "linear") if k in spec]
    if len(numeric) > 1:
        raise CodecSpecError(numeric[1], f"{' and '.join(numeric)} cannot be combined; use one")
    if "scale" in spec:
        _stage_scale(b, spec["scale"])
    if "factor" in spec:
        _stage_factor(b, spec["factor"])
    if "linear" in spec:
        _stage_linear(b, spec["linear"])
    if "unit" in spec or "to_unit" in spec:
        _stage_unit(b, spec.get("unit"), spec.get("to_unit"))
    if codec_name == "mireds_to_kelvin":
        _stage_mireds(b)
    if "map" in spec:
        _stage_map(b, spec["map"])
    if "ranges" in spec:
        _stage_ranges(b, spec["ranges"])
    _stage_value_type(b)

    return Codec(
        decoders=b.decoders,
        encoders=list(reversed(b.encoders)),
        encode_error=b.encode_error,
        unmap=b.unmap,
        raw_type=raw_type,
        value_type=vt,
    )


def _stage_hsv12(b: _Builder, field: Any) -> None:
    b.need("codec", {_K_STR, _K_ANY}, "a HHHHSSSSVVVV string")
    index = {"h": 0, "s": 1, "v": 2}.get(field) if isinstance(field, str) else None
    if index is None:
        raise CodecSpecError("field", f"codec tuya_hsv12 needs field: h, s or v (got {field!r})")

    def decode(v: Any) -> int:
        return hsv12_decode(v)[index]

    # One DP carries all three fields, so one field alone cannot be written back.
    b.no_encode(
        "tuya_hsv12 packs hue, saturation and value into one DP: a single field cannot be encoded; "
        "write the DP with an expression such as tuya_hsv12(hue, saturation*10, level*10)"
    )
    b.add("codec", decode, _not_invertible("tuya_hsv12"), _K_INT)


def _bit_number(key: str, n: Any) -> int:
    if type(n) is str and _INT_TEXT.fullmatch(n.strip()):
        n = int(n)
    if type(n) is not int or not 0 <= n <= _MAX_BIT:
        raise CodecSpecError(key, f"bit numbers are integers 0..{_MAX_BIT}, got {n!r}")
    return n


def _stage_bit(b: _Builder, n: Any) -> None:
    b.need("bit", {_K_INT, _K_ANY}, "an integer raw value")
    bit = _bit_number("bit", n)

    def decode(v: Any) -> bool:
        return bool((_bitmap_in(v) >> bit) & 1)

    # Writing one bit would clobber the others, which the codec does not know.
    b.no_encode(
        f"bit {bit} of a bitmap cannot be written on its own (the other bits would be lost); "
        "write the whole raw value with a command expression"
    )
    b.add("bit", decode, _not_invertible("bit"), _K_BOOL)


def _stage_bits(b: _Builder, spec: Any) -> None:
    b.need("bits", {_K_INT, _K_ANY}, "an integer bitmap")
    if not isinstance(spec, Mapping) or not spec:
        raise CodecSpecError("bits", "bits must be a non-empty mapping {bit number: code}")
    pairs: list[tuple[int, str]] = []
    codes: dict[str, int] = {}
    for raw_bit, code in spec.items():
        bit = _bit_number("bits", raw_bit)
        if type(code) is not str or not code:
            raise CodecSpecError(
                "bits", f"bit {bit}: code must be a non-empty string, got {code!r}"
            )
        if code in codes or any(bit == p for p, _ in pairs):
            raise CodecSpecError("bits", f"bit {bit} / code {code!r} is declared twice")
        if b.values is not None and code not in b.values:
            raise CodecSpecError("bits", f"code {code!r} is not an allowed value {list(b.values)}")
        pairs.append((bit, code))
        codes[code] = 1 << bit
    masks = tuple((1 << bit, code) for bit, code in sorted(pairs))
    known = sum(codes.values())
    report_unknown = b.unknown_ok

    def decode(v: Any) -> list[str]:
        n = _bitmap_in(v)
        out = [code for mask, code in masks if n & mask]
        # Undeclared bits are reported as "unknown" where the property allows it (a fault the
        # profile does not know is still a fault); otherwise they are ignored.
        if report_unknown and n & ~known:
            out.append(_UNKNOWN)
        return out

    def encode(v: Any) -> int:
        n = 0
        for code in v:
            if code == _UNKNOWN and code not in codes:
                continue  # a state marker, not a writable bit
            mask = codes.get(code)
            if mask is None:
                raise CodecError(f"code {code!r} has no bit in this binding")
            n |= mask
        return n

    b.checked_output = True
    b.add("bits", decode, encode, _K_SET)


def _stage_invert(b: _Builder, flag: Any) -> None:
    if flag is not True and flag is not False:
        raise CodecSpecError("invert", f"invert must be true or false, got {flag!r}")
    b.need("invert", {_K_BOOL, _K_ANY}, "a boolean")
    if not flag:
        return

    def invert(v: Any) -> bool:
        return not _bool_in(v)

    b.add("invert", invert, invert, _K_BOOL)


def _numeric_prelude(b: _Builder, key: str) -> _Fn | None:
    b.need(key, _NUMERIC_KINDS, "a number")
    b.numeric_transform = True
    # Typed raw transports (kind any) are only known to be numbers at run time.
    return _num_in if b.kind == _K_ANY else None


def _stage_scale(b: _Builder, n: Any) -> None:
    if type(n) is not int or not 0 <= n <= 9:
        raise CodecSpecError("scale", f"scale is a power of ten 0..9, got {n!r}")
    check = _numeric_prelude(b, "scale")
    if n == 0:
        return
    p = 10**n
    # Division by an exact power of ten gives the nearest float (215 / 10 == 21.5, not 21.500001).
    if check is None:
        b.add("scale", lambda v: v / p, lambda v: _num_in(v) * p, _K_NUM)
    else:
        b.add("scale", lambda v: check(v) / p, lambda v: _num_in(v) * p, _K_NUM)


def _stage_factor(b: _Builder, f: Any) -> None:
    if not _is_spec_num(f) or f == 0:
        raise CodecSpecError("factor", f"factor must be a non-zero number, got {f!r}")
    check = _numeric_prelude(b, "factor") or _num_in
    b.add("factor", lambda v: check(v) * f, lambda v: _num_in(v) / f, _K_NUM)


def _pair(key: str, name: str, v: Any) -> tuple[float, float]:
    if (
        not isinstance(v, Sequence)
        or isinstance(v, str)
        or len(v) != 2
        or not all(_is_spec_num(x) for x in v)
    ):
        raise CodecSpecError(key, f"{name} must be a pair of numbers [a, b], got {v!r}")
    if v[0] == v[1]:
        raise CodecSpecError(key, f"{name} must span a range, got {list(v)}")
    return v[0], v[1]


def _stage_linear(b: _Builder, spec: Any) -> None:
    if not isinstance(spec, Mapping) or set(spec) != {"raw", "value"}:
        raise CodecSpecError("linear", "linear must be {raw: [a, b], value: [c, d]}")
    a, bb = _pair("linear", "linear.raw", spec["raw"])
    c, d = _pair("linear", "linear.value", spec["value"])
    check = _numeric_prelude(b, "linear") or _num_in
    lo, hi = min(c, d), max(c, d)
    rlo, rhi = min(a, bb), max(a, bb)
    span_raw, span_val = bb - a, d - c

    # Multiply before dividing so integer endpoints give exact results (500 -> 50.0, not 49.99..).
    def decode(v: Any) -> Any:
        x = c + (check(v) - a) * span_val / span_raw
        return lo if x < lo else hi if x > hi else x

    def encode(v: Any) -> Any:
        x = a + (_num_in(v) - c) * span_raw / span_val
        return rlo if x < rlo else rhi if x > rhi else x

    b.add("linear", decode, encode, _K_NUM)


def _ratio(from_unit: str, to_unit: str) -> tuple[float, bool]:
    """A conversion as (k, multiply?) chosen so whole-number ratios stay exact."""
    mul = convert(1.0, from_unit, to_unit)
    if mul >= 1:
        return mul, True
    return convert(1.0, to_unit, from_unit), False


def _stage_unit(b: _Builder, unit: Any, to_unit: Any) -> None:
    if unit is None:
        raise CodecSpecError("to_unit", "to_unit needs unit (the raw value's unit)")
    if unit not in UNITS:
        raise CodecSpecError("unit", f"unit {unit!r} is not in the vocabulary {sorted(UNITS)}")
    if to_unit is not None and to_unit not in UNITS:
        raise CodecSpecError(
            "to_unit", f"unit {to_unit!r} is not in the vocabulary {sorted(UNITS)}"
        )
    if to_unit is not None and b.unit is not None and to_unit != b.unit:
        raise CodecSpecError(
            "to_unit", f"decoded values are in the property's unit {b.unit!r}, not {to_unit!r}"
        )
    target = to_unit if to_unit is not None else (b.unit if b.unit is not None else unit)
    try:
        k, multiply = _ratio(unit, target)
    except UnitError as err:
        raise CodecSpecError("to_unit" if to_unit is not None else "unit", str(err)) from err
    check = _numeric_prelude(b, "unit")
    if k == 1:
        return  # documentary: the raw value is already in the property's unit
    check = check or _num_in
    if multiply:
        b.add("unit", lambda v: check(v) * k, lambda v: _num_in(v) / k, _K_NUM)
    else:
        b.add("unit", lambda v: check(v) / k, lambda v: _num_in(v) * k, _K_NUM)


def _mireds(v: Any) -> int:
    x = _num_in(v)
    if x <= 0:
        raise CodecError(f"mireds/kelvin must be positive, got {v!r}")
    return round_half_away(1_000_000 / x)


def _stage_mireds(b: _Builder) -> None:
    _numeric_prelude(b, "codec")
    b.add("codec", _mireds, _mireds, _K_INT)


def _key_for(b: _Builder, key: Any) -> Any:
    """Normalise a YAML map key to the kind flowing into the map stage (build time only)."""
    kind = b.kind
    if kind == _K_BOOL:
        if key is True or key is False:
            return key
        if type(key) is int and key in (0, 1):
            return bool(key)
        if type(key) is str and key.strip().lower() in ("true", "false", "0", "1"):
            return key.strip().lower() in ("true", "1")
    elif kind in (_K_INT, _K_NUM):
        if _is_spec_num(key):
            return key
        if type(key) is str and _INT_TEXT.fullmatch(key.strip()):
            return int(key)
    elif kind == _K_STR:
        if type(key) is str:
            return key
        if type(key) is int:
            return str(key)
    elif kind == _K_ANY:
        if key is True or key is False or _is_spec_num(key):
            return key
        if type(key) is str:
            return int(key) if _INT_TEXT.fullmatch(key.strip()) else key
    raise CodecSpecError("map", f"map key {key!r} cannot match a {kind} raw value")


def _aliases(norm: Any, kind: str) -> list[Any]:
    """Lookup keys for one map entry: raw "0" and raw 0 both find the entry for 0.

    Aliases are added at build time so that decoding stays a single dict lookup. Enum DPs need
    none: their keys and raw values are both turned into strings.
    """
    if kind == _K_ANY and type(norm) is int:
        return [norm, str(norm)]
    return [norm]


def _stage_map(b: _Builder, spec: Any) -> None:
    if not isinstance(spec, Mapping) or not spec:
        raise CodecSpecError("map", "map must be a non-empty mapping {raw: value}")
    kind_in = b.kind
    if kind_in in (_K_SET, _K_BYTES):
        raise CodecSpecError("map", f"cannot map a {kind_in} value")
    table: dict[Any, Any] = {}
    reverse: dict[Any, Any] = {}
    out_kinds: set[str] = set()
    values = b.values
    for key, value in spec.items():
        norm = _key_for(b, key)
        for alias in _aliases(norm, kind_in):
            if alias in table:
                raise CodecSpecError("map", f"map key {key!r} is declared twice")
            table[alias] = list(value) if isinstance(value, tuple) else value
        if isinstance(value, Mapping):
            out_kinds.add("mapping")  # event fields: passed through, never encoded
            continue
        if isinstance(value, list | tuple):
            if not all(type(x) is str for x in value):
                raise CodecSpecError("map", f"map value {value!r}: list items must be strings")
            if values is not None and not set(value) <= set(values):
                raise CodecSpecError(
                    "map", f"map value {list(value)} has codes outside {list(values)}"
                )
            out_kinds.add(_K_SET)
            rkey: Any = frozenset(value)
        elif value is None or type(value) is str:
            if value is not None and values is not None and value not in values:
                raise CodecSpecError(
                    "map", f"map value {value!r} is not an allowed value {list(values)}"
                )
            out_kinds.add(_K_STR)
            rkey = value
        elif value is True or value is False:
            out_kinds.add(_K_BOOL)
            rkey = value
        elif _is_spec_num(value):
            out_kinds.add(_K_NUM)
            rkey = value
        else:
            raise CodecSpecError(
                "map", f"map value {value!r} is not a string, number, bool or list"
            )
        # First raw key wins when several raw values decode to the same value.
        reverse.setdefault((type(rkey) is bool, rkey), norm)

    if "mapping" in out_kinds:
        kind_out = _K_ANY
        b.passthrough = True
    elif len(out_kinds) == 1:
        kind_out = out_kinds.pop()
    else:
        raise CodecSpecError("map", "map values mix types (strings, numbers, booleans, lists)")

    unknown_ok = b.unknown_ok
    # Lists are copied so that callers mutating a state value cannot corrupt the table.
    copy_lists = kind_out == _K_SET

    def decode(v: Any) -> Any:
        try:
            out = table[v]
        except KeyError:
            if unknown_ok:
                return _UNKNOWN
            raise CodecError(f"raw value {v!r} is not in the map") from None
        except TypeError:
            raise CodecError(f"raw value {v!r} cannot be mapped") from None
        return list(out) if copy_lists else out

    def encode(v: Any) -> Any:
        if isinstance(v, list | tuple | set | frozenset):
            rk: Any = frozenset(v)
        else:
            rk = v
        try:
            return reverse[(type(rk) is bool, rk)]
        except KeyError:
            raise CodecError(f"{v!r} has no raw value in the map") from None
        except TypeError:
            raise CodecError(f"{v!r} cannot be mapped back to a raw value") from None

    if not reverse:
        b.no_encode("this map's values are event fields; they cannot be encoded")
    b.unmap = encode
    b.checked_output = True
    b.add("map", decode, encode, kind_out)


def _stage_ranges(b: _Builder, spec: Any) -> None:
    b.need("ranges", _NUMERIC_KINDS, "a number")
    if not isinstance(spec, Sequence) or isinstance(spec, str) or not spec:
        raise CodecSpecError("ranges", "ranges must be a non-empty list of {min, max, value}")
    rows: list[tuple[float | None, float | None, str]] = []
    for i, entry in enumerate(spec):
        if (
            not isinstance(entry, Mapping)
            or "value" not in entry
            or not set(entry) <= {"min", "max", "value"}
        ):
            raise CodecSpecError(
                "ranges", f"entry {i} must be {{min?, max?, value}}, got {entry!r}"
            )
        lo, hi, value = entry.get("min"), entry.get("max"), entry["value"]
        for bound in (lo, hi):
            if bound is not None and not _is_spec_num(bound):
                raise CodecSpecError("ranges", f"entry {i}: bounds must be numbers, got {bound!r}")
        if type(value) is not str:
            raise CodecSpecError("ranges", f"entry {i}: value must be a string, got {value!r}")
        if b.values is not None and value not in b.values:
            raise CodecSpecError(
                "ranges", f"entry {i}: {value!r} is not an allowed value {list(b.values)}"
            )
        rows.append((lo, hi, value))
    table = tuple(rows)
    unknown_ok = b.unknown_ok

    def decode(v: Any) -> str:
        x = _num_in(v)
        for lo, hi, value in table:
            if (lo is None or x >= lo) and (hi is None or x <= hi):
                return value
        if unknown_ok:
            return _UNKNOWN
        raise CodecError(f"{v!r} matches none of the ranges")

    b.no_encode("ranges map many raw numbers to one value and cannot be encoded")
    b.checked_output = True
    b.add("ranges", decode, _not_invertible("ranges"), _K_STR)


def _stage_value_type(b: _Builder) -> None:
    vt, kind = b.value_type, b.kind
    if b.passthrough:
        return
    if vt not in _KIND_FITS[kind]:
        raise CodecSpecError(
            b.last_key,
            f"gives a {kind} value but the property is {vt.value}"
            + (" (use map or ranges for an enum)" if vt is ValueType.ENUM else ""),
        )
    dec: _Fn | None = None
    enc: _Fn | None = None
    if vt is ValueType.INT:
        dec, enc = _round_int, _round_int
    elif vt is ValueType.NUMBER:
        dec = enc = _num_in
    elif vt is ValueType.BOOL:
        dec, enc = (None if kind == _K_BOOL else _bool_in), _bool_value
    elif vt is ValueType.ENUM:
        dec, enc = _enum_checks(b)
    elif vt is ValueType.SET:
        dec, enc = _set_checks(b)
    elif vt is ValueType.STRING:
        if kind == _K_BYTES:
            dec, enc = (lambda v: v.hex()), _str_in
        else:
            dec = None if kind == _K_STR else _str_in
            enc = _str_in
    if dec is not None:
        b.decoders.append(dec)
    if enc is not None:
        b.encoders.append(enc)
    if b.raw_type is None and b.numeric_transform:
        # Typed raw transports carry integers; scaled values are rounded back to them.
        b.encoders.insert(0, _round_int)


def _enum_checks(b: _Builder) -> tuple[_Fn | None, _Fn]:
    values = frozenset(b.values) if b.values is not None else None
    if b.checked_output or values is None:
        allow_none = b.checked_output

        def enc_plain(v: Any) -> Any:
            if type(v) is str or (allow_none and v is None):
                return v
            raise CodecError(f"expected an enum string, got {v!r}")

        return (None if b.kind == _K_STR else _enum_value), enc_plain
    unknown_ok = _UNKNOWN in values

    def dec(v: Any) -> str:
        s = _enum_value(v)
        if s in values:
            return s
        if unknown_ok:
            return _UNKNOWN
        raise CodecError(f"{v!r} is not one of {sorted(values)}")

    def enc(v: Any) -> str:
        if type(v) is not str or v not in values:
            raise CodecError(f"{v!r} is not one of {sorted(values)}")
        return v

    return dec, enc


def _enum_value(v: Any) -> str:
    if type(v) is str:
        return v
    raise CodecError(f"expected an enum string, got {v!r}")


def _codes(v: Any) -> list[str]:
    if type(v) is list and all(type(x) is str for x in v):
        return v
    raise CodecError(f"expected a list of codes, got {v!r}")


def _set_checks(b: _Builder) -> tuple[_Fn | None, _Fn]:
    values = frozenset(b.values) if b.values is not None else None

    def enc(v: Any) -> list[str]:
        if not isinstance(v, list | tuple | set | frozenset) or not all(type(x) is str for x in v):
            raise CodecError(f"expected a list of codes, got {v!r}")
        if values is not None and not b.checked_output:
            bad = [x for x in v if x not in values]
            if bad:
                raise CodecError(f"{bad} are not among {sorted(values)}")
        return list(v)

    return (None if b.kind == _K_SET else _codes), enc
