"""Helpers for the ZS-DP tests: a DP-table device handler, a frame-aware loopback proxy that can
tamper with, replay or black-hole traffic, and the deterministic vectors printed in docs/zsdp.md.

Run ``python tests/unit/zsdp/zsdp_helpers.py`` to print the vectors as Markdown.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping

from integrations.zsdp import pake
from integrations.zsdp.crypto import SecureChannel, transcript_hash
from integrations.zsdp.device import DeviceEndpoint
from integrations.zsdp.errors import ErrorCode, ZsdpError
from integrations.zsdp.handshake import (
    DeviceHandshake,
    HubHandshake,
    LongTermKey,
    pairing_channel_id,
)
from integrations.zsdp.messages import Error, Report, Result, Set, Welcome, encode_message
from integrations.zsdp.wire import (
    DPValue,
    FrameDecoder,
    FrameKind,
    dp_bool,
    dp_enum,
    dp_value,
    encode_frame,
)

DEVICE_ID = "lamp-0001"
HUB_ID = "hub-home"


class DPTable:
    """A lamp-like device: a table of DPs, some writable, two actions. Records every call."""

    def __init__(self, dps: Mapping[int, DPValue], writable: set[int]) -> None:
        self.dps = dict(dps)
        self.writable = writable
        self.calls: list[tuple[str, str, object]] = []
        self.endpoint: DeviceEndpoint | None = None

    async def get(self, hub_id: str, dps: tuple[int, ...]) -> Mapping[int, DPValue]:
        self.calls.append(("get", hub_id, dps))
        for dp in dps:
            if dp not in self.dps:
                raise ZsdpError(ErrorCode.UNKNOWN_DP, "no such DP", dp=dp)
        return {k: v for k, v in self.dps.items() if not dps or k in dps}

    async def set(self, hub_id: str, values: Mapping[int, DPValue]) -> None:
        self.calls.append(("set", hub_id, dict(values)))
        for dp, value in values.items():  # validate everything before applying anything
            if dp not in self.dps:
                raise ZsdpError(ErrorCode.UNKNOWN_DP, "no such DP", dp=dp)
            if value.type != self.dps[dp].type:
                raise ZsdpError(ErrorCode.BAD_TYPE, f"DP {dp} is {self.dps[dp].type.name}", dp=dp)
            if dp not in self.writable:
                raise ZsdpError(ErrorCode.READ_ONLY, "read-only", dp=dp)
        changed = {dp: v for dp, v in values.items() if self.dps[dp] != v}
        self.dps.update(values)
        if changed and self.endpoint is not None:
            await self.endpoint.report(changed)

    async def invoke(
        self, hub_id: str, action: int, args: Mapping[int, DPValue]
    ) -> Mapping[int, DPValue]:
        self.calls.append(("invoke", hub_id, (action, dict(args))))
        if action == 1:  # echo
            return dict(args)
        if action == 2:  # slow: sleeps args[1] milliseconds
            delay = args[1].value
            assert isinstance(delay, int)
            await asyncio.sleep(delay / 1000)
            return {1: dp_enum("done")}
        raise ZsdpError(ErrorCode.UNKNOWN_ACTION, "no such action")

    @property
    def commands(self) -> list[tuple[str, str, object]]:
        """Calls that would change the device (set / invoke)."""
        return [c for c in self.calls if c[0] in ("set", "invoke")]


def lamp_table() -> DPTable:
    return DPTable(
        {20: dp_bool(False), 21: dp_enum("white"), 22: dp_value(10), 101: dp_value(235)},
        writable={20, 21, 22},
    )


Mutator = Callable[[bytes], bytes]


class FrameProxy:
    """A loopback TCP proxy between hub and device that understands frame boundaries."""

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: dict[str, asyncio.StreamWriter] = {}
        self.port = 0
        self.frames: dict[str, list[bytes]] = {"h2d": [], "d2h": []}
        self.mutators: dict[str, list[Mutator]] = {"h2d": [], "d2h": []}
        self.blackhole = False

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._on_client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        self._writers = {"h2d": up_writer, "d2h": writer}
        tasks = [
            asyncio.create_task(self._pump(reader, up_writer, "h2d")),
            asyncio.create_task(self._pump(up_reader, writer, "d2h")),
        ]
        self._tasks.update(tasks)
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str
    ) -> None:
        decoder = FrameDecoder()
        try:
            while data := await reader.read(65536):
                for frame in decoder.feed(data):
                    raw = encode_frame(frame.kind, frame.payload)
                    self.frames[direction].append(raw)
                    if self.blackhole:
                        continue
                    if frame.kind is FrameKind.SECURE and self.mutators[direction]:
                        raw = self.mutators[direction].pop(0)(raw)
                    writer.write(raw)
                    await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if not self.blackhole:  # a black hole passes no FIN either
                writer.close()

    def inject(self, direction: str, raw: bytes) -> None:
        self._writers[direction].write(raw)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in self._writers.values():
            writer.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1):
                    await self._server.wait_closed()


def flip_byte(index: int) -> Mutator:
    def mutate(raw: bytes) -> bytes:
        data = bytearray(raw)
        data[index] ^= 0x01
        return bytes(data)

    return mutate


# -- deterministic vectors (docs/zsdp.md §14) ---------------------------------------------------

VECTOR_HUB_ID = "hub-home"
VECTOR_DEVICE_ID = "lamp-0001"
VECTOR_CODE = "31415926"


def _queue_rng(*chunks: bytes) -> Callable[[int], bytes]:
    pending = list(chunks)

    def rng(size: int) -> bytes:
        chunk = pending.pop(0)
        assert len(chunk) == size
        return chunk

    return rng


def compute_vectors() -> dict[str, bytes]:
    """Every value printed in the spec's examples, computed from fixed 'random' inputs."""
    v: dict[str, bytes] = {}
    v["pair.hub_nonce"] = hub_nonce = bytes(range(0x10))
    v["pair.hub_scalar"] = hub_scalar = bytes(range(0x20, 0x40))
    v["pair.device_nonce"] = device_nonce = bytes(range(0x80, 0x90))
    v["pair.device_scalar"] = device_scalar = bytes(range(0xA0, 0xC0))
    ci = pairing_channel_id(VECTOR_HUB_ID, VECTOR_DEVICE_ID)
    v["pair.ci"] = ci
    v["pair.generator"] = pake.calculate_generator(VECTOR_CODE.encode(), ci, hub_nonce)

    stored: dict[str, bytes] = {}
    hub = HubHandshake(
        hub_id=VECTOR_HUB_ID,
        device_id=VECTOR_DEVICE_ID,
        credential=VECTOR_CODE,
        heartbeat_ms=15_000,
        rng=_queue_rng(hub_nonce, hub_scalar),
    )
    device = DeviceHandshake(
        device_id=VECTOR_DEVICE_ID,
        lookup_key=stored.get,
        pairing_code=VECTOR_CODE,
        rng=_queue_rng(device_nonce, device_scalar),
    )
    hello = hub.hello()
    reply = device.on_hello(hello)
    finish, hub_result = hub.on_reply(reply)
    device_result = device.on_finish(finish)
    assert hub_result.keys == device_result.keys
    keys = hub_result.keys
    assert keys.long_term_key is not None
    v["pair.hello.frame"] = encode_frame(FrameKind.HANDSHAKE, hello)
    v["pair.reply.frame"] = encode_frame(FrameKind.HANDSHAKE, reply)
    v["pair.finish.frame"] = encode_frame(FrameKind.HANDSHAKE, finish)
    v["pair.th"] = transcript_hash(hello, reply[:-36])
    v["pair.key.hub_to_device"] = keys.hub_to_device
    v["pair.key.device_to_hub"] = keys.device_to_hub
    v["pair.key.long_term"] = keys.long_term_key

    hub_channel = SecureChannel(keys.hub_to_device, keys.device_to_hub)
    device_channel = SecureChannel(keys.device_to_hub, keys.hub_to_device)
    welcome = Welcome(vid=0x1A01, pid=0x0101, fw="1.0.0", model="XDD-CCT-480")
    v["session.welcome.frame"] = device_channel.seal(encode_message(welcome))
    set_msg = Set({20: dp_bool(True), 22: dp_value(500)}, msg_id=1)
    v["session.set.body"] = encode_message(set_msg)
    v["session.set.frame"] = hub_channel.seal(encode_message(set_msg))
    v["session.result.frame"] = device_channel.seal(encode_message(Result(msg_id=1)))
    report = Report({20: dp_bool(True), 22: dp_value(500)})
    v["session.report.frame"] = device_channel.seal(encode_message(report))

    stored[VECTOR_HUB_ID] = keys.long_term_key
    hub2 = HubHandshake(
        hub_id=VECTOR_HUB_ID,
        device_id=VECTOR_DEVICE_ID,
        credential=LongTermKey(VECTOR_DEVICE_ID, VECTOR_HUB_ID, keys.long_term_key),
        heartbeat_ms=15_000,
        rng=_queue_rng(bytes(range(0x10, 0x20)), bytes(range(0x40, 0x60))),
    )
    device2 = DeviceHandshake(
        device_id=VECTOR_DEVICE_ID,
        lookup_key=stored.get,
        pairing_code=None,
        rng=_queue_rng(bytes(range(0x90, 0xA0)), bytes(range(0xC0, 0xE0))),
    )
    hello2 = hub2.hello()
    reply2 = device2.on_hello(hello2)
    finish2, resumed = hub2.on_reply(reply2)
    device2.on_finish(finish2)
    v["resume.hello.frame"] = encode_frame(FrameKind.HANDSHAKE, hello2)
    v["resume.reply.frame"] = encode_frame(FrameKind.HANDSHAKE, reply2)
    v["resume.finish.frame"] = encode_frame(FrameKind.HANDSHAKE, finish2)
    v["resume.key.hub_to_device"] = resumed.keys.hub_to_device
    v["resume.key.device_to_hub"] = resumed.keys.device_to_hub

    error = Error(ErrorCode.NOT_PAIRED, message="hub 'hub-2' is not paired")
    v["plain.error.frame"] = encode_frame(FrameKind.HANDSHAKE, encode_message(error))
    return v


def hex_block(data: bytes) -> str:
    """16 space-separated bytes per line, as the spec prints them."""
    lines = [data[i : i + 16].hex(" ") for i in range(0, len(data), 16)]
    return "\n".join(lines)


if __name__ == "__main__":
    for name, value in compute_vectors().items():
        print(f"<!-- zsdp-vector: {name} -->\n```text\n{hex_block(value)}\n```\n")
