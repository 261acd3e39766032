"""BTHome v2 parsing and the per-device packet checks (integrations/ble/bthome*.py)."""

from __future__ import annotations

import random

import pytest
from bthome_ble.const import MEAS_TYPES

from integrations.ble.advertisement import AdvertisementError, build_sighting
from integrations.ble.bthome import (
    BthomeError,
    BthomeKeyError,
    encrypt_packet,
    parse_bindkey,
    parse_service_data,
)
from integrations.ble.bthome_device import BthomeReceiver, Verdict
from integrations.ble.bthome_objects import OBJECTS, VARIABLE
from integrations.ble.virtual import encode_bthome

KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
MAC = "A4:C1:38:00:00:01"


def test_object_table_agrees_with_the_reference_parser() -> None:
    assert set(OBJECTS) == set(MEAS_TYPES)
    for oid, ref in MEAS_TYPES.items():
        spec = OBJECTS[oid]
        if ref.data_format in ("raw", "string", "command"):
            assert spec.length == VARIABLE, hex(oid)
            continue
        assert spec.length == ref.data_length, hex(oid)
        assert spec.signed == (ref.data_format == "signed_integer"), hex(oid)
        assert spec.factor == pytest.approx(ref.factor), hex(oid)


def test_plain_packet_values_with_factors() -> None:
    data = encode_bthome({0x01: 93, 0x02: -3.25, 0x2D: 1, 0x3A: 1}, packet_id=7)
    packet = parse_service_data(data, MAC)
    assert not packet.encrypted
    assert packet.packet_id == 7
    assert packet.objects == {0x00: 7, 0x01: 93, 0x02: -3.25, 0x2D: 1, 0x3A: 1}


def test_encrypted_packets_both_encoders_agree() -> None:
    # B1's encoder (integrations/ble/virtual) and ours were written apart: each reads the other.
    theirs = encode_bthome({0x01: 50, 0x2D: 1}, packet_id=3, bindkey=KEY, mac=MAC, counter=42)
    packet = parse_service_data(theirs, MAC, KEY)
    assert packet.encrypted and packet.counter == 42
    assert packet.objects == {0x00: 3, 0x01: 50, 0x2D: 1}
    ours = encrypt_packet(bytes([0x01, 50, 0x2D, 1]), MAC, KEY, 43)
    assert parse_service_data(ours, MAC, KEY).objects == {0x01: 50, 0x2D: 1}


def test_wrong_key_missing_key_and_tampering() -> None:
    data = encrypt_packet(bytes([0x2D, 1]), MAC, KEY, 1)
    with pytest.raises(BthomeKeyError):
        parse_service_data(data, MAC, bytes(16))
    with pytest.raises(BthomeKeyError):
        parse_service_data(data, MAC, None)
    with pytest.raises(BthomeKeyError):
        parse_service_data(data[:-1] + bytes([data[-1] ^ 1]), MAC, KEY)
    with pytest.raises(BthomeKeyError):  # the nonce carries the address
        parse_service_data(data, "A4:C1:38:00:00:02", KEY)


def test_bindkey_text() -> None:
    assert parse_bindkey(KEY.hex().upper()) == KEY
    assert parse_bindkey(KEY.hex(":")) == KEY
    for bad in ("", "abc", "zz" * 16, KEY.hex() + "00"):
        with pytest.raises(ValueError):
            parse_bindkey(bad)


def test_receiver_repeats_replays_downgrade_and_restart() -> None:
    receiver = BthomeReceiver(KEY, require_encryption=True)

    def packet(counter: int, open_: int) -> bytes:
        return encrypt_packet(bytes([0x2D, open_]), MAC, KEY, counter)

    assert receiver.receive(packet(500, 0), MAC, 0.0).verdict is Verdict.ACCEPTED
    assert receiver.receive(packet(500, 0), MAC, 0.1).verdict is Verdict.REPEAT
    assert receiver.receive(packet(400, 1), MAC, 0.2).verdict is Verdict.REPLAY
    assert receiver.receive(packet(501, 1), MAC, 0.3).verdict is Verdict.ACCEPTED
    plain = encode_bthome({0x2D: 0}, packet_id=9)
    assert receiver.receive(plain, MAC, 0.4).verdict is Verdict.PLAINTEXT_REFUSED
    assert receiver.receive(packet(3, 0), MAC, 0.5).verdict is Verdict.ACCEPTED  # restarted
    assert receiver.counter == 3
    assert receiver.counts == {"accepted": 3, "repeat": 1, "replay": 1, "plaintext_refused": 1}


def test_plain_receiver_drops_repeated_packet_ids() -> None:
    receiver = BthomeReceiver(None, require_encryption=False)
    first = encode_bthome({0x01: 1}, packet_id=10)
    assert receiver.receive(first, MAC, 0.0).accepted
    assert receiver.receive(first, MAC, 1.0).verdict is Verdict.REPEAT
    assert (
        receiver.receive(encode_bthome({0x01: 1}, packet_id=9), MAC, 1.5).verdict is Verdict.REPEAT
    )
    assert receiver.receive(encode_bthome({0x01: 2}, packet_id=11), MAC, 2.0).accepted
    assert receiver.receive(first, MAC, 10.0).accepted  # long after: a new run of ids


def test_fuzzed_service_data_only_raises_bthome_errors() -> None:
    rng = random.Random(20261122)
    seeds = [
        encode_bthome({0x01: 93, 0x02: 21.5, 0x53: "hi", 0x54: b"\x01\x02"}, packet_id=1),
        encrypt_packet(bytes([0x01, 50, 0x2D, 1]), MAC, KEY, 7),
    ]
    dropped = decoded = 0
    for i in range(5000):
        base = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            op = rng.random()
            if op < 0.4 and base:
                base[rng.randrange(len(base))] = rng.randrange(256)
            elif op < 0.7:
                del base[rng.randrange(len(base) + 1) :]
            else:
                base += bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        if i % 10 == 0:
            base = bytearray(rng.randbytes(rng.randint(0, 40)))
        try:
            packet = parse_service_data(bytes(base), MAC, KEY if i % 2 else None)
        except BthomeError:
            dropped += 1
            continue
        decoded += 1
        assert isinstance(packet.objects, dict)
    assert dropped and decoded  # the fuzz reached both outcomes


def test_fuzzed_advertisement_fields_only_raise_advertisement_errors() -> None:
    rng = random.Random(7)
    junk: list[object] = [None, 1, -5, 2**40, "x" * 300, b"\x00" * 300, 3.5, [], {}, {"a": 1}, True]
    for _ in range(3000):
        kwargs = {
            "local_name": rng.choice([*junk, "ZS-MC-1", "\x00\x00"]),
            "manufacturer_data": rng.choice([*junk, {0xFFFF: b"ZS"}, {70000: b""}, {1: "x"}]),
            "service_data": rng.choice([*junk, {"fcd2": b"@"}, {"zz": b""}, {0xFCD2: 5}]),
            "service_uuids": rng.choice([*junk, ["fcd2"], "fcd2", [None]]),
            "rssi": rng.choice([*junk, -60]),
        }
        address = rng.choice(["A4:C1:38:00:00:01", "nope", None, 5, "a4:c1:38:00:00:01"])
        try:
            sighting = build_sighting(address, **kwargs)
        except AdvertisementError:
            continue
        assert sighting.address == "A4:C1:38:00:00:01"
