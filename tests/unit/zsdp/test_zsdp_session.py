"""Hub and device over real loopback TCP: pairing, commands, pushes, attacks, liveness."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from zsdp_helpers import DEVICE_ID, HUB_ID, flip_byte

from integrations.zsdp import (
    ConnectionClosedError,
    DeviceInfo,
    ErrorCode,
    Event,
    HandshakeError,
    LongTermKey,
    RemoteError,
    Report,
    RequestTimeoutError,
    dp_bool,
    dp_enum,
    dp_raw,
    dp_string,
    dp_value,
)
from integrations.zsdp.crypto import SecureChannel
from integrations.zsdp.handshake import HubHandshake
from integrations.zsdp.messages import (
    Error,
    Finish,
    Set,
    UnknownMessage,
    decode_message,
    encode_message,
)
from integrations.zsdp.session import read_frame
from integrations.zsdp.wire import FrameKind, encode_frame, encode_item

# Set up before the endpoint fixtures, so it is torn down after them.
pytestmark = pytest.mark.usefixtures("loop_hygiene")


def wrong(code: str) -> str:
    return code[:-1] + str((int(code[-1]) + 1) % 10)


async def wait_until(predicate, timeout: float = 2.0) -> None:
    """Poll state owned by another component (it offers no event to wait on)."""
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("condition not reached")


def warnings_about(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelname == "WARNING" and text in r.getMessage()
    ]


# -- pairing and the happy path ------------------------------------------------------------------


async def test_pair_then_set_get_report(device, table, connect, code):
    assert device.pairing_open
    conn = await connect(device.port, code)
    assert conn.paired
    assert conn.long_term_key.device_id == DEVICE_ID
    assert conn.long_term_key.hub_id == HUB_ID
    assert conn.device == DeviceInfo(DEVICE_ID, 0x1A01, 0x0101, "1.0.0", "XDD-CCT-480")
    assert conn.protocol_version == (1, 0)
    assert device.connected_hubs == [HUB_ID]
    assert not device.pairing_open  # closed after a successful pairing

    updates = conn.updates()
    await conn.set({20: dp_bool(True), 22: dp_value(500)})
    assert table.dps[20] == dp_bool(True) and table.dps[22] == dp_value(500)
    report = await asyncio.wait_for(anext(updates), 2)
    assert report == Report({20: dp_bool(True), 22: dp_value(500)})

    assert await conn.get() == table.dps
    assert await conn.get([22, 101]) == {22: dp_value(500), 101: dp_value(235)}
    assert table.calls[-1] == ("get", HUB_ID, (22, 101))


async def test_set_is_validated_before_anything_is_applied(paired, table):
    with pytest.raises(RemoteError) as err:
        await paired.set({99: dp_bool(True)})
    assert (err.value.code, err.value.dp) == (ErrorCode.UNKNOWN_DP, 99)
    with pytest.raises(RemoteError) as err:
        await paired.set({20: dp_value(1)})
    assert (err.value.code, err.value.dp) == (ErrorCode.BAD_TYPE, 20)
    with pytest.raises(RemoteError) as err:
        await paired.set({20: dp_bool(True), 101: dp_value(1)})
    assert (err.value.code, err.value.dp) == (ErrorCode.READ_ONLY, 101)
    assert table.dps[20] == dp_bool(False)
    with pytest.raises(RemoteError) as err:
        await paired.get([42])
    assert err.value.code == ErrorCode.UNKNOWN_DP
    assert await paired.get([20]) == {20: dp_bool(False)}  # the session survives refusals


async def test_invoke_and_events(device, connect, code):
    seen = []
    conn = await connect(device.port, code, on_update=seen.append)
    args = {1: dp_string("扫码"), 2: dp_raw(bytes(range(50))), 3: dp_enum("fast")}
    assert await conn.invoke(1, args) == args
    with pytest.raises(RemoteError) as err:
        await conn.invoke(9)
    assert err.value.code == ErrorCode.UNKNOWN_ACTION

    acks = await device.emit_event(7, {1: dp_enum("fingerprint"), 2: dp_value(3)})
    assert acks == 1
    event = await asyncio.wait_for(anext(conn.updates()), 2)
    assert isinstance(event, Event)
    assert (event.event, event.fields) == (7, {1: dp_enum("fingerprint"), 2: dp_value(3)})
    assert seen == [event]


async def test_reconnect_with_the_stored_key_and_no_code(device, table, connect, code):
    first = await connect(device.port, code)
    ltk = first.long_term_key
    await first.close()
    assert first.closed.result() is None
    await wait_until(lambda: not device.connected_hubs)
    stored = LongTermKey(ltk.device_id, ltk.hub_id, bytes(ltk.key))  # as if read from storage
    again = await connect(device.port, stored)
    assert not again.paired
    assert again.long_term_key == stored
    await again.set({21: dp_enum("warm")})
    assert table.dps[21] == dp_enum("warm")
    # The window closed with the first pairing: the code alone no longer gets in.
    with pytest.raises(HandshakeError) as err:
        await connect(device.port, code, hub_id="hub-other")
    assert err.value.code == ErrorCode.PAIRING_CLOSED


async def test_two_hubs_each_with_their_own_key(make_device, connect, code):
    device = await make_device(pairing_open=True, close_pairing_on_success=False)
    a = await connect(device.port, code, hub_id="hub-a")
    b = await connect(device.port, code, hub_id="hub-b")
    assert a.long_term_key.key != b.long_term_key.key
    assert sorted(device.connected_hubs) == ["hub-a", "hub-b"]
    assert await device.report({20: dp_bool(True)}) == 2
    with pytest.raises(HandshakeError) as err:  # hub-b's key is not hub-a's
        await connect(device.port, LongTermKey(DEVICE_ID, "hub-a", b.long_term_key.key))
    assert err.value.code == ErrorCode.AUTH_FAILED


# -- refusals --------------------------------------------------------------------------------------


async def test_wrong_code_is_rejected_and_nothing_runs(device, table, connect, code, caplog):
    with pytest.raises(HandshakeError) as err:
        await connect(device.port, wrong(code))
    assert err.value.code == ErrorCode.AUTH_FAILED
    assert table.calls == []
    assert device.connected_hubs == []
    await wait_until(lambda: bool(warnings_about(caplog, "rejected")))
    assert warnings_about(caplog, "wrong pairing code or tampered handshake")
    conn = await connect(device.port, code)  # the right code still works afterwards
    assert conn.paired


async def test_attacker_who_ignores_the_failed_check_still_cannot_command(device, table, code):
    hs = HubHandshake(hub_id="mallory", device_id=DEVICE_ID, credential=wrong(code))
    reader, writer = await asyncio.open_connection("127.0.0.1", device.port)
    try:
        writer.write(encode_frame(FrameKind.HANDSHAKE, hs.hello()))
        await read_frame(reader)  # HELLO_REPLY; its confirm would not verify with our code
        writer.write(encode_frame(FrameKind.HANDSHAKE, encode_message(Finish(os.urandom(32)))))
        refusal = decode_message((await read_frame(reader)).payload)
        assert isinstance(refusal, Error) and refusal.code == ErrorCode.AUTH_FAILED
        guess = SecureChannel(os.urandom(32), os.urandom(32))
        writer.write(guess.seal(encode_message(Set({20: dp_bool(True)}, msg_id=1))))
        assert await asyncio.wait_for(reader.read(), 2) == b""  # closed, nothing more said
    finally:
        writer.close()
    assert table.calls == []


async def test_unpaired_hub_is_rejected(paired, device, table, connect):
    stranger = LongTermKey(DEVICE_ID, "stranger", os.urandom(32))
    with pytest.raises(HandshakeError) as err:
        await connect(device.port, stranger)
    assert err.value.code == ErrorCode.NOT_PAIRED
    forged = LongTermKey(DEVICE_ID, HUB_ID, os.urandom(32))
    with pytest.raises(HandshakeError) as err:
        await connect(device.port, forged)
    assert err.value.code == ErrorCode.AUTH_FAILED
    assert table.commands == []


async def test_encrypted_frame_without_handshake_is_refused(device, table, caplog):
    reader, writer = await asyncio.open_connection("127.0.0.1", device.port)
    try:
        channel = SecureChannel(os.urandom(32), os.urandom(32))
        writer.write(channel.seal(encode_message(Set({20: dp_bool(True)}, msg_id=1))))
        refusal = decode_message((await read_frame(reader)).payload)
        assert isinstance(refusal, Error) and refusal.code == ErrorCode.NOT_PAIRED
        assert await asyncio.wait_for(reader.read(), 2) == b""
    finally:
        writer.close()
    assert table.calls == []
    assert warnings_about(caplog, "encrypted frame before handshake")


async def test_pairing_is_rate_limited(make_device, table, connect, code):
    device = await make_device(max_pairing_failures=3, pairing_lockout=30.0)
    for _ in range(3):
        with pytest.raises(HandshakeError) as err:
            await connect(device.port, wrong(code))
        assert err.value.code == ErrorCode.AUTH_FAILED
    with pytest.raises(HandshakeError) as err:
        await connect(device.port, code)  # even the right code waits out the lockout
    assert err.value.code == ErrorCode.RATE_LIMITED
    assert err.value.retry_after_ms is not None and err.value.retry_after_ms > 25_000
    assert table.calls == []


async def test_one_pairing_at_a_time_and_abandoned_attempts_count(make_device, connect, code):
    device = await make_device(max_pairing_failures=100)
    hs = HubHandshake(hub_id="slow-hub", device_id=DEVICE_ID, credential=code)
    reader, writer = await asyncio.open_connection("127.0.0.1", device.port)
    writer.write(encode_frame(FrameKind.HANDSHAKE, hs.hello()))
    await read_frame(reader)  # the device is now waiting for our FINISH
    with pytest.raises(HandshakeError) as err:
        await connect(device.port, code)
    assert err.value.code == ErrorCode.BUSY
    writer.close()  # hang up without FINISH
    await wait_until(lambda: not device._pairing_busy)
    assert device._failures == 1  # the abandoned attempt cost a guess
    assert (await connect(device.port, code)).paired
    assert device._failures == 0


async def test_pairing_window(make_device, connect, code):
    changes = []
    device = await make_device(pairing_open=False, on_pairing_change=changes.append)
    with pytest.raises(HandshakeError) as err:
        await connect(device.port, code)
    assert err.value.code == ErrorCode.PAIRING_CLOSED
    device.open_pairing()
    assert (await connect(device.port, code)).paired
    assert changes == [True, False]


async def test_pairing_window_closes_by_itself(make_device, connect, code):
    changes = []
    device = await make_device(pairing_window=0.1, on_pairing_change=changes.append)
    assert device.pairing_open
    await wait_until(lambda: not device.pairing_open)
    with pytest.raises(HandshakeError) as err:
        await connect(device.port, code)
    assert err.value.code == ErrorCode.PAIRING_CLOSED
    device.open_pairing()
    assert (await connect(device.port, code)).paired
    assert changes == [False, True, False]


async def test_wrong_device_at_the_address(device, connect, code):
    with pytest.raises(HandshakeError) as err:
        await connect(device.port, code, device_id="lamp-9999")
    assert err.value.code in (ErrorCode.WRONG_DEVICE, ErrorCode.AUTH_FAILED)


async def test_too_many_connections(make_device, connect, code):
    device = await make_device(max_sessions=1)
    await connect(device.port, code)
    with pytest.raises(HandshakeError) as err:
        await connect(device.port, code, hub_id="hub-2")
    assert err.value.code == ErrorCode.BUSY


async def test_silent_client_times_out_in_handshake(make_device):
    device = await make_device(handshake_timeout=0.2)
    reader, writer = await asyncio.open_connection("127.0.0.1", device.port)
    try:
        refusal = decode_message((await asyncio.wait_for(read_frame(reader), 2)).payload)
        assert isinstance(refusal, Error) and refusal.code == ErrorCode.HANDSHAKE_TIMEOUT
        assert await asyncio.wait_for(reader.read(), 2) == b""
    finally:
        writer.close()


# -- tampering and replay on the path ------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (14, ErrorCode.DECRYPT_FAILED),  # first ciphertext byte
        (-1, ErrorCode.DECRYPT_FAILED),  # last tag byte
        (13, ErrorCode.REPLAY),  # the counter
        (3, ErrorCode.UNSUPPORTED_FRAME),  # the reserved header byte
    ],
)
async def test_tampered_frame_to_device_is_rejected_and_drops_the_connection(
    device, table, connect, code, make_proxy, caplog, index, expected
):
    proxy = await make_proxy(device.port)
    conn = await connect(proxy.port, code)
    proxy.mutators["h2d"].append(flip_byte(index))
    with pytest.raises(ConnectionClosedError) as err:
        await conn.set({20: dp_bool(True)})
    assert err.value.code == expected
    reason = await asyncio.wait_for(conn.closed, 2)
    assert reason is not None and reason.code == expected
    assert table.commands == []
    await wait_until(lambda: not device.connected_hubs)
    assert warnings_about(caplog, expected.name)


async def test_tampered_frame_to_hub_is_rejected(device, connect, code, make_proxy, caplog):
    proxy = await make_proxy(device.port)
    conn = await connect(proxy.port, code)
    proxy.mutators["d2h"].append(flip_byte(20))
    with pytest.raises(ConnectionClosedError):
        await conn.get()
    reason = await asyncio.wait_for(conn.closed, 2)
    assert reason is not None and reason.code == ErrorCode.DECRYPT_FAILED
    assert warnings_about(caplog, "rejected frame")
    await wait_until(lambda: not device.connected_hubs)


async def test_replayed_frame_is_rejected(device, table, connect, code, make_proxy, caplog):
    proxy = await make_proxy(device.port)
    conn = await connect(proxy.port, code)
    await conn.set({20: dp_bool(True)})
    recorded_set = proxy.frames["h2d"][-1]
    proxy.inject("h2d", recorded_set)
    reason = await asyncio.wait_for(conn.closed, 2)
    assert reason is not None and reason.code == ErrorCode.REPLAY
    assert [c[0] for c in table.commands] == ["set"]  # executed once, not twice
    assert warnings_about(caplog, "REPLAY")


async def test_replayed_handshake_and_commands_are_rejected(
    device, table, connect, code, make_proxy
):
    ltk = (await connect(device.port, code)).long_term_key
    proxy = await make_proxy(device.port)
    conn = await connect(proxy.port, ltk)
    await conn.set({20: dp_bool(True)})
    await conn.close()
    hello, finish, set_frame = proxy.frames["h2d"][:3]
    reader, writer = await asyncio.open_connection("127.0.0.1", device.port)
    try:
        writer.write(hello)
        await read_frame(reader)  # a fresh HELLO_REPLY
        writer.write(finish)
        refusal = decode_message((await read_frame(reader)).payload)
        assert isinstance(refusal, Error) and refusal.code == ErrorCode.AUTH_FAILED
        writer.write(set_frame)
        assert await asyncio.wait_for(reader.read(), 2) == b""
    finally:
        writer.close()
    assert len(table.commands) == 1


# -- versions and forward compatibility ----------------------------------------------------------


async def test_higher_minor_is_accepted_unknown_major_refused(device, connect, code):
    conn = await connect(device.port, code, version=(1, 7))
    assert conn.protocol_version == (1, 0)
    with pytest.raises(HandshakeError) as err:
        await connect(device.port, conn.long_term_key, version=(2, 0))
    assert err.value.code == ErrorCode.VERSION_UNSUPPORTED


async def test_newer_device_minor_negotiates_down(make_device, connect, code):
    device = await make_device(version=(1, 4))
    conn = await connect(device.port, code, version=(1, 2))
    assert conn.protocol_version == (1, 2)


async def test_unknown_message_and_dp_types(paired, device, table):
    session = paired._session
    with pytest.raises(RemoteError) as err:  # unknown request: answered, session kept
        await session.request(UnknownMessage(0x30, b"\x01"))
    assert err.value.code == ErrorCode.UNSUPPORTED_MESSAGE
    await session.send(UnknownMessage(0x7E, b"future notification"))  # ignored
    odd_set = encode_item(20, 1, b"\x01") + encode_item(30, 0x09, b"new type")
    with pytest.raises(RemoteError) as err:
        await session.request(UnknownMessage(0x11, odd_set))
    assert (err.value.code, err.value.dp) == (ErrorCode.BAD_TYPE, 30)
    assert table.commands == []
    # A REPORT with a DP of an unknown type: the known DPs still arrive.
    device_session = next(iter(device._sessions))
    odd_report = encode_item(20, 1, b"\x01") + encode_item(31, 0x0A, b"\x00")
    await device_session.send(UnknownMessage(0x60, odd_report))
    update = await asyncio.wait_for(anext(paired.updates()), 2)
    assert update == Report({20: dp_bool(True)}, skipped=(31,))
    assert await paired.get([20]) == {20: dp_bool(False)}


# -- liveness, timeouts, concurrency, closing ----------------------------------------------------


async def test_heartbeat_timeout_is_detected(device, connect, code, make_proxy, caplog):
    proxy = await make_proxy(device.port)
    conn = await connect(proxy.port, code, heartbeat_interval=0.1)
    await conn.ping()
    proxy.blackhole = True  # the path goes silent, neither side sees a FIN
    start = time.monotonic()
    reason = await asyncio.wait_for(conn.closed, 3)
    elapsed = time.monotonic() - start
    assert reason is not None and reason.code == ErrorCode.HEARTBEAT_TIMEOUT
    assert 0.25 <= elapsed < 1.5
    await wait_until(lambda: not device.connected_hubs)  # the device noticed as well
    assert len(warnings_about(caplog, "nothing received")) >= 2


async def test_one_sweeper_watches_sessions_of_different_heartbeats(
    make_device, connect, code, make_proxy
):
    """A session with a short heartbeat that joins one with a long heartbeat is still checked
    at its own pace (the loop's shared liveness timer shortens its tick), and the quiet
    long-heartbeat session is neither closed nor left unpinged."""
    slow_device, fast_device = await make_device(), await make_device()
    # Checked every 5 s on its own: the fast session's silence must be seen well before that.
    slow = await connect(slow_device.port, code, heartbeat_interval=20.0)
    proxy = await make_proxy(fast_device.port)
    fast = await connect(proxy.port, code, heartbeat_interval=0.1)
    await fast.ping()
    proxy.blackhole = True
    reason = await asyncio.wait_for(fast.closed, 3)
    assert reason is not None and reason.code == ErrorCode.HEARTBEAT_TIMEOUT
    assert not slow.closed.done()
    assert await slow.ping() < 0.5


async def test_a_chatty_device_that_falls_silent_is_closed_before_its_long_heartbeat(
    device, connect, code, make_proxy
):
    """A large home's long heartbeat (here 60 s to silence) must not hide a device that
    reported every few milliseconds and stopped: it is probed at the short interval and closed
    after three of them without a word."""
    proxy = await make_proxy(device.port)
    conn = await connect(proxy.port, code, heartbeat_interval=20.0, probe_interval=0.1)
    for k in range(10):
        await device.report({20: dp_bool(k % 2 == 0)})
        await asyncio.sleep(0.02)
    proxy.blackhole = True
    reason = await asyncio.wait_for(conn.closed, 3)
    assert reason is not None and reason.code == ErrorCode.HEARTBEAT_TIMEOUT


async def test_a_quiet_device_is_not_probed_into_closing(device, connect, code, make_proxy):
    """The probe is for devices that talk often; one that says nothing keeps the long
    heartbeat's patience even when the path is silent."""
    proxy = await make_proxy(device.port)
    conn = await connect(proxy.port, code, heartbeat_interval=20.0, probe_interval=0.1)
    proxy.blackhole = True
    await asyncio.sleep(0.8)  # eight probe intervals
    assert not conn.closed.done()


async def test_heartbeat_keeps_an_idle_session_alive(device, connect, code):
    conn = await connect(device.port, code, heartbeat_interval=0.1)
    await asyncio.sleep(0.8)  # more than twice the idle timeout of 0.3 s
    assert not conn.closed.done()
    assert device.connected_hubs == [HUB_ID]
    assert await conn.ping() < 0.5


async def test_request_timeout_then_the_session_carries_on(paired):
    with pytest.raises(RequestTimeoutError):
        await paired.invoke(2, {1: dp_value(300)}, timeout=0.05)
    assert await paired.get([20]) == {20: dp_bool(False)}  # the late answer was dropped


async def test_concurrent_requests_are_correlated(paired, table):
    slow = asyncio.ensure_future(paired.invoke(2, {1: dp_value(200)}))
    rtt = await paired.ping()  # answered at once, not queued behind the slow invoke
    assert rtt < 0.15 and not slow.done()
    dps = [20, 21, 22, 101] * 5
    results = await asyncio.gather(*(paired.get([dp]) for dp in dps))
    assert [list(r) for r in results] == [[dp] for dp in dps]
    assert await slow == {1: dp_enum("done")}


async def test_closing_from_either_side(device, connect, code):
    conn = await connect(device.port, code)
    updates = conn.updates()
    await device.stop()
    reason = await asyncio.wait_for(conn.closed, 2)
    assert isinstance(reason, ConnectionClosedError) and reason.code == ErrorCode.SHUTDOWN
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(updates), 2)
    with pytest.raises(ConnectionClosedError):
        await conn.get()
    await conn.close()  # closing twice is harmless
