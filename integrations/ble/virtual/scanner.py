"""bleak scanner backend on a :class:`VirtualRadio`:
``BleakScanner(callback, backend=radio.scanner_backend)``."""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Literal

from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bumble.device import Advertisement

from integrations.ble.virtual.advertising import VirtualAdvertisement, parse_advertising_data
from integrations.ble.virtual.radio import VirtualRadio

__all__ = ["VirtualScannerBackend"]

_LOGGER = logging.getLogger(__name__)


class VirtualScannerBackend(BaseBleakScanner):
    """Bound to a radio by :attr:`VirtualRadio.scanner_backend`; a ``radio=`` keyword also works."""

    radio: ClassVar[VirtualRadio | None] = None

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        *,
        radio: VirtualRadio | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        chosen = radio if radio is not None else type(self).radio
        if chosen is None:
            raise TypeError("VirtualScannerBackend needs a radio: use radio.scanner_backend")
        self._radio = chosen
        self._scanning = False
        self._token = object()

    async def start(self) -> None:
        if self._scanning:
            return
        self.seen_devices = {}
        self._radio.add_advertisement_listener(self._token, self._on_advertisement)
        try:
            await self._radio.scanner_started()
        except BaseException:
            self._radio.remove_advertisement_listener(self._token)
            raise
        self._scanning = True

    async def stop(self) -> None:
        if not self._scanning:
            return
        self._scanning = False
        self._radio.remove_advertisement_listener(self._token)
        await self._radio.scanner_stopped()

    def _on_advertisement(self, adv: Advertisement) -> None:
        address = adv.address.to_string(False)
        raw = bytes(adv.data_bytes)
        fields = parse_advertising_data(raw)
        if not self.is_allowed_uuid(list(fields.service_uuids)):
            return
        details = VirtualAdvertisement(
            address=address, raw=raw, connectable=bool(adv.is_connectable), rssi=adv.rssi
        )
        data = AdvertisementData(
            local_name=fields.local_name,
            manufacturer_data=dict(fields.manufacturer_data),
            service_data=dict(fields.service_data),
            service_uuids=list(fields.service_uuids),
            tx_power=fields.tx_power,
            rssi=adv.rssi,
            platform_data=(details,),
        )
        device = self.create_or_update_device(address, address, fields.local_name, details, data)
        self.call_detection_callbacks(device, data)
