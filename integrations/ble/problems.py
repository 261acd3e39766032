"""User-facing failures of the BLE integration, worded in zh and en through ``hub.errors``.

Like the ZS-DP ones: :class:`IntegrationError` subclasses with a ``code`` from
``hub.errors.MESSAGES``, ``params`` (the hub re-raises them as ``HubError`` with both texts), and
``as_dict()`` in the API's shape. ``str(err)`` is the English text.
"""

from __future__ import annotations

from typing import Any, ClassVar

from hub.core.integration import DeviceUnavailableError, WordedIntegrationError

__all__ = [
    "BindkeyInvalidError",
    "BindkeyMissingError",
    "BindkeyWrongError",
    "BleCommandFailedError",
    "BleDeviceOfflineError",
    "BleNotHeardError",
    "BleNotSupportedError",
    "BleWordedError",
    "EncryptionRequiredError",
    "ProfileTransportError",
]


class BleWordedError(WordedIntegrationError):
    """A BLE failure with a ``hub.errors`` code and zh/en texts."""


class BindkeyMissingError(BleWordedError):
    code: ClassVar[str] = "ble_bindkey_missing"
    status: ClassVar[int] = 400


class BindkeyInvalidError(BleWordedError):
    code: ClassVar[str] = "ble_bindkey_invalid"
    status: ClassVar[int] = 400


class BindkeyWrongError(BleWordedError):
    code: ClassVar[str] = "ble_bindkey_wrong"


class EncryptionRequiredError(BleWordedError):
    code: ClassVar[str] = "ble_encryption_required"


class BleNotHeardError(BleWordedError):
    code: ClassVar[str] = "ble_not_heard"
    status: ClassVar[int] = 409


class ProfileTransportError(BleWordedError):
    code: ClassVar[str] = "profile_transport"


class BleNotSupportedError(BleWordedError):
    code: ClassVar[str] = "not_supported"

    def __init__(self, **params: Any) -> None:
        super().__init__(transport="BLE", **params)


class BleCommandFailedError(BleWordedError):
    code: ClassVar[str] = "ble_command_failed"


class BleDeviceOfflineError(WordedIntegrationError, DeviceUnavailableError):
    code: ClassVar[str] = "ble_device_offline"
    status: ClassVar[int] = 503
