"""The hub's virtual adapter: a bumble host on a controller in this process or behind a relay.

A radio opens lazily (first scan or connect) and re-opens after it was lost, so "adapter missing
at start, present later" behaves like a real adapter that was plugged in.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason
from bumble import hci
from bumble.device import Advertisement, Device
from bumble.host import Host
from bumble.transport import open_transport
from bumble.transport.common import AsyncPipeSink, Transport

from hub.core.tasks import TaskKeeper
from integrations.ble.virtual.air import VirtualAir
from integrations.ble.virtual.controllers import HubController

if TYPE_CHECKING:
    from integrations.ble.virtual.client import VirtualClientBackend
    from integrations.ble.virtual.scanner import VirtualScannerBackend

__all__ = ["VirtualRadio", "parse_radio_spec", "radio_from_spec"]

_LOGGER = logging.getLogger(__name__)

AdvertisementListener = Callable[[Advertisement], None]
LostListener = Callable[[], None]


def parse_radio_spec(spec: str) -> tuple[str, str, int]:
    """``"virtual:NAME"`` -> ``("virtual", NAME, 0)``; ``"tcp:HOST:PORT"`` -> ``("tcp", HOST,
    PORT)``; ``"system"``/``""`` -> ``("system", "", 0)``. ValueError with the reason otherwise."""
    text = spec.strip()
    if text in ("", "system"):
        return ("system", "", 0)
    kind, _, rest = text.partition(":")
    if kind == "virtual":
        if not rest:
            raise ValueError(f"{spec!r}: give the air's name, e.g. virtual:demo")
        return ("virtual", rest, 0)
    if kind == "tcp":
        host, _, port_text = rest.rpartition(":")
        host = host.strip("[]")
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(
                f"{spec!r}: the host must be an IP address, e.g. tcp:127.0.0.1:47110"
            ) from None
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"{spec!r}: the port must be 1..65535")
        return ("tcp", host, int(port_text))
    raise ValueError(f"{spec!r}: a BLE radio is 'system', 'virtual:NAME' or 'tcp:HOST:PORT'")


def radio_from_spec(spec: str) -> VirtualRadio | None:
    """The radio a configuration names; None for the system radio (bleak's own backend)."""
    kind, host, port = parse_radio_spec(spec)
    if kind == "system":
        return None
    if kind == "virtual":
        return VirtualRadio(air=VirtualAir.named(host))
    return VirtualRadio(tcp=(host, port))


def _random_static_address() -> str:
    raw = bytearray(secrets.token_bytes(6))
    raw[0] |= 0xC0  # random static: the two top bits set
    return ":".join(f"{b:02X}" for b in raw)


class VirtualRadio:
    """One adapter. Give exactly one of ``air`` (in-process) or ``tcp`` (an ``AirServer``)."""

    def __init__(
        self,
        *,
        air: VirtualAir | None = None,
        tcp: tuple[str, int] | None = None,
        open_timeout: float = 5.0,
    ) -> None:
        if (air is None) == (tcp is None):
            raise ValueError("a virtual radio needs either an air or a tcp address")
        self.air = air
        self.tcp = tcp
        self.address = _random_static_address()
        self._open_timeout = open_timeout
        self._device: Device | None = None
        self._controller: HubController | None = None
        self._transport: Transport | None = None
        self._open_lock = asyncio.Lock()
        self.connect_lock = asyncio.Lock()  # bumble allows one pending LE connection
        self._adv_listeners: dict[object, AdvertisementListener] = {}
        self._lost_listeners: dict[object, LostListener] = {}
        self._scanners = 0
        self._scanning_active = False
        self._tasks = TaskKeeper("ble radio")
        self._closed = False
        self.seen: dict[str, Advertisement] = {}  # address -> last advertisement
        self.scanner_backend = self._bind_scanner()
        self.client_backend = self._bind_client()

    def __repr__(self) -> str:
        if self.air is not None:
            where = f"virtual:{self.air.name}"
        else:
            assert self.tcp is not None
            where = f"tcp:{self.tcp[0]}:{self.tcp[1]}"
        return f"VirtualRadio({where})"

    # ------------------------------------------------------------------ backends

    def _bind_scanner(self) -> type[VirtualScannerBackend]:
        from integrations.ble.virtual.scanner import VirtualScannerBackend

        return type("VirtualScanner", (VirtualScannerBackend,), {"radio": self})

    def _bind_client(self) -> type[VirtualClientBackend]:
        from integrations.ble.virtual.client import VirtualClientBackend

        return type("VirtualClient", (VirtualClientBackend,), {"radio": self})

    # ------------------------------------------------------------------ open / close

    @property
    def is_open(self) -> bool:
        return self._device is not None

    async def ensure_open(self) -> Device:
        """The bumble host, opened now if needed; BleakBluetoothNotAvailableError if it cannot."""
        if self._closed:
            raise BleakBluetoothNotAvailableError(
                "the virtual radio is closed", BleakBluetoothNotAvailableReason.POWERED_OFF
            )
        async with self._open_lock:
            if self._device is not None:
                return self._device
            try:
                return await asyncio.wait_for(self._open(), self._open_timeout)
            except (OSError, TimeoutError, hci.HCI_Error) as err:
                await self._teardown()
                raise BleakBluetoothNotAvailableError(
                    f"virtual radio {self!r} is not available: {err or type(err).__name__}",
                    BleakBluetoothNotAvailableReason.NO_BLUETOOTH,
                ) from err

    async def _open(self) -> Device:
        if self.air is not None:
            controller = HubController("hub", link=self.air.link, public_address=self.address)
            self._controller = controller
            host = Host(controller, AsyncPipeSink(controller))
        else:
            assert self.tcp is not None
            host_text = f"[{self.tcp[0]}]" if ":" in self.tcp[0] else self.tcp[0]
            transport = await open_transport(f"tcp-client:{host_text}:{self.tcp[1]}")
            self._transport = transport
            host = Host(transport.source, transport.sink)
            terminated = transport.source.terminated
            self._tasks.create(self._watch(terminated, transport), "ble radio relay watch")
        device = Device(
            name="zshub",
            address=hci.Address(self.address, hci.Address.RANDOM_DEVICE_ADDRESS),
            host=host,
        )
        device.on("advertisement", self._on_advertisement)
        await device.power_on()
        self._device = device
        if self._scanners:
            await self._start_scanning(device)
        return device

    async def _watch(self, terminated: asyncio.Future[None], transport: Transport) -> None:
        await terminated
        if self._transport is transport:
            _LOGGER.warning("virtual radio %r: relay connection lost", self)
            await self._teardown()

    async def _teardown(self) -> None:
        device, controller, transport = self._device, self._controller, self._transport
        self._device = self._controller = self._transport = None
        self._scanning_active = False
        self.seen.clear()
        if device is not None:
            device.remove_listener("advertisement", self._on_advertisement)
            for conn in list(device.connections.values()):
                # The host is gone: links end without a word from the peer.
                conn.emit("disconnection", hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR)
        if controller is not None:
            controller.drop_peer_links()
            if controller in controller.link.controllers:
                controller.link.remove_controller(controller)
        if transport is not None:
            await transport.close()
        for listener in list(self._lost_listeners.values()):
            listener()

    async def close(self) -> None:
        """Disconnect everything and release the controller (idempotent)."""
        if self._closed:
            return
        self._closed = True
        device = self._device
        if device is not None:
            for conn in list(device.connections.values()):
                try:
                    await conn.disconnect()
                except (hci.HCI_Error, OSError, TimeoutError) as err:
                    _LOGGER.debug("radio close: %s", err)
        await self._teardown()
        await self._tasks.cancel_all()

    # ------------------------------------------------------------------ scanning

    def add_advertisement_listener(self, token: object, listener: AdvertisementListener) -> None:
        self._adv_listeners[token] = listener

    def remove_advertisement_listener(self, token: object) -> None:
        self._adv_listeners.pop(token, None)

    def add_lost_listener(self, token: object, listener: LostListener) -> None:
        self._lost_listeners[token] = listener

    def remove_lost_listener(self, token: object) -> None:
        self._lost_listeners.pop(token, None)

    def _on_advertisement(self, adv: Advertisement) -> None:
        self.seen[adv.address.to_string(False)] = adv
        for listener in list(self._adv_listeners.values()):
            try:
                listener(adv)
            except Exception:  # one listener's bug must not starve the others
                _LOGGER.exception("advertisement listener failed")

    async def scanner_started(self) -> None:
        device = await self.ensure_open()
        self._scanners += 1
        if not self._scanning_active:
            await self._start_scanning(device)

    async def scanner_stopped(self) -> None:
        self._scanners = max(0, self._scanners - 1)
        if self._scanners == 0 and self._scanning_active and self._device is not None:
            self._scanning_active = False
            await self._device.stop_scanning()

    async def _start_scanning(self, device: Device) -> None:
        self._scanning_active = True
        # Every advertisement counts (availability, RSSI): no duplicate filtering.
        await device.start_scanning(active=False, filter_duplicates=False)

    async def wait_for_advertiser(self, address: str, timeout: float) -> bool:
        """Scan until ``address`` is heard (True) or ``timeout`` passes (False)."""
        if address in self.seen:
            return True
        heard = asyncio.get_running_loop().create_future()
        token = object()

        def listener(adv: Advertisement) -> None:
            if adv.address.to_string(False) == address and not heard.done():
                heard.set_result(True)

        self.add_advertisement_listener(token, listener)
        await self.scanner_started()
        try:
            return await asyncio.wait_for(heard, timeout)
        except TimeoutError:
            return False
        finally:
            self.remove_advertisement_listener(token)
            await self.scanner_stopped()
