"""ZS-DP wire format: frames, typed items (TLV) and data-point values (docs/zsdp.md §5-§6).

Everything is big-endian and length-prefixed, so a decoder never scans for delimiters and can
check every length against what is left before reading it. Decoders raise ``ProtocolError`` and
nothing else: this module is fuzzed with random and mutated frames.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum

from integrations.zsdp.errors import ErrorCode, ProtocolError

__all__ = [
    "ENUM_MAX_LEN",
    "HEADER_LEN",
    "INT32_MAX",
    "INT32_MIN",
    "ITEM_HEADER_LEN",
    "MAGIC",
    "MAX_PAYLOAD",
    "STRING_MAX_LEN",
    "UINT32_MAX",
    "DPType",
    "DPValue",
    "Frame",
    "FrameDecoder",
    "FrameKind",
    "Item",
    "decode_dps",
    "decode_frame",
    "decode_items",
    "decode_value",
    "dp_bitmap",
    "dp_bool",
    "dp_enum",
    "dp_raw",
    "dp_string",
    "dp_value",
    "encode_dps",
    "encode_frame",
    "encode_item",
    "encode_value",
    "frame_header",
    "parse_header",
]

MAGIC = b"ZS"
HEADER_LEN = 6
# One frame's payload, fixed for protocol major 1: fits a 4 KiB buffer on a BK7231-class SoC.
MAX_PAYLOAD = 4096
ITEM_HEADER_LEN = 4
STRING_MAX_LEN = 255
ENUM_MAX_LEN = 32
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
UINT32_MAX = 2**32 - 1

_HEADER = struct.Struct(">2sBBH")
_ITEM_HEADER = struct.Struct(">BBH")
_ENUM_RE = re.compile(r"[A-Za-z0-9_.\-]{1,32}", re.ASCII)


class FrameKind(IntEnum):
    HANDSHAKE = 0x01  # plaintext, only before the session keys exist
    SECURE = 0x02  # counter + ChaCha20-Poly1305 ciphertext + tag


@dataclass(frozen=True, slots=True)
class Frame:
    kind: FrameKind
    payload: bytes


def frame_header(kind: FrameKind, length: int) -> bytes:
    """The 6-byte header of a frame whose payload has ``length`` bytes."""
    if length == 0:
        raise ProtocolError(ErrorCode.MALFORMED, "empty frame payload")
    if length > MAX_PAYLOAD:
        raise ProtocolError(ErrorCode.FRAME_TOO_LARGE, f"payload of {length} bytes")
    return _HEADER.pack(MAGIC, kind, 0, length)


def encode_frame(kind: FrameKind, payload: bytes) -> bytes:
    return frame_header(kind, len(payload)) + payload


def parse_header(header: bytes) -> tuple[FrameKind, int]:
    """Check a 6-byte frame header; returns the kind and the payload length that follows."""
    if len(header) != HEADER_LEN:
        raise ProtocolError(ErrorCode.MALFORMED, "truncated frame header")
    magic, kind, reserved, length = _HEADER.unpack(header)
    if magic != MAGIC:
        raise ProtocolError(ErrorCode.BAD_MAGIC, f"magic {magic.hex()}")
    if kind not in (FrameKind.HANDSHAKE, FrameKind.SECURE):
        raise ProtocolError(ErrorCode.UNSUPPORTED_FRAME, f"frame kind 0x{kind:02x}")
    if reserved != 0:
        raise ProtocolError(ErrorCode.UNSUPPORTED_FRAME, f"reserved byte 0x{reserved:02x}")
    if length == 0:
        raise ProtocolError(ErrorCode.MALFORMED, "empty frame payload")
    if length > MAX_PAYLOAD:
        raise ProtocolError(ErrorCode.FRAME_TOO_LARGE, f"payload length {length}")
    return FrameKind(kind), length


def decode_frame(data: bytes) -> Frame:
    """Decode exactly one frame; trailing or missing bytes are an error."""
    kind, length = parse_header(data[:HEADER_LEN])
    if len(data) != HEADER_LEN + length:
        raise ProtocolError(
            ErrorCode.MALFORMED, f"frame says {length} payload bytes, has {len(data) - HEADER_LEN}"
        )
    return Frame(kind, bytes(data[HEADER_LEN:]))


class FrameDecoder:
    """Splits a byte stream into frames; the buffer never grows past one maximal frame."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames: list[Frame] = []
        while len(self._buf) >= HEADER_LEN:
            # A bad header is reported as soon as its 6 bytes are here, not when the payload is.
            kind, length = parse_header(bytes(self._buf[:HEADER_LEN]))
            end = HEADER_LEN + length
            if len(self._buf) < end:
                break
            frames.append(Frame(kind, bytes(self._buf[HEADER_LEN:end])))
            del self._buf[:end]
        return frames

    @property
    def pending(self) -> int:
        return len(self._buf)


@dataclass(frozen=True, slots=True)
class Item:
    """One TLV item: ``id u8 | type u8 | len u16 | value``."""

    id: int
    type: int
    data: bytes


def encode_item(item_id: int, item_type: int, data: bytes) -> bytes:
    if not 1 <= item_id <= 255:
        raise ProtocolError(ErrorCode.MALFORMED, f"item id {item_id} outside 1..255")
    if not 0 <= item_type <= 255:
        raise ProtocolError(ErrorCode.MALFORMED, f"item type {item_type} outside 0..255")
    if len(data) > MAX_PAYLOAD:
        raise ProtocolError(ErrorCode.FRAME_TOO_LARGE, f"item of {len(data)} bytes")
    return _ITEM_HEADER.pack(item_id, item_type, len(data)) + data


def decode_items(buf: bytes) -> list[Item]:
    """Decode a complete item list; ids must be unique and non-zero."""
    items: list[Item] = []
    seen: set[int] = set()
    pos = 0
    end = len(buf)
    while pos < end:
        if end - pos < ITEM_HEADER_LEN:
            raise ProtocolError(ErrorCode.MALFORMED, "truncated item header")
        item_id, item_type, length = _ITEM_HEADER.unpack_from(buf, pos)
        pos += ITEM_HEADER_LEN
        if length > end - pos:
            raise ProtocolError(ErrorCode.MALFORMED, f"item {item_id} overruns the message")
        if item_id == 0:
            raise ProtocolError(ErrorCode.MALFORMED, "item id 0")
        if item_id in seen:
            raise ProtocolError(ErrorCode.MALFORMED, f"duplicate item id {item_id}")
        seen.add(item_id)
        items.append(Item(item_id, item_type, bytes(buf[pos : pos + length])))
        pos += length
    return items


class DPType(IntEnum):
    """Data-point types; the numbers are Tuya's, so module makers recognise them."""

    RAW = 0x00
    BOOL = 0x01
    VALUE = 0x02  # int32; the profile declares the scale
    STRING = 0x03
    ENUM = 0x04  # a short identifier string (Tuya sends an index; ZS-DP sends the name)
    BITMAP = 0x05  # uint32


DPPayload = bool | int | str | bytes


def _value_problem(dp_type: DPType, value: object) -> str | None:
    """Why ``value`` cannot be a ``dp_type`` value, or None. Shared by constructors and decoder."""
    if dp_type is DPType.BOOL:
        return None if isinstance(value, bool) else "bool expected"
    if dp_type is DPType.VALUE:
        if not isinstance(value, int) or isinstance(value, bool):
            return "int expected"
        return None if INT32_MIN <= value <= INT32_MAX else f"{value} outside int32"
    if dp_type is DPType.BITMAP:
        if not isinstance(value, int) or isinstance(value, bool):
            return "int expected"
        return None if 0 <= value <= UINT32_MAX else f"{value} outside uint32"
    if dp_type is DPType.STRING:
        if not isinstance(value, str):
            return "str expected"
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:
            return "string is not encodable as UTF-8"
        if size > STRING_MAX_LEN:
            return f"string of {size} bytes, at most {STRING_MAX_LEN}"
        return "string contains NUL" if "\x00" in value else None
    if dp_type is DPType.ENUM:
        if not isinstance(value, str):
            return "str expected"
        return None if _ENUM_RE.fullmatch(value) else f"bad enum value {value!r}"
    if not isinstance(value, bytes):
        return "bytes expected"
    return None if len(value) <= MAX_PAYLOAD else f"raw of {len(value)} bytes"


@dataclass(frozen=True, slots=True)
class DPValue:
    """A typed data-point value. Build with ``dp_bool(True)``, ``dp_value(500)``, ..."""

    type: DPType
    value: DPPayload

    def __post_init__(self) -> None:
        problem = _value_problem(self.type, self.value)
        if problem is not None:
            raise ValueError(f"{self.type.name}: {problem}")


def dp_bool(value: bool) -> DPValue:
    return DPValue(DPType.BOOL, value)


def dp_value(value: int) -> DPValue:
    return DPValue(DPType.VALUE, value)


def dp_string(value: str) -> DPValue:
    return DPValue(DPType.STRING, value)


def dp_enum(value: str) -> DPValue:
    return DPValue(DPType.ENUM, value)


def dp_raw(value: bytes | bytearray | memoryview) -> DPValue:
    data = bytes(value) if isinstance(value, bytearray | memoryview) else value
    return DPValue(DPType.RAW, data)


def dp_bitmap(value: int) -> DPValue:
    return DPValue(DPType.BITMAP, value)


def encode_value(dp: DPValue) -> bytes:
    v = dp.value
    match dp.type:
        case DPType.BOOL:
            return b"\x01" if v else b"\x00"
        case DPType.VALUE:
            assert isinstance(v, int)
            return v.to_bytes(4, "big", signed=True)
        case DPType.BITMAP:
            assert isinstance(v, int)
            return v.to_bytes(4, "big", signed=False)
        case DPType.STRING | DPType.ENUM:
            assert isinstance(v, str)
            return v.encode("utf-8")
        case DPType.RAW:
            assert isinstance(v, bytes)
            return v


def decode_value(type_code: int, data: bytes) -> DPValue | None:
    """Decode one value; None for a type code this version does not know (it is skipped)."""
    try:
        dp_type = DPType(type_code)
    except ValueError:
        return None
    value: DPPayload
    match dp_type:
        case DPType.BOOL:
            if data not in (b"\x00", b"\x01"):
                raise ProtocolError(ErrorCode.BAD_VALUE, f"bool must be 00 or 01, got {data.hex()}")
            value = data == b"\x01"
        case DPType.VALUE | DPType.BITMAP:
            if len(data) != 4:
                raise ProtocolError(
                    ErrorCode.BAD_VALUE, f"{dp_type.name} must be 4 bytes, got {len(data)}"
                )
            value = int.from_bytes(data, "big", signed=dp_type is DPType.VALUE)
        case DPType.STRING | DPType.ENUM:
            try:
                value = data.decode("utf-8")
            except UnicodeDecodeError:
                raise ProtocolError(ErrorCode.BAD_VALUE, f"{dp_type.name} is not UTF-8") from None
        case DPType.RAW:
            value = bytes(data)
    problem = _value_problem(dp_type, value)
    if problem is not None:
        raise ProtocolError(ErrorCode.BAD_VALUE, f"{dp_type.name}: {problem}")
    return DPValue(dp_type, value)


def encode_dps(dps: Mapping[int, DPValue] | Iterable[tuple[int, DPValue]]) -> bytes:
    pairs = dps.items() if isinstance(dps, Mapping) else dps
    return b"".join(encode_item(dp_id, dp.type, encode_value(dp)) for dp_id, dp in pairs)


def decode_dps(items: Iterable[Item]) -> tuple[dict[int, DPValue], tuple[int, ...]]:
    """Items to values; returns (known values, ids of items whose type is unknown and skipped)."""
    values: dict[int, DPValue] = {}
    skipped: list[int] = []
    for item in items:
        value = decode_value(item.type, item.data)
        if value is None:
            skipped.append(item.id)
        else:
            values[item.id] = value
    return values, tuple(skipped)
