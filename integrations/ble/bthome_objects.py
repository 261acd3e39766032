"""The BTHome v2 object table (bthome.io/format): object id -> length, sign and factor.

Profiles address BTHome data by object id (``{object_id: 0x2D}``); the hub hands the runtime the
value with the factor applied (0x02 temperature ``0x0A1B`` -> 25.87). Variable-length objects
(text 0x53, raw 0x54, command 0x3B) carry their own length byte. An id not in this table ends
parsing of a packet: BTHome has no length field per object, so nothing after it can be read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["OBJECTS", "VARIABLE", "ObjectSpec"]


@dataclass(frozen=True, slots=True)
class ObjectSpec:
    length: int  # bytes of value after the id; 0 for variable-length objects
    signed: bool = False
    factor: float = 1.0
    kind: str = "number"  # number | text | raw | command


def _u(length: int, factor: float = 1.0) -> ObjectSpec:
    return ObjectSpec(length, False, factor)


def _s(length: int, factor: float = 1.0) -> ObjectSpec:
    return ObjectSpec(length, True, factor)


VARIABLE: Final = 0

OBJECTS: Final[dict[int, ObjectSpec]] = {
    0x00: _u(1),  # packet id
    0x01: _u(1),  # battery %
    0x02: _s(2, 0.01),  # temperature °C
    0x03: _u(2, 0.01),  # humidity %
    0x04: _u(3, 0.01),  # pressure hPa
    0x05: _u(3, 0.01),  # illuminance lux
    0x06: _u(2, 0.01),  # mass kg
    0x07: _u(2, 0.01),  # mass lb
    0x08: _s(2, 0.01),  # dew point °C
    0x09: _u(1),  # count
    0x0A: _u(3, 0.001),  # energy kWh
    0x0B: _u(3, 0.01),  # power W
    0x0C: _u(2, 0.001),  # voltage V
    0x0D: _u(2),  # PM2.5 µg/m³
    0x0E: _u(2),  # PM10 µg/m³
    **{oid: _u(1) for oid in range(0x0F, 0x2E)},  # binary sensors: generic … window (0x2D)
    0x12: _u(2),  # CO2 ppm (not binary: overrides the range above)
    0x13: _u(2),  # TVOC µg/m³
    0x14: _u(2, 0.01),  # moisture %
    0x2E: _u(1),  # humidity % (1 byte)
    0x2F: _u(1),  # moisture % (1 byte)
    0x3A: _u(1),  # button event
    0x3B: ObjectSpec(VARIABLE, kind="command"),  # length byte: low 5 bits = argument bytes
    0x3C: _u(2),  # dimmer event (event, steps)
    0x3D: _u(2),  # count
    0x3E: _u(4),  # count
    0x3F: _s(2, 0.1),  # rotation °
    0x40: _u(2),  # distance mm
    0x41: _u(2, 0.1),  # distance m
    0x42: _u(3, 0.001),  # duration s
    0x43: _u(2, 0.001),  # current A
    0x44: _u(2, 0.01),  # speed m/s
    0x45: _s(2, 0.1),  # temperature °C
    0x46: _u(1, 0.1),  # UV index
    0x47: _u(2, 0.1),  # volume L
    0x48: _u(2),  # volume mL
    0x49: _u(2, 0.001),  # volume flow rate m³/h
    0x4A: _u(2, 0.1),  # voltage V
    0x4B: _u(3, 0.001),  # gas m³
    0x4C: _u(4, 0.001),  # gas m³
    0x4D: _u(4, 0.001),  # energy kWh
    0x4E: _u(4, 0.001),  # volume L
    0x4F: _u(4, 0.001),  # water L
    0x50: _u(4),  # timestamp (Unix seconds)
    0x51: _u(2, 0.001),  # acceleration m/s²
    0x52: _u(2, 0.001),  # gyroscope °/s
    0x53: ObjectSpec(VARIABLE, kind="text"),
    0x54: ObjectSpec(VARIABLE, kind="raw"),
    0x55: _u(4, 0.001),  # volume storage L
    0x56: _u(2),  # conductivity µS/cm
    0x57: _s(1),  # temperature °C
    0x58: _s(1, 0.35),  # temperature °C
    0x59: _s(1),  # count
    0x5A: _s(2),  # count
    0x5B: _s(4),  # count
    0x5C: _s(4, 0.01),  # power W
    0x5D: _s(2, 0.001),  # current A
    0x5E: _u(2, 0.01),  # direction °
    0x5F: _u(2, 0.1),  # precipitation mm
    0x60: _u(1),  # channel
    0x61: _u(2),  # rotational speed rpm
    0x62: _s(4, 0.000001),  # speed m/s
    0x63: _s(4, 0.000001),  # acceleration m/s²
    0x64: _u(1),  # light level
    0x65: _u(1),  # settings revision
    0xF0: _u(2),  # device type id
    0xF1: _u(4),  # firmware version (4 bytes)
    0xF2: _u(3),  # firmware version (3 bytes)
}
