"""The ``_zsdp._tcp`` TXT record codec (docs/zsdp.md §3)."""

from __future__ import annotations

import pytest

from integrations.zsdp import SERVICE_TYPE, Advertisement, ErrorCode, ProtocolError
from integrations.zsdp.discovery import encoded_txt_size

LAMP = Advertisement("lamp-0001", 0x1A01, 0x0101, "1.0.0", (1, 0), True, "XDD-CCT-480")


def test_round_trip_and_canonical_form():
    txt = LAMP.to_txt()
    assert txt == {
        "id": "lamp-0001",
        "vid": "0x1A01",
        "pid": "0x0101",
        "fw": "1.0.0",
        "dpv": "1.0",
        "pair": "1",
        "md": "XDD-CCT-480",
    }
    assert encoded_txt_size(txt) < 100
    as_zeroconf = {k.encode(): v.encode() for k, v in txt.items()}
    assert Advertisement.from_txt(as_zeroconf) == LAMP
    assert Advertisement.from_txt(txt) == LAMP
    assert SERVICE_TYPE == "_zsdp._tcp.local."


def test_parsing_is_lenient_where_rfc_6763_says_so():
    props = [
        (b"ID", b"lamp-0001"),  # keys are case-insensitive
        (b"id", b"ignored-second"),  # only the first occurrence counts
        (b"vid", b"0x1a01"),  # hex digits in either case
        (b"pid", b"0x0101"),
        (b"dpv", b"1.3"),
        (b"future", b"whatever"),  # unknown keys are ignored
        (b"flag", None),  # a boolean attribute without '='
    ]
    ad = Advertisement.from_txt(props)
    assert (ad.device_id, ad.vid, ad.version) == ("lamp-0001", 0x1A01, (1, 3))
    assert ad.fw == "" and ad.model is None
    assert not ad.pairing_open  # a missing "pair" key means closed


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"id": None}, ErrorCode.MALFORMED),
        ({"dpv": None}, ErrorCode.MALFORMED),
        ({"vid": "6657"}, ErrorCode.BAD_VALUE),
        ({"vid": "0x1A0"}, ErrorCode.BAD_VALUE),
        ({"pid": "0xGGGG"}, ErrorCode.BAD_VALUE),
        ({"dpv": "1"}, ErrorCode.BAD_VALUE),
        ({"dpv": "1.256"}, ErrorCode.BAD_VALUE),
        ({"id": "has space"}, ErrorCode.BAD_VALUE),
        ({"fw": "x" * 33}, ErrorCode.BAD_VALUE),
        ({"md": "灯" * 30}, ErrorCode.BAD_VALUE),
    ],
)
def test_bad_records(change, code):
    txt: dict[str, str] = dict(LAMP.to_txt())
    for key, value in change.items():
        if value is None:
            del txt[key]
        else:
            txt[key] = value
    with pytest.raises(ProtocolError) as err:
        Advertisement.from_txt(txt)
    assert err.value.code == code


def test_non_utf8_is_a_protocol_error():
    with pytest.raises(ProtocolError):
        Advertisement.from_txt({b"id": b"\xff\xfe", b"vid": b"0x1A01", b"pid": b"0x0001"})


def test_instance_name_fits_a_dns_label():
    long_model = Advertisement("lamp-0001", 1, 2, "1", (1, 0), False, "吸顶灯" * 10)
    name = long_model.instance_name()
    assert len(name.encode()) <= 63
    assert LAMP.instance_name() == "XDD-CCT-480 lamp-0001"
    with pytest.raises(ValueError):
        Advertisement("bad id", 1, 2, "1", (1, 0), False).to_txt()
