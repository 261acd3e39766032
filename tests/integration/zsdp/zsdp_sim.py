"""Test devices for the ZS-DP integration: a DP-store device announced over mDNS, a frame proxy
that can freeze, tamper and replay, and a rogue device that feeds the hub malformed input.

Used in-process by the fast tests and, as ``python zsdp_sim.py …``, inside the device network
namespace by the end-to-end tests; then it is driven by JSON lines on stdin/stdout (one request,
one answer), and logs go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from integrations.zsdp import (
    SERVICE_TYPE,
    Advertisement,
    DeviceEndpoint,
    DeviceInfo,
    DPType,
    DPValue,
    ErrorCode,
    KeyStore,
    MemoryKeyStore,
    ZsdpError,
    dp_bitmap,
    dp_bool,
    dp_enum,
    dp_value,
)
from integrations.zsdp.crypto import SecureChannel
from integrations.zsdp.handshake import DeviceHandshake
from integrations.zsdp.messages import (
    Get,
    HandshakeMode,
    Ping,
    Report,
    Result,
    Set,
    Welcome,
    decode_message,
    encode_message,
)
from integrations.zsdp.session import read_frame
from integrations.zsdp.wire import (
    MAX_PAYLOAD,
    FrameDecoder,
    FrameKind,
    encode_dps,
    encode_frame,
    frame_header,
)

_LOGGER = logging.getLogger("zsdp_sim")


# --------------------------------------------------------------------------- products


@dataclass(frozen=True)
class Preset:
    profile_id: str
    vid: int
    pid: int
    model: str
    dps: dict[int, DPValue]
    write_only: dict[int, DPType] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    "lamp": Preset(
        profile_id="cn.zs.demo-guzhen-lighting.xdd-cct-480",
        vid=0x1A01,
        pid=0x0101,
        model="XDD-CCT-480",
        dps={
            20: dp_bool(False),
            21: dp_enum("white"),
            22: dp_value(500),
            23: dp_value(0),
            26: dp_value(0),
        },
    ),
    "gas": Preset(
        profile_id="cn.zs.demo-safety.jt-rq-v1",
        vid=0x1A40,
        pid=0x0701,
        model="JT-RQ-V1",
        dps={
            1: dp_enum("normal"),
            2: dp_value(0),
            4: dp_enum("normal"),
            11: dp_bitmap(0),
            15: dp_bool(False),
            16: dp_bool(False),
            101: dp_enum("open"),
            102: dp_bitmap(0),
        },
        write_only={8: DPType.BOOL, 103: DPType.BOOL},
    ),
}


class DpStore:
    """A device's DPs: validates a whole SET before applying it, reports what changed."""

    def __init__(self, preset: Preset) -> None:
        self.preset = preset
        self.dps: dict[int, DPValue] = dict(preset.dps)
        self.applied: list[dict[int, Any]] = []  # every SET that changed something
        self.endpoint: DeviceEndpoint | None = None
        self.refuse: dict[int, ErrorCode] = {}  # DP -> error to answer (tests of refusals)

    async def get(self, hub_id: str, dps: tuple[int, ...]) -> Mapping[int, DPValue]:
        for dp in dps:
            if dp not in self.dps:
                raise ZsdpError(ErrorCode.UNKNOWN_DP, "no such DP", dp=dp)
        return {k: v for k, v in self.dps.items() if not dps or k in dps}

    async def set(self, hub_id: str, values: Mapping[int, DPValue]) -> None:
        for dp, value in values.items():
            if dp in self.refuse:
                raise ZsdpError(self.refuse[dp], "refused by the device", dp=dp)
            expected = self.dps[dp].type if dp in self.dps else self.preset.write_only.get(dp)
            if expected is None:
                raise ZsdpError(ErrorCode.UNKNOWN_DP, "no such DP", dp=dp)
            if value.type is not expected:
                raise ZsdpError(ErrorCode.BAD_TYPE, f"DP {dp} is {expected.name}", dp=dp)
        changes: dict[int, DPValue] = {}
        for dp, value in values.items():
            if dp in self.preset.write_only:
                changes.update(self._channel(dp, value))
            elif self.dps[dp] != value:
                changes[dp] = value
        self.applied.append({dp: v.value for dp, v in values.items()})
        await self.change(changes)

    def _channel(self, dp: int, value: DPValue) -> dict[int, DPValue]:
        if self.preset.profile_id.endswith("jt-rq-v1") and dp == 103 and value.value is True:
            return {101: dp_enum("closed")}  # the actuator closes the gas valve
        return {}

    async def invoke(
        self, hub_id: str, action: int, args: Mapping[int, DPValue]
    ) -> Mapping[int, DPValue]:
        raise ZsdpError(ErrorCode.UNKNOWN_ACTION, "no actions")

    async def change(self, changes: Mapping[int, DPValue]) -> None:
        """Apply and report, as a SET, a wall switch or the device's own logic would."""
        changed = {dp: v for dp, v in changes.items() if self.dps.get(dp) != v}
        self.dps.update(changed)
        if changed and self.endpoint is not None:
            await self.endpoint.report(changed)


class FileKeyStore(MemoryKeyStore):
    """Key slots kept in a JSON file, so a restarted device process still knows its hubs."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._path = path
        if path.exists():
            for hub_id, key in json.loads(path.read_text()).items():
                super().put(hub_id, bytes.fromhex(key))

    def put(self, hub_id: str, key: bytes) -> None:
        super().put(hub_id, key)
        data = {h: k.hex() for h in self.hub_ids() if (k := self.get(h)) is not None}
        self._path.write_text(json.dumps(data))  # tiny file, test device only


# --------------------------------------------------------------------------- mDNS


class Announcer:
    """Registers one ``_zsdp._tcp`` instance on its own zeroconf (pinned interfaces)."""

    def __init__(self, interfaces: list[str], address: str) -> None:
        self._interfaces = interfaces
        self._address = address
        self._zc: AsyncZeroconf | None = None
        self._info: AsyncServiceInfo | None = None

    async def register(self, adv: Advertisement, port: int) -> None:
        self._zc = AsyncZeroconf(interfaces=self._interfaces, ip_version=IPVersion.V4Only)
        self._info = self._service_info(adv, port)
        task = await self._zc.async_register_service(self._info, cooperating_responders=True)
        await task

    def _service_info(self, adv: Advertisement, port: int) -> AsyncServiceInfo:
        return AsyncServiceInfo(
            SERVICE_TYPE,
            f"{adv.instance_name()}.{SERVICE_TYPE}",
            port=port,
            properties=adv.to_txt(),
            server=f"{adv.device_id.lower().replace('.', '-').replace(':', '-')}.local.",
            parsed_addresses=[self._address],
        )

    async def update(self, adv: Advertisement, port: int) -> None:
        if self._zc is None or self._info is None:
            return
        self._info = self._service_info(adv, port)
        task = await self._zc.async_update_service(self._info)
        await task

    async def close(self, goodbye: bool = True) -> None:
        zc, self._zc = self._zc, None
        if zc is None:
            return
        if self._info is not None:
            if goodbye:
                task = await zc.async_unregister_service(self._info)
                await task
            else:  # a dead device sends nothing: drop the service without its goodbye
                zc.zeroconf.registry.async_remove(self._info)
        await zc.async_close()


# --------------------------------------------------------------------------- proxy


class FrameProxy:
    """Sits between hub and device, frame-aware: can freeze (silence without FIN), tamper with the
    next device->hub secure frame, and replay hub->device frames."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []
        self.port = 0
        self.frozen = False
        self.tamper_next = False
        self.h2d: list[bytes] = []  # frames of the current/last session, hub -> device
        self.to_device: asyncio.StreamWriter | None = None
        self.sessions = 0

    async def start(self, host: str) -> None:
        self._server = await asyncio.start_server(self._on_client, host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        self.sessions += 1
        self.h2d = []
        self.to_device = up_writer
        self._writers += [writer, up_writer]
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer, "h2d")),
            asyncio.create_task(self._pump(up_reader, writer, "d2h")),
        ]
        self._tasks.update(pumps)
        await asyncio.gather(*pumps, return_exceptions=True)
        self._tasks.difference_update(pumps)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str
    ) -> None:
        decoder = FrameDecoder()
        try:
            while data := await reader.read(65536):
                if self.frozen:
                    continue  # a dead host: nothing passes, and no FIN either
                for frame in decoder.feed(data):
                    raw = encode_frame(frame.kind, frame.payload)
                    if direction == "h2d":
                        self.h2d.append(raw)
                    elif self.tamper_next and frame.kind is FrameKind.SECURE:
                        self.tamper_next = False
                        flipped = bytearray(raw)
                        flipped[-1] ^= 0x01  # one bit of the tag
                        raw = bytes(flipped)
                    writer.write(raw)
                    await writer.drain()
        except (ConnectionError, OSError, ZsdpError):
            pass
        finally:
            if not self.frozen:
                writer.close()

    def replay_last_set(self) -> bool:
        """Send the hub's last SECURE frame to the device again, on the same connection."""
        secure = [f for f in self.h2d if f[2] == FrameKind.SECURE]
        if not secure or self.to_device is None:
            return False
        self.to_device.write(secure[-1])
        return True

    async def replay_session(self) -> list[str]:
        """Replay the recorded hub->device frames of the last session on a new connection;
        returns what the device answered (message names, error codes), in order."""
        frames = list(self.h2d)
        reader, writer = await asyncio.open_connection(*self._target)
        answers: list[str] = []
        try:
            for raw in frames:
                writer.write(raw)
            await writer.drain()
            with contextlib.suppress(TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                async with asyncio.timeout(3.0):
                    while True:
                        frame = await read_frame(reader)
                        if frame.kind is not FrameKind.HANDSHAKE:
                            answers.append("SECURE")  # would mean the replay got a session
                            continue
                        msg = decode_message(frame.payload)
                        code = getattr(msg, "code", None)
                        answers.append(type(msg).__name__ + (f" {code}" if code else ""))
        finally:
            writer.close()
        return answers

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._server.wait_closed()


# --------------------------------------------------------------------------- device


class SimDevice:
    """A ZS-DP device with a DP store, announced over mDNS on ``mdns_interfaces``."""

    def __init__(
        self,
        preset: str,
        device_id: str,
        code: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        mdns_interfaces: list[str] | None = None,
        proxy: bool = False,
        key_store: KeyStore | None = None,
    ) -> None:
        self.preset = PRESETS[preset]
        self.device_id = device_id
        self.code = code
        self.host = host
        self.port = port
        self.store = DpStore(self.preset)
        self.endpoint: DeviceEndpoint | None = None
        self.proxy: FrameProxy | None = None
        self._use_proxy = proxy
        self.keys: KeyStore = key_store if key_store is not None else MemoryKeyStore()
        self._tasks: set[asyncio.Task[None]] = set()
        self._announcer = Announcer(mdns_interfaces or [host], host)

    @property
    def advertised_port(self) -> int:
        return self.proxy.port if self.proxy is not None else self.port

    def advertisement(self) -> Advertisement:
        return Advertisement(
            device_id=self.device_id,
            vid=self.preset.vid,
            pid=self.preset.pid,
            fw="1.2.0",
            version=(1, 0),
            pairing_open=self.endpoint.pairing_open if self.endpoint is not None else True,
            model=self.preset.model,
        )

    async def start(self, *, announce: bool = True) -> None:
        info = DeviceInfo(
            self.device_id, self.preset.vid, self.preset.pid, "1.2.0", self.preset.model
        )
        self.endpoint = DeviceEndpoint(
            info,
            self.store,
            pairing_code=self.code,
            key_store=self.keys,
            on_pairing_change=self._pairing_changed,
        )
        self.store.endpoint = self.endpoint
        await self.endpoint.start(self.host, self.port)
        self.port = self.endpoint.port
        if self._use_proxy:
            self.proxy = FrameProxy(self.host, self.port)
            await self.proxy.start(self.host)
        if announce:
            await self._announcer.register(self.advertisement(), self.advertised_port)

    def _pairing_changed(self, open_: bool) -> None:
        # TXT ``pair`` follows the window (docs/zsdp.md §3.2).
        task = asyncio.get_running_loop().create_task(
            self._announcer.update(self.advertisement(), self.advertised_port)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self, *, goodbye: bool = True) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._announcer.close(goodbye=goodbye)
        if self.proxy is not None:
            await self.proxy.stop()
        if self.endpoint is not None:
            await self.endpoint.stop()


# --------------------------------------------------------------------------- rogue


class RogueDevice:
    """Announces like a device and pairs for real (it knows its code), then answers each later
    connection with one kind of malformed input, chosen by a seeded random generator.

    Connection kinds: before the handshake, garbage, bad headers, mutated or truncated replies;
    after a genuine handshake, encrypted bodies that are random or mutated, frames with a bad
    tag or a wrong counter, and well-formed reports full of values that do not fit the profile.
    """

    PRE = ("garbage", "bad_header", "mutated_reply", "truncated", "huge_length", "plain_error")
    POST = ("junk_body", "mutated_report", "bad_tag", "bad_counter", "odd_values")

    def __init__(self, preset: str, device_id: str, code: str, seed: int) -> None:
        self.preset = PRESETS[preset]
        self.device_id = device_id
        self.code = code
        self.rng = random.Random(seed)
        self.keys: dict[str, bytes] = {}
        self.kinds: list[str] = []  # what each connection got
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self, host: str) -> None:
        self._server = await asyncio.start_server(self._on_client, host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, OSError, asyncio.IncompleteReadError, ZsdpError, TimeoutError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        rng = self.rng
        async with asyncio.timeout(5.0):
            hello = await read_frame(reader)
        paired = bool(self.keys)
        kind = "pair" if not paired else rng.choice(self.PRE + self.POST)
        self.kinds.append(kind)
        if kind in self.PRE:
            writer.write(self._pre_handshake(kind, hello.payload))
            await writer.drain()
            await asyncio.sleep(0.05)
            return
        hs = DeviceHandshake(
            device_id=self.device_id, lookup_key=self.keys.get, pairing_code=self.code
        )
        writer.write(encode_frame(FrameKind.HANDSHAKE, hs.on_hello(hello.payload)))
        await writer.drain()
        async with asyncio.timeout(5.0):
            finish = await read_frame(reader)
        result = hs.on_finish(finish.payload)
        if result.mode is HandshakeMode.PAIR:
            assert result.keys.long_term_key is not None
            self.keys[result.hub_id] = result.keys.long_term_key
        channel = SecureChannel(result.keys.device_to_hub, result.keys.hub_to_device)
        p = self.preset
        writer.write(channel.seal(encode_message(Welcome(p.vid, p.pid, "6.6.6", p.model))))
        await writer.drain()
        # Answer requests properly until the hub's first GET is served, then misbehave.
        served_get = False
        while True:
            async with asyncio.timeout(10.0):
                frame = await read_frame(reader)
            body = channel.open(frame_header(frame.kind, len(frame.payload)), frame.payload)
            msg = decode_message(body)
            if isinstance(msg, Get):
                writer.write(channel.seal(encode_message(Result(dict(p.dps), msg_id=msg.msg_id))))
                served_get = True
            elif isinstance(msg, Ping | Set):
                writer.write(channel.seal(encode_message(Result(msg_id=msg.msg_id))))
            await writer.drain()
            if served_get and kind != "pair":
                break
        for raw in self._post_handshake(kind, channel):
            writer.write(raw)
            await writer.drain()
        await asyncio.sleep(0.2)

    def _pre_handshake(self, kind: str, hello_body: bytes) -> bytes:
        rng = self.rng
        if kind == "garbage":
            return rng.randbytes(rng.randint(1, 300))
        if kind == "bad_header":
            header = bytearray(b"ZS\x01\x00\x00\x10")
            spot = rng.randrange(4)
            header[spot] = rng.choice([b for b in range(256) if b != header[spot]])
            if spot == 3 or header[4:6] == b"\x00\x00":
                header[5] = 0x10
            return bytes(header) + rng.randbytes(16)
        if kind == "huge_length":
            return b"ZS\x01\x00" + rng.randint(MAX_PAYLOAD + 1, 0xFFFF).to_bytes(2, "big")
        if kind == "plain_error":
            return encode_frame(FrameKind.HANDSHAKE, bytes([0x41, 0, 0, 0]) + rng.randbytes(6))
        hs = DeviceHandshake(
            device_id=self.device_id, lookup_key=self.keys.get, pairing_code=self.code
        )
        reply = bytearray(encode_frame(FrameKind.HANDSHAKE, hs.on_hello(hello_body)))
        if kind == "truncated":
            return bytes(reply[: rng.randint(1, len(reply) - 1)])
        for _ in range(rng.randint(1, 4)):  # mutated_reply: flip bytes after the header
            reply[rng.randrange(6, len(reply))] ^= 1 << rng.randrange(8)
        return bytes(reply)

    def _post_handshake(self, kind: str, channel: SecureChannel) -> list[bytes]:
        rng = self.rng
        if kind == "junk_body":
            if rng.random() < 0.2:  # a known message type with nothing after it
                return [channel.seal(bytes([rng.choice([0x60, 0x14, 0x40, 0x41, 0x61, 0x13])]))]
            return [channel.seal(rng.randbytes(rng.randint(4, 200)))]
        if kind == "mutated_report":
            body = bytearray(encode_message(Report(dict(self.preset.dps))))
            for _ in range(rng.randint(1, 3)):
                body[rng.randrange(len(body))] ^= 1 << rng.randrange(8)
            return [channel.seal(bytes(body))]
        if kind == "bad_tag":
            frame = bytearray(channel.seal(encode_message(Report({20: dp_bool(True)}))))
            frame[rng.randrange(14, len(frame))] ^= 0x80
            return [bytes(frame)]
        if kind == "bad_counter":
            channel.send_counter += rng.choice([-1, 1, 2, 1000]) if channel.send_counter else 1
            return [channel.seal(encode_message(Report({20: dp_bool(True)})))]
        # odd_values: well-formed reports whose values do not fit the profile, then junk
        out = []
        for _ in range(rng.randint(5, 40)):
            values: dict[int, DPValue] = {}
            for _n in range(rng.randint(1, 6)):
                values[rng.choice([*self.preset.dps, rng.randint(1, 255)])] = _random_value(rng)
            out.append(channel.seal(encode_message(Report(values))))
        items = encode_dps({20: dp_bool(True)}) + bytes([21, 0x7F, 0, 1, 0])  # unknown type 0x7F
        out.append(channel.seal(bytes([0x60, 0, 0, 0]) + items))
        return out


def _random_value(rng: random.Random) -> DPValue:
    kind = rng.randrange(6)
    if kind == 0:
        return dp_bool(rng.random() < 0.5)
    if kind == 1:
        return dp_value(rng.randint(-(2**31), 2**31 - 1))
    if kind == 2:
        return dp_bitmap(rng.randint(0, 2**32 - 1))
    if kind == 3:
        return dp_enum(rng.choice(["white", "scene_9", "alarm", "x", "on", "Z" * 32]))
    if kind == 4:
        return DPValue(DPType.STRING, "".join(chr(rng.randint(32, 0x4E00)) for _ in range(20)))
    return DPValue(DPType.RAW, rng.randbytes(rng.randint(0, 64)))


# --------------------------------------------------------------------------- process mode


async def _serve_stdio(handlers: dict[str, Callable[[dict[str, Any]], Any]]) -> None:
    """One JSON request per stdin line, one JSON answer per stdout line; ends on EOF or "stop"."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        request = json.loads(line)
        op = request.pop("op")
        try:
            result = handlers[op](request)
            if asyncio.iscoroutine(result):
                result = await result
            answer: dict[str, Any] = {"ok": True, "result": result}
        except Exception as err:
            _LOGGER.exception("request %s failed", op)
            answer = {"ok": False, "error": repr(err)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
        if op == "stop":
            return


async def _main(args: argparse.Namespace) -> None:
    if args.rogue:
        rogue = RogueDevice(args.preset, args.id, args.code, args.seed)
        await rogue.start(args.host)
        adv = Advertisement(
            args.id, rogue.preset.vid, rogue.preset.pid, "6.6.6", (1, 0), True, rogue.preset.model
        )
        announcer = Announcer([args.mdns or args.host], args.host)
        await announcer.register(adv, rogue.port)

        async def stop_rogue(_: dict[str, Any]) -> None:
            await announcer.close()
            await rogue.stop()

        await _serve_stdio(
            {
                "info": lambda _: {"port": rogue.port, "kinds": rogue.kinds},
                "stop": stop_rogue,
            }
        )
        return
    device = SimDevice(
        args.preset,
        args.id,
        args.code,
        host=args.host,
        port=args.port,
        mdns_interfaces=[args.mdns or args.host],
        proxy=args.proxy,
        key_store=FileKeyStore(Path(args.keys)) if args.keys else None,
    )
    await device.start()

    def info(_: dict[str, Any]) -> dict[str, Any]:
        return {
            "port": device.port,
            "advertised_port": device.advertised_port,
            "applied": len(device.store.applied),
            "hubs": device.endpoint.connected_hubs if device.endpoint else [],
            "dps": {str(k): v.value for k, v in device.store.dps.items() if v.type != DPType.RAW},
        }

    async def local(request: dict[str, Any]) -> None:
        dps = device.store.dps
        changes = {int(k): DPValue(dps[int(k)].type, v) for k, v in request["dps"].items()}
        await device.store.change(changes)

    def freeze(request: dict[str, Any]) -> None:
        assert device.proxy is not None
        device.proxy.frozen = bool(request.get("on", True))

    def tamper(_: dict[str, Any]) -> None:
        assert device.proxy is not None
        device.proxy.tamper_next = True

    def replay_set(_: dict[str, Any]) -> bool:
        assert device.proxy is not None
        return device.proxy.replay_last_set()

    async def replay_session(_: dict[str, Any]) -> list[str]:
        assert device.proxy is not None
        return await device.proxy.replay_session()

    async def stop(_: dict[str, Any]) -> None:
        await device.stop()

    await _serve_stdio(
        {
            "info": info,
            "local": local,
            "freeze": freeze,
            "tamper": tamper,
            "replay_set": replay_set,
            "replay_session": replay_session,
            "stop": stop,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="ZS-DP test device")
    parser.add_argument("--preset", default="lamp", choices=sorted(PRESETS))
    parser.add_argument("--id", required=True)
    parser.add_argument("--code", required=True)
    parser.add_argument("--host", required=True, help="address to listen on and announce")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mdns", default=None, help="mDNS interface address (default: --host)")
    parser.add_argument("--proxy", action="store_true", help="announce a frame proxy's port")
    parser.add_argument("--keys", default=None, help="JSON file keeping paired hubs' keys")
    parser.add_argument("--rogue", action="store_true", help="feed the hub malformed frames")
    parser.add_argument("--seed", type=int, default=int.from_bytes(os.urandom(4), "big"))
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(_main(args))


if __name__ == "__main__":
    main()
