"""A virtual peripheral: a bumble device with its own controller on the air.

Subclasses say what they advertise (:meth:`VirtualPeripheral.ad_fields`) and which GATT services
they serve (:meth:`VirtualPeripheral.gatt_services`); the base runs the radio side and the knobs
tests and the demo turn: RSSI, going silent, dropping links, leaving the air.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from bumble import gatt, hci
from bumble.device import AdvertisingType, Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from hub.core.tasks import TaskKeeper
from integrations.ble.virtual.advertising import AdFields, build_advertising_data, normalize_uuid
from integrations.ble.virtual.controllers import DEFAULT_RSSI, PeripheralController

__all__ = ["Beacon", "VirtualPeripheral", "check_address"]

_LOGGER = logging.getLogger(__name__)


def check_address(address: str) -> str:
    """``"a4:c1:38:00:00:01"`` -> ``"A4:C1:38:00:00:01"``; ValueError when it is not a MAC."""
    parts = address.strip().split(":")
    if len(parts) != 6 or not all(
        len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts
    ):
        raise ValueError(f"{address!r} is not a Bluetooth address (AA:BB:CC:DD:EE:FF)")
    return ":".join(p.upper() for p in parts)


class VirtualPeripheral:
    """Base of every virtual device. Not on any air until ``await air.add(peripheral)``."""

    def __init__(
        self,
        *,
        address: str,
        local_name: str | None = None,
        connectable: bool = True,
        rssi: int = DEFAULT_RSSI,
        interval_ms: float = 100.0,
        tx_power: int | None = None,
    ) -> None:
        self.address = check_address(address)
        self.local_name = local_name
        self.connectable = connectable
        self.rssi = rssi
        self.interval_ms = interval_ms
        self.tx_power = tx_power
        self.advertising = False
        self._controller: PeripheralController | None = None
        self._device: Device | None = None
        self.tasks = TaskKeeper(f"ble peripheral {self.address}")

    # ------------------------------------------------------------------ what subclasses give

    def ad_fields(self) -> AdFields:
        """What to advertise now. The base advertises its name and TX power only."""
        return AdFields(local_name=self.local_name, tx_power=self.tx_power)

    def gatt_services(self) -> Sequence[gatt.Service]:
        return ()

    # ------------------------------------------------------------------ state

    @property
    def on_air(self) -> bool:
        return self._device is not None

    @property
    def device(self) -> Device:
        if self._device is None:
            raise RuntimeError(f"{self.address} is not on an air")
        return self._device

    @property
    def connection_count(self) -> int:
        return 0 if self._device is None else len(self._device.connections)

    def advertising_bytes(self) -> bytes:
        f = self.ad_fields()
        return build_advertising_data(
            local_name=f.local_name,
            manufacturer_data=f.manufacturer_data,
            service_data=dict(f.service_data),
            service_uuids=f.service_uuids,
            tx_power=f.tx_power,
        )

    # ------------------------------------------------------------------ the air

    async def attach(self, link: LocalLink) -> None:
        controller = PeripheralController(
            f"peripheral {self.address}", link=link, public_address=self.address
        )
        controller.rssi = self.rssi
        controller.connectable = self.connectable
        device = Device(
            name=self.local_name or self.address,
            address=hci.Address(self.address, hci.Address.RANDOM_DEVICE_ADDRESS),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        device.add_services(list(self.gatt_services()))
        self._controller, self._device = controller, device
        try:
            await device.power_on()
            await self.resume()
        except BaseException:
            link.remove_controller(controller)
            self._controller = self._device = None
            raise

    async def detach(self) -> None:
        controller, device = self._controller, self._device
        if controller is None or device is None:
            return
        await self.go_silent(drop_links=False)
        # Out of range: the central sees a supervision timeout, not a polite disconnect.
        for conn in list(controller.le_connections.values()):
            controller.on_le_disconnected(conn, hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR)
            peer = controller.link.find_le_controller(conn.peer_address)
            peer_conn = None if peer is None else peer.le_connections.get(conn.self_address)
            if peer is not None and peer_conn is not None:
                peer.on_le_disconnected(peer_conn, hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR)
        controller.link.remove_controller(controller)
        self._controller = self._device = None
        await self.tasks.cancel_all()
        self.tasks = TaskKeeper(f"ble peripheral {self.address}")

    # ------------------------------------------------------------------ knobs

    def set_rssi(self, rssi: int) -> None:
        self.rssi = rssi
        if self._controller is not None:
            self._controller.rssi = rssi

    async def readvertise(self) -> None:
        """Advertise the current :meth:`ad_fields` at once (after a state change)."""
        if self.advertising:
            await self._start_advertising()

    async def go_silent(self, *, drop_links: bool = True) -> None:
        """Stop advertising (and by default drop every link): a dead battery, a device unplugged."""
        if self._device is None:
            return
        self.advertising = False
        await self._device.stop_advertising()
        if drop_links:
            await self.drop_connections()

    async def resume(self) -> None:
        """Advertise again after :meth:`go_silent`."""
        self.advertising = True
        await self._start_advertising()

    async def drop_connections(
        self, reason: int = hci.HCI_ErrorCode.REMOTE_USER_TERMINATED_CONNECTION_ERROR
    ) -> None:
        """The peripheral ends its links (the hub sees an unsolicited disconnect)."""
        if self._device is None:
            return
        for conn in list(self._device.connections.values()):
            try:
                await conn.disconnect(reason)
            except hci.HCI_Error as err:  # already going away
                _LOGGER.debug("disconnect %s: %s", self.address, err)

    async def _start_advertising(self) -> None:
        device = self.device
        kind = (
            AdvertisingType.UNDIRECTED_CONNECTABLE_SCANNABLE
            if self.connectable
            else AdvertisingType.UNDIRECTED
        )
        await device.start_advertising(
            advertising_type=kind,
            advertising_data=self.advertising_bytes(),
            advertising_interval_min=self.interval_ms,
            advertising_interval_max=self.interval_ms,
            auto_restart=True,
        )


class Beacon(VirtualPeripheral):
    """Advertises given fields (name, manufacturer data, service UUIDs and data) and serves no
    GATT services of its own: fingerprint matching tests and simple presence devices."""

    def __init__(
        self,
        *,
        address: str,
        local_name: str | None = None,
        manufacturer_data: Mapping[int, bytes] | None = None,
        service_uuids: Sequence[str | int] = (),
        service_data: Mapping[str | int, bytes] | None = None,
        **kw: object,
    ) -> None:
        super().__init__(address=address, local_name=local_name, **kw)  # type: ignore[arg-type]
        self.manufacturer_data = dict(manufacturer_data or {})
        self.service_uuids = [normalize_uuid(u) for u in service_uuids]
        self.service_data = {normalize_uuid(k): bytes(v) for k, v in (service_data or {}).items()}

    def ad_fields(self) -> AdFields:
        return AdFields(
            local_name=self.local_name,
            manufacturer_data=self.manufacturer_data,
            service_data=self.service_data,
            service_uuids=tuple(self.service_uuids),
            tx_power=self.tx_power,
        )

    async def set_fields(
        self,
        *,
        local_name: str | None = None,
        manufacturer_data: Mapping[int, bytes] | None = None,
        service_data: Mapping[str | int, bytes] | None = None,
    ) -> None:
        """Change what is advertised (only the given fields) and re-advertise."""
        if local_name is not None:
            self.local_name = local_name
        if manufacturer_data is not None:
            self.manufacturer_data = dict(manufacturer_data)
        if service_data is not None:
            self.service_data = {normalize_uuid(k): bytes(v) for k, v in service_data.items()}
        await self.readvertise()
