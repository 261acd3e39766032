"""Wire format: DP values, frames, items and message bodies (docs/zsdp.md §5-§7)."""

from __future__ import annotations

import pytest

from integrations.zsdp.errors import ErrorCode, ProtocolError
from integrations.zsdp.messages import (
    Bye,
    Error,
    Event,
    Finish,
    Get,
    HandshakeMode,
    Hello,
    HelloReply,
    Invoke,
    Ping,
    Report,
    Result,
    Set,
    UnknownMessage,
    Welcome,
    decode_message,
    encode_message,
)
from integrations.zsdp.wire import (
    INT32_MAX,
    INT32_MIN,
    MAX_PAYLOAD,
    UINT32_MAX,
    DPType,
    FrameDecoder,
    FrameKind,
    decode_dps,
    decode_frame,
    decode_items,
    decode_value,
    dp_bitmap,
    dp_bool,
    dp_enum,
    dp_raw,
    dp_string,
    dp_value,
    encode_frame,
    encode_item,
    encode_value,
    parse_header,
)


def codes(exc_info: pytest.ExceptionInfo[ProtocolError]) -> int:
    return exc_info.value.code


@pytest.mark.parametrize(
    ("dp", "wire"),
    [
        (dp_bool(True), "01"),
        (dp_bool(False), "00"),
        (dp_value(500), "000001f4"),
        (dp_value(-1), "ffffffff"),
        (dp_value(INT32_MIN), "80000000"),
        (dp_value(INT32_MAX), "7fffffff"),
        (dp_bitmap(UINT32_MAX), "ffffffff"),
        (dp_bitmap(0b101), "00000005"),
        (dp_enum("keep_warm"), b"keep_warm".hex()),
        (dp_string("阅读"), "阅读".encode().hex()),
        (dp_string(""), ""),
        (dp_raw(b"\x00\xff"), "00ff"),
        (dp_raw(b""), ""),
    ],
)
def test_dp_values_round_trip_with_exact_bytes(dp, wire):
    assert encode_value(dp).hex() == wire
    assert decode_value(dp.type, bytes.fromhex(wire)) == dp


def test_long_values_at_their_limits():
    assert decode_value(DPType.STRING, b"a" * 255) == dp_string("a" * 255)
    assert decode_value(DPType.ENUM, b"e" * 32) == dp_enum("e" * 32)
    with pytest.raises(ProtocolError) as err:
        decode_value(DPType.STRING, b"a" * 256)
    assert codes(err) == ErrorCode.BAD_VALUE
    with pytest.raises(ProtocolError):
        decode_value(DPType.ENUM, b"e" * 33)


@pytest.mark.parametrize(
    "build",
    [
        lambda: dp_value(INT32_MAX + 1),
        lambda: dp_value(INT32_MIN - 1),
        lambda: dp_value(True),  # a bool is not an int32 here
        lambda: dp_bitmap(-1),
        lambda: dp_bitmap(UINT32_MAX + 1),
        lambda: dp_bool(1),
        lambda: dp_enum(""),
        lambda: dp_enum("two words"),
        lambda: dp_enum("中文"),
        lambda: dp_enum("x" * 33),
        lambda: dp_string("nul\x00inside"),
        lambda: dp_string("é" * 200),  # 400 bytes of UTF-8
        lambda: dp_string("\ud800"),  # lone surrogate: not encodable
        lambda: dp_raw("text"),
    ],
)
def test_invalid_values_cannot_be_built(build):
    with pytest.raises(ValueError):
        build()


@pytest.mark.parametrize(
    ("dp_type", "data"),
    [
        (DPType.BOOL, b"\x02"),
        (DPType.BOOL, b""),
        (DPType.BOOL, b"\x00\x01"),
        (DPType.VALUE, b"\x00\x00\x01"),
        (DPType.VALUE, b"\x00\x00\x00\x00\x01"),
        (DPType.BITMAP, b"\x01"),  # Tuya allows 1/2/4 bytes; ZS-DP is always 4
        (DPType.STRING, b"\xff\xfe"),
        (DPType.STRING, b"a\x00"),
        (DPType.ENUM, b""),
        (DPType.ENUM, b"a b"),
    ],
)
def test_malformed_values_are_bad_value(dp_type, data):
    with pytest.raises(ProtocolError) as err:
        decode_value(dp_type, data)
    assert codes(err) == ErrorCode.BAD_VALUE


def test_unknown_dp_type_is_skipped_not_fatal():
    assert decode_value(0x09, b"whatever") is None
    items = decode_items(encode_item(20, 1, b"\x01") + encode_item(30, 0x09, b"xyz"))
    values, skipped = decode_dps(items)
    assert values == {20: dp_bool(True)}
    assert skipped == (30,)


def test_frame_header_checks():
    good = encode_frame(FrameKind.HANDSHAKE, b"\x10\x00\x00\x01")
    assert good.hex() == "5a530100000410000001"
    assert decode_frame(good).payload == b"\x10\x00\x00\x01"
    cases = {
        b"ZX\x01\x00\x00\x04": ErrorCode.BAD_MAGIC,
        b"ZS\x03\x00\x00\x04": ErrorCode.UNSUPPORTED_FRAME,
        b"ZS\x01\x01\x00\x04": ErrorCode.UNSUPPORTED_FRAME,
        b"ZS\x01\x00\x00\x00": ErrorCode.MALFORMED,
        b"ZS\x01\x00\x10\x01": ErrorCode.FRAME_TOO_LARGE,
        b"ZS\x01\x00\x00": ErrorCode.MALFORMED,
    }
    for header, code in cases.items():
        with pytest.raises(ProtocolError) as err:
            parse_header(header)
        assert codes(err) == code, header
    assert parse_header(b"ZS\x02\x00\x10\x00") == (FrameKind.SECURE, MAX_PAYLOAD)
    with pytest.raises(ProtocolError):
        decode_frame(good + b"\x00")
    with pytest.raises(ProtocolError):
        decode_frame(good[:-1])
    with pytest.raises(ProtocolError) as err:
        encode_frame(FrameKind.SECURE, bytes(MAX_PAYLOAD + 1))
    assert codes(err) == ErrorCode.FRAME_TOO_LARGE


def test_stream_decoder_handles_any_chunking_and_fails_early():
    frames = [encode_frame(FrameKind.HANDSHAKE, bytes([n]) * (n + 1)) for n in range(1, 40)]
    stream = b"".join(frames)
    for chunk in (1, 2, 5, 7, 64, len(stream)):
        decoder = FrameDecoder()
        out = []
        for i in range(0, len(stream), chunk):
            out += decoder.feed(stream[i : i + chunk])
        assert [encode_frame(f.kind, f.payload) for f in out] == frames
        assert decoder.pending == 0
    # A header announcing an oversized payload is refused before any payload byte arrives.
    with pytest.raises(ProtocolError) as err:
        FrameDecoder().feed(b"ZS\x02\x00\xff\xff")
    assert codes(err) == ErrorCode.FRAME_TOO_LARGE


@pytest.mark.parametrize(
    "raw",
    [
        "140100",  # truncated header
        "14010002" + "01",  # length overruns the message
        "00010001" + "01",  # item id 0
        "14010001" + "01" + "14010001" + "00",  # duplicate id
    ],
)
def test_item_list_errors(raw):
    with pytest.raises(ProtocolError) as err:
        decode_items(bytes.fromhex(raw))
    assert codes(err) == ErrorCode.MALFORMED


SAMPLES = [
    Hello(1, 0, HandshakeMode.PAIR, "hub-home", bytes(16), bytes(range(32)), 15000),
    Hello(1, 3, HandshakeMode.RESUME, "hub-2", bytes(16), bytes(32)),
    HelloReply(1, 0, "lamp-0001", bytes(16), bytes(32), bytes(range(32))),
    Finish(bytes(range(32))),
    Welcome(0x1A01, 0x0101, "1.2.3-beta", "XDD-CCT-480"),
    Welcome(0xFFFF, 0, "1"),
    Get((20, 22), msg_id=7),
    Get((), msg_id=8),
    Set({20: dp_bool(True), 22: dp_value(500)}, msg_id=9),
    Invoke(3, {1: dp_string("1234"), 2: dp_raw(b"\x01")}, msg_id=10),
    Invoke(4, msg_id=11),
    Ping(msg_id=65535),
    Event(5, {1: dp_enum("fingerprint"), 2: dp_value(3)}, msg_id=12),
    Result({1: dp_bitmap(5)}, msg_id=13),
    Result(msg_id=14),
    Error(ErrorCode.READ_ONLY, dp=101, message="只读", retry_after_ms=0, msg_id=15),
    Error(ErrorCode.VERSION_UNSUPPORTED, versions=((1, 0), (2, 1))),
    Error(999),  # a code from a future minor version survives the round trip
    Report({21: dp_enum("warm")}),
    Bye(ErrorCode.SHUTDOWN, "device stopping"),
    UnknownMessage(0x30, b"\x01\x02", msg_id=16),
    UnknownMessage(0x70, b""),
]


@pytest.mark.parametrize("msg", SAMPLES, ids=lambda m: type(m).__name__)
def test_messages_round_trip(msg):
    assert decode_message(encode_message(msg)) == msg


def test_set_body_layout_matches_the_spec_example():
    body = encode_message(Set({20: dp_bool(True), 22: dp_value(500)}, msg_id=1))
    # type SET, flags, msg_id 1 | dp 20 bool len 1 = 01 | dp 22 value len 4 = 500
    assert body.hex(" ") == "11 00 00 01 14 01 00 01 01 16 02 00 04 00 00 01 f4"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("11", ErrorCode.MALFORMED),  # shorter than the body header
        ("11000001", ErrorCode.MALFORMED),  # SET without DPs
        ("60000000", ErrorCode.MALFORMED),  # REPORT without DPs
        ("10000001" + "1400", ErrorCode.MALFORMED),  # GET lists dp 0
        ("10000001" + "1414", ErrorCode.MALFORMED),  # GET lists a dp twice
        ("12000001", ErrorCode.MALFORMED),  # INVOKE without action
        ("12000001" + "00", ErrorCode.MALFORMED),  # INVOKE of action 0
        ("14000001" + "00", ErrorCode.MALFORMED),  # EVENT 0
        ("41000001" + "01", ErrorCode.MALFORMED),  # ERROR code truncated
        ("90000000", ErrorCode.UNSUPPORTED_MESSAGE),  # reserved type range
        ("00000000", ErrorCode.UNSUPPORTED_MESSAGE),
        ("01000000" + "0100" + "07", ErrorCode.MALFORMED),  # HELLO with unknown mode
        ("01000000" + "010001", ErrorCode.MALFORMED),  # HELLO without fields
        ("03000000" + "0800001f" + "00" * 31, ErrorCode.BAD_VALUE),  # short confirm
        ("03000000" + "0803002000", ErrorCode.MALFORMED),  # confirm with the wrong type
    ],
)
def test_malformed_bodies(body, code):
    with pytest.raises(ProtocolError) as err:
        decode_message(bytes.fromhex(body))
    assert codes(err) == code


def test_hello_reply_must_end_with_confirm():
    reply = encode_message(HelloReply(1, 0, "lamp-0001", bytes(16), bytes(32), bytes(32)))
    extra = encode_item(9, DPType.RAW, b"x")
    with pytest.raises(ProtocolError):
        decode_message(reply + extra)
    # Unknown fields before the confirm are fine (a newer minor may add some).
    prefix, confirm = reply[:-36], reply[-36:]
    assert isinstance(decode_message(prefix + extra + confirm), HelloReply)


def test_unknown_fields_in_field_messages_are_ignored():
    body = encode_message(Welcome(0x1A01, 0x0101, "1.0.0")) + encode_item(77, 0x33, b"future")
    assert decode_message(body) == Welcome(0x1A01, 0x0101, "1.0.0")


def test_unknown_types_decode_by_range():
    assert decode_message(bytes.fromhex("3f000005aa")) == UnknownMessage(0x3F, b"\xaa", 5)
    assert decode_message(bytes.fromhex("5f000005")) == UnknownMessage(0x5F, b"", 5)
    assert decode_message(bytes.fromhex("7f000000")) == UnknownMessage(0x7F, b"", 0)


def test_error_message_is_clipped_to_128_bytes_on_a_character_boundary():
    body = encode_message(Error(ErrorCode.REFUSED, message="童锁已开启" * 30))
    decoded = decode_message(body)
    assert isinstance(decoded, Error)
    assert decoded.message is not None
    assert len(decoded.message.encode()) <= 128
    assert decoded.message.startswith("童锁已开启")


def test_encoder_refuses_what_the_decoder_would_refuse():
    with pytest.raises(ProtocolError):
        encode_message(Set({}))
    with pytest.raises(ProtocolError):
        encode_message(Get((0,)))
    with pytest.raises(ProtocolError):
        encode_message(Hello(1, 0, HandshakeMode.PAIR, "bad id!", bytes(16), bytes(32)))
    with pytest.raises(ProtocolError):
        encode_message(Hello(1, 0, HandshakeMode.PAIR, "hub", bytes(15), bytes(32)))
    with pytest.raises(ProtocolError):
        encode_message(Welcome(0x10000, 1, "1.0"))
    with pytest.raises(ProtocolError):
        encode_message(Ping(msg_id=70000))
    with pytest.raises(ProtocolError):
        encode_message(Invoke(0))
    with pytest.raises(ProtocolError):
        encode_message(Event(256))
