"""Pydantic model of a product profile file (``zshub.profile/1``, docs/profile-format.md).

The models check structure only: every mapping forbids unknown keys (a typo is an error, not a
silently ignored setting) and models are frozen. References between sections (paths, components,
units against the catalogue, safety rules) are checked in :mod:`hub.profiles.checks`; capability
instance configuration stays a raw mapping here because only the catalogue can judge it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from hub.capabilities.model import CapabilityDef, LocalText, Unit

__all__ = [
    "DP_TRANSPORTS",
    "PROFILE_SCHEMA_ID",
    "ROLES",
    "TRANSPORTS",
    "BleFingerprint",
    "Bindings",
    "BthomeBinding",
    "BthomeEventRule",
    "BthomePropertyBinding",
    "Component",
    "DpBinding",
    "DpCommandBinding",
    "DpEventRule",
    "DpPropertyBinding",
    "Fingerprint",
    "FixtureFrame",
    "FixtureTest",
    "FixtureWrite",
    "GattBinding",
    "GattCommandBinding",
    "GattEventRule",
    "GattFrame",
    "GattPropertyBinding",
    "Identity",
    "Limit",
    "LinearSpec",
    "Manufacturer",
    "MatterBinding",
    "MatterCommandBinding",
    "MatterEventRule",
    "MatterFingerprint",
    "MatterPropertyBinding",
    "MatterWriteAttribute",
    "MdnsFingerprint",
    "Product",
    "ProfileDoc",
    "RangeRule",
    "Restriction",
    "Safety",
    "Supervision",
    "Transition",
    "TuyaLanFingerprint",
    "Ui",
    "profile_json_schema",
]

PROFILE_SCHEMA_ID = "urn:zshub:schema:zshub.profile/1"

# Transport names used under `bindings:` and in `tests:`.
TRANSPORTS: tuple[str, ...] = ("zsdp", "tuya_lan", "tuya_ble", "matter", "ble_gatt", "bthome")
DP_TRANSPORTS: tuple[str, ...] = ("zsdp", "tuya_lan", "tuya_ble")

Role = Literal[
    "gas_source", "gas_shutoff", "gas_detector", "ventilation", "presence", "entry_lock",
    "water_consumer",
]  # fmt: skip
ROLES: tuple[str, ...] = get_args(Role)

TransportName = Literal["zsdp", "tuya_lan", "tuya_ble", "matter", "ble_gatt", "bthome"]
DpType = Literal["bool", "value", "enum", "string", "raw", "bitmap"]
StructType = Literal[
    "u8", "i8", "u16le", "u16be", "i16le", "i16be", "u24le", "u32le", "u32be", "i32le", "i32be"
]  # fmt: skip
Trigger = Literal["rising", "falling", "change", "nonzero"]

_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
Uuid = Annotated[str, StringConstraints(pattern=_UUID)]
U8 = Annotated[int, Field(ge=0, le=0xFF)]
U16 = Annotated[int, Field(ge=0, le=0xFFFF)]
U32 = Annotated[int, Field(ge=0, le=0xFFFF_FFFF)]
DpId = Annotated[int, Field(ge=0, le=0xFFFF)]
Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
SecretName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]


def _int_key(value: Any) -> Any:
    """Fixture keys are written as strings ("20", "0x2D"); accept decimal and 0x… forms."""
    if isinstance(value, str) and re.fullmatch(r"\s*(0[xX][0-9a-fA-F]+|[0-9]+)\s*", value):
        return int(value.strip(), 0)
    return value


IntKey = Annotated[int, BeforeValidator(_int_key)]


def _one_or_many(value: Any) -> Any:
    """An event takes one rule or a list of rules; one rule is read as a list of one."""
    return [value] if isinstance(value, dict) else value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- header


class Manufacturer(_Strict):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    name: LocalText


class Product(_Strict):
    """A white-label / OEM SKU that shares the profile."""

    brand: LocalText
    model: Annotated[str, StringConstraints(min_length=1)]


# --------------------------------------------------------------------------- identity


class MdnsFingerprint(_Strict):
    transport: Literal["mdns"]
    service: Annotated[str, StringConstraints(pattern=r"^_[A-Za-z0-9-]+\._(tcp|udp)$")]
    # TXT key -> pattern: exact, `a|b` alternatives, `*` wildcards (case-insensitive).
    txt: dict[str, str] = Field(default_factory=dict)


class MatterFingerprint(_Strict):
    transport: Literal["matter"]
    vendor_id: U16 | None = None
    product_id: U16 | None = None
    device_types: tuple[U32, ...] = ()

    @model_validator(mode="after")
    def _identity(self) -> MatterFingerprint:
        if (self.vendor_id is None) != (self.product_id is None):
            raise ValueError("vendor_id and product_id go together (omit both for a generic match)")
        if self.vendor_id is None and not self.device_types:
            raise ValueError("a Matter fingerprint needs vendor_id + product_id or device_types")
        return self


class BleFingerprint(_Strict):
    transport: Literal["ble"]
    local_name: Annotated[str, StringConstraints(min_length=1)] | None = None
    manufacturer_id: U16 | None = None
    manufacturer_data_start: tuple[U8, ...] = ()
    service_uuid: Uuid | None = None
    service_data_uuid: Uuid | None = None
    connectable: bool | None = None
    secrets: tuple[SecretName, ...] = ()

    @model_validator(mode="after")
    def _identity(self) -> BleFingerprint:
        if self.manufacturer_data_start and self.manufacturer_id is None:
            raise ValueError("manufacturer_data_start needs manufacturer_id")
        if (
            self.local_name is None
            and self.manufacturer_id is None
            and self.service_uuid is None
            and self.service_data_uuid is None
        ):
            raise ValueError(
                "a BLE fingerprint needs local_name, manufacturer_id, service_uuid or "
                "service_data_uuid"
            )
        return self


class TuyaLanFingerprint(_Strict):
    transport: Literal["tuya_lan"]
    product_key: Annotated[str, StringConstraints(min_length=1)]
    secrets: tuple[SecretName, ...] = ()


Fingerprint = Annotated[
    MdnsFingerprint | MatterFingerprint | BleFingerprint | TuyaLanFingerprint,
    Field(discriminator="transport"),
]


class Identity(_Strict):
    fingerprints: tuple[Fingerprint, ...] = Field(min_length=1)


# --------------------------------------------------------------------------- components


class Component(_Strict):
    label: LocalText | None = None  # required for every component except `main` (checked later)
    # capability key -> per-instance configuration, judged by the catalogue (apply_instance).
    capabilities: dict[str, dict[str, Any] | None] = Field(min_length=1)


# --------------------------------------------------------------------------- codecs


class LinearSpec(_Strict):
    raw: tuple[float, float]
    value: tuple[float, float]


class RangeRule(_Strict):
    min: float | None = None
    max: float | None = None
    value: str


class CodecFields(_Strict):
    """The closed codec keys (§4.1) shared by every binding entry that decodes a value."""

    bit: Annotated[int, Field(ge=0, le=63)] | None = None
    bits: dict[int, str] | None = None
    invert: bool | None = None
    scale: Annotated[int, Field(ge=0, le=9)] | None = None
    factor: float | None = None
    linear: LinearSpec | None = None
    unit: Unit | None = None
    to_unit: Unit | None = None
    codec: Literal["mireds_to_kelvin", "tuya_hsv12"] | None = None
    map: dict[Any, Any] | None = None
    ranges: tuple[RangeRule, ...] | None = None

    def codec_spec(self) -> dict[str, Any]:
        """The codec keys that are set, as plain data for :func:`build_codec`."""
        spec = self.model_dump(include=set(_CODEC_FIELDS), exclude_none=True)
        if self.map is not None:
            spec["map"] = self.map  # keep YAML keys exactly as written (True, 0, "0" differ)
        return spec


_CODEC_FIELDS = frozenset(
    {
        "bit",
        "bits",
        "invert",
        "scale",
        "factor",
        "linear",
        "unit",
        "to_unit",
        "codec",
        "map",
        "ranges",
    }
)


class Transition(_Strict):
    from_: Any = Field(alias="from")
    to: Any


class EventRuleFields(CodecFields):
    """How an event is derived from state changes (§4.3)."""

    trigger: Trigger | None = None
    transition: Transition | None = None
    when: Any = None  # raw value or a comparison such as "> 50"; presence checked by fields_set
    emit: dict[str, Any] = Field(default_factory=dict)


_R = TypeVar("_R")
# one rule or a list of rules per event
Rules = Annotated[tuple[_R, ...], BeforeValidator(_one_or_many)]


# --------------------------------------------------------------------------- DP transports


class DpPropertyBinding(CodecFields):
    dp: DpId
    type: DpType
    code: str | None = None  # the vendor's DP code, for documentation only
    field: Literal["h", "s", "v"] | None = None  # tuya_hsv12 part
    read_only: bool = False  # an `rw` property that must not be written through this DP

    def codec_spec(self) -> dict[str, Any]:
        spec = super().codec_spec()
        if self.field is not None:
            spec["field"] = self.field
        return spec


class DpCommandBinding(_Strict):
    write: dict[DpId, Any] | None = None  # dp -> literal or expression
    set_: dict[str, Any] | None = Field(default=None, alias="set")  # property path -> expression
    driver_op: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+\.[a-z0-9_]+$")] | None = None
    args: dict[str, Any] = Field(default_factory=dict)  # driver_op arguments (expressions)

    @model_validator(mode="after")
    def _one_kind(self) -> DpCommandBinding:
        if self.driver_op is None and not self.write and not self.set_:
            raise ValueError("a DP command needs write, set or driver_op")
        if self.driver_op is not None and (self.write or self.set_):
            raise ValueError("driver_op cannot be combined with write or set")
        if self.args and self.driver_op is None:
            raise ValueError("args belong to driver_op")
        return self


class DpEventRule(EventRuleFields):
    dp: DpId
    type: DpType | None = None  # defaults to the type of a property bound to the same DP
    code: str | None = None


class DpBinding(_Strict):
    protocol: dict[str, str] = Field(default_factory=dict)  # e.g. {version: "3.4"} (tuya_lan)
    properties: dict[str, DpPropertyBinding] = Field(default_factory=dict)
    commands: dict[str, DpCommandBinding] = Field(default_factory=dict)
    events: dict[str, Rules[DpEventRule]] = Field(default_factory=dict)


# --------------------------------------------------------------------------- Matter


class MatterPropertyBinding(CodecFields):
    endpoint: U16 | None = None  # default: the component's endpoint from `endpoints`
    cluster: U32
    attribute: U32
    read_only: bool = False


class MatterWriteAttribute(_Strict):
    endpoint: U16 | None = None
    cluster: U32
    attribute: U32
    value: Any  # expression or literal


class MatterCommandBinding(_Strict):
    endpoint: U16 | None = None
    cluster: U32 | None = None
    command: U32 | None = None
    fields: dict[str, Any] = Field(default_factory=dict)  # Matter field name -> expression
    timed_ms: Annotated[int, Field(gt=0, le=65535)] | None = None
    write_attribute: MatterWriteAttribute | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> MatterCommandBinding:
        if self.write_attribute is not None:
            if self.cluster is not None or self.command is not None or self.fields:
                raise ValueError("write_attribute cannot be combined with cluster/command/fields")
        elif self.cluster is None or self.command is None:
            raise ValueError("a Matter command needs cluster and command (or write_attribute)")
        return self


class MatterEventRule(EventRuleFields):
    endpoint: U16 | None = None
    cluster: U32
    event: U32 | None = None  # a native Matter event …
    attribute: U32 | None = None  # … or one derived from an attribute's changes

    @model_validator(mode="after")
    def _source(self) -> MatterEventRule:
        if (self.event is None) == (self.attribute is None):
            raise ValueError("a Matter event binding needs exactly one of event or attribute")
        return self


class MatterBinding(_Strict):
    endpoints: dict[str, U16] = Field(default_factory=dict)  # component -> endpoint
    properties: dict[str, MatterPropertyBinding] = Field(default_factory=dict)
    commands: dict[str, MatterCommandBinding] = Field(default_factory=dict)
    events: dict[str, Rules[MatterEventRule]] = Field(default_factory=dict)


# --------------------------------------------------------------------------- BLE GATT


class StructFieldSpec(_Strict):
    name: Name
    offset: Annotated[int, Field(ge=0)]
    type: StructType


class GattFrame(_Strict):
    characteristic: Uuid
    struct: tuple[StructFieldSpec, ...] = Field(min_length=1)


class GattPropertyBinding(CodecFields):
    frame: str
    field: str  # struct field name


class GattWrite(_Strict):
    bytes_: tuple[int | str, ...] = Field(alias="bytes", min_length=1)  # byte literals/expressions


class GattCommandBinding(_Strict):
    write: GattWrite | None = None
    characteristic: Uuid | None = None  # default: the binding's control_characteristic
    driver_op: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+\.[a-z0-9_]+$")] | None = None
    args: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_kind(self) -> GattCommandBinding:
        if (self.write is None) == (self.driver_op is None):
            raise ValueError("a BLE GATT command needs exactly one of write or driver_op")
        if self.args and self.driver_op is None:
            raise ValueError("args belong to driver_op")
        return self


class GattEventRule(EventRuleFields):
    frame: str
    field: str


class GattBinding(_Strict):
    service: Uuid
    frames: dict[Name, GattFrame] = Field(min_length=1)
    control_characteristic: Uuid | None = None
    properties: dict[str, GattPropertyBinding] = Field(default_factory=dict)
    commands: dict[str, GattCommandBinding] = Field(default_factory=dict)
    events: dict[str, Rules[GattEventRule]] = Field(default_factory=dict)


# --------------------------------------------------------------------------- BTHome


class BthomePropertyBinding(CodecFields):
    object_id: U8


class BthomeEventRule(EventRuleFields):
    object_id: U8


class BthomeBinding(_Strict):
    require_encryption: bool = True
    properties: dict[str, BthomePropertyBinding] = Field(default_factory=dict)
    events: dict[str, Rules[BthomeEventRule]] = Field(default_factory=dict)


class Bindings(_Strict):
    zsdp: DpBinding | None = None
    tuya_lan: DpBinding | None = None
    tuya_ble: DpBinding | None = None
    matter: MatterBinding | None = None
    ble_gatt: GattBinding | None = None
    bthome: BthomeBinding | None = None


# --------------------------------------------------------------------------- safety

SafetyClass = Literal["comfort", "security", "gas_appliance", "life_safety"]
Requirement = Literal[
    "user_confirmation", "timed_command", "local_presence", "local_presence_or_user_confirmation",
    "homeowner_confirmation",
]  # fmt: skip


class Restriction(_Strict):
    target: str  # command path component/capability.command
    require: tuple[Requirement, ...] = ()
    rule: Literal["not_available"] | None = None  # not offered to rules/scenes at all
    scenes: Literal["deny_by_default", "allow_by_default"] | None = None
    audit: bool = False

    @model_validator(mode="after")
    def _says_something(self) -> Restriction:
        if not self.require and self.rule is None and self.scenes is None and not self.audit:
            raise ValueError("a restriction needs require, rule, scenes or audit")
        return self


Escalation = Literal["homeowner_confirmation", "user_confirmation", "deny"]


class Limit(_Strict):
    default_min: float | None = None
    default_max: float | None = None
    absolute_min: float | None = None
    absolute_max: float | None = None
    raise_above_default: Literal["homeowner_confirmation", "user_confirmation", "deny"] | None = (
        None
    )
    lower_below_default: Literal["homeowner_confirmation", "user_confirmation", "deny"] | None = (
        None
    )

    @model_validator(mode="after")
    def _ordered(self) -> Limit:
        if (
            self.default_max is not None
            and self.absolute_max is not None
            and self.default_max > self.absolute_max
        ):
            raise ValueError("default_max is above absolute_max")
        if (
            self.default_min is not None
            and self.absolute_min is not None
            and self.default_min < self.absolute_min
        ):
            raise ValueError("default_min is below absolute_min")
        return self


class Supervision(_Strict):
    heartbeat_s: Annotated[int, Field(gt=0)]
    on_missing: Literal["critical_alert", "warn", "unknown"]


class Safety(_Strict):
    class_: SafetyClass = Field(alias="class")
    roles: tuple[Role, ...] = ()
    restrictions: tuple[Restriction, ...] = ()
    limits: dict[str, Limit] = Field(default_factory=dict)
    fail_safe: dict[str, Any] = Field(default_factory=dict)  # property path -> safe value
    supervision: Supervision | None = None
    device_protections: tuple[Name, ...] = ()
    gas_leak_behaviour: Literal["do_not_switch", "explosion_safe"] | None = None
    notes: LocalText | None = None


class Ui(_Strict):
    primary: str | None = None  # component/capability or a property path
    icon: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$")] | None = None


# --------------------------------------------------------------------------- tests


class FixtureFrame(_Strict):
    """Raw input of a fixture, in the shape of the transport's address space."""

    dps: dict[IntKey, Any] | None = None  # zsdp / tuya_lan / tuya_ble
    attributes: dict[str, Any] | None = None  # matter: "endpoint/cluster/attribute"
    frame: str | None = None  # ble_gatt: frame name …
    hex: str | None = None  # … and its bytes
    objects: dict[IntKey, Any] | None = None  # bthome

    @model_validator(mode="after")
    def _one_kind(self) -> FixtureFrame:
        kinds = [
            k
            for k, v in (
                ("dps", self.dps),
                ("attributes", self.attributes),
                ("frame/hex", self.hex),
                ("objects", self.objects),
            )
            if v is not None
        ]
        if len(kinds) != 1:
            raise ValueError("give exactly one of dps, attributes, frame+hex or objects")
        if (self.frame is None) != (self.hex is None):
            raise ValueError("frame and hex go together")
        return self


class FixtureWrite(_Strict):
    """Expected output of a command fixture."""

    dps: dict[IntKey, Any] | None = None
    bytes_: str | None = Field(default=None, alias="bytes")  # ble_gatt write, hex digits
    characteristic: Uuid | None = None
    invoke: dict[str, Any] | None = (
        None  # matter: {endpoint?, cluster, command, fields?, timed_ms?}
    )
    write_attribute: dict[str, Any] | None = None  # matter: {endpoint?, cluster, attribute, value}
    driver_op: dict[str, Any] | None = None  # {op, args}


class FixtureTest(_Strict):
    name: str | None = None
    transport: TransportName
    state: dict[str, Any] = Field(default_factory=dict)  # current state for current(path)
    before: FixtureFrame | None = None
    given: FixtureFrame | None = None
    expect: dict[str, Any] = Field(default_factory=dict)
    expect_event: dict[str, dict[str, Any] | None] = Field(default_factory=dict)
    command: dict[str, dict[str, Any] | None] | None = None
    write: dict[str, Any] | None = None  # property path -> value (rw property write)
    expect_write: FixtureWrite | None = None

    @model_validator(mode="after")
    def _shape(self) -> FixtureTest:
        acting = (self.command is not None) + (self.write is not None)
        if acting > 1:
            raise ValueError("a test has either command or write, not both")
        if acting and len(self.command or self.write or {}) != 1:
            raise ValueError("command/write names exactly one path")
        if acting and self.expect_write is None:
            raise ValueError("command/write needs expect_write")
        if self.expect_write is not None and not acting:
            raise ValueError("expect_write needs command or write")
        if self.given is None and not acting:
            raise ValueError("a test needs given (a frame) or command/write")
        if self.given is None and (self.expect or self.expect_event or self.before):
            raise ValueError("expect/expect_event/before need given")
        if self.given is not None and not self.expect and not self.expect_event:
            raise ValueError("given needs expect or expect_event")
        return self


# --------------------------------------------------------------------------- document


class ProfileDoc(_Strict):
    """One product profile file."""

    schema_: Literal["zshub.profile/1"] = Field(alias="schema")
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$", max_length=128)]
    version: Annotated[str, StringConstraints(pattern=r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$")]
    name: LocalText
    manufacturer: Manufacturer
    model: Annotated[str, StringConstraints(min_length=1)]
    category: Annotated[
        str,
        StringConstraints(
            pattern=r"^(light|lock|kitchen|safety|sensor|climate|generic)\.[a-z0-9_]+$"
        ),
    ]
    products: tuple[Product, ...] = ()
    generic: bool = False
    identity: Identity
    vendor_capabilities: dict[str, CapabilityDef] = Field(default_factory=dict)
    components: dict[Name, Component] = Field(min_length=1)
    bindings: Bindings
    safety: Safety
    ui: Ui | None = None
    tests: tuple[FixtureTest, ...] = ()


def profile_json_schema() -> dict[str, Any]:
    """The JSON Schema of a profile file, for editors (yaml-language-server, VS Code)."""
    schema = ProfileDoc.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": PROFILE_SCHEMA_ID,
        "title": "zshub device profile (zshub.profile/1)",
        **{k: v for k, v in schema.items() if k != "title"},
    }
