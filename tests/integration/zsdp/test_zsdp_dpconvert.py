"""The converter between a zsdp binding's raw values and typed ZS-DP values, and the stored key."""

from __future__ import annotations

import pytest

from hub.capabilities.catalogue import Catalogue, default_catalogue_dir
from hub.config import repo_root
from hub.profiles.loader import load_profile_dirs
from integrations.zsdp import LongTermKey
from integrations.zsdp.dpconvert import (
    ConversionError,
    dp_types_from_binding,
    from_wire,
    to_wire,
    values_from_wire,
    values_to_wire,
)
from integrations.zsdp.integration import parse_address, zsdp_hub_id
from integrations.zsdp.keystore import dump_key, load_key
from integrations.zsdp.link import Backoff
from integrations.zsdp.wire import (
    DPType,
    DPValue,
    dp_bitmap,
    dp_bool,
    dp_enum,
    dp_raw,
    dp_string,
    dp_value,
)


@pytest.mark.parametrize(
    ("value", "declared", "raw"),
    [
        (dp_bool(True), DPType.BOOL, True),
        (dp_value(-5), DPType.VALUE, -5),
        (dp_bitmap(0b101), DPType.BITMAP, 5),
        (dp_enum("keep_warm"), DPType.ENUM, "keep_warm"),
        (dp_string("你好"), DPType.STRING, "你好"),
        (dp_raw(b"\x00\xff"), DPType.RAW, "00ff"),
        (dp_string("white"), DPType.ENUM, "white"),  # text types stand in for each other
        (dp_enum("abc"), DPType.STRING, "abc"),
        (dp_value(7), None, 7),  # DP without a declared type: the wire decides
    ],
)
def test_from_wire(value: DPValue, declared: DPType | None, raw: object) -> None:
    out = from_wire(3, value, declared)
    assert out == raw
    assert type(out) is type(raw)


@pytest.mark.parametrize(
    ("value", "declared"),
    [
        (dp_bool(True), DPType.VALUE),
        (dp_value(1), DPType.BOOL),
        (dp_value(1), DPType.BITMAP),
        (dp_enum("x"), DPType.RAW),
        (dp_raw(b""), DPType.STRING),
    ],
)
def test_from_wire_refuses_a_type_the_profile_does_not_declare(
    value: DPValue, declared: DPType
) -> None:
    with pytest.raises(ConversionError, match="DP 9 arrived as"):
        from_wire(9, value, declared)


@pytest.mark.parametrize(
    ("raw", "declared", "expected"),
    [
        (True, DPType.BOOL, dp_bool(True)),
        (1, DPType.BOOL, dp_bool(True)),
        (500, DPType.VALUE, dp_value(500)),
        (500.0, DPType.VALUE, dp_value(500)),
        (6, DPType.BITMAP, dp_bitmap(6)),
        ("scene_1", DPType.ENUM, dp_enum("scene_1")),
        (3, DPType.ENUM, dp_enum("3")),
        ("晚安", DPType.STRING, dp_string("晚安")),
        ("0aff", DPType.RAW, dp_raw(b"\x0a\xff")),
        (b"\x01", DPType.RAW, dp_raw(b"\x01")),
        (True, None, dp_bool(True)),
        (26, None, dp_value(26)),
        ("close", None, dp_enum("close")),
        ("two words", None, dp_string("two words")),
        (b"\x00", None, dp_raw(b"\x00")),
    ],
)
def test_to_wire(raw: object, declared: DPType | None, expected: DPValue) -> None:
    assert to_wire(4, raw, declared) == expected


@pytest.mark.parametrize(
    ("raw", "declared"),
    [
        ("yes", DPType.BOOL),
        (2, DPType.BOOL),
        (1.5, DPType.VALUE),
        (True, DPType.VALUE),
        (2**31, DPType.VALUE),
        (-1, DPType.BITMAP),
        ("bad enum!", DPType.ENUM),
        ("zz", DPType.RAW),
        (None, None),
        (1.5, None),
    ],
)
def test_to_wire_refuses_what_does_not_fit(raw: object, declared: DPType | None) -> None:
    with pytest.raises(ConversionError, match="DP 4"):
        to_wire(4, raw, declared)


def test_maps_keep_good_values_and_name_the_bad_ones() -> None:
    raw, problems = values_from_wire(
        {20: dp_bool(True), 22: dp_bool(False), 99: dp_value(1)},
        {20: DPType.BOOL, 22: DPType.VALUE},
    )
    assert raw == {20: True, 99: 1}
    assert problems == ["DP 22 arrived as bool, the profile declares value"]
    values = values_to_wire([(20, True), (22, 500), (20, False)], {20: DPType.BOOL})
    assert values == {20: dp_bool(False), 22: dp_value(500)}
    with pytest.raises(ConversionError, match="outside 1..255"):
        values_to_wire([(300, True)], {})


def test_dp_types_come_from_the_profile_binding() -> None:
    catalogue, _ = Catalogue.load_dir(default_catalogue_dir())
    library = load_profile_dirs([repo_root() / "device_profiles"], catalogue)
    gas = library.get("cn.zs.demo-safety.jt-rq-v1")
    assert gas is not None
    types = dp_types_from_binding(gas.model.bindings.zsdp)
    assert types[1] is DPType.ENUM
    assert types[2] is DPType.VALUE
    assert types[11] is DPType.BITMAP
    assert types[9] is DPType.ENUM  # declared only by an event rule
    assert 103 not in types  # a write-only channel: typed from the written value
    assert dp_types_from_binding(None) == {}


def test_long_term_key_round_trip_and_bad_texts() -> None:
    ltk = LongTermKey("lamp-0001", "zshub-0a1b2c", bytes(range(32)))
    text = dump_key(ltk)
    assert bytes(range(32)).hex() in text
    assert load_key(text) == ltk
    for bad in ("", "[]", '{"v": 2}', '{"v":1,"device_id":"a","hub_id":"b","key":"zz"}'):
        with pytest.raises(ValueError, match="stored ZS-DP key"):
            load_key(bad)
    with pytest.raises(ValueError, match="32 bytes"):
        load_key('{"v":1,"device_id":"a","hub_id":"b","key":"00"}')


def test_small_helpers() -> None:
    assert parse_address("10.77.0.1:6690") == ("10.77.0.1", 6690)
    assert parse_address("[fe80::1]:6690") == ("fe80::1", 6690)
    for bad in (None, "", "10.0.0.1", "10.0.0.1:x", "10.0.0.1:0", ":80"):
        assert parse_address(bad) is None
    assert zsdp_hub_id("zshub-0a1b") == "zshub-0a1b"
    assert zsdp_hub_id("6f1c2a9e-1b2c-4d5e-8f90-0123456789ab") == "6f1c2a9e-1b2c-4d5e-8f90-01234567"
    assert zsdp_hub_id("厨房").startswith("zshub-")
    backoff = Backoff(0.5, 30.0, rng=lambda: 1.0)
    assert [backoff.next() for _ in range(9)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    backoff.reset()
    low = Backoff(0.5, 30.0, rng=lambda: 0.0)
    assert low.next() == 0.25
    assert backoff.next() == 0.5
