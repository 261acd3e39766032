"""CPace against the draft's test vectors, the key schedule and the AEAD channel."""

from __future__ import annotations

import os
import random

import pytest

from integrations.zsdp import pake
from integrations.zsdp.crypto import (
    SecureChannel,
    confirm_tag,
    derive_session_keys,
    verify_tag,
)
from integrations.zsdp.errors import ErrorCode, ProtocolError
from integrations.zsdp.messages import Ping, Set, decode_message, encode_message
from integrations.zsdp.wire import HEADER_LEN, decode_frame, dp_bool

h = bytes.fromhex

# draft-irtf-cfrg-cpace, appendix "Test vector for CPace using group X25519 and hash SHA-512".
CI = b"\x0bA_initiator\x0bB_responder"
SID = h("7e4b4791d6a8ef019b936c79fb7f2c57")
G = h("d04bf6d41f6a289632a2e929fa29bebd51092512a7829fdde7d314b62f05a73f")
YA_SCALAR = h("21b4f4bd9e64ed355c3eb676a28ebedaf6d8f17bdc365995b319097153044080")
YB_SCALAR = h("848b0779ff415f0af4ea14df9dd1d3c29ac41d836c7808896c4eba19c51ac40a")
YA = h("1d13c89278cdadd826f6d8d7f887701430f8380ddc17611cdd6dc989ce0c9f32")
YB = h("248cccf6d5cdc3646f0ad593f9e6cef4e69d4945f8372e623512ecea32185623")
K = h("5b067effbdc0b2a0e1d907b21ebb25cfedb96a852179a847c37e43ee71322c6b")
ISK_IR = h(
    "6e19b875f7a561d6b3ca3dbb9ef42ac55de3e717881018204b8922b4d5e53bb2"
    "aa82c300bea7b65d2b671da71922ddf6472301b79bc270adfa8bf413285f2263"
)


def test_cpace_string_helpers_match_the_draft():
    assert pake.prepend_len(b"") == h("00")
    assert pake.prepend_len(b"1234") == h("0431323334")
    assert pake.prepend_len(bytes(range(127)))[:1] == h("7f")
    assert pake.prepend_len(bytes(range(128)))[:2] == h("8001")
    assert pake.lv_cat(b"1234", b"5", b"", b"678") == h("043132333401350003363738")
    gen = pake.generator_string(pake.DSI, b"Password", CI, SID, 128)
    assert len(gen) == 170
    assert gen.startswith(h("0843506163653235350850617373776f72646d00"))


def test_cpace_x25519_draft_vectors():
    assert pake.calculate_generator(b"Password", CI, SID) == G
    assert pake.scalar_mult_vfy(YA_SCALAR, G) == YA
    assert pake.scalar_mult_vfy(YB_SCALAR, G) == YB
    assert pake.scalar_mult_vfy(YA_SCALAR, YB) == K
    assert pake.scalar_mult_vfy(YB_SCALAR, YA) == K
    assert pake.isk(SID, K, YA, b"ADa", YB, b"ADb") == ISK_IR


LOW_ORDER = {
    "u0": "0000000000000000000000000000000000000000000000000000000000000000",
    "u1": "0100000000000000000000000000000000000000000000000000000000000000",
    "u2": "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "u3": "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "u4": "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "u5": "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "u7": "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
}
NON_CANONICAL = {  # bit 255 set: must be masked, not rejected (draft: q6, q8, q9, qa, qb)
    "daffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff": (
        "d8e2c776bbacd510d09fd9278b7edcd25fc5ae9adfba3b6e040e8d3b71b21806"
    ),
    "dbffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff": (
        "c85c655ebe8be44ba9c0ffde69f2fe10194458d137f09bbff725ce58803cdb38"
    ),
    "d9ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff": (
        "db64dafa9b8fdd136914e61461935fe92aa372cb056314e1231bc4ec12417456"
    ),
    "cdeb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880": (
        "e062dcd5376d58297be2618c7498f55baa07d7e03184e8aada20bca28888bf7a"
    ),
    "4c9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7": (
        "993c6ad11c4c29da9a56f7691fd0ff8d732e49de6250b6c2e80003ff4629a175"
    ),
}
S = h("af46e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449aff")


@pytest.mark.parametrize("name", LOW_ORDER)
def test_low_order_points_give_the_identity(name):
    assert pake.scalar_mult_vfy(S, h(LOW_ORDER[name])) == pake.IDENTITY


@pytest.mark.parametrize("u", NON_CANONICAL)
def test_non_canonical_points_are_masked(u):
    assert pake.scalar_mult_vfy(S, h(u)) == h(NON_CANONICAL[u])


def test_elligator2_lands_on_curve25519():
    rnd = random.Random(7)
    for _ in range(200):
        u = pake.elligator2(rnd.getrandbits(255))
        rhs = (u**3 + pake.A * u * u + u) % pake.P  # v^2 = u^3 + A u^2 + u
        assert pow(rhs, (pake.P - 1) // 2, pake.P) in (0, 1)
    # Different codes, identities or sessions give different generators.
    g1 = pake.calculate_generator(b"12345670", b"ci", b"sid")
    assert g1 != pake.calculate_generator(b"12345671", b"ci", b"sid")
    assert g1 != pake.calculate_generator(b"12345670", b"ci2", b"sid")
    assert g1 != pake.calculate_generator(b"12345670", b"ci", b"sid2")


def test_key_schedule_separates_roles_and_transcripts():
    ikm = os.urandom(64)
    keys = derive_session_keys(ikm, b"t" * 32, pairing=True)
    parts = [
        keys.hub_to_device,
        keys.device_to_hub,
        keys.hub_confirm,
        keys.device_confirm,
        keys.long_term_key,
    ]
    assert len(set(parts)) == 5
    assert all(p is not None and len(p) == 32 for p in parts)
    other = derive_session_keys(ikm, b"u" * 32, pairing=True)
    assert other.hub_to_device != keys.hub_to_device
    assert derive_session_keys(ikm, b"t" * 32, pairing=False).long_term_key is None
    tag = confirm_tag(keys.hub_confirm, b"t" * 32)
    assert verify_tag(keys.hub_confirm, b"t" * 32, tag)
    assert not verify_tag(keys.device_confirm, b"t" * 32, tag)
    assert keys.hub_to_device.hex() not in repr(keys)  # keys stay out of logs


def pair_of_channels() -> tuple[SecureChannel, SecureChannel]:
    h2d, d2h = os.urandom(32), os.urandom(32)
    return SecureChannel(h2d, d2h), SecureChannel(d2h, h2d)


def open_frame(channel: SecureChannel, raw: bytes) -> bytes:
    frame = decode_frame(raw)
    return channel.open(raw[:HEADER_LEN], frame.payload)


def test_channel_round_trip_and_counters():
    hub, device = pair_of_channels()
    for n in range(5):
        raw = hub.seal(encode_message(Ping(msg_id=n + 1)))
        assert raw[6:14] == n.to_bytes(8, "big")  # the counter is on the wire, in clear
        assert decode_message(open_frame(device, raw)) == Ping(msg_id=n + 1)
    assert hub.send_counter == device.recv_counter == 5


def test_replayed_reordered_or_skipped_frames_are_refused():
    hub, device = pair_of_channels()
    f0, f1, f2 = (hub.seal(encode_message(Ping(msg_id=i + 1))) for i in range(3))
    with pytest.raises(ProtocolError) as err:
        open_frame(device, f1)  # skips f0
    assert err.value.code == ErrorCode.REPLAY
    open_frame(device, f0)
    with pytest.raises(ProtocolError) as err:
        open_frame(device, f0)  # replay
    assert err.value.code == ErrorCode.REPLAY
    open_frame(device, f1)
    open_frame(device, f2)


def test_every_single_bit_flip_is_refused():
    hub, device = pair_of_channels()
    raw = hub.seal(encode_message(Set({20: dp_bool(True)}, msg_id=1)))
    for bit in range(len(raw) * 8):
        tampered = bytearray(raw)
        tampered[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(ProtocolError):
            open_frame(device, bytes(tampered))
        assert device.recv_counter == 0  # a refused frame does not advance the counter
    open_frame(device, raw)


def test_reflected_frame_is_refused():
    hub, _device = pair_of_channels()
    raw = hub.seal(encode_message(Ping(msg_id=1)))
    with pytest.raises(ProtocolError) as err:
        open_frame(hub, raw)  # the hub's own frame sent back to it: wrong direction key
    assert err.value.code == ErrorCode.DECRYPT_FAILED


def test_oversized_body_cannot_be_sealed():
    hub, _ = pair_of_channels()
    with pytest.raises(ProtocolError) as err:
        hub.seal(bytes(4096 - 24 + 1))
    assert err.value.code == ErrorCode.FRAME_TOO_LARGE
    assert len(hub.seal(bytes(4096 - 24))) == 6 + 4096
