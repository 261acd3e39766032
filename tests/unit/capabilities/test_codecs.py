"""The closed codec library (docs/profile-format.md §4.1): decode, encode and spec errors."""

from __future__ import annotations

from typing import Any

import pytest

from hub.capabilities.codecs import (
    CODEC_KEYS,
    STRUCT_TYPES,
    Codec,
    CodecError,
    CodecSpecError,
    StructField,
    build_codec,
    compile_struct,
    decode_struct,
    encode_int,
    hsv12_decode,
    hsv12_encode,
)
from hub.capabilities.model import ValueType

V = ValueType


def codec(
    spec: dict[str, Any],
    raw_type: str | None = "value",
    value_type: ValueType = V.NUMBER,
    unit: str | None = None,
    values: list[str] | None = None,
) -> Codec:
    return build_codec(spec, raw_type=raw_type, value_type=value_type, unit=unit, values=values)


def test_codec_keys_are_the_documented_set() -> None:
    assert (
        frozenset(
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
        == CODEC_KEYS
    )


# --------------------------------------------------------------------------- plain values


@pytest.mark.parametrize(
    ("raw_type", "value_type", "raw", "value"),
    [
        ("bool", V.BOOL, True, True),
        ("bool", V.BOOL, False, False),
        ("value", V.INT, 42, 42),
        ("value", V.NUMBER, -7, -7),
        ("enum", V.ENUM, "open", "open"),
        ("string", V.STRING, "hello", "hello"),
        ("bitmap", V.INT, 5, 5),
        (None, V.INT, 17, 17),
        (None, V.BOOL, True, True),
    ],
)
def test_no_codec_round_trip(
    raw_type: str | None, value_type: ValueType, raw: Any, value: Any
) -> None:
    c = codec({}, raw_type=raw_type, value_type=value_type)
    assert c.decode(raw) == value
    assert c.encode(value) == raw
    assert type(c.decode(raw)) is type(value)


def test_raw_bytes_decode_to_hex_and_back() -> None:
    c = codec({}, raw_type="raw", value_type=V.STRING)
    assert c.decode(b"\x01\xab") == "01ab"
    assert c.decode("01AB") == "01ab"
    assert c.encode("01ab") == b"\x01\xab"


def test_bool_raw_accepts_zero_and_one() -> None:
    c = codec({}, raw_type="bool", value_type=V.BOOL)
    assert c.decode(1) is True
    assert c.decode(0) is False


@pytest.mark.parametrize(
    ("raw_type", "value_type", "raw"),
    [
        ("bool", V.BOOL, "yes"),
        ("bool", V.BOOL, 2),
        ("bool", V.BOOL, None),
        ("value", V.INT, "12"),
        ("value", V.INT, True),
        ("value", V.INT, None),
        ("value", V.NUMBER, float("nan")),
        ("bitmap", V.INT, -1),
        ("bitmap", V.INT, 1.5),
        ("enum", V.ENUM, 1.5),
        ("enum", V.ENUM, None),
        ("string", V.STRING, 5),
        ("raw", V.STRING, "zz"),
        (None, V.INT, "5"),
        (None, V.BOOL, 7),
    ],
)
def test_bad_raw_values(raw_type: str | None, value_type: ValueType, raw: Any) -> None:
    with pytest.raises(CodecError):
        codec({}, raw_type=raw_type, value_type=value_type).decode(raw)


def test_int_property_rounds_half_away_from_zero() -> None:
    c = codec({"scale": 1}, value_type=V.INT)
    assert c.decode(25) == 2 + 1  # 2.5 -> 3 (Python's round() would give 2)
    assert c.decode(-25) == -3
    assert isinstance(c.decode(24), int)


def test_enum_without_map_checks_values() -> None:
    c = codec({}, raw_type="enum", value_type=V.ENUM, values=["open", "closed"])
    assert c.decode("open") == "open"
    with pytest.raises(CodecError):
        c.decode("moving")
    with pytest.raises(CodecError):
        c.encode("moving")
    lenient = codec({}, raw_type="enum", value_type=V.ENUM, values=["open", "unknown"])
    assert lenient.decode("moving") == "unknown"


def test_encode_rejects_wrong_value_types() -> None:
    with pytest.raises(CodecError):
        codec({}, raw_type="value", value_type=V.INT).encode("5")
    with pytest.raises(CodecError):
        codec({}, raw_type="value", value_type=V.INT).encode(True)
    with pytest.raises(CodecError):
        codec({}, raw_type="bool", value_type=V.BOOL).encode(1.5)
    with pytest.raises(CodecError):
        codec({}, raw_type="bitmap", value_type=V.INT).encode(-1)


# --------------------------------------------------------------------------- bit / bits / invert


@pytest.mark.parametrize(
    ("bit", "raw", "expected"),
    [(0, 0b0001, True), (0, 0b0010, False), (2, 0b0100, True), (2, 0b1011, False), (7, 0x80, True)],
)
def test_bit(bit: int, raw: int, expected: bool) -> None:
    c = codec({"bit": bit}, raw_type=None, value_type=V.BOOL)
    assert c.decode(raw) is expected


def test_bit_is_not_encodable() -> None:
    c = codec({"bit": 3}, raw_type="bitmap", value_type=V.BOOL)
    assert not c.invertible
    with pytest.raises(CodecError, match="other bits"):
        c.encode(True)


def test_bit_with_map_and_invert() -> None:
    flame = codec(
        {"bit": 2, "map": {0: "ok", 1: "tripped"}},
        raw_type=None,
        value_type=V.ENUM,
        values=["ok", "tripped"],
    )
    assert flame.decode(0b0100) == "tripped"
    assert flame.decode(0b1011) == "ok"
    inverted = codec({"bit": 0, "invert": True}, raw_type=None, value_type=V.BOOL)
    assert inverted.decode(1) is False
    assert inverted.decode(0) is True


def test_bit_rejects_non_integer_raw() -> None:
    with pytest.raises(CodecError):
        codec({"bit": 0}, raw_type=None, value_type=V.BOOL).decode("1")


FAULTS = {0: "E1", 1: "E2", 2: "E3", 4: "E5", 5: "E6"}


@pytest.mark.parametrize(
    ("raw", "codes"),
    [(0, []), (0b1, ["E1"]), (0b110101, ["E1", "E3", "E5", "E6"]), (0b10, ["E2"])],
)
def test_bits_round_trip(raw: int, codes: list[str]) -> None:
    c = codec({"bits": FAULTS}, raw_type="bitmap", value_type=V.SET)
    assert c.decode(raw) == codes
    assert c.encode(codes) == raw
    assert c.encode(set(codes)) == raw


def test_bits_accept_string_bit_numbers() -> None:
    c = codec({"bits": {"0": "LEAK", "1": "LOWP"}}, raw_type="bitmap", value_type=V.SET)
    assert c.decode(3) == ["LEAK", "LOWP"]


def test_bits_undeclared_bits() -> None:
    quiet = codec({"bits": {0: "E1"}}, raw_type="bitmap", value_type=V.SET)
    assert quiet.decode(0b1001) == ["E1"]
    loud = codec({"bits": {0: "E1"}}, raw_type="bitmap", value_type=V.SET, values=["E1", "unknown"])
    assert loud.decode(0b1001) == ["E1", "unknown"]
    assert loud.encode(["E1", "unknown"]) == 1


def test_bits_encode_rejects_undeclared_code() -> None:
    c = codec({"bits": FAULTS}, raw_type="bitmap", value_type=V.SET)
    with pytest.raises(CodecError):
        c.encode(["E4"])
    with pytest.raises(CodecError):
        c.encode("E1")


@pytest.mark.parametrize(("raw", "value"), [(True, False), (False, True)])
def test_invert_round_trip(raw: bool, value: bool) -> None:
    c = codec({"invert": True}, raw_type="bool", value_type=V.BOOL)
    assert c.decode(raw) is value
    assert c.encode(value) is raw


def test_invert_false_is_a_no_op() -> None:
    c = codec({"invert": False}, raw_type="bool", value_type=V.BOOL)
    assert c.decode(True) is True


# ------------------------------------------------------------------ scale / factor / linear


@pytest.mark.parametrize(
    ("scale", "raw", "value"),
    [(0, 215, 215), (1, 215, 21.5), (2, 2150, 21.5), (3, 1234, 1.234), (1, 3, 0.3), (2, -50, -0.5)],
)
def test_scale_round_trip(scale: int, raw: int, value: float) -> None:
    c = codec({"scale": scale}, raw_type="value", value_type=V.NUMBER)
    assert c.decode(raw) == value
    assert c.encode(value) == raw
    assert type(c.encode(value)) is int


def test_scale_on_matter_attribute_rounds_encoded_raw() -> None:
    c = codec({"scale": 2}, raw_type=None, value_type=V.NUMBER, unit="°C")
    assert c.decode(2150) == 21.5
    assert c.encode(21.504) == 2150
    with pytest.raises(CodecError):
        c.decode("2150")


@pytest.mark.parametrize(
    ("factor", "raw", "value"), [(0.1, 215, 21.5), (60, 3, 180), (0.5, 7, 3.5)]
)
def test_factor_round_trip(factor: float, raw: int, value: float) -> None:
    c = codec({"factor": factor}, raw_type="value", value_type=V.NUMBER)
    assert c.decode(raw) == pytest.approx(value)
    assert c.encode(value) == raw


LEVEL = {"linear": {"raw": [10, 1000], "value": [1, 100]}}


@pytest.mark.parametrize(
    ("raw", "value"),
    [(10, 1), (1000, 100), (500, 50), (505, 50.5), (0, 1), (2000, 100)],
)
def test_linear_decode_clamps(raw: int, value: float) -> None:
    c = codec(LEVEL, raw_type="value", value_type=V.NUMBER, unit="%")
    assert c.decode(raw) == value


@pytest.mark.parametrize(("value", "raw"), [(1, 10), (100, 1000), (50, 500), (0, 10), (150, 1000)])
def test_linear_encode_clamps_to_raw_range(value: float, raw: int) -> None:
    c = codec(LEVEL, raw_type="value", value_type=V.NUMBER, unit="%")
    assert c.encode(value) == raw


def test_linear_int_property_rounds() -> None:
    c = codec({"linear": {"raw": [1, 254], "value": [1, 100]}}, raw_type=None, value_type=V.INT)
    assert c.decode(126) == 50  # 49.9 -> 50
    assert c.decode(128) == 51  # 50.7 -> 51
    assert c.decode(254) == 100
    assert c.encode(50) == 126  # 1 + 49 * 253 / 99 = 126.2
    assert c.decode(c.encode(50)) == 50


def test_linear_reversed_ranges() -> None:
    c = codec({"linear": {"raw": [0, 1000], "value": [6500, 2700]}}, value_type=V.INT, unit="K")
    assert c.decode(0) == 6500
    assert c.decode(1000) == 2700
    assert c.encode(2700) == 1000
    assert c.encode(9999) == 0


def test_linear_battery_percent_from_matter_half_percent() -> None:
    c = codec({"linear": {"raw": [0, 200], "value": [0, 100]}}, raw_type=None, value_type=V.INT)
    assert c.decode(200) == 100
    assert c.decode(99) == 50  # 49.5 -> 50
    assert c.encode(100) == 200


# --------------------------------------------------------------------------- units


@pytest.mark.parametrize(
    ("spec", "unit", "raw", "value"),
    [
        ({"unit": "min", "to_unit": "s"}, "s", 10, 600),
        ({"unit": "min"}, "s", 10, 600),  # to_unit defaults to the property's unit
        ({"unit": "d", "to_unit": "h"}, "h", 2, 48),
        ({"unit": "h"}, "s", 1, 3600),
        ({"unit": "m3"}, "L", 2, 2000),
        ({"unit": "%"}, "%", 55, 55),  # documentary only
        ({"unit": "°C"}, None, 21, 21),
        ({"scale": 0, "unit": "min", "to_unit": "s"}, "s", 5, 300),
        ({"scale": 1, "unit": "min"}, "s", 15, 90),
    ],
)
def test_unit_conversion_round_trip(
    spec: dict[str, Any], unit: str | None, raw: int, value: int
) -> None:
    c = codec(spec, raw_type="value", value_type=V.INT, unit=unit)
    assert c.decode(raw) == value
    assert c.encode(value) == raw


def test_unit_conversion_down_a_unit() -> None:
    c = codec({"unit": "s"}, raw_type="value", value_type=V.NUMBER, unit="min")
    assert c.decode(90) == 1.5
    assert c.encode(1.5) == 90


# --------------------------------------------------------------------------- named codecs


@pytest.mark.parametrize(("mireds", "kelvin"), [(250, 4000), (153, 6536), (370, 2703), (500, 2000)])
def test_mireds_to_kelvin(mireds: int, kelvin: int) -> None:
    c = codec({"codec": "mireds_to_kelvin"}, raw_type=None, value_type=V.INT, unit="K")
    assert c.decode(mireds) == kelvin
    assert c.encode(kelvin) == round(1_000_000 / kelvin)


def test_mireds_round_trip_exact() -> None:
    c = codec({"codec": "mireds_to_kelvin"}, raw_type=None, value_type=V.INT, unit="K")
    assert c.decode(250) == 4000
    assert c.encode(4000) == 250


@pytest.mark.parametrize("raw", [0, -5, "250", None])
def test_mireds_bad_raw(raw: Any) -> None:
    c = codec({"codec": "mireds_to_kelvin"}, raw_type=None, value_type=V.INT, unit="K")
    with pytest.raises(CodecError):
        c.decode(raw)


def test_hsv12_helpers() -> None:
    assert hsv12_decode("007803e803e8") == (120, 1000, 1000)
    assert hsv12_decode("0168000A01F4") == (360, 10, 500)
    assert hsv12_encode(120, 1000, 1000) == "007803e803e8"
    assert hsv12_encode(119.6, 500.4, 10) == "007801f4000a"


@pytest.mark.parametrize("text", ["007803e803e", "007803e803e8ff", "00780xe803e8", 12, None])
def test_hsv12_decode_rejects(text: Any) -> None:
    with pytest.raises(CodecError):
        hsv12_decode(text)


@pytest.mark.parametrize(("h", "s", "v"), [(361, 0, 0), (0, 1001, 0), (0, 0, -1), ("1", 0, 0)])
def test_hsv12_encode_rejects(h: Any, s: Any, v: Any) -> None:
    with pytest.raises(CodecError):
        hsv12_encode(h, s, v)


@pytest.mark.parametrize(
    ("field", "extra", "value_type", "expected"),
    [
        ("h", {}, V.NUMBER, 120),
        ("s", {}, V.INT, 1000),
        ("v", {}, V.INT, 1000),
        ("s", {"linear": {"raw": [0, 1000], "value": [0, 100]}}, V.NUMBER, 100),
        ("v", {"linear": {"raw": [10, 1000], "value": [1, 100]}}, V.NUMBER, 100),
    ],
)
def test_tuya_hsv12_field(
    field: str, extra: dict[str, Any], value_type: ValueType, expected: int
) -> None:
    c = codec(
        {"codec": "tuya_hsv12", "field": field, **extra}, raw_type="string", value_type=value_type
    )
    assert c.decode("007803e803e8") == expected


def test_tuya_hsv12_field_cannot_be_encoded_alone() -> None:
    c = codec({"codec": "tuya_hsv12", "field": "h"}, raw_type="string", value_type=V.NUMBER)
    assert not c.invertible
    with pytest.raises(CodecError, match=r"expression.*tuya_hsv12\("):
        c.encode(120)


def test_tuya_hsv12_bad_raw() -> None:
    c = codec({"codec": "tuya_hsv12", "field": "v"}, raw_type="string", value_type=V.INT)
    with pytest.raises(CodecError):
        c.decode("not-hex-here")


# --------------------------------------------------------------------------- map


FAN = {"0": "off", "1": "low", "2": "medium", "3": "high", "4": "boost"}
FAN_VALUES = ["off", "low", "medium", "high", "boost", "auto"]


@pytest.mark.parametrize(("raw", "value"), [("0", "off"), (0, "off"), ("4", "boost"), (3, "high")])
def test_map_enum_with_numeric_strings_matches_numbers(raw: Any, value: str) -> None:
    c = codec({"map": FAN}, raw_type="enum", value_type=V.ENUM, values=FAN_VALUES)
    assert c.decode(raw) == value


@pytest.mark.parametrize(("raw", "value"), [(0, "off"), ("0", "off"), (5, "boost"), (4, "high")])
def test_map_int_keys_match_numeric_strings(raw: Any, value: str) -> None:
    spec = {"map": {0: "off", 1: "low", 2: "medium", 3: "high", 4: "high", 5: "boost"}}
    c = codec(spec, raw_type=None, value_type=V.ENUM, values=FAN_VALUES)
    assert c.decode(raw) == value


def test_map_encode_gives_raw_in_raw_type() -> None:
    dp = codec({"map": FAN}, raw_type="enum", value_type=V.ENUM, values=FAN_VALUES)
    assert dp.encode("high") == "3"
    assert dp.unmap("off") == "0"
    by_int = codec({"map": {0: "off", 1: "low"}}, raw_type="enum", value_type=V.ENUM)
    assert by_int.encode("low") == "1"
    matter = codec({"map": {0: "off", 3: "high", 4: "high"}}, raw_type=None, value_type=V.ENUM)
    assert matter.encode("high") == 3  # the first raw value wins
    value_dp = codec({"map": {"0": "a", "1": "b"}}, raw_type="value", value_type=V.ENUM)
    assert value_dp.decode(1) == "b"
    assert value_dp.encode("b") == 1


def test_map_missing_raw_value_is_unknown_or_error() -> None:
    lenient = codec(
        {"map": {0: "open", 1: "closed"}},
        raw_type=None,
        value_type=V.ENUM,
        values=["open", "closed", "unknown"],
    )
    assert lenient.decode(9) == "unknown"
    strict = codec({"map": {0: "open", 1: "closed"}}, raw_type=None, value_type=V.ENUM)
    with pytest.raises(CodecError, match="not in the map"):
        strict.decode(9)
    with pytest.raises(CodecError):
        strict.decode([1])
    with pytest.raises(CodecError):
        strict.encode("ajar")


@pytest.mark.parametrize(("raw", "value"), [(True, "unlocked"), (False, "locked")])
def test_map_bool_raw(raw: bool, value: str) -> None:
    c = codec({"map": {True: "unlocked", False: "locked"}}, raw_type="bool", value_type=V.ENUM)
    assert c.decode(raw) == value
    assert c.encode(value) is raw


def test_map_enum_to_bool() -> None:
    c = codec({"map": {"alarm": True, "normal": False}}, raw_type="enum", value_type=V.BOOL)
    assert c.decode("alarm") is True
    assert c.decode("normal") is False
    assert c.encode(True) == "alarm"
    assert c.encode(False) == "normal"
    with pytest.raises(CodecError):
        c.encode(1)


def test_map_bool_to_set_lists() -> None:
    c = codec(
        {"map": {True: ["EOL"], False: []}}, raw_type="bool", value_type=V.SET, values=["EOL"]
    )
    assert c.decode(True) == ["EOL"]
    assert c.decode(False) == []
    first = c.decode(True)
    first.append("X")
    assert c.decode(True) == ["EOL"]  # decoded lists are copies
    assert c.encode(["EOL"]) is True
    assert c.encode([]) is False
    with pytest.raises(CodecError):
        c.encode(["OTHER"])


def test_map_null_value() -> None:
    c = codec(
        {"map": {"white": None, "scene_1": "reading"}},
        raw_type="enum",
        value_type=V.ENUM,
        values=["reading"],
    )
    assert c.decode("white") is None
    assert c.decode("scene_1") == "reading"
    assert c.encode(None) == "white"
    assert c.encode("reading") == "scene_1"


def test_map_mapping_values_pass_through() -> None:
    c = codec(
        {"map": {"check_success": {"result": "pass"}, "check_failure": {"result": "fail"}}},
        raw_type="enum",
        value_type=V.STRING,
    )
    assert c.decode("check_success") == {"result": "pass"}
    assert not c.invertible
    with pytest.raises(CodecError):
        c.encode({"result": "pass"})


def test_unmap_without_map() -> None:
    with pytest.raises(CodecError):
        codec({}, raw_type="value", value_type=V.INT).unmap(1)


# --------------------------------------------------------------------------- ranges

AIR = {
    "ranges": [{"min": 21, "value": "ok"}, {"min": 1, "value": "warning"}, {"value": "critical"}]
}


@pytest.mark.parametrize(
    ("raw", "value"), [(100, "ok"), (21, "ok"), (20, "warning"), (1, "warning"), (0, "critical")]
)
def test_ranges_first_match(raw: int, value: str) -> None:
    c = codec(AIR, raw_type="value", value_type=V.ENUM, values=["ok", "warning", "critical"])
    assert c.decode(raw) == value


def test_ranges_are_not_invertible() -> None:
    c = codec(AIR, raw_type="value", value_type=V.ENUM)
    assert not c.invertible
    with pytest.raises(CodecError):
        c.encode("ok")


def test_ranges_with_max_and_no_match() -> None:
    spec = {
        "ranges": [{"min": 0, "max": 10, "value": "low"}, {"min": 11, "max": 20, "value": "high"}]
    }
    strict = codec(spec, raw_type=None, value_type=V.ENUM)
    assert strict.decode(10) == "low"
    assert strict.decode(15.5) == "high"
    with pytest.raises(CodecError):
        strict.decode(50)
    lenient = codec(spec, raw_type=None, value_type=V.ENUM, values=["low", "high", "unknown"])
    assert lenient.decode(50) == "unknown"


def test_ranges_after_scale() -> None:
    c = codec(
        {"scale": 1, "ranges": [{"min": 2.5, "value": "high"}, {"value": "low"}]},
        raw_type="value",
        value_type=V.ENUM,
    )
    assert c.decode(25) == "high"
    assert c.decode(24) == "low"


# --------------------------------------------------------------------------- bad specs


@pytest.mark.parametrize(
    ("spec", "raw_type", "value_type", "key"),
    [
        ({"codec": "rgb_magic"}, "string", V.STRING, "codec"),
        ({"codec": "tuya_hsv12"}, "string", V.INT, "field"),
        ({"codec": "tuya_hsv12", "field": "x"}, "string", V.INT, "field"),
        ({"field": "h"}, "string", V.INT, "field"),
        ({"codec": "tuya_hsv12", "field": "h"}, "bool", V.INT, "codec"),
        ({"linear": {"raw": [0, 100]}}, "value", V.NUMBER, "linear"),
        ({"linear": {"raw": [0, 100, 200], "value": [0, 1]}}, "value", V.NUMBER, "linear"),
        ({"linear": {"raw": [5, 5], "value": [0, 1]}}, "value", V.NUMBER, "linear"),
        ({"linear": {"raw": ["a", "b"], "value": [0, 1]}}, "value", V.NUMBER, "linear"),
        ({"linear": [0, 100]}, "value", V.NUMBER, "linear"),
        (
            {"linear": {"raw": [0, 10], "value": [0, 1], "clamp": False}},
            "value",
            V.NUMBER,
            "linear",
        ),
        ({"scale": 1}, "bool", V.BOOL, "scale"),
        ({"scale": 1}, "value", V.BOOL, "scale"),
        ({"scale": -1}, "value", V.NUMBER, "scale"),
        ({"scale": 1.5}, "value", V.NUMBER, "scale"),
        ({"scale": True}, "value", V.NUMBER, "scale"),
        ({"factor": 0}, "value", V.NUMBER, "factor"),
        ({"factor": "2"}, "value", V.NUMBER, "factor"),
        ({"factor": 2}, "enum", V.ENUM, "factor"),
        ({"scale": 1, "factor": 2}, "value", V.NUMBER, "factor"),
        ({"scale": 1, "linear": {"raw": [0, 1], "value": [0, 2]}}, "value", V.NUMBER, "linear"),
        ({"bit": 64}, "bitmap", V.BOOL, "bit"),
        ({"bit": "x"}, "bitmap", V.BOOL, "bit"),
        ({"bit": 1}, "enum", V.BOOL, "bit"),
        ({"bit": 1, "bits": {0: "E1"}}, "bitmap", V.SET, "bits"),
        ({"bits": {0: "E1", 1: "E1"}}, "bitmap", V.SET, "bits"),
        ({"bits": {0: 5}}, "bitmap", V.SET, "bits"),
        ({"bits": []}, "bitmap", V.SET, "bits"),
        ({"bits": {0: "E1"}}, "bitmap", V.ENUM, "bits"),
        ({"invert": True}, "value", V.INT, "invert"),
        ({"invert": "yes"}, "bool", V.BOOL, "invert"),
        ({"unit": "furlong"}, "value", V.INT, "unit"),
        ({"to_unit": "s"}, "value", V.INT, "to_unit"),
        ({"unit": "min", "to_unit": "h"}, "value", V.INT, "to_unit"),  # property is in s
        ({"unit": "kWh"}, "value", V.INT, "unit"),  # property is in s
        ({"unit": "min"}, "enum", V.ENUM, "unit"),
        ({"codec": "mireds_to_kelvin"}, "string", V.INT, "codec"),
        ({"map": {}}, "enum", V.ENUM, "map"),
        ({"map": {"0": "off", 0: "low"}}, "enum", V.ENUM, "map"),
        ({"map": {"abc": "off"}}, "value", V.ENUM, "map"),
        ({"map": {"maybe": "x"}}, "bool", V.ENUM, "map"),
        ({"map": {"a": "x", "b": 1}}, "enum", V.ENUM, "map"),
        ({"map": {"a": "x"}}, "enum", V.BOOL, "map"),
        ({"map": {"a": [1]}}, "enum", V.SET, "map"),
        ({"map": {"a": "nope"}}, "enum", V.ENUM, "map"),  # not in values (below)
        ({"ranges": []}, "value", V.ENUM, "ranges"),
        ({"ranges": [{"min": "a", "value": "x"}]}, "value", V.ENUM, "ranges"),
        ({"ranges": [{"min": 1}]}, "value", V.ENUM, "ranges"),
        ({"ranges": [{"above": 1, "value": "x"}]}, "value", V.ENUM, "ranges"),
        ({"ranges": [{"value": "x"}]}, "enum", V.ENUM, "ranges"),
        ({}, "value", V.ENUM, "type"),
        ({}, "bool", V.INT, "type"),
        ({}, "nibble", V.INT, "type"),
        ({"dp": 20}, "value", V.INT, "dp"),
        ({"scale_factor": 60}, "value", V.INT, "scale_factor"),
    ],
)
def test_bad_specs_name_the_key(
    spec: dict[str, Any], raw_type: str, value_type: ValueType, key: str
) -> None:
    values = ["off", "low", "x", "E1"] if value_type in (V.ENUM, V.SET) else None
    with pytest.raises(CodecSpecError) as info:
        codec(spec, raw_type=raw_type, value_type=value_type, unit="s", values=values)
    assert info.value.key == key
    assert str(info.value).startswith(f"{key}: ")


def test_unknown_codec_message_lists_known_codecs() -> None:
    with pytest.raises(CodecSpecError, match="mireds_to_kelvin"):
        codec({"codec": "rgb_magic"}, raw_type="string", value_type=V.STRING)


def test_spec_error_is_a_value_error() -> None:
    assert issubclass(CodecSpecError, ValueError)
    assert issubclass(CodecError, ValueError)
    assert not issubclass(CodecSpecError, CodecError)


# --------------------------------------------------------------------------- structs

COOKTOP = [
    StructField("flags", 0, "u8"),
    StructField("left_level", 1, "u8"),
    StructField("right_level", 2, "u8"),
    StructField("left_timer_min", 3, "u16le"),
    StructField("right_timer_min", 5, "u16le"),
    StructField("battery", 7, "u8"),
    StructField("link", 8, "u8"),
]


def test_decode_cooktop_status_frame() -> None:
    fields = decode_struct(COOKTOP, bytes.fromhex("0105000a0000005801"))
    assert fields == {
        "flags": 1,
        "left_level": 5,
        "right_level": 0,
        "left_timer_min": 10,
        "right_timer_min": 0,
        "battery": 88,
        "link": 1,
    }


def test_struct_fields_through_codecs() -> None:
    fields = decode_struct(COOKTOP, bytes.fromhex("0505000a0000005801"))
    ignited = codec({"bit": 0}, raw_type=None, value_type=V.BOOL)
    protection = codec({"bit": 2, "map": {0: "ok", 1: "tripped"}}, raw_type=None, value_type=V.ENUM)
    timer = codec({"unit": "min"}, raw_type=None, value_type=V.INT, unit="s")
    assert ignited.decode(fields["flags"]) is True
    assert protection.decode(fields["flags"]) == "tripped"
    assert timer.decode(fields["left_timer_min"]) == 600


@pytest.mark.parametrize("hex_frame", ["", "01", "0105000a00000058"])
def test_short_frame(hex_frame: str) -> None:
    with pytest.raises(CodecError, match="too short"):
        decode_struct(COOKTOP, bytes.fromhex(hex_frame))


@pytest.mark.parametrize(
    ("type_", "data", "value"),
    [
        ("u8", "ff", 255),
        ("i8", "ff", -1),
        ("u16le", "3412", 0x1234),
        ("u16be", "1234", 0x1234),
        ("i16le", "feff", -2),
        ("i16be", "fffe", -2),
        ("u24le", "563412", 0x123456),
        ("u32le", "78563412", 0x12345678),
        ("u32be", "12345678", 0x12345678),
        ("i32le", "ffffffff", -1),
        ("i32be", "80000000", -(2**31)),
    ],
)
def test_struct_types_decode_and_encode(type_: str, data: str, value: int) -> None:
    raw = bytes.fromhex("aa" + data)  # offset 1, so offsets are honoured
    assert decode_struct([StructField("x", 1, type_)], raw) == {"x": value}
    assert encode_int(type_, value) == bytes.fromhex(data)
    assert STRUCT_TYPES[type_] == len(bytes.fromhex(data))


def test_struct_types_are_the_documented_set() -> None:
    documented = "u8 i8 u16le u16be i16le i16be u24le u32le u32be i32le i32be"
    assert set(STRUCT_TYPES) == set(documented.split(" "))


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        ("u8", 256),
        ("u8", -1),
        ("i8", 128),
        ("u16le", 65536),
        ("u24le", 1 << 24),
        ("u24le", -1),
        ("u8", 1.5),
        ("u8", "1"),
        ("u8", True),
    ],
)
def test_encode_int_rejects(type_: str, value: Any) -> None:
    with pytest.raises(CodecError):
        encode_int(type_, value)


def test_encode_int_accepts_integral_float_and_rejects_unknown_type() -> None:
    assert encode_int("u16le", 10.0) == b"\x0a\x00"
    with pytest.raises(CodecSpecError):
        encode_int("u64le", 1)


@pytest.mark.parametrize(
    ("args", "key"),
    [(("x", 0, "u12"), "struct"), (("x", -1, "u8"), "struct"), (("x", "0", "u8"), "struct")],
)
def test_struct_field_validation(args: tuple[Any, Any, Any], key: str) -> None:
    with pytest.raises(CodecSpecError) as info:
        StructField(*args)
    assert info.value.key == key


def test_struct_layout_duplicate_names_and_size() -> None:
    with pytest.raises(CodecSpecError):
        compile_struct([StructField("a", 0, "u8"), StructField("a", 1, "u8")])
    assert compile_struct(COOKTOP).size == 9
