"""JSON views of devices and profiles, with what a guest may not see taken out.

A profile's view (components → capabilities → properties, commands, events, with zh/en titles
and value labels) is built once per loaded profile and shared by every device and client.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from hub.auth.policy import GUEST_HIDDEN_CAPABILITIES, Principal
from hub.core.registry import Device

if TYPE_CHECKING:
    from hub.app import Hub
    from hub.capabilities.catalogue import CapabilityInstance
    from hub.profiles.compiled import LoadedProfile

__all__ = ["Views"]

_FOR_GUESTS = frozenset({"everyone", "guest"})
_PROPERTY_FIELDS = ("type", "unit", "range", "step", "values", "labels", "access", "title")


def _capability_view(inst: CapabilityInstance) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for name, pdef in inst.properties.items():
        data = pdef.model_dump(mode="json", include=set(_PROPERTY_FIELDS), exclude_none=True)
        props[name] = data
    commands: dict[str, Any] = {}
    for name, cdef in inst.commands.items():
        commands[name] = {
            "title": cdef.title.model_dump(),
            "params": {
                p: pdef.model_dump(mode="json", exclude_none=True)
                for p, pdef in cdef.params.items()
            },
            "confirm": cdef.confirm,
            "privilege": cdef.privilege.value,
            # What the device reports once the command took effect: clients show "pending" until
            # then (a literal or "$param").
            "effects": dict(cdef.effects),
        }
    events = {
        name: edef.model_dump(mode="json", exclude_none=True) for name, edef in inst.events.items()
    }
    return {
        "key": inst.key,
        "title": inst.capdef.title.model_dump(),
        "features": sorted(inst.features),
        "properties": props,
        "commands": commands,
        "events": events,
    }


def _profile_view(loaded: LoadedProfile) -> dict[str, Any]:
    view = loaded.summary()
    for comp, caps in loaded.components.components.items():
        entry = view["components"].get(comp)
        if entry is None:
            continue
        entry["capabilities"] = {name: _capability_view(inst) for name, inst in caps.items()}
    return view


def _without(view: dict[str, Any], hidden: frozenset[str]) -> dict[str, Any]:
    """A copy of a profile view without the ``hidden`` capabilities."""
    components = {
        comp: {
            **entry,
            "capabilities": {
                cap: data for cap, data in entry["capabilities"].items() if cap not in hidden
            },
        }
        for comp, entry in view["components"].items()
    }
    commands = {
        transport: [t for t in targets if t.split("/", 1)[-1].split(".", 1)[0] not in hidden]
        for transport, targets in view.get("commands", {}).items()
    }
    return {**view, "components": components, "commands": commands}


class Views:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        # id(loaded) -> (loaded, full view, guest view, capability names, category)
        self._profiles: dict[
            int, tuple[LoadedProfile, dict[str, Any], dict[str, Any], frozenset[str], str]
        ] = {}

    def _profile(
        self, profile_id: str | None
    ) -> tuple[LoadedProfile, dict[str, Any], dict[str, Any], frozenset[str], str] | None:
        if profile_id is None:
            return None
        loaded = self._hub.profiles.get(profile_id)
        if loaded is None:
            return None
        cached = self._profiles.get(id(loaded))
        if cached is not None and cached[0] is loaded:
            return cached
        full = _profile_view(loaded)
        caps = frozenset(name for comp in loaded.components.components.values() for name in comp)
        entry = (
            loaded,
            full,
            _without(full, GUEST_HIDDEN_CAPABILITIES),
            caps,
            loaded.model.category,
        )
        self._profiles[id(loaded)] = entry
        return entry

    def facts(self, device: Device) -> tuple[frozenset[str] | None, str]:
        """The capability names of a device's profile (None without one) and its category."""
        entry = self._profile(device.profile_id)
        if entry is None:
            return None, ""
        return entry[3], entry[4]

    def visible(self, who: Principal, device: Device | None) -> bool:
        if device is None:
            return False
        if not who.user.is_guest:
            return True
        caps, category = self.facts(device)
        return who.sees_device(device, caps, category)

    def notification_visible(
        self, who: Principal, device_id: str | None, priority: str, audience: Iterable[str]
    ) -> bool:
        """Whether a hub notification reaches this user. A guest gets those about devices they
        may see, and every critical one (a gas leak warns whoever is in the home, even where the
        detector itself is hidden from them) or one addressed to ``everyone``/``guest``."""
        if not who.user.is_guest or priority == "critical":
            return True
        if not _FOR_GUESTS.isdisjoint(audience):
            return True
        return device_id is not None and self.visible(who, self._hub.registry.get(device_id))

    def visible_devices(self, who: Principal, room: str | None = None) -> list[Device]:
        return [
            d
            for d in self._hub.registry
            if (room is None or d.room_id == room) and self.visible(who, d)
        ]

    def device(self, who: Principal, device: Device) -> dict[str, Any]:
        return self.device_data(device, guest=who.user.is_guest)

    def device_data(self, device: Device, *, guest: bool) -> dict[str, Any]:
        """A device with its state and profile (for a guest: without hidden capabilities)."""
        data = device.as_dict()
        states: dict[str, Any] = {}
        for path, state in self._hub.states.device_states(device.id).items():
            sub = path.split("/", 1)[1]
            if guest and sub.split("/", 2)[1] in GUEST_HIDDEN_CAPABILITIES:
                continue
            value = state.as_dict()
            del value["path"]
            states[sub] = value
        data["state"] = states
        entry = self._profile(device.profile_id)
        data["profile"] = None if entry is None else entry[2] if guest else entry[1]
        return data

    def devices(self, who: Principal, devices: Iterable[Device]) -> list[dict[str, Any]]:
        return [self.device(who, d) for d in devices]

    def profile(self, profile_id: str) -> Mapping[str, Any] | None:
        entry = self._profile(profile_id)
        return None if entry is None else entry[1]
