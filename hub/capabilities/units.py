"""The closed unit vocabulary and conversions between units of one dimension."""

from __future__ import annotations

from typing import Final

__all__ = ["UNITS", "UnitError", "convert", "is_unit"]

# Canonical symbols. A property's unit is always one of these; raw scales live in bindings.
UNITS: Final[frozenset[str]] = frozenset(
    {
        "%",
        "°C",
        "K",
        "deg",
        "s",
        "min",
        "h",
        "d",
        "ppm",
        "%LEL",
        "L",
        "L/min",
        "m3",
        "kWh",
        "W",
        "lx",
    }
)

# Units that convert linearly into a base unit of their dimension: unit -> (dimension, factor).
_FACTORS: Final[dict[str, tuple[str, float]]] = {
    "s": ("time", 1.0),
    "min": ("time", 60.0),
    "h": ("time", 3600.0),
    "d": ("time", 86400.0),
    "L": ("volume", 1.0),
    "m3": ("volume", 1000.0),
    "L/min": ("flow", 1.0),
    "W": ("power", 1.0),
    "kWh": ("energy", 1.0),
    "%": ("ratio", 1.0),
    "%LEL": ("lel", 1.0),
    "ppm": ("ppm", 1.0),
    "K": ("kelvin", 1.0),
    "°C": ("celsius", 1.0),
    "deg": ("angle", 1.0),
    "lx": ("illuminance", 1.0),
}


class UnitError(ValueError):
    """Units that are unknown or of different dimensions."""


def is_unit(symbol: str) -> bool:
    return symbol in UNITS


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert ``value`` between two units of the same dimension (e.g. min -> s)."""
    if from_unit == to_unit:
        return value
    try:
        dim_a, fa = _FACTORS[from_unit]
        dim_b, fb = _FACTORS[to_unit]
    except KeyError as err:
        raise UnitError(f"unknown unit {err.args[0]!r}") from err
    if dim_a != dim_b:
        raise UnitError(f"cannot convert {from_unit} to {to_unit}")
    return value * fa / fb


def dimension(symbol: str) -> str:
    try:
        return _FACTORS[symbol][0]
    except KeyError as err:
        raise UnitError(f"unknown unit {symbol!r}") from err
