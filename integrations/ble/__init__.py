"""BLE transport: one bleak scanner for the hub, BTHome v2 advertisements and GATT devices.

* :mod:`.scanner` keeps the hub's one ``BleakScanner`` running (or says why it cannot, and
  retries); :mod:`.advertisement` turns what it reports into :class:`Sighting` records.
* :mod:`.bthome` reads BTHome v2 service data (AES-CCM with the bind key); :mod:`.bthome_device`
  applies it to a device through the profile's ``bthome`` binding, with replay and downgrade
  protection.
* :mod:`.gatt` is the :class:`~hub.core.integration.DeviceLink` of ``ble_gatt`` devices.
* :mod:`.integration` ties them together (discovery records, adding devices, availability).
* ``virtual/`` is a bumble-based radio and virtual peripherals for tests and the demo home.
"""
