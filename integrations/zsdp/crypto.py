"""ZS-DP key schedule and the per-session AEAD channel (docs/zsdp.md §8.4, §9.1).

Every handshake ends in one input keying material (IKM): CPace's ISK when pairing, or the
long-term key together with a fresh ephemeral X25519 secret when resuming. HKDF-SHA256 salted with
the transcript hash turns it into two direction keys, two confirmation keys and, when pairing, the
long-term key. Frames are sealed with ChaCha20-Poly1305 (fast in software, constant-time without
AES hardware, in mbedTLS and Monocypher); the nonce is the frame's 64-bit counter, which must be
exactly one more than the previous one, so a replayed, reordered or dropped frame is refused.

``cryptography`` (its Rust extension alone is ~6 MiB resident) is imported at first use, not
with this module: a hub with no ZS-DP device never loads it. :func:`preload` imports it in a
thread when it is about to be needed (a paired device, a handshake on its way), so the first
handshake does not import it on the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import threading
from dataclasses import dataclass

from hub.plugins import import_in_background
from integrations.zsdp.errors import ErrorCode, ProtocolError
from integrations.zsdp.messages import BODY_HEADER_LEN
from integrations.zsdp.wire import MAX_PAYLOAD, FrameKind, frame_header

__all__ = [
    "COUNTER_LEN",
    "KEY_LEN",
    "MAX_BODY",
    "TAG_LEN",
    "SecureChannel",
    "SessionKeys",
    "confirm_tag",
    "derive_session_keys",
    "ephemeral_public",
    "ephemeral_secret",
    "preload",
    "transcript_hash",
    "verify_tag",
]

KEY_LEN = 32
TAG_LEN = 16
COUNTER_LEN = 8
MAX_COUNTER = 2**64 - 1
# Largest plaintext body that still fits one secure frame.
MAX_BODY = MAX_PAYLOAD - COUNTER_LEN - TAG_LEN

_COUNTER = struct.Struct(">Q")

LABEL_HUB_CONFIRM = b"ZSDP1 hub confirm"
LABEL_DEVICE_CONFIRM = b"ZSDP1 device confirm"
LABEL_HUB_TO_DEVICE = b"ZSDP1 hub to device"
LABEL_DEVICE_TO_HUB = b"ZSDP1 device to hub"
LABEL_LONG_TERM = b"ZSDP1 long-term key"

# What the handshake and the channel use; pake.py needs only x25519, a subset.
LIBRARY_MODULES = (
    "cryptography.exceptions",
    "cryptography.hazmat.primitives.hashes",
    "cryptography.hazmat.primitives.asymmetric.x25519",
    "cryptography.hazmat.primitives.ciphers.aead",
    "cryptography.hazmat.primitives.kdf.hkdf",
)


def preload() -> threading.Thread | None:
    """Start importing ``cryptography`` in a worker thread (once; None when it is imported)."""
    return import_in_background(*LIBRARY_MODULES)


def _invalid_tag() -> type[Exception]:
    # Only evaluated in an ``except`` clause, after a decrypt call has imported the library.
    from cryptography.exceptions import InvalidTag

    return InvalidTag


def transcript_hash(hello_body: bytes, reply_prefix: bytes) -> bytes:
    """SHA-256 over the HELLO body and the HELLO_REPLY body without its confirm item."""
    return hashlib.sha256(hello_body + reply_prefix).digest()


def _hkdf(ikm: bytes, salt: bytes, label: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=KEY_LEN, salt=salt, info=label).derive(ikm)


@dataclass(frozen=True, slots=True, repr=False)
class SessionKeys:
    hub_to_device: bytes
    device_to_hub: bytes
    hub_confirm: bytes
    device_confirm: bytes
    long_term_key: bytes | None  # only when the handshake was a pairing


def derive_session_keys(ikm: bytes, th: bytes, *, pairing: bool) -> SessionKeys:
    return SessionKeys(
        hub_to_device=_hkdf(ikm, th, LABEL_HUB_TO_DEVICE),
        device_to_hub=_hkdf(ikm, th, LABEL_DEVICE_TO_HUB),
        hub_confirm=_hkdf(ikm, th, LABEL_HUB_CONFIRM),
        device_confirm=_hkdf(ikm, th, LABEL_DEVICE_CONFIRM),
        long_term_key=_hkdf(ikm, th, LABEL_LONG_TERM) if pairing else None,
    )


def ephemeral_secret(private: bytes, peer_public: bytes) -> bytes | None:
    """X25519 for the resume handshake; None when the peer sent a low-order point."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import (
        X25519PrivateKey,
        X25519PublicKey,
    )

    try:
        key = X25519PrivateKey.from_private_bytes(private)
        return key.exchange(X25519PublicKey.from_public_bytes(peer_public))
    except ValueError:
        return None


def ephemeral_public(private: bytes) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


def confirm_tag(key: bytes, th: bytes) -> bytes:
    return hmac.new(key, th, hashlib.sha256).digest()


def verify_tag(key: bytes, th: bytes, tag: bytes) -> bool:
    return hmac.compare_digest(confirm_tag(key, th), tag)


class SecureChannel:
    """Seals outgoing and opens incoming secure frames of one session, one key per direction."""

    def __init__(self, send_key: bytes, recv_key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

        self._send = ChaCha20Poly1305(send_key)
        self._recv = ChaCha20Poly1305(recv_key)
        self.send_counter = 0  # counter of the next frame sent
        self.recv_counter = 0  # counter the next received frame must carry

    @staticmethod
    def _nonce(counter: int) -> bytes:
        return b"\x00\x00\x00\x00" + _COUNTER.pack(counter)

    def seal(self, body: bytes) -> bytes:
        """Encrypt a message body into a complete frame (header included)."""
        if len(body) > MAX_BODY:
            raise ProtocolError(ErrorCode.FRAME_TOO_LARGE, f"body of {len(body)} bytes")
        if self.send_counter > MAX_COUNTER:
            raise ProtocolError(ErrorCode.REPLAY, "send counter exhausted; reconnect")
        counter = _COUNTER.pack(self.send_counter)
        header = frame_header(FrameKind.SECURE, COUNTER_LEN + len(body) + TAG_LEN)
        sealed = self._send.encrypt(self._nonce(self.send_counter), body, header + counter)
        self.send_counter += 1
        return header + counter + sealed

    def open(self, header: bytes, payload: bytes) -> bytes:
        """Check the counter and the tag of a received secure frame; returns the body."""
        if len(payload) < COUNTER_LEN + TAG_LEN + BODY_HEADER_LEN:
            raise ProtocolError(ErrorCode.MALFORMED, "secure frame too short")
        (counter,) = _COUNTER.unpack_from(payload)
        # Strictly increasing and in fact consecutive: TCP delivers in order, so anything else is
        # a replay, a reordering or a deletion by someone on the path.
        if counter != self.recv_counter:
            raise ProtocolError(
                ErrorCode.REPLAY, f"counter {counter}, expected {self.recv_counter}"
            )
        try:
            body = self._recv.decrypt(
                self._nonce(counter), payload[COUNTER_LEN:], header + payload[:COUNTER_LEN]
            )
        except _invalid_tag():
            raise ProtocolError(ErrorCode.DECRYPT_FAILED, "authentication tag mismatch") from None
        self.recv_counter += 1
        return body
