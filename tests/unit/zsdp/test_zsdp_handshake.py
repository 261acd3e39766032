"""The handshake state machines without sockets: pairing, resume, versions, tampering."""

from __future__ import annotations

import os

import pytest

from integrations.zsdp.errors import ErrorCode, HandshakeError, ProtocolError
from integrations.zsdp.handshake import (
    DeviceHandshake,
    HubHandshake,
    LongTermKey,
    generate_pairing_code,
    normalize_pairing_code,
)
from integrations.zsdp.messages import Error, HelloReply, decode_message, encode_message

HUB = "hub-home"
DEV = "lamp-0001"


def hub(credential, **kw):
    return HubHandshake(hub_id=kw.pop("hub_id", HUB), device_id=DEV, credential=credential, **kw)


def device(code="31415926", keys=None, **kw):
    store = keys if keys is not None else {}
    return DeviceHandshake(device_id=DEV, lookup_key=store.get, pairing_code=code, **kw)


def run(h, d):
    reply = d.on_hello(h.hello())
    finish, hub_result = h.on_reply(reply)
    return hub_result, d.on_finish(finish)


def test_pairing_agrees_on_keys_and_long_term_key():
    hub_result, dev_result = run(hub("3141-5926"), device())
    assert hub_result.keys == dev_result.keys
    assert hub_result.keys.long_term_key is not None
    assert (dev_result.hub_id, dev_result.device_id) == (HUB, DEV)
    assert dev_result.heartbeat_ms == 15000


def test_wrong_code_fails_at_the_hub_before_anything_is_trusted():
    h, d = hub("31415927"), device("31415926")
    reply = d.on_hello(h.hello())
    with pytest.raises(HandshakeError) as err:
        h.on_reply(reply)
    assert err.value.code == ErrorCode.AUTH_FAILED


def test_a_hub_that_ignores_its_failure_is_refused_by_the_device():
    h, d = hub("31415927"), device("31415926")
    d.on_hello(h.hello())
    bogus = encode_message(decode_message(bytes.fromhex("03000000" + "08000020" + "00" * 32)))
    with pytest.raises(HandshakeError) as err:
        d.on_finish(bogus)
    assert err.value.code == ErrorCode.AUTH_FAILED


def test_resume_with_long_term_key_gives_fresh_keys_each_time():
    hub_result, _ = run(hub("31415926"), device())
    assert hub_result.keys.long_term_key is not None
    ltk = LongTermKey(DEV, HUB, hub_result.keys.long_term_key)
    stored = {HUB: ltk.key}
    first, first_dev = run(hub(ltk), device(code=None, keys=stored))
    second, _ = run(hub(ltk), device(code=None, keys=stored))
    assert first.keys == first_dev.keys
    assert first.keys.long_term_key is None
    assert first.keys.hub_to_device != second.keys.hub_to_device  # fresh nonces and DH


def test_resume_failures():
    ltk = LongTermKey(DEV, HUB, os.urandom(32))
    with pytest.raises(HandshakeError) as err:
        device(code=None).on_hello(hub(ltk).hello())
    assert err.value.code == ErrorCode.NOT_PAIRED
    h, d = hub(ltk), device(code=None, keys={HUB: os.urandom(32)})
    with pytest.raises(HandshakeError) as err:
        h.on_reply(d.on_hello(h.hello()))
    assert err.value.code == ErrorCode.AUTH_FAILED
    with pytest.raises(HandshakeError) as err:
        device(code=None).on_hello(hub("31415926").hello())
    assert err.value.code == ErrorCode.PAIRING_CLOSED


def test_replayed_handshake_is_useless():
    hub_result, _ = run(hub("31415926"), device())
    assert hub_result.keys.long_term_key is not None
    ltk = LongTermKey(DEV, HUB, hub_result.keys.long_term_key)
    stored = {HUB: ltk.key}
    h = hub(ltk)
    hello = h.hello()
    finish, _ = h.on_reply(device(code=None, keys=stored).on_hello(hello))
    replay = device(code=None, keys=stored)
    replay.on_hello(hello)  # the device answers with a fresh nonce and key...
    with pytest.raises(HandshakeError) as err:
        replay.on_finish(finish)  # ...so the recorded FINISH no longer verifies
    assert err.value.code == ErrorCode.AUTH_FAILED


@pytest.mark.parametrize(
    ("hub_version", "device_version", "expected"),
    [((1, 7), (1, 0), 0), ((1, 0), (1, 3), 0), ((1, 2), (1, 5), 2), ((1, 0), (1, 0), 0)],
)
def test_minor_version_negotiates_down(hub_version, device_version, expected):
    hub_result, dev_result = run(
        hub("31415926", version=hub_version), device(version=device_version)
    )
    assert hub_result.minor == dev_result.minor == expected


def test_unknown_major_is_refused():
    with pytest.raises(HandshakeError) as err:
        device().on_hello(hub("31415926", version=(2, 0)).hello())
    assert err.value.code == ErrorCode.VERSION_UNSUPPORTED
    # Even a HELLO whose rest is unreadable is refused by its major, not as garbage.
    with pytest.raises(HandshakeError):
        device().on_hello(bytes.fromhex("0100000002000199"))


def test_downgrade_by_a_man_in_the_middle_is_detected():
    h, d = hub("31415926", version=(1, 3)), device(version=(1, 3))
    hello = bytearray(h.hello())
    hello[5] = 0  # rewrite the offered minor 3 -> 0
    reply = d.on_hello(bytes(hello))
    with pytest.raises(HandshakeError) as err:
        h.on_reply(reply)
    assert err.value.code == ErrorCode.AUTH_FAILED


@pytest.mark.parametrize("offset", [12, 30, 60, 90])
def test_tampered_reply_is_detected(offset):
    h, d = hub("31415926"), device()
    reply = bytearray(d.on_hello(h.hello()))
    reply[offset] ^= 0x40
    with pytest.raises((HandshakeError, ProtocolError)):
        h.on_reply(bytes(reply))


def test_wrong_device_answering():
    h = hub("31415926")
    other = DeviceHandshake(device_id="lamp-0002", lookup_key={}.get, pairing_code="31415926")
    with pytest.raises(HandshakeError) as err:
        h.on_reply(other.on_hello(h.hello()))
    assert err.value.code == ErrorCode.WRONG_DEVICE


@pytest.mark.parametrize("low", ["00" * 32, "01" + "00" * 31])
def test_low_order_shares_are_refused(low):
    h, d = hub("31415926"), device()
    hello = bytearray(h.hello())
    share_at = hello.index(bytes.fromhex("03000020")) + 4
    hello[share_at : share_at + 32] = bytes.fromhex(low)
    with pytest.raises(HandshakeError) as err:
        d.on_hello(bytes(hello))
    assert err.value.code == ErrorCode.AUTH_FAILED
    h2, d2 = hub("31415926"), device()
    reply = decode_message(d2.on_hello(h2.hello()))
    assert isinstance(reply, HelloReply)
    forged = encode_message(HelloReply(1, 0, DEV, reply.nonce, bytes.fromhex(low), reply.confirm))
    with pytest.raises(HandshakeError):
        h2.on_reply(forged)


def test_device_error_is_reported_as_handshake_error():
    h = hub("31415926")
    h.hello()
    body = encode_message(Error(ErrorCode.RATE_LIMITED, message="later", retry_after_ms=500))
    with pytest.raises(HandshakeError) as err:
        h.on_reply(body)
    assert (err.value.code, err.value.retry_after_ms) == (ErrorCode.RATE_LIMITED, 500)


def test_pairing_codes():
    assert normalize_pairing_code("1234-5670") == "12345670"
    assert normalize_pairing_code(" 1234 5670 ") == "12345670"
    for bad in ("1234567", "123456789", "abcdefgh", "１２３４５６７８", "1234_5678"):
        with pytest.raises(ValueError):
            normalize_pairing_code(bad)
    codes = {generate_pairing_code() for _ in range(300)}
    assert len(codes) > 290
    for code in codes:
        assert len(code) == 8 and code.isdigit()
        assert len(set(code)) > 1 and code not in ("12345678", "87654321", "01234567")


def test_long_term_key_never_shows_its_secret():
    key = os.urandom(32)
    ltk = LongTermKey(DEV, HUB, key)
    assert key.hex() not in repr(ltk) and "hidden" in repr(ltk)
    with pytest.raises(ValueError):
        LongTermKey(DEV, HUB, b"short")
    with pytest.raises(ValueError):
        hub(ltk, hub_id="other-hub")  # a key belongs to one hub/device pair
