"""Seeded fuzzing: random and mutated input must only ever raise ProtocolError (or, for the
handshake, a ZsdpError), and a device fed garbage over TCP keeps serving real hubs."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import Callable

import pytest
from zsdp_helpers import compute_vectors

from integrations.zsdp import LongTermKey
from integrations.zsdp.crypto import SecureChannel
from integrations.zsdp.discovery import Advertisement
from integrations.zsdp.errors import ProtocolError, ZsdpError
from integrations.zsdp.handshake import DeviceHandshake, HubHandshake
from integrations.zsdp.messages import (
    Bye,
    Error,
    Event,
    Get,
    Invoke,
    Ping,
    Report,
    Result,
    Set,
    Welcome,
    decode_message,
    encode_message,
)
from integrations.zsdp.wire import (
    HEADER_LEN,
    FrameDecoder,
    FrameKind,
    decode_frame,
    decode_items,
    dp_bitmap,
    dp_bool,
    dp_enum,
    dp_raw,
    dp_string,
    dp_value,
    encode_frame,
)

# Set up before the endpoint fixtures, so it is torn down after them.
pytestmark = pytest.mark.usefixtures("loop_hygiene")

SEED = 20240601
ITERATIONS = 5000
TIME_LIMIT = 30.0


def corpus() -> list[bytes]:
    """Valid frames of every kind to mutate from."""
    bodies = [
        encode_message(m)
        for m in (
            Get((20, 22), msg_id=1),
            Set({20: dp_bool(True), 22: dp_value(-5), 7: dp_raw(b"\x00" * 9)}, msg_id=2),
            Invoke(3, {1: dp_string("开门"), 2: dp_bitmap(9)}, msg_id=3),
            Ping(msg_id=4),
            Event(5, {1: dp_enum("alarm")}, msg_id=5),
            Result({1: dp_value(1)}, msg_id=6),
            Error(304, dp=3, message="no", retry_after_ms=10, versions=((1, 0),), msg_id=7),
            Report({21: dp_enum("warm")}),
            Bye(400, "bye"),
            Welcome(0x1A01, 0x0101, "1.0.0", "model"),
        )
    ]
    frames = [encode_frame(FrameKind.HANDSHAKE, b) for b in bodies]
    frames += [v for k, v in compute_vectors().items() if k.endswith(".frame")]
    return frames


def mutate(rnd: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    buf = bytearray(data)
    kind = rnd.randrange(8)
    if kind == 0 or not buf:  # pure noise, sometimes with a valid magic
        noise = bytearray(rnd.randbytes(rnd.randrange(0, 64)))
        return (b"ZS" + bytes(noise)) if rnd.random() < 0.5 else bytes(noise)
    if kind == 1:  # flip 1-4 bits
        for _ in range(rnd.randint(1, 4)):
            i = rnd.randrange(len(buf))
            buf[i] ^= 1 << rnd.randrange(8)
    elif kind == 2:  # truncate
        del buf[rnd.randrange(len(buf)) :]
    elif kind == 3:  # append garbage
        buf += rnd.randbytes(rnd.randint(1, 16))
    elif kind == 4:  # overwrite a 16-bit field with an extreme value (lengths, ids, codes)
        i = rnd.randrange(max(1, len(buf) - 1))
        buf[i : i + 2] = rnd.choice([b"\x00\x00", b"\xff\xff", b"\x10\x01", b"\x00\x01"])
    elif kind == 5:  # splice two frames
        other = rnd.choice(pool)
        buf = buf[: rnd.randrange(len(buf))] + other[rnd.randrange(len(other)) :]
    elif kind == 6:  # insert or delete a byte
        i = rnd.randrange(len(buf))
        if rnd.random() < 0.5:
            del buf[i]
        else:
            buf.insert(i, rnd.randrange(256))
    else:  # set a random byte to a random value
        buf[rnd.randrange(len(buf))] = rnd.randrange(256)
    return bytes(buf)


def only_protocol_errors(fn: Callable[[], object], outcomes: Counter[str]) -> None:
    try:
        fn()
        outcomes["ok"] += 1
    except ProtocolError as exc:
        outcomes[f"E{exc.code}"] += 1


def decode_everything(data: bytes, outcomes: Counter[str], rnd: random.Random) -> None:
    def whole() -> None:
        frame = decode_frame(data)
        decode_message(frame.payload)

    only_protocol_errors(whole, outcomes)
    only_protocol_errors(lambda: decode_message(data[HEADER_LEN:]), outcomes)
    only_protocol_errors(lambda: decode_items(data[HEADER_LEN + 4 :]), outcomes)

    def streamed() -> None:
        decoder = FrameDecoder()
        i = 0
        while i < len(data):
            step = rnd.randint(1, 9)
            for frame in decoder.feed(data[i : i + step]):
                decode_message(frame.payload)
            i += step

    only_protocol_errors(streamed, outcomes)


def test_decoders_raise_only_protocol_error():
    rnd = random.Random(SEED)
    pool = corpus()
    outcomes: Counter[str] = Counter()
    start = time.monotonic()
    for n in range(ITERATIONS):
        source = rnd.choice(pool)
        data = mutate(rnd, source, pool)
        if rnd.random() < 0.3:  # mutations of mutations reach deeper
            data = mutate(rnd, data, pool)
        decode_everything(data, outcomes, rnd)
        if n % 500 == 0:
            assert time.monotonic() - start < TIME_LIMIT
    # The fuzzer must reach past the header: many distinct error codes, and some survivors.
    assert outcomes["ok"] > 200, outcomes
    assert len([k for k in outcomes if k.startswith("E")]) >= 6, outcomes


def test_secure_channel_open_raises_only_protocol_error():
    rnd = random.Random(SEED + 1)
    send_key, recv_key = rnd.randbytes(32), rnd.randbytes(32)
    sender = SecureChannel(send_key, recv_key)
    frames = [sender.seal(encode_message(Ping(msg_id=i + 1))) for i in range(50)]
    outcomes: Counter[str] = Counter()
    for _ in range(2000):
        receiver = SecureChannel(recv_key, send_key)
        # Mostly frame 0, the one a fresh receiver expects, so mutations reach the AEAD check.
        data = mutate(rnd, frames[0] if rnd.random() < 0.8 else rnd.choice(frames), frames)

        def open_it(data: bytes = data, receiver: SecureChannel = receiver) -> None:
            frame = decode_frame(data)
            receiver.open(data[:HEADER_LEN], frame.payload)

        only_protocol_errors(open_it, outcomes)
    assert outcomes["ok"] < 20  # only mutations that left frame 0 intact may pass
    assert outcomes["E204"] > 300 and outcomes["E205"] > 100, outcomes


def test_handshake_parsers_raise_only_zsdp_errors():
    rnd = random.Random(SEED + 2)
    vectors = compute_vectors()
    hello = vectors["pair.hello.frame"][HEADER_LEN:]
    resume_hello = vectors["resume.hello.frame"][HEADER_LEN:]
    raised: Counter[str] = Counter()
    for n in range(300):
        device = DeviceHandshake(
            device_id="lamp-0001",
            lookup_key={"hub-home": bytes(32)}.get,
            pairing_code="31415926",
        )
        try:
            device.on_hello(mutate(rnd, hello if n % 2 else resume_hello, [hello]))
            device.on_finish(mutate(rnd, vectors["pair.finish.frame"][HEADER_LEN:], [hello]))
        except ZsdpError as exc:
            raised[type(exc).__name__] += 1
        hub = HubHandshake(
            hub_id="hub-home",
            device_id="lamp-0001",
            credential=LongTermKey("lamp-0001", "hub-home", bytes(32)) if n % 2 else "31415926",
        )
        hub.hello()
        reply = vectors["resume.reply.frame" if n % 2 else "pair.reply.frame"][HEADER_LEN:]
        try:
            hub.on_reply(mutate(rnd, reply, [reply]))
        except ZsdpError as exc:
            raised[type(exc).__name__] += 1
    assert raised["HandshakeError"] > 50 and raised["ProtocolError"] > 50, raised


def test_txt_parser_raises_only_protocol_error():
    rnd = random.Random(SEED + 3)
    good = Advertisement("lamp-0001", 0x1A01, 0x0101, "1.0.0", (1, 0), True, "灯").to_txt()
    outcomes: Counter[str] = Counter()
    for _ in range(1500):
        props: dict[bytes, bytes | None] = {}
        for key, value in good.items():
            k = key.encode()
            v: bytes | None = value.encode()
            roll = rnd.random()
            if roll < 0.1:
                continue
            if roll < 0.3:
                v = mutate(rnd, v or b"x", [b"0x1A01"])
            elif roll < 0.35:
                v = None
            elif roll < 0.45:
                k = mutate(rnd, k, [k]) or b"k"
            props[k] = v
        only_protocol_errors(lambda props=props: Advertisement.from_txt(props), outcomes)
    assert outcomes["ok"] > 50 and sum(outcomes.values()) - outcomes["ok"] > 200, outcomes


async def test_device_survives_garbage_over_tcp(make_device, table, connect, code):
    device = await make_device(handshake_timeout=0.1)
    ltk = (await connect(device.port, code)).long_term_key
    rnd = random.Random(SEED + 4)
    pool = corpus()

    async def attack(payload: bytes) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", device.port)
        try:
            writer.write(payload)
            await writer.drain()
            async with asyncio.timeout(2):
                await reader.read()  # the device answers (or not) and hangs up
        except (ConnectionError, TimeoutError):
            pass
        finally:
            writer.close()

    for batch in range(25):
        payloads = [mutate(rnd, rnd.choice(pool), pool) for _ in range(3)]
        if batch % 5 == 0:
            payloads.append(os.urandom(rnd.randrange(1, 5000)))
        await asyncio.gather(*(attack(p) for p in payloads))
    assert table.commands == []
    conn = await connect(device.port, ltk)
    await conn.set({20: dp_bool(True)})
    assert table.dps[20] == dp_bool(True)
