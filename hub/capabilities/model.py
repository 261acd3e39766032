"""Typed model of the capability catalogue (file format ``zshub.capabilities/1``).

A capability is a versioned contract (``fan@1``): typed properties, commands and events with zh/en
labels. Instances in product profiles may narrow ranges and enums; see docs/profile-format.md.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.capabilities.units import UNITS

__all__ = [
    "Access",
    "CapabilityDef",
    "CatalogueFile",
    "CommandDef",
    "EventDef",
    "FieldDef",
    "LocalText",
    "PRIVILEGES",
    "ParamDef",
    "Priority",
    "Privilege",
    "PropertyDef",
    "Unit",
    "ValueType",
    "capability_key",
    "split_capability_key",
]

CAPABILITY_KEY_RE = re.compile(
    r"^(?P<name>(?:vendor\.[a-z0-9-]+\.)?[a-z][a-z0-9_]*)@(?P<major>[1-9][0-9]*)$"
)
MEMBER_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalText(_Strict):
    """User-facing text; both languages are required."""

    zh: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]

    def get(self, lang: str) -> str:
        return self.en if lang.startswith("en") else self.zh


class ValueType(StrEnum):
    BOOL = "bool"
    INT = "int"
    NUMBER = "number"
    ENUM = "enum"
    SET = "set"
    STRING = "string"
    SECRET = "secret"  # command parameters only (PINs); never stored or logged


class Access(StrEnum):
    R = "r"
    RW = "rw"


class Priority(StrEnum):
    INFO = "info"
    ALERT = "alert"
    CRITICAL = "critical"


class Privilege(StrEnum):
    OPERATE = "operate"
    MANAGE = "manage"
    ADMIN = "admin"


PRIVILEGES: tuple[Privilege, ...] = (Privilege.OPERATE, Privilege.MANAGE, Privilege.ADMIN)


def _check_unit(unit: str) -> str:
    if unit not in UNITS:
        raise ValueError(f"unit {unit!r} is not in the closed vocabulary {sorted(UNITS)}")
    return unit


Unit = Annotated[str, AfterValidator(_check_unit)]


class PropertyDef(_Strict):
    type: ValueType
    access: Access = Access.R
    title: LocalText | None = None
    unit: Unit | None = None
    unit_per_instance: bool = False  # consumption@1: the profile instance declares the unit
    range: tuple[float, float] | None = None
    step: float | None = None
    values: tuple[str, ...] | None = None  # enum/set values; None = declared per profile instance
    labels: dict[str, LocalText] = Field(default_factory=dict)
    open_values: bool = False  # profiles may add vendor values (operational_state sub-states)
    # With unit_per_instance: the units an instance may choose (consumption: m3 | L | kWh).
    instance_units: tuple[Unit, ...] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> PropertyDef:
        if self.range is not None and self.range[0] > self.range[1]:
            raise ValueError("range minimum is above its maximum")
        if self.values is not None and self.type not in (ValueType.ENUM, ValueType.SET):
            raise ValueError("values are only for enum and set properties")
        if self.range is not None and self.type not in (ValueType.INT, ValueType.NUMBER):
            raise ValueError("range is only for int and number properties")
        return self


class ParamDef(_Strict):
    type: ValueType
    ref: str | None = None  # property whose type/unit/range/values this parameter takes
    unit: Unit | None = None
    range: tuple[float, float] | None = None
    values: tuple[str, ...] | None = None
    required: bool = True
    title: LocalText | None = None


class CommandDef(_Strict):
    title: LocalText
    params: dict[str, ParamDef] = Field(default_factory=dict)
    # property -> expected reported value: a literal or "$param"; used to confirm the command.
    effects: dict[str, Any] = Field(default_factory=dict)
    privilege: Privilege = Privilege.OPERATE
    confirm: bool = False
    timed: bool = False
    excluded_by: tuple[str, ...] = ()


class FieldDef(_Strict):
    type: ValueType
    values: tuple[str, ...] | None = None
    unit: Unit | None = None
    title: LocalText | None = None
    labels: dict[str, LocalText] = Field(default_factory=dict)  # event texts show these values


class EventDef(_Strict):
    title: LocalText
    priority: Priority = Priority.INFO
    fields: dict[str, FieldDef] = Field(default_factory=dict)


class CapabilityDef(_Strict):
    title: LocalText
    description: LocalText | None = None
    matter: dict[str, Any] | None = None
    features: dict[str, LocalText] = Field(default_factory=dict)
    properties: dict[str, PropertyDef] = Field(default_factory=dict)
    commands: dict[str, CommandDef] = Field(default_factory=dict)
    events: dict[str, EventDef] = Field(default_factory=dict)
    ui: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _members(self) -> CapabilityDef:
        for group in (self.properties, self.commands, self.events):
            for name in group:
                if not MEMBER_RE.match(name):
                    raise ValueError(f"member name {name!r} must be lower_snake_case")
        for cname, cmd in self.commands.items():
            for p in cmd.params.values():
                if p.ref is not None and p.ref not in self.properties:
                    raise ValueError(f"command {cname}: parameter ref {p.ref!r} is not a property")
            for prop in cmd.effects:
                if prop not in self.properties:
                    raise ValueError(f"command {cname}: effect on unknown property {prop!r}")
            for feat in cmd.excluded_by:
                if feat not in self.features:
                    raise ValueError(f"command {cname}: excluded_by unknown feature {feat!r}")
        return self


class CatalogueFile(_Strict):
    schema_: Literal["zshub.capabilities/1"] = Field(alias="schema")
    capabilities: dict[str, CapabilityDef]

    @field_validator("capabilities")
    @classmethod
    def _keys(cls, v: dict[str, CapabilityDef]) -> dict[str, CapabilityDef]:
        for key in v:
            if not CAPABILITY_KEY_RE.match(key):
                raise ValueError(f"capability key {key!r} must look like name@1")
        return v


def split_capability_key(key: str) -> tuple[str, int]:
    """``"fan@1"`` -> ``("fan", 1)``."""
    m = CAPABILITY_KEY_RE.match(key)
    if m is None:
        raise ValueError(f"not a capability key: {key!r}")
    return m["name"], int(m["major"])


def capability_key(name: str, major: int) -> str:
    return f"{name}@{major}"
