"""The virtual air: one bumble link that peripherals and hub radios share in this process."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar

from bumble.link import LocalLink

if TYPE_CHECKING:
    from integrations.ble.virtual.peripheral import VirtualPeripheral

__all__ = ["VirtualAir"]

_LOGGER = logging.getLogger(__name__)


class VirtualAir:
    """Peripherals on one link. ``VirtualAir.named(NAME)`` is the air a ``"virtual:NAME"`` radio
    joins, so hub code and test code in one process meet on it without passing objects around."""

    _registry: ClassVar[dict[str, VirtualAir]] = {}

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.link = LocalLink()  # type: ignore[no-untyped-call]
        self._peripherals: dict[str, VirtualPeripheral] = {}

    @classmethod
    def named(cls, name: str) -> VirtualAir:
        air = cls._registry.get(name)
        if air is None:
            air = cls._registry[name] = cls(name)
        return air

    @classmethod
    def forget(cls, name: str) -> None:
        """Drop a named air from the registry (tests: a fresh air per test)."""
        cls._registry.pop(name, None)

    @property
    def peripherals(self) -> dict[str, VirtualPeripheral]:
        """Address -> peripheral, for every peripheral on the air."""
        return dict(self._peripherals)

    def get(self, address: str) -> VirtualPeripheral | None:
        return self._peripherals.get(address.upper())

    async def add(self, peripheral: VirtualPeripheral) -> None:
        """Power the peripheral on and start advertising; ValueError if its address is taken."""
        key = peripheral.address
        if key in self._peripherals:
            raise ValueError(f"address {key} is already on this air")
        self._peripherals[key] = peripheral
        try:
            await peripheral.attach(self.link)
        except BaseException:
            self._peripherals.pop(key, None)
            raise

    async def remove(self, peripheral: VirtualPeripheral) -> None:
        """Take a peripheral off the air: its links drop (supervision timeout) and it is gone."""
        if self._peripherals.get(peripheral.address) is not peripheral:
            return
        del self._peripherals[peripheral.address]
        await peripheral.detach()

    async def close(self) -> None:
        for peripheral in list(self._peripherals.values()):
            await self.remove(peripheral)
        for name, air in list(self._registry.items()):
            if air is self:
                del self._registry[name]
