"""Profile-level semantic checks spanning sections (docs/profile-format.md §3, §5, §6).

Binding entries are checked while they compile (:mod:`hub.profiles.compiled`); this module checks
what spans sections: safety rules (burners, locks, gas shut-off), identity, ``ui`` and the static
shape of ``tests:`` (paths exist and are bound for the test's transport).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any, Final

from hub.capabilities.catalogue import CapabilityInstance, check_value
from hub.capabilities.model import ValueType
from hub.profiles.compiled import capability_path_ok
from hub.profiles.paths import ComponentMap, PathError, parse_command_path
from hub.profiles.problems import ProblemSink
from hub.profiles.runtime import RuntimeBinding
from hub.profiles.schema import DP_TRANSPORTS, MatterFingerprint, ProfileDoc
from hub.util.yamlio import is_yaml11_bool_word

__all__ = ["check_profile"]

Where = tuple[Hashable, ...]

# Commands that could light gas; none may exist in a profile of a gas-burning appliance.
IGNITION_COMMANDS: Final = frozenset({"on", "ignite", "toggle"})
# A role needs one of these capabilities somewhere in the profile (a Matter cooktop is just an
# off-only On/Off, hence onoff for gas_source).
ROLE_CAPABILITIES: Final[dict[str, frozenset[str]]] = {
    "gas_source": frozenset({"burner", "heating", "onoff"}),
    "gas_shutoff": frozenset({"valve"}),
    "gas_detector": frozenset({"gas_detector"}),
    "ventilation": frozenset({"fan"}),
    "presence": frozenset({"occupancy"}),
    "entry_lock": frozenset({"lock"}),
}
_NEEDS_ROLES_AND_SUPERVISION: Final = frozenset({"gas_appliance", "life_safety"})
_GIVEN_KEY: Final = {
    "zsdp": "dps",
    "tuya_lan": "dps",
    "tuya_ble": "dps",
    "matter": "attributes",
    "ble_gatt": "hex",
    "bthome": "objects",
}


def check_profile(
    doc: ProfileDoc,
    components: ComponentMap,
    bindings: Mapping[str, RuntimeBinding],
    sink: ProblemSink,
) -> None:
    """Add every cross-section problem of ``doc`` to ``sink``."""
    _check_identity(doc, sink)
    _check_ui(doc, components, sink)
    _check_safety(doc, components, sink)
    _check_gas(doc, components, sink)
    _check_tests(doc, components, bindings, sink)


# --------------------------------------------------------------------------- identity / ui


def _check_identity(doc: ProfileDoc, sink: ProblemSink) -> None:
    for i, fp in enumerate(doc.identity.fingerprints):
        where: Where = ("identity", "fingerprints", i)
        if not isinstance(fp, MatterFingerprint):
            continue
        if doc.generic and fp.vendor_id is not None:
            sink.add(
                (*where, "vendor_id"),
                "a generic profile matches by device type; remove vendor_id/product_id",
            )
        if not doc.generic and fp.vendor_id is None:
            sink.add(
                where,
                "a product profile needs vendor_id + product_id (device-type matches are for "
                "generic: true profiles)",
            )


def _check_ui(doc: ProfileDoc, components: ComponentMap, sink: ProblemSink) -> None:
    if doc.ui is None or doc.ui.primary is None:
        return
    reason = capability_path_ok(components, doc.ui.primary)
    if reason is not None:
        sink.add(("ui", "primary"), reason)


# --------------------------------------------------------------------------- safety


def _instances(components: ComponentMap, name: str) -> list[tuple[str, CapabilityInstance]]:
    return [(c, inst) for c, inst in components.iter_instances() if inst.name == name]


def _check_safety(doc: ProfileDoc, components: ComponentMap, sink: ProblemSink) -> None:
    safety = doc.safety
    cls = safety.class_
    if cls in _NEEDS_ROLES_AND_SUPERVISION:
        if not safety.roles:
            sink.add(("safety", "roles"), f"class {cls} needs roles (e.g. gas_source)")
        if safety.supervision is None:
            sink.add(
                ("safety", "supervision"),
                f"class {cls} needs supervision: {{heartbeat_s: …, on_missing: …}}",
            )
    present = {inst.name for _c, inst in components.iter_instances()}
    for i, role in enumerate(safety.roles):
        needed = ROLE_CAPABILITIES.get(role)
        if needed is not None and not needed & present:
            sink.add(
                ("safety", "roles", i),
                f"role {role} needs a component with {' or '.join(sorted(needed))}",
            )
    _check_restriction_targets(doc, components, sink)
    _check_limits(doc, components, sink)
    _check_fail_safe(doc, components, sink)
    _check_lock(doc, components, sink)
    _check_gas_shutoff(doc, components, sink)


def _check_restriction_targets(
    doc: ProfileDoc, components: ComponentMap, sink: ProblemSink
) -> None:
    for i, restriction in enumerate(doc.safety.restrictions):
        where: Where = ("safety", "restrictions", i, "target")
        try:
            component, capability, member = parse_command_path(restriction.target)
            inst = components.capability(component, capability)
        except PathError as err:
            sink.add(where, str(err))
            continue
        # Restrictions may name commands a feature switched off: they stay harmless then.
        if member not in inst.capdef.commands:
            known = ", ".join(sorted(inst.capdef.commands)) or "none"
            sink.add(where, f"{inst.key} has no command {member!r} (commands: {known})")


def _check_limits(doc: ProfileDoc, components: ComponentMap, sink: ProblemSink) -> None:
    for path, limit in doc.safety.limits.items():
        where: Where = ("safety", "limits", path)
        try:
            ref = components.property(path)
        except PathError as err:
            sink.add(where, str(err))
            continue
        if ref.prop.type not in (ValueType.INT, ValueType.NUMBER):
            sink.add(where, f"{path} is {ref.prop.type}; limits are for numbers")
            continue
        rng = ref.prop.range
        for key in ("default_min", "default_max", "absolute_min", "absolute_max"):
            value = getattr(limit, key)
            if value is not None and rng is not None and not rng[0] <= value <= rng[1]:
                sink.add((*where, key), f"{value:g} is outside {path}'s range {list(rng)}")


def _check_fail_safe(doc: ProfileDoc, components: ComponentMap, sink: ProblemSink) -> None:
    for path, value in doc.safety.fail_safe.items():
        where: Where = ("safety", "fail_safe", path)
        try:
            ref = components.property(path)
        except PathError as err:
            sink.add(where, str(err))
            continue
        try:
            check_value(ref.prop, value)
        except ValueError as err:
            hint = ""
            if (value is True or value is False) and ref.prop.type is ValueType.ENUM:
                hint = " (a YAML boolean: quote the word you meant)"
            sink.add(where, f"{err}{hint}")


def _check_lock(doc: ProfileDoc, components: ComponentMap, sink: ProblemSink) -> None:
    for comp, inst in _instances(components, "lock"):
        declared = inst.capdef.commands.get("unlock")
        if declared is None:
            continue
        if not (declared.confirm and declared.timed):
            sink.add(
                ("components", comp, "capabilities", inst.key),
                f"the catalogue's {inst.key} unlock must be confirm: true and timed: true",
            )
        if "unlock" not in inst.commands:
            continue
        target = f"{comp}/lock.unlock"
        if not any(
            r.target == target and "user_confirmation" in r.require for r in doc.safety.restrictions
        ):
            sink.add(
                ("safety", "restrictions"),
                f"{target} needs a restriction requiring user_confirmation: "
                f"{{target: {target}, require: [user_confirmation, timed_command]}}",
            )


def _check_gas_shutoff(doc: ProfileDoc, components: ComponentMap, sink: ProblemSink) -> None:
    safety = doc.safety
    if "gas_shutoff" not in safety.roles:
        return
    valves = _instances(components, "valve")
    if not valves:
        return  # reported with the roles
    state_paths = [f"{comp}/valve/state" for comp, _i in valves]
    if not any(p in safety.fail_safe for p in state_paths):
        sink.add(
            ("safety", "fail_safe"),
            f"role gas_shutoff needs fail_safe: {{{state_paths[0]}: closed}}",
        )
    for comp, inst in valves:
        if "open" not in inst.commands:
            continue
        target = f"{comp}/valve.open"
        if not any(r.target == target and r.rule == "not_available" for r in safety.restrictions):
            sink.add(
                ("safety", "restrictions"),
                f"role gas_shutoff: {target} must be restricted "
                f"({{target: {target}, rule: not_available}}) so no rule can reopen gas",
            )


def _check_gas(doc: ProfileDoc, components: ComponentMap, sink: ProblemSink) -> None:
    """Burners and gas sources: no command that could light gas, by any binding."""
    burners = _instances(components, "burner")
    if burners:
        if "gas_source" not in doc.safety.roles:
            sink.add(("safety", "roles"), "a profile with burner@1 needs the role gas_source")
        if doc.safety.class_ != "gas_appliance":
            sink.add(("safety", "class"), "a profile with burner@1 is class gas_appliance")
    if not burners and "gas_source" not in doc.safety.roles:
        return
    for transport in (*DP_TRANSPORTS, "matter", "ble_gatt"):
        binding = getattr(doc.bindings, transport)
        if binding is None:
            continue
        for path in binding.commands:
            try:
                ref = components.command(path)
            except PathError:
                continue  # already reported where the binding compiled
            if ref.name in IGNITION_COMMANDS:
                sink.add(
                    ("bindings", transport, "commands", path),
                    f"{path}: a gas appliance has no remote {ref.name} command "
                    f"(remote ignition is forbidden)",
                )
    for key, capdef in doc.vendor_capabilities.items():
        for name in capdef.commands:
            if name in IGNITION_COMMANDS:
                sink.add(
                    ("vendor_capabilities", key, "commands", name),
                    f"a gas appliance's vendor capability cannot declare {name!r}",
                )


# --------------------------------------------------------------------------- tests


def _check_tests(
    doc: ProfileDoc,
    components: ComponentMap,
    bindings: Mapping[str, RuntimeBinding],
    sink: ProblemSink,
) -> None:
    for i, test in enumerate(doc.tests):
        base: Where = ("tests", i)
        binding = bindings.get(test.transport)
        if binding is None:
            if getattr(doc.bindings, test.transport) is None:
                sink.add((*base, "transport"), f"the profile has no {test.transport} binding")
            continue  # a binding that failed to compile is reported already
        want = _GIVEN_KEY[test.transport]
        for key in ("before", "given"):
            frame = getattr(test, key)
            if frame is not None and getattr(frame, want) is None:
                sink.add((*base, key), f"a {test.transport} test gives {want}")
        bound = binding.property_paths()
        for path in test.expect:
            reason = _resolve(components.property, path)
            if reason is None and path not in bound:
                reason = f"{path} is not bound in bindings.{test.transport}"
            if reason is not None:
                sink.add((*base, "expect", path), reason)
        for path in test.expect_event:
            reason = _resolve(components.event, path)
            if reason is not None:
                sink.add((*base, "expect_event", path), reason)
        for path in test.command or {}:
            reason = _resolve(components.command, path)
            if reason is None and path not in binding.supported_commands():
                reason = f"{path} is not bound in bindings.{test.transport}"
            if reason is not None:
                sink.add((*base, "command", path), reason)
        for path in test.write or {}:
            reason = _resolve(components.property, path)
            if reason is None and path not in binding.writable_properties():
                reason = f"{path} cannot be written over {test.transport}"
            if reason is not None:
                sink.add((*base, "write", path), reason)
        for path, value in test.expect.items():
            _expect_trap(components, path, value, (*base, "expect", path), sink)


def _resolve(resolver: Any, path: str) -> str | None:
    try:
        resolver(path)
    except PathError as err:
        return str(err)
    return None


def _expect_trap(
    components: ComponentMap, path: str, value: Any, where: Where, sink: ProblemSink
) -> None:
    """``expect: {main/fan/mode: false}`` where ``"off"`` was meant (YAML 1.1 habit)."""
    try:
        ref = components.property(path)
    except PathError:
        return
    if (value is True or value is False) and ref.prop.type in (ValueType.ENUM, ValueType.SET):
        sink.add(where, f"{str(value).lower()} is a YAML boolean, but {path} is an enum: quote it")
    elif ref.prop.type is ValueType.BOOL and is_yaml11_bool_word(value):
        sink.add(where, f"{value!r} is text, but {path} is a bool: write true or false")
