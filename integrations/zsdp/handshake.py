"""ZS-DP handshake as two sans-IO state machines (docs/zsdp.md §8).

Three plaintext messages, then the device's first secure frame::

    hub -> device   HELLO        version, mode, hub id, nonce, share
    device -> hub   HELLO_REPLY  chosen version, device id, nonce, share, device confirm
    hub -> device   FINISH       hub confirm
    device -> hub   WELCOME      (encrypted) vendor, product, firmware

In PAIR mode the shares are CPace shares over the pairing code; in RESUME mode they are ephemeral
X25519 keys mixed with the stored long-term key. Either side verifies the other's confirmation
tag before it trusts anything, so a wrong code or a tampered handshake fails at the first check.
The classes do no I/O, which keeps them easy to test and to port to firmware.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace

from integrations.zsdp import pake
from integrations.zsdp.crypto import (
    KEY_LEN,
    SessionKeys,
    confirm_tag,
    derive_session_keys,
    ephemeral_public,
    ephemeral_secret,
    preload,
    transcript_hash,
    verify_tag,
)
from integrations.zsdp.errors import ErrorCode, HandshakeError, ProtocolError
from integrations.zsdp.messages import (
    CONFIRM_LEN,
    MODEL_MAX_LEN,
    NONCE_LEN,
    Error,
    Finish,
    HandshakeMode,
    Hello,
    HelloReply,
    MsgType,
    decode_message,
    encode_message,
    hello_reply_prefix,
    is_valid_fw,
    is_valid_id,
)
from integrations.zsdp.wire import ITEM_HEADER_LEN

__all__ = [
    "DEFAULT_HEARTBEAT_MS",
    "PROTOCOL_VERSION",
    "DeviceHandshake",
    "DeviceInfo",
    "HandshakeResult",
    "HubHandshake",
    "LongTermKey",
    "generate_pairing_code",
    "normalize_pairing_code",
    "pairing_channel_id",
]

PROTOCOL_VERSION = (1, 0)
DEFAULT_HEARTBEAT_MS = 15_000
SCALAR_LEN = 32

Rng = Callable[[int], bytes]


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What a device says about itself (mDNS TXT and the WELCOME message)."""

    device_id: str
    vid: int
    pid: int
    fw: str
    model: str | None = None

    def __post_init__(self) -> None:
        if not is_valid_id(self.device_id):
            raise ValueError(f"bad device id {self.device_id!r}")
        if not (0 <= self.vid <= 0xFFFF and 0 <= self.pid <= 0xFFFF):
            raise ValueError("vid and pid are 16-bit numbers")
        if not is_valid_fw(self.fw):
            raise ValueError(f"bad firmware version {self.fw!r}")
        if self.model is not None and len(self.model.encode("utf-8")) > MODEL_MAX_LEN:
            raise ValueError("model longer than 64 bytes")


@dataclass(frozen=True, slots=True)
class LongTermKey:
    """The secret a pairing leaves with the hub; store it and pass it to reconnect."""

    device_id: str
    hub_id: str
    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) != KEY_LEN:
            raise ValueError("a long-term key is 32 bytes")
        if not (is_valid_id(self.device_id) and is_valid_id(self.hub_id)):
            raise ValueError("bad device or hub id")

    def __repr__(self) -> str:  # keep the key out of logs and tracebacks
        return f"LongTermKey(device_id={self.device_id!r}, hub_id={self.hub_id!r}, key=<hidden>)"


def normalize_pairing_code(code: str) -> str:
    """Accept ``12345678``, ``1234-5678`` or ``1234 5678``; return the 8 digits."""
    digits = code.replace("-", "").replace(" ", "")
    if len(digits) != 8 or not digits.isascii() or not digits.isdigit():
        raise ValueError("a pairing code is 8 digits")
    return digits


def _is_trivial(code: str) -> bool:
    steps = {(int(b) - int(a)) % 10 for a, b in zip(code, code[1:], strict=False)}
    return steps in ({0}, {1}, {9})  # one repeated digit, or a run up or down


def generate_pairing_code() -> str:
    """A fresh random code from the OS CSPRNG, never a trivially guessable one."""
    while True:
        code = f"{secrets.randbelow(10**8):08d}"
        if not _is_trivial(code):
            return code


def pairing_channel_id(hub_id: str, device_id: str) -> bytes:
    """CPace CI: both identities, initiator first, so a pairing cannot be relayed to another."""
    return pake.lv_cat(b"ZSDP1 pair", hub_id.encode("ascii"), device_id.encode("ascii"))


@dataclass(frozen=True, slots=True, repr=False)
class HandshakeResult:
    mode: HandshakeMode
    major: int
    minor: int
    hub_id: str
    device_id: str
    heartbeat_ms: int
    keys: SessionKeys


def _refusal(msg: Error) -> HandshakeError:
    return HandshakeError(
        msg.code, msg.message or "refused by the device", retry_after_ms=msg.retry_after_ms
    )


class HubHandshake:
    """Initiator side: ``hello()``, then ``on_reply(body)`` returns the FINISH body and keys."""

    def __init__(
        self,
        *,
        hub_id: str,
        device_id: str,
        credential: LongTermKey | str,
        heartbeat_ms: int = DEFAULT_HEARTBEAT_MS,
        version: tuple[int, int] = PROTOCOL_VERSION,
        rng: Rng = os.urandom,
    ) -> None:
        if not (is_valid_id(hub_id) and is_valid_id(device_id)):
            raise ValueError("bad hub or device id")
        preload()  # the connection is opened next: import the ciphers meanwhile, off the loop
        self._code: str | None = None
        self._ltk: bytes | None = None
        if isinstance(credential, LongTermKey):
            if (credential.device_id, credential.hub_id) != (device_id, hub_id):
                raise ValueError("the long-term key belongs to another device or hub")
            self._ltk = credential.key
        else:
            self._code = normalize_pairing_code(credential)
        self.hub_id = hub_id
        self.device_id = device_id
        self.mode = HandshakeMode.PAIR if self._code is not None else HandshakeMode.RESUME
        self._heartbeat_ms = heartbeat_ms
        self._major, self._minor = version
        self._rng = rng
        self._hello = b""
        self._nonce = b""
        self._scalar = b""
        self._share = b""

    def hello(self) -> bytes:
        self._nonce = self._rng(NONCE_LEN)
        self._scalar = self._rng(SCALAR_LEN)
        if self._code is not None:
            g = pake.calculate_generator(
                self._code.encode("ascii"),
                pairing_channel_id(self.hub_id, self.device_id),
                self._nonce,
            )
            self._share = pake.scalar_mult_vfy(self._scalar, g)
        else:
            self._share = ephemeral_public(self._scalar)
        self._hello = encode_message(
            Hello(
                major=self._major,
                minor=self._minor,
                mode=self.mode,
                hub_id=self.hub_id,
                nonce=self._nonce,
                share=self._share,
                heartbeat_ms=self._heartbeat_ms,
            )
        )
        return self._hello

    def on_reply(self, body: bytes) -> tuple[bytes, HandshakeResult]:
        """Check HELLO_REPLY (or the device's ERROR); returns the FINISH body and the result."""
        msg = decode_message(body)
        if isinstance(msg, Error):
            raise _refusal(msg)
        if not isinstance(msg, HelloReply):
            raise ProtocolError(ErrorCode.UNEXPECTED_MESSAGE, f"{type(msg).__name__} for HELLO")
        if msg.major != self._major or msg.minor > self._minor:
            raise HandshakeError(
                ErrorCode.VERSION_UNSUPPORTED, f"device chose {msg.major}.{msg.minor}"
            )
        if msg.device_id != self.device_id:
            raise HandshakeError(
                ErrorCode.WRONG_DEVICE, f"expected {self.device_id!r}, found {msg.device_id!r}"
            )
        th = transcript_hash(self._hello, body[: -(ITEM_HEADER_LEN + CONFIRM_LEN)])
        if self._code is not None:
            k = pake.scalar_mult_vfy(self._scalar, msg.share)
            if k == pake.IDENTITY:
                raise HandshakeError(ErrorCode.AUTH_FAILED, "device sent a low-order share")
            ikm = pake.isk(self._nonce, k, self._share, b"", msg.share, b"")
        else:
            assert self._ltk is not None
            dh = ephemeral_secret(self._scalar, msg.share)
            if dh is None:
                raise HandshakeError(ErrorCode.AUTH_FAILED, "device sent a low-order key")
            ikm = self._ltk + dh
        keys = derive_session_keys(ikm, th, pairing=self._code is not None)
        if not verify_tag(keys.device_confirm, th, msg.confirm):
            reason = (
                "wrong pairing code or tampered handshake"
                if self._code is not None
                else "the device does not hold this long-term key (re-pair it)"
            )
            raise HandshakeError(ErrorCode.AUTH_FAILED, reason)
        finish = encode_message(Finish(confirm_tag(keys.hub_confirm, th)))
        result = HandshakeResult(
            mode=self.mode,
            major=msg.major,
            minor=msg.minor,
            hub_id=self.hub_id,
            device_id=self.device_id,
            heartbeat_ms=self._heartbeat_ms,
            keys=keys,
        )
        return finish, result


class DeviceHandshake:
    """Responder side: ``on_hello(body)`` returns HELLO_REPLY, ``on_finish(body)`` the result.

    ``lookup_key`` maps a hub id to its stored long-term key. ``pairing_gate`` is called before
    any pairing work; it raises ``HandshakeError`` when pairing is closed or rate-limited.
    """

    def __init__(
        self,
        *,
        device_id: str,
        lookup_key: Callable[[str], bytes | None],
        pairing_code: str | None,
        pairing_gate: Callable[[], None] | None = None,
        version: tuple[int, int] = PROTOCOL_VERSION,
        rng: Rng = os.urandom,
    ) -> None:
        preload()  # HELLO is on its way: import the ciphers meanwhile, off the loop
        self.device_id = device_id
        self._lookup_key = lookup_key
        self._code = None if pairing_code is None else normalize_pairing_code(pairing_code)
        self._gate = pairing_gate
        self._major, self._minor = version
        self._rng = rng
        self._th = b""
        self._keys: SessionKeys | None = None
        self._hello: Hello | None = None
        self._minor_chosen = 0

    @property
    def hello(self) -> Hello | None:
        return self._hello

    def on_hello(self, body: bytes) -> bytes:
        # The first six bytes of HELLO (header, major, minor) are frozen across major versions, so
        # the major can be read before the rest of the message is understood.
        if len(body) >= 6 and body[0] == MsgType.HELLO and body[4] != self._major:
            raise HandshakeError(ErrorCode.VERSION_UNSUPPORTED, f"major {body[4]} not supported")
        msg = decode_message(body)
        if not isinstance(msg, Hello):
            raise ProtocolError(ErrorCode.UNEXPECTED_MESSAGE, f"{type(msg).__name__} for HELLO")
        self._hello = msg
        self._minor_chosen = min(msg.minor, self._minor)
        nonce = self._rng(NONCE_LEN)
        scalar = self._rng(SCALAR_LEN)
        if msg.mode is HandshakeMode.PAIR:
            if self._code is None:
                raise HandshakeError(ErrorCode.PAIRING_CLOSED, "pairing is not open")
            if self._gate is not None:
                self._gate()
            g = pake.calculate_generator(
                self._code.encode("ascii"),
                pairing_channel_id(msg.hub_id, self.device_id),
                msg.nonce,
            )
            share = pake.scalar_mult_vfy(scalar, g)
            k = pake.scalar_mult_vfy(scalar, msg.share)
            if k == pake.IDENTITY:
                raise HandshakeError(ErrorCode.AUTH_FAILED, "hub sent a low-order share")
            ikm = pake.isk(msg.nonce, k, msg.share, b"", share, b"")
        else:
            ltk = self._lookup_key(msg.hub_id)
            if ltk is None:
                raise HandshakeError(ErrorCode.NOT_PAIRED, f"hub {msg.hub_id!r} is not paired")
            share = ephemeral_public(scalar)
            dh = ephemeral_secret(scalar, msg.share)
            if dh is None:
                raise HandshakeError(ErrorCode.AUTH_FAILED, "hub sent a low-order key")
            ikm = ltk + dh
        reply = HelloReply(
            major=self._major,
            minor=self._minor_chosen,
            device_id=self.device_id,
            nonce=nonce,
            share=share,
            confirm=bytes(CONFIRM_LEN),
        )
        self._th = transcript_hash(body, hello_reply_prefix(reply))
        self._keys = derive_session_keys(ikm, self._th, pairing=msg.mode is HandshakeMode.PAIR)
        return encode_message(
            replace(reply, confirm=confirm_tag(self._keys.device_confirm, self._th))
        )

    def on_finish(self, body: bytes) -> HandshakeResult:
        if self._keys is None or self._hello is None:
            raise ProtocolError(ErrorCode.UNEXPECTED_MESSAGE, "FINISH before HELLO")
        msg = decode_message(body)
        if isinstance(msg, Error):  # the hub gave up, e.g. our confirm did not verify
            raise _refusal(msg)
        if not isinstance(msg, Finish):
            raise ProtocolError(ErrorCode.UNEXPECTED_MESSAGE, f"{type(msg).__name__} for FINISH")
        if not verify_tag(self._keys.hub_confirm, self._th, msg.confirm):
            reason = (
                "wrong pairing code or tampered handshake"
                if self._hello.mode is HandshakeMode.PAIR
                else "hub does not hold the long-term key"
            )
            raise HandshakeError(ErrorCode.AUTH_FAILED, reason)
        return HandshakeResult(
            mode=self._hello.mode,
            major=self._major,
            minor=self._minor_chosen,
            hub_id=self._hello.hub_id,
            device_id=self.device_id,
            heartbeat_ms=self._hello.heartbeat_ms or DEFAULT_HEARTBEAT_MS,
            keys=self._keys,
        )
