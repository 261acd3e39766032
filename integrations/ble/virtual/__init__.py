"""The virtual BLE radio: bleak backends on Google's bumble, virtual peripherals, a TCP relay.

``radio_from_spec("virtual:NAME" | "tcp:HOST:PORT")`` gives a :class:`VirtualRadio` whose
``scanner_backend`` / ``client_backend`` go to ``BleakScanner(backend=…)`` / ``BleakClient(…,
backend=…)``; peripherals (:class:`Beacon`, :class:`BthomeSensor`, :class:`GattProfileDevice`)
are added to a :class:`VirtualAir`; :class:`AirServer` serves an air to other processes.
"""

from integrations.ble.virtual.advertising import (
    AdFields,
    VirtualAdvertisement,
    build_advertising_data,
    normalize_uuid,
    parse_advertising_data,
)
from integrations.ble.virtual.air import VirtualAir
from integrations.ble.virtual.bthome import BTHOME_UUID, BthomeSensor, encode_bthome, encode_objects
from integrations.ble.virtual.client import VirtualClientBackend
from integrations.ble.virtual.errors import BleakConnectTimeout
from integrations.ble.virtual.gatt_device import GattProfileDevice, load_gatt_profile
from integrations.ble.virtual.peripheral import Beacon, VirtualPeripheral
from integrations.ble.virtual.radio import VirtualRadio, parse_radio_spec, radio_from_spec
from integrations.ble.virtual.relay import AirServer
from integrations.ble.virtual.scanner import VirtualScannerBackend

__all__ = [
    "BTHOME_UUID",
    "AdFields",
    "AirServer",
    "Beacon",
    "BleakConnectTimeout",
    "BthomeSensor",
    "GattProfileDevice",
    "VirtualAdvertisement",
    "VirtualAir",
    "VirtualClientBackend",
    "VirtualPeripheral",
    "VirtualRadio",
    "VirtualScannerBackend",
    "build_advertising_data",
    "encode_bthome",
    "encode_objects",
    "load_gatt_profile",
    "normalize_uuid",
    "parse_advertising_data",
    "parse_radio_spec",
    "radio_from_spec",
]
