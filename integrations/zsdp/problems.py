"""User-facing failures of the ZS-DP integration, worded in zh and en through ``hub.errors``.

They are :class:`IntegrationError` subclasses (the command path and the add-device path catch
that), each with a ``code`` from ``hub.errors.MESSAGES``, the two texts and ``as_dict()`` in the
shape the API uses for ``HubError``. ``str(err)`` is the English text.
"""

from __future__ import annotations

from typing import ClassVar

from hub.core.integration import DeviceUnavailableError, WordedIntegrationError
from hub.errors import message
from integrations.zsdp.errors import ErrorCode, HandshakeError, ZsdpError, describe_code

__all__ = [
    "DeviceOfflineError",
    "DeviceRefusedError",
    "DeviceTimeoutError",
    "DeviceUnreachableError",
    "NotSupportedError",
    "PairingBusyError",
    "PairingClosedError",
    "PairingCodeInvalidError",
    "PairingError",
    "PairingFailedError",
    "PairingRateLimitedError",
    "WordedError",
    "WrongDeviceError",
    "pairing_error_from",
]


class WordedError(WordedIntegrationError):
    """A ZS-DP failure with a ``hub.errors`` code and zh/en texts."""


class PairingError(WordedError):
    code: ClassVar[str] = "pairing_error"


class PairingCodeInvalidError(PairingError):
    code: ClassVar[str] = "pairing_code_invalid"
    status: ClassVar[int] = 400


class PairingFailedError(PairingError):
    """Wrong pairing code (the device or the hub saw the CPace confirm fail)."""

    code: ClassVar[str] = "pairing_failed"


class PairingClosedError(PairingError):
    code: ClassVar[str] = "pairing_closed"
    status: ClassVar[int] = 409


class PairingRateLimitedError(PairingError):
    code: ClassVar[str] = "pairing_rate_limited"
    status: ClassVar[int] = 429


class PairingBusyError(PairingError):
    code: ClassVar[str] = "pairing_busy"
    status: ClassVar[int] = 409


class WrongDeviceError(PairingError):
    code: ClassVar[str] = "wrong_device"


class DeviceUnreachableError(WordedError):
    code: ClassVar[str] = "device_unreachable"
    status: ClassVar[int] = 504


class DeviceOfflineError(DeviceUnavailableError):
    """No session with the device right now (the kernel words it as ``device_offline``)."""

    def __init__(self, device: str, detail: str = "") -> None:
        self.zh, self.en = message("device_offline", device=device)
        super().__init__(f"{self.en} ({detail})" if detail else self.en)


class DeviceRefusedError(WordedError):
    """The device answered a request with ERROR (read-only DP, out of range, interlock …)."""

    code: ClassVar[str] = "device_refused"

    def __init__(self, error: ZsdpError) -> None:
        self.zsdp_code = error.code
        super().__init__(detail=_describe(error))


class DeviceTimeoutError(WordedError):
    code: ClassVar[str] = "device_timeout"
    status: ClassVar[int] = 504


class NotSupportedError(WordedError):
    code: ClassVar[str] = "not_supported"
    status: ClassVar[int] = 400


def _describe(error: ZsdpError) -> str:
    text = describe_code(error.code)
    if error.dp is not None:
        text += f" (DP {error.dp})"
    if error.message:
        text += f": {error.message}"
    return text


def pairing_error_from(error: ZsdpError, device: str, address: str) -> WordedError:
    """Word a failed pairing handshake for the user."""
    code = error.code
    if code == ErrorCode.AUTH_FAILED:
        return PairingFailedError(device=device)
    if code == ErrorCode.PAIRING_CLOSED:
        return PairingClosedError(device=device)
    if code == ErrorCode.RATE_LIMITED:
        seconds = max(1, round((error.retry_after_ms or 30_000) / 1000))
        return PairingRateLimitedError(device=device, seconds=seconds)
    if code == ErrorCode.BUSY:
        return PairingBusyError(device=device)
    if code == ErrorCode.WRONG_DEVICE:
        return WrongDeviceError(device=device, address=address)
    if isinstance(error, HandshakeError) and code != ErrorCode.HANDSHAKE_TIMEOUT:
        return PairingError(device=device, detail=_describe(error))
    return DeviceUnreachableError(device=device, address=address, detail=_describe(error))
