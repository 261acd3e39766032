"""What a capability behaviour is: the base class, the write it reacts to and the registry.

A behaviour is the simulated physics of one capability instance (one component's ``lock@1``,
``burner@1`` …). It reads and writes capability values through the device's :class:`DpModel`,
reacts to SETs from hubs (``validate`` then ``on_write``), to simulated time (``tick``) and to the
control interface (``act_<action>`` methods, the "physical" side: a keypad, a knob, a leak).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from hub.capabilities.catalogue import CapabilityInstance
from hub.capabilities.model import PropertyDef, ValueType
from hub.profiles.compiled import LoadedProfile
from integrations.zsdp.errors import ErrorCode, ZsdpError
from integrations.zsdp.simulator.model import DpModel
from integrations.zsdp.simulator.table import CommandMatch

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "REGISTRY",
    "ActionError",
    "Behaviour",
    "Host",
    "Write",
    "arg_float",
    "arg_int",
    "arg_str",
    "behaviour_class",
    "fit",
    "generic_default",
    "refuse",
    "register",
]


class ActionError(ValueError):
    """A control-interface action that cannot be done (unknown, bad arguments, not now)."""


def refuse(message: str, code: ErrorCode = ErrorCode.REFUSED) -> ZsdpError:
    """The error a device answers to a SET its own rules refuse."""
    return ZsdpError(code, message)


@dataclass(frozen=True, slots=True)
class Write:
    """A SET from a hub, already validated against the DP table."""

    raw: Mapping[int, Any]
    changed: Mapping[str, Any]  # property path -> value, for the stateful DPs written
    commands: tuple[CommandMatch, ...]

    def command(self, component: str, capability: str) -> Iterator[CommandMatch]:
        return (c for c in self.commands if c.component == component and c.capability == capability)


class Host(Protocol):
    """The device a behaviour belongs to."""

    model: DpModel
    profile: LoadedProfile
    options: Mapping[str, Any]

    def behaviours(self, capability: str, component: str | None = None) -> list[Behaviour]: ...


def fit(prop: PropertyDef, value: Any) -> Any:
    """Clamp a numeric default into the instance's range (and onto an int)."""
    if prop.type in (ValueType.INT, ValueType.NUMBER) and isinstance(value, int | float):
        if prop.range is not None:
            value = min(max(value, prop.range[0]), prop.range[1])
        if prop.type is ValueType.INT:
            value = round(value)
    return value


def generic_default(prop: PropertyDef) -> Any:
    """A plausible starting value for any property, from its definition alone."""
    match prop.type:
        case ValueType.BOOL:
            return False
        case ValueType.INT | ValueType.NUMBER:
            return fit(prop, 0)
        case ValueType.ENUM:
            return prop.values[0] if prop.values else None
        case ValueType.SET:
            return []
        case _:
            return ""


def arg_int(args: Mapping[str, Any], name: str, default: int | None = None) -> int:
    value = args.get(name, default)
    if value is None:
        raise ActionError(f"{name} is required")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ActionError(f"{name} must be a whole number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ActionError(f"{name} must be a whole number, got {value!r}") from None
    if not number.is_integer():
        raise ActionError(f"{name} must be a whole number, got {value!r}")
    return int(number)


def arg_float(args: Mapping[str, Any], name: str, default: float | None = None) -> float:
    value = args.get(name, default)
    if value is None:
        raise ActionError(f"{name} is required")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ActionError(f"{name} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(number):
        raise ActionError(f"{name} must be a number, got {value!r}")
    return number


def arg_str(args: Mapping[str, Any], name: str, default: str | None = None) -> str:
    value = args.get(name, default)
    if value is None:
        raise ActionError(f"{name} is required")
    return str(value)


class Behaviour:
    """Base: stores what hubs write and does nothing else; subclasses add the physics."""

    capability: ClassVar[str] = ""
    alias: ClassVar[str] = ""  # argument naming the component in actions ("burner": "left")
    defaults: ClassVar[Mapping[str, Any]] = {}  # property -> first value
    actions: ClassVar[Mapping[str, str]] = {}  # action -> arguments, for `actions` and docs
    broadcast: ClassVar[frozenset[str]] = frozenset()  # actions every instance takes by default

    def __init__(self, host: Host, component: str, instance: CapabilityInstance) -> None:
        self.host = host
        self.component = component
        self.instance = instance
        self.model = host.model
        self.name = instance.name

    # ------------------------------------------------------------------ helpers

    def path(self, prop: str) -> str:
        return f"{self.component}/{self.name}/{prop}"

    def bound(self, prop: str) -> bool:
        return self.model.has(self.path(prop))

    def get(self, prop: str, default: Any = None) -> Any:
        return self.model.value(self.path(prop), default)

    def set(self, prop: str, value: Any) -> bool:
        return self.model.put(self.path(prop), value)

    def emit(self, event: str, **fields: Any) -> bool:
        return self.model.emit(f"{self.component}/{self.name}/{event}", **fields)

    def sibling(self, capability: str) -> Behaviour | None:
        """The same component's behaviour for another capability."""
        found = self.host.behaviours(capability, self.component)
        return found[0] if found else None

    def option(self, name: str, default: float) -> float:
        value = self.host.options.get(name, default)
        return float(value) if isinstance(value, int | float) else default

    def info(self, key: str, default: Any = None) -> Any:
        return self.instance.info.get(key, default)

    def values(self, prop: str) -> tuple[str, ...]:
        definition = self.instance.properties.get(prop)
        return tuple(definition.values or ()) if definition is not None else ()

    # ------------------------------------------------------------------ hooks

    def initial(self) -> dict[str, Any]:
        """Starting values by property name (unbound ones are ignored)."""
        out = {p: generic_default(d) for p, d in self.instance.properties.items()}
        for prop, value in self.defaults.items():
            definition = self.instance.properties.get(prop)
            if definition is not None:
                out[prop] = fit(definition, value)
        return out

    def start(self) -> None:
        """Called once the initial values are in the DP map (read them into internal state)."""

    def validate(self, write: Write) -> None:
        """Raise ``refuse(...)`` to refuse a SET (nothing of it is applied)."""

    def on_write(self, write: Write) -> None:
        """React to an accepted SET (its stateful DPs are already stored)."""

    def tick(self, dt: float) -> None:
        """Simulated time passes (``dt`` seconds)."""

    def available_actions(self) -> Mapping[str, str]:
        """The actions this instance offers (some depend on what the profile binds)."""
        return self.actions

    def act(self, action: str, args: Mapping[str, Any]) -> None:
        method: Callable[[Mapping[str, Any]], None] | None = getattr(self, f"act_{action}", None)
        if method is None or action not in self.available_actions():
            raise ActionError(f"{self.name} has no action {action!r}")
        method(args)


REGISTRY: dict[str, type[Behaviour]] = {}


def register[B: type[Behaviour]](cls: B) -> B:
    """Class decorator: the behaviour of capability ``cls.capability``."""
    REGISTRY[cls.capability] = cls
    return cls


def behaviour_class(capability: str) -> type[Behaviour]:
    """The behaviour of a capability; the plain base (keeps what hubs write) when none."""
    return REGISTRY.get(capability, Behaviour)
