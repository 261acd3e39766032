"""bleak client backend on a :class:`VirtualRadio`:
``BleakClient(device, backend=radio.client_backend)``.

bumble errors never reach the caller: they become bleak's (``BleakError``,
``BleakDeviceNotFoundError``, ``BleakGATTProtocolError``, :class:`BleakConnectTimeout`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, ClassVar, cast

from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, core, gatt, hci
from bumble.device import Connection, Peer
from bumble.gatt_client import CharacteristicProxy, DescriptorProxy

from integrations.ble.virtual.advertising import normalize_uuid
from integrations.ble.virtual.errors import BleakConnectTimeout
from integrations.ble.virtual.peripheral import check_address
from integrations.ble.virtual.radio import VirtualRadio

__all__ = ["VirtualClientBackend"]

_LOGGER = logging.getLogger(__name__)

PREFERRED_MTU = 247

# bumble's property bits -> bleak's property names
_PROPERTY_NAMES: tuple[tuple[int, str], ...] = (
    (gatt.Characteristic.Properties.BROADCAST, "broadcast"),
    (gatt.Characteristic.Properties.READ, "read"),
    (gatt.Characteristic.Properties.WRITE_WITHOUT_RESPONSE, "write-without-response"),
    (gatt.Characteristic.Properties.WRITE, "write"),
    (gatt.Characteristic.Properties.NOTIFY, "notify"),
    (gatt.Characteristic.Properties.INDICATE, "indicate"),
    (gatt.Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES, "authenticated-signed-writes"),
    (gatt.Characteristic.Properties.EXTENDED_PROPERTIES, "extended-properties"),
)


def _uuid_text(uuid: core.UUID) -> str:
    """bumble UUID -> bleak's form (128-bit, lower case)."""
    return normalize_uuid(uuid.to_hex_str("-"))


def _gatt_error(err: Exception) -> BleakError:
    if isinstance(err, att.ATT_Error):
        return BleakGATTProtocolError(int(err.error_code))
    return BleakError(f"virtual radio: {err}")


class VirtualClientBackend(BaseBleakClient):
    """Bound to a radio by :attr:`VirtualRadio.client_backend`; a ``radio=`` keyword also works."""

    radio: ClassVar[VirtualRadio | None] = None

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        radio: VirtualRadio | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        chosen = radio if radio is not None else type(self).radio
        if chosen is None:
            raise TypeError("VirtualClientBackend needs a radio: use radio.client_backend")
        self._radio = chosen
        self.address = check_address(self.address)
        self._name = (
            address_or_ble_device.name
            if isinstance(address_or_ble_device, BLEDevice) and address_or_ble_device.name
            else self.address
        )
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._disconnecting = False
        self._subscriptions: dict[int, Callable[[bytes], None]] = {}

    # ------------------------------------------------------------------ connection

    @property
    def name(self) -> str:
        return self._name

    @property
    def mtu_size(self) -> int:
        return 23 if self._connection is None else int(self._connection.att_mtu)

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self._connection is not None:
            return
        timeout = float(kwargs.get("timeout", self._timeout))
        device = await self._radio.ensure_open()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if not await self._radio.wait_for_advertiser(self.address, timeout):
            raise BleakDeviceNotFoundError(
                self.address, f"Device with address {self.address} was not found."
            )
        remaining = max(0.1, deadline - loop.time())
        try:
            async with self._radio.connect_lock:
                connection = await device.connect(
                    hci.Address(self.address, hci.Address.RANDOM_DEVICE_ADDRESS),
                    timeout=remaining,
                )
        except (TimeoutError, core.TimeoutError) as err:
            raise BleakConnectTimeout(f"connecting to {self.address} timed out") from err
        except (hci.HCI_Error, core.BaseBumbleError, OSError) as err:
            raise BleakError(f"connecting to {self.address} failed: {err}") from err
        self._connection = connection
        self._disconnecting = False
        connection.on("disconnection", self._on_disconnection)
        try:
            await self._discover(connection)
        except BaseException:
            await self.disconnect()
            raise

    async def _discover(self, connection: Connection) -> None:
        peer = Peer(connection)
        self._peer = peer
        try:
            await peer.request_mtu(PREFERRED_MTU)
            services = await peer.discover_services()
            collection = BleakGATTServiceCollection()
            for svc in services:
                bservice = BleakGATTService(svc, svc.handle, _uuid_text(svc.uuid))
                collection.add_service(bservice)
                for char in await svc.discover_characteristics():
                    props = [n for bit, n in _PROPERTY_NAMES if char.properties & bit]
                    bchar = BleakGATTCharacteristic(
                        char,
                        char.handle,
                        _uuid_text(char.uuid),
                        props,  # type: ignore[arg-type]
                        lambda: self.mtu_size - 3,
                        bservice,
                    )
                    collection.add_characteristic(bchar)
                    for desc in await char.discover_descriptors():
                        collection.add_descriptor(
                            BleakGATTDescriptor(desc, desc.handle, _uuid_text(desc.type), bchar)
                        )
        except (att.ATT_Error, hci.HCI_Error, core.BaseBumbleError, TimeoutError) as err:
            raise _gatt_error(err) from err
        self.services = collection

    def _on_disconnection(self, reason: int) -> None:
        solicited = self._disconnecting
        self._connection = None
        self._peer = None
        self._subscriptions.clear()
        self.services = None
        _LOGGER.debug("%s disconnected (reason 0x%02X, ours: %s)", self.address, reason, solicited)
        if not solicited and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._disconnecting = True
        try:
            await connection.disconnect()
        except (hci.HCI_Error, core.BaseBumbleError, OSError, TimeoutError) as err:
            _LOGGER.debug("disconnect %s: %s", self.address, err)
        if self._connection is connection:  # no event came (radio gone): forget it ourselves
            self._on_disconnection(hci.HCI_ErrorCode.CONNECTION_TERMINATED_BY_LOCAL_HOST_ERROR)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        _LOGGER.info("virtual radio: pairing is not needed (links are not encrypted)")

    async def unpair(self) -> None:
        _LOGGER.info("virtual radio: nothing to unpair")

    # ------------------------------------------------------------------ I/O

    def _require(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        self._require()
        proxy = cast(CharacteristicProxy[bytes], characteristic.obj)
        try:
            return bytearray(await proxy.read_value())
        except (att.ATT_Error, hci.HCI_Error, core.BaseBumbleError, TimeoutError) as err:
            raise _gatt_error(err) from err

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        self._require()
        proxy = cast(DescriptorProxy, descriptor.obj)
        try:
            return bytearray(await proxy.read_value())
        except (att.ATT_Error, hci.HCI_Error, core.BaseBumbleError, TimeoutError) as err:
            raise _gatt_error(err) from err

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        self._require()
        proxy = cast(CharacteristicProxy[bytes], characteristic.obj)
        try:
            await proxy.write_value(bytes(data), with_response=response)
        except (att.ATT_Error, hci.HCI_Error, core.BaseBumbleError, TimeoutError) as err:
            raise _gatt_error(err) from err

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        self._require()
        proxy = cast(DescriptorProxy, descriptor.obj)
        try:
            await proxy.write_value(bytes(data), with_response=True)
        except (att.ATT_Error, hci.HCI_Error, core.BaseBumbleError, TimeoutError) as err:
            raise _gatt_error(err) from err

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        self._require()
        proxy = cast(CharacteristicProxy[bytes], characteristic.obj)

        def subscriber(value: bytes) -> None:
            callback(bytearray(value))

        try:
            await proxy.subscribe(subscriber, prefer_notify=True)
        except (att.ATT_Error, hci.HCI_Error, core.BaseBumbleError, TimeoutError) as err:
            raise _gatt_error(err) from err
        self._subscriptions[characteristic.handle] = subscriber

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self._require()
        proxy = cast(CharacteristicProxy[bytes], characteristic.obj)
        subscriber = self._subscriptions.pop(characteristic.handle, None)
        try:
            await proxy.unsubscribe(subscriber)
        except (att.ATT_Error, hci.HCI_Error, core.BaseBumbleError, TimeoutError) as err:
            raise _gatt_error(err) from err
