"""ZS-DP messages: typed dataclasses and their body encoding (docs/zsdp.md §7).

A body is ``type u8 | flags u8 | msg_id u16`` followed by a per-type fixed part and a list of
TLV items. The type number's range tells a peer how to treat a type it does not know: requests
(0x10-0x3F) get an UNSUPPORTED_MESSAGE error, responses (0x40-0x5F) fail the pending request,
notifications (0x60-0x7F) are ignored. ``decode_message`` raises ``ProtocolError`` only.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from enum import IntEnum

from integrations.zsdp.errors import ErrorCode, ProtocolError
from integrations.zsdp.wire import (
    INT32_MAX,
    DPType,
    DPValue,
    Item,
    decode_dps,
    decode_items,
    encode_dps,
    encode_item,
)

__all__ = [
    "BODY_HEADER_LEN",
    "CONFIRM_LEN",
    "NONCE_LEN",
    "SHARE_LEN",
    "Bye",
    "Error",
    "Event",
    "Finish",
    "Get",
    "HandshakeMode",
    "Hello",
    "HelloReply",
    "Invoke",
    "Message",
    "MsgType",
    "Ping",
    "Report",
    "Result",
    "Set",
    "UnknownMessage",
    "Welcome",
    "decode_message",
    "encode_message",
    "hello_reply_prefix",
    "is_notification",
    "is_valid_fw",
    "is_valid_id",
    "is_request",
    "is_response",
]

BODY_HEADER_LEN = 4
NONCE_LEN = 16
SHARE_LEN = 32
CONFIRM_LEN = 32
MESSAGE_MAX_LEN = 128
MODEL_MAX_LEN = 64

_BODY_HEADER = struct.Struct(">BBH")
_ID_RE = re.compile(r"[A-Za-z0-9._:\-]{1,32}", re.ASCII)
_FW_RE = re.compile(r"[\x20-\x7e]{1,32}", re.ASCII)

# Field item ids (per message type).
F_HUB_ID = F_DEVICE_ID = F_VID = 1
F_NONCE = F_PID = 2
F_SHARE = F_FW = 3
F_HEARTBEAT = F_MODEL = 4
F_CONFIRM = 8
F_ERR_DP = 1
F_ERR_MESSAGE = 2
F_ERR_RETRY = 3
F_ERR_VERSIONS = 4


class MsgType(IntEnum):
    HELLO = 0x01
    HELLO_REPLY = 0x02
    FINISH = 0x03
    WELCOME = 0x04
    GET = 0x10
    SET = 0x11
    INVOKE = 0x12
    PING = 0x13
    EVENT = 0x14
    RESULT = 0x40
    ERROR = 0x41
    REPORT = 0x60
    BYE = 0x61


class HandshakeMode(IntEnum):
    PAIR = 1  # CPace with the 8-digit pairing code; derives a long-term key
    RESUME = 2  # long-term key + ephemeral X25519


def is_request(type_code: int) -> bool:
    return 0x10 <= type_code <= 0x3F


def is_response(type_code: int) -> bool:
    return 0x40 <= type_code <= 0x5F


def is_notification(type_code: int) -> bool:
    return 0x60 <= type_code <= 0x7F


@dataclass(frozen=True, slots=True)
class Hello:
    major: int
    minor: int
    mode: HandshakeMode
    hub_id: str
    nonce: bytes
    share: bytes
    heartbeat_ms: int | None = None
    msg_id: int = 0


@dataclass(frozen=True, slots=True)
class HelloReply:
    major: int
    minor: int
    device_id: str
    nonce: bytes
    share: bytes
    confirm: bytes
    msg_id: int = 0


@dataclass(frozen=True, slots=True)
class Finish:
    confirm: bytes
    msg_id: int = 0


@dataclass(frozen=True, slots=True)
class Welcome:
    vid: int
    pid: int
    fw: str
    model: str | None = None
    msg_id: int = 0


@dataclass(frozen=True, slots=True)
class Get:
    dps: tuple[int, ...] = ()  # empty: every DP
    msg_id: int = 0


@dataclass(frozen=True, slots=True)
class Set:
    dps: dict[int, DPValue]
    skipped: tuple[int, ...] = ()  # item ids whose DP type this version does not know
    msg_id: int = 0


@dataclass(frozen=True, slots=True)
class Invoke:
    action: int
    args: dict[int, DPValue] = field(default_factory=dict)
    skipped: tuple[int, ...] = ()
    msg_id: int = 0


@dataclass(frozen=True, slots=True)
class Ping:
    msg_id: int = 0


@dataclass(frozen=True, slots=True)
class Event:
    event: int
    fields: dict[int, DPValue] = field(default_factory=dict)
    skipped: tuple[int, ...] = ()
    msg_id: int = 0


@dataclass(frozen=True, slots=True)
class Result:
    values: dict[int, DPValue] = field(default_factory=dict)
    skipped: tuple[int, ...] = ()
    msg_id: int = 0


@dataclass(frozen=True, slots=True)
class Error:
    code: int
    dp: int | None = None
    message: str | None = None
    retry_after_ms: int | None = None
    versions: tuple[tuple[int, int], ...] = ()  # (major, highest minor) the sender supports
    msg_id: int = 0


@dataclass(frozen=True, slots=True)
class Report:
    dps: dict[int, DPValue]
    skipped: tuple[int, ...] = ()
    msg_id: int = 0


@dataclass(frozen=True, slots=True)
class Bye:
    code: int
    message: str | None = None
    msg_id: int = 0


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    """A request/response/notification type newer than this implementation."""

    type_code: int
    payload: bytes
    msg_id: int = 0


Message = (
    Hello
    | HelloReply
    | Finish
    | Welcome
    | Get
    | Set
    | Invoke
    | Ping
    | Event
    | Result
    | Error
    | Report
    | Bye
    | UnknownMessage
)


def _header(type_code: int, msg_id: int) -> bytes:
    if not 0 <= msg_id <= 0xFFFF:
        raise ProtocolError(ErrorCode.MALFORMED, f"msg_id {msg_id} outside u16")
    return _BODY_HEADER.pack(type_code, 0, msg_id)


def _str_item(item_id: int, text: str, max_len: int = 255) -> bytes:
    data = text.encode("utf-8")
    if len(data) > max_len or "\x00" in text:
        raise ProtocolError(ErrorCode.BAD_VALUE, f"string item {item_id} too long or has NUL")
    return encode_item(item_id, DPType.STRING, data)


def _clip(text: str, max_len: int) -> str:
    """Shorten a human-readable message to ``max_len`` UTF-8 bytes without splitting a character."""
    return text.replace("\x00", "").encode("utf-8")[:max_len].decode("utf-8", "ignore")


def _int_item(item_id: int, number: int, low: int, high: int) -> bytes:
    if not low <= number <= high:
        raise ProtocolError(ErrorCode.BAD_VALUE, f"item {item_id}: {number} outside {low}..{high}")
    return encode_item(item_id, DPType.VALUE, number.to_bytes(4, "big", signed=True))


def is_valid_id(text: str) -> bool:
    """Hub and device ids: 1-32 characters of ``A-Z a-z 0-9 . _ : -``."""
    return _ID_RE.fullmatch(text) is not None


def is_valid_fw(text: str) -> bool:
    return _FW_RE.fullmatch(text) is not None


def _check_id(text: str, what: str) -> str:
    if not _ID_RE.fullmatch(text):
        raise ProtocolError(ErrorCode.BAD_VALUE, f"bad {what} {text!r}")
    return text


def _u8(value: int, what: str) -> int:
    if not 0 <= value <= 255:
        raise ProtocolError(ErrorCode.BAD_VALUE, f"{what} {value} outside u8")
    return value


def _id8(value: int, what: str) -> int:
    """Action and event ids: 1-255 (0 is never a valid id, as for DPs)."""
    if not 1 <= value <= 255:
        raise ProtocolError(ErrorCode.MALFORMED, f"{what} id {value} outside 1..255")
    return value


def hello_reply_prefix(msg: HelloReply) -> bytes:
    """The HELLO_REPLY body without its final confirm item: the part the transcript hashes."""
    return (
        _header(MsgType.HELLO_REPLY, msg.msg_id)
        + bytes((_u8(msg.major, "major"), _u8(msg.minor, "minor")))
        + _str_item(F_DEVICE_ID, _check_id(msg.device_id, "device id"))
        + encode_item(F_NONCE, DPType.RAW, _fixed(msg.nonce, NONCE_LEN, "nonce"))
        + encode_item(F_SHARE, DPType.RAW, _fixed(msg.share, SHARE_LEN, "share"))
    )


def _fixed(data: bytes, size: int, what: str) -> bytes:
    if len(data) != size:
        raise ProtocolError(ErrorCode.BAD_VALUE, f"{what} must be {size} bytes")
    return data


def encode_message(msg: Message) -> bytes:
    """Encode a message body (what goes inside a frame, before encryption)."""
    match msg:
        case Hello():
            body = (
                _header(MsgType.HELLO, msg.msg_id)
                + bytes((_u8(msg.major, "major"), _u8(msg.minor, "minor"), msg.mode))
                + _str_item(F_HUB_ID, _check_id(msg.hub_id, "hub id"))
                + encode_item(F_NONCE, DPType.RAW, _fixed(msg.nonce, NONCE_LEN, "nonce"))
                + encode_item(F_SHARE, DPType.RAW, _fixed(msg.share, SHARE_LEN, "share"))
            )
            if msg.heartbeat_ms is not None:
                body += _int_item(F_HEARTBEAT, msg.heartbeat_ms, 100, 600_000)
            return body
        case HelloReply():
            confirm = _fixed(msg.confirm, CONFIRM_LEN, "confirm")
            return hello_reply_prefix(msg) + encode_item(F_CONFIRM, DPType.RAW, confirm)
        case Finish():
            confirm = _fixed(msg.confirm, CONFIRM_LEN, "confirm")
            return _header(MsgType.FINISH, msg.msg_id) + encode_item(F_CONFIRM, DPType.RAW, confirm)
        case Welcome():
            if not _FW_RE.fullmatch(msg.fw):
                raise ProtocolError(ErrorCode.BAD_VALUE, f"bad fw {msg.fw!r}")
            body = (
                _header(MsgType.WELCOME, msg.msg_id)
                + _int_item(F_VID, msg.vid, 0, 0xFFFF)
                + _int_item(F_PID, msg.pid, 0, 0xFFFF)
                + _str_item(F_FW, msg.fw)
            )
            if msg.model is not None:
                body += _str_item(F_MODEL, msg.model, MODEL_MAX_LEN)
            return body
        case Get():
            if 0 in msg.dps or len(set(msg.dps)) != len(msg.dps):
                raise ProtocolError(ErrorCode.MALFORMED, "GET lists dp 0 or a dp twice")
            return _header(MsgType.GET, msg.msg_id) + bytes(_u8(d, "dp id") for d in msg.dps)
        case Set():
            if not msg.dps:
                raise ProtocolError(ErrorCode.MALFORMED, "SET without data points")
            return _header(MsgType.SET, msg.msg_id) + encode_dps(msg.dps)
        case Invoke():
            return (
                _header(MsgType.INVOKE, msg.msg_id)
                + bytes((_id8(msg.action, "action"),))
                + encode_dps(msg.args)
            )
        case Ping():
            return _header(MsgType.PING, msg.msg_id)
        case Event():
            return (
                _header(MsgType.EVENT, msg.msg_id)
                + bytes((_id8(msg.event, "event"),))
                + encode_dps(msg.fields)
            )
        case Result():
            return _header(MsgType.RESULT, msg.msg_id) + encode_dps(msg.values)
        case Error():
            body = _header(MsgType.ERROR, msg.msg_id) + _code(msg.code)
            if msg.dp is not None:
                body += _int_item(F_ERR_DP, msg.dp, 1, 255)
            if msg.message is not None:
                body += _str_item(F_ERR_MESSAGE, _clip(msg.message, MESSAGE_MAX_LEN))
            if msg.retry_after_ms is not None:
                body += _int_item(F_ERR_RETRY, msg.retry_after_ms, 0, INT32_MAX)
            if msg.versions:
                pairs = bytes(_u8(v, "version") for pair in msg.versions for v in pair)
                body += encode_item(F_ERR_VERSIONS, DPType.RAW, pairs)
            return body
        case Report():
            if not msg.dps:
                raise ProtocolError(ErrorCode.MALFORMED, "REPORT without data points")
            return _header(MsgType.REPORT, msg.msg_id) + encode_dps(msg.dps)
        case Bye():
            body = _header(MsgType.BYE, msg.msg_id) + _code(msg.code)
            if msg.message is not None:
                body += _str_item(F_ERR_MESSAGE, _clip(msg.message, MESSAGE_MAX_LEN))
            return body
        case UnknownMessage():
            return _header(msg.type_code, msg.msg_id) + msg.payload


def _code(code: int) -> bytes:
    if not 0 <= code <= 0xFFFF:
        raise ProtocolError(ErrorCode.MALFORMED, f"error code {code} outside u16")
    return code.to_bytes(2, "big")


class _Fields:
    """Field items of a non-DP message; unknown ids are ignored (minor versions add fields)."""

    def __init__(self, payload: bytes) -> None:
        self._items = {item.id: item for item in decode_items(payload)}

    def _get(self, item_id: int, item_type: DPType, required: bool, what: str) -> Item | None:
        item = self._items.get(item_id)
        if item is None:
            if required:
                raise ProtocolError(ErrorCode.MALFORMED, f"missing {what}")
            return None
        if item.type != item_type:
            raise ProtocolError(ErrorCode.MALFORMED, f"{what} has type {item.type}")
        return item

    def raw(self, item_id: int, size: int, what: str) -> bytes:
        item = self._get(item_id, DPType.RAW, True, what)
        assert item is not None
        if len(item.data) != size:
            raise ProtocolError(ErrorCode.BAD_VALUE, f"{what} must be {size} bytes")
        return item.data

    def opt_raw(self, item_id: int, what: str) -> bytes | None:
        item = self._get(item_id, DPType.RAW, False, what)
        return None if item is None else item.data

    def text(self, item_id: int, what: str, max_len: int = 255) -> str:
        result = self.opt_text(item_id, what, max_len)
        if result is None:
            raise ProtocolError(ErrorCode.MALFORMED, f"missing {what}")
        return result

    def opt_text(self, item_id: int, what: str, max_len: int = 255) -> str | None:
        item = self._get(item_id, DPType.STRING, False, what)
        if item is None:
            return None
        if len(item.data) > max_len:
            raise ProtocolError(ErrorCode.BAD_VALUE, f"{what} longer than {max_len} bytes")
        try:
            text = item.data.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(ErrorCode.BAD_VALUE, f"{what} is not UTF-8") from None
        if "\x00" in text:
            raise ProtocolError(ErrorCode.BAD_VALUE, f"{what} contains NUL")
        return text

    def number(self, item_id: int, what: str, low: int, high: int) -> int:
        result = self.opt_number(item_id, what, low, high)
        if result is None:
            raise ProtocolError(ErrorCode.MALFORMED, f"missing {what}")
        return result

    def opt_number(self, item_id: int, what: str, low: int, high: int) -> int | None:
        item = self._get(item_id, DPType.VALUE, False, what)
        if item is None:
            return None
        if len(item.data) != 4:
            raise ProtocolError(ErrorCode.BAD_VALUE, f"{what} must be 4 bytes")
        number = int.from_bytes(item.data, "big", signed=True)
        if not low <= number <= high:
            raise ProtocolError(ErrorCode.BAD_VALUE, f"{what} {number} outside {low}..{high}")
        return number


def _need(payload: bytes, size: int, what: str) -> None:
    if len(payload) < size:
        raise ProtocolError(ErrorCode.MALFORMED, f"truncated {what}")


def decode_message(body: bytes) -> Message:
    """Decode a message body; raises ``ProtocolError`` for anything malformed."""
    _need(body, BODY_HEADER_LEN, "message header")
    type_code, _flags, msg_id = _BODY_HEADER.unpack_from(body)
    payload = bytes(body[BODY_HEADER_LEN:])
    try:
        msg_type = MsgType(type_code)
    except ValueError:
        if is_request(type_code) or is_response(type_code) or is_notification(type_code):
            return UnknownMessage(type_code, payload, msg_id)
        raise ProtocolError(
            ErrorCode.UNSUPPORTED_MESSAGE, f"message type 0x{type_code:02x}"
        ) from None
    match msg_type:
        case MsgType.HELLO:
            _need(payload, 3, "HELLO")
            try:
                mode = HandshakeMode(payload[2])
            except ValueError:
                raise ProtocolError(ErrorCode.MALFORMED, f"handshake mode {payload[2]}") from None
            f = _Fields(payload[3:])
            return Hello(
                major=payload[0],
                minor=payload[1],
                mode=mode,
                hub_id=_check_id(f.text(F_HUB_ID, "hub id"), "hub id"),
                nonce=f.raw(F_NONCE, NONCE_LEN, "nonce"),
                share=f.raw(F_SHARE, SHARE_LEN, "share"),
                heartbeat_ms=f.opt_number(F_HEARTBEAT, "heartbeat_ms", 100, 600_000),
                msg_id=msg_id,
            )
        case MsgType.HELLO_REPLY:
            _need(payload, 2, "HELLO_REPLY")
            items = decode_items(payload[2:])
            last = items[-1] if items else None
            # The transcript hashes everything before the confirm item, so it must come last.
            if last is None or last.id != F_CONFIRM or last.type != DPType.RAW:
                raise ProtocolError(ErrorCode.MALFORMED, "HELLO_REPLY must end with confirm")
            f = _Fields(payload[2:])
            return HelloReply(
                major=payload[0],
                minor=payload[1],
                device_id=_check_id(f.text(F_DEVICE_ID, "device id"), "device id"),
                nonce=f.raw(F_NONCE, NONCE_LEN, "nonce"),
                share=f.raw(F_SHARE, SHARE_LEN, "share"),
                confirm=f.raw(F_CONFIRM, CONFIRM_LEN, "confirm"),
                msg_id=msg_id,
            )
        case MsgType.FINISH:
            return Finish(_Fields(payload).raw(F_CONFIRM, CONFIRM_LEN, "confirm"), msg_id)
        case MsgType.WELCOME:
            f = _Fields(payload)
            fw = f.text(F_FW, "fw", 32)
            if not _FW_RE.fullmatch(fw):
                raise ProtocolError(ErrorCode.BAD_VALUE, f"bad fw {fw!r}")
            return Welcome(
                vid=f.number(F_VID, "vid", 0, 0xFFFF),
                pid=f.number(F_PID, "pid", 0, 0xFFFF),
                fw=fw,
                model=f.opt_text(F_MODEL, "model", MODEL_MAX_LEN),
                msg_id=msg_id,
            )
        case MsgType.GET:
            if 0 in payload or len(set(payload)) != len(payload):
                raise ProtocolError(ErrorCode.MALFORMED, "GET lists dp 0 or a dp twice")
            return Get(tuple(payload), msg_id)
        case MsgType.SET:
            dps, skipped = decode_dps(decode_items(payload))
            if not dps and not skipped:
                raise ProtocolError(ErrorCode.MALFORMED, "SET without data points")
            return Set(dps, skipped, msg_id)
        case MsgType.INVOKE:
            _need(payload, 1, "INVOKE")
            args, skipped = decode_dps(decode_items(payload[1:]))
            return Invoke(_id8(payload[0], "action"), args, skipped, msg_id)
        case MsgType.PING:
            return Ping(msg_id)
        case MsgType.EVENT:
            _need(payload, 1, "EVENT")
            fields, skipped = decode_dps(decode_items(payload[1:]))
            return Event(_id8(payload[0], "event"), fields, skipped, msg_id)
        case MsgType.RESULT:
            values, skipped = decode_dps(decode_items(payload))
            return Result(values, skipped, msg_id)
        case MsgType.ERROR:
            _need(payload, 2, "ERROR")
            f = _Fields(payload[2:])
            versions_raw = f.opt_raw(F_ERR_VERSIONS, "versions") or b""
            if len(versions_raw) % 2:
                raise ProtocolError(ErrorCode.BAD_VALUE, "versions must be (major, minor) pairs")
            return Error(
                code=int.from_bytes(payload[:2], "big"),
                dp=f.opt_number(F_ERR_DP, "dp", 1, 255),
                message=f.opt_text(F_ERR_MESSAGE, "message", MESSAGE_MAX_LEN),
                retry_after_ms=f.opt_number(F_ERR_RETRY, "retry_after_ms", 0, INT32_MAX),
                versions=tuple(zip(versions_raw[::2], versions_raw[1::2], strict=True)),
                msg_id=msg_id,
            )
        case MsgType.REPORT:
            dps, skipped = decode_dps(decode_items(payload))
            if not dps and not skipped:
                raise ProtocolError(ErrorCode.MALFORMED, "REPORT without data points")
            return Report(dps, skipped, msg_id)
        case MsgType.BYE:
            _need(payload, 2, "BYE")
            f = _Fields(payload[2:])
            return Bye(
                int.from_bytes(payload[:2], "big"),
                f.opt_text(F_ERR_MESSAGE, "message", MESSAGE_MAX_LEN),
                msg_id,
            )
