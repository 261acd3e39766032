"""ZS-DP error codes and the exception types of the protocol layer.

Codes are the numbers carried by ERROR and BYE messages (docs/zsdp.md §10); the hundreds digit is
the class, so a peer can handle a code it does not know by its class. Every malformed input is
reported as ``ProtocolError``; nothing else escapes the decoders (the fuzz tests hold them to it).
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "ConnectionClosedError",
    "ErrorCode",
    "HandshakeError",
    "ProtocolError",
    "RemoteError",
    "RequestTimeoutError",
    "ZsdpError",
    "describe_code",
]


class ErrorCode(IntEnum):
    """Numbered error codes (u16 on the wire)."""

    # 1xx: frame and message format
    MALFORMED = 100
    FRAME_TOO_LARGE = 101
    BAD_MAGIC = 102
    UNSUPPORTED_FRAME = 103
    BAD_VALUE = 104
    UNEXPECTED_MESSAGE = 105
    UNSUPPORTED_MESSAGE = 106
    # 2xx: security and handshake
    AUTH_FAILED = 200
    NOT_PAIRED = 201
    PAIRING_CLOSED = 202
    RATE_LIMITED = 203
    DECRYPT_FAILED = 204
    REPLAY = 205
    VERSION_UNSUPPORTED = 206
    WRONG_DEVICE = 207
    HANDSHAKE_TIMEOUT = 208
    # 3xx: the device refused a request
    UNKNOWN_DP = 300
    READ_ONLY = 301
    BAD_TYPE = 302
    OUT_OF_RANGE = 303
    UNKNOWN_ACTION = 304
    BUSY = 305
    REFUSED = 306
    DEVICE_FAILURE = 307
    # 4xx: session life
    SHUTDOWN = 400
    HEARTBEAT_TIMEOUT = 401
    CONNECTION_LOST = 402
    REQUEST_TIMEOUT = 403


_CLASS_NAMES = {
    1: "format error",
    2: "security error",
    3: "request refused",
    4: "session closed",
}


def describe_code(code: int) -> str:
    """Name a code; unknown codes (from a newer minor version) are named by their class."""
    try:
        return ErrorCode(code).name
    except ValueError:
        return f"{_CLASS_NAMES.get(code // 100, 'unknown error')} {code}"


class ZsdpError(Exception):
    """Base of every ZS-DP exception: carries a numbered code and optional details."""

    def __init__(
        self,
        code: int,
        message: str = "",
        *,
        dp: int | None = None,
        retry_after_ms: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.dp = dp
        self.retry_after_ms = retry_after_ms

    def __str__(self) -> str:
        text = f"{describe_code(self.code)} ({self.code})"
        if self.dp is not None:
            text += f" dp {self.dp}"
        if self.message:
            text += f": {self.message}"
        return text


class ProtocolError(ZsdpError):
    """Malformed or out-of-place input detected locally (bad frame, bad value, bad MAC, replay)."""


class HandshakeError(ZsdpError):
    """The handshake was refused: wrong pairing code, unknown hub, unsupported version, ..."""


class RemoteError(ZsdpError):
    """The peer answered a request with an ERROR message."""


class ConnectionClosedError(ZsdpError):
    """The session ended before the operation completed."""


class RequestTimeoutError(ZsdpError):
    """No response arrived within the request timeout."""
