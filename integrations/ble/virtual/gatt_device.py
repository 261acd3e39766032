"""A GATT peripheral built from a device profile's ``ble_gatt`` binding.

Its state is field-level (``{"status.flags": 1, …}``): frames are packed from it with the profile's
struct layouts, read and notified on their characteristics. Property paths map onto fields through
the profile's own decoders (bits, maps and units reversed by search, so what the hub decodes is
exactly what was set). Writes to the control characteristic are matched against the profile's
commands and applied through the capability's ``effects``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bumble import gatt
from bumble.device import Connection

from hub.capabilities.catalogue import Catalogue, default_catalogue_dir
from hub.capabilities.codecs import CodecError, StructLayout, encode_int
from hub.profiles.compiled import LoadedProfile
from hub.profiles.loader import load_profile_file
from hub.profiles.runtime import BindingError, GattRuntime, GattWrite, GattWriteCommand
from integrations.ble.virtual.advertising import AdFields, normalize_uuid
from integrations.ble.virtual.peripheral import VirtualPeripheral

__all__ = ["GattProfileDevice", "load_gatt_profile"]

_LOGGER = logging.getLogger(__name__)

_Props = gatt.Characteristic.Properties


def load_gatt_profile(path: str | Path) -> LoadedProfile:
    """Load a profile file with the shared catalogue; ValueError listing its problems."""
    catalogue, _errors = Catalogue.load_dir(default_catalogue_dir())
    loaded = load_profile_file(Path(path), catalogue)
    if isinstance(loaded, list):
        raise ValueError(f"{path}: " + "; ".join(str(p) for p in loaded))
    if not isinstance(loaded.binding("ble_gatt"), GattRuntime):
        raise ValueError(f"{path}: the profile has no ble_gatt binding")
    return loaded


class GattProfileDevice(VirtualPeripheral):
    """The profile's GATT service with one characteristic per frame (read + notify) and the
    control characteristic (write, with and without response)."""

    def __init__(
        self,
        profile: LoadedProfile,
        *,
        address: str,
        local_name: str | None = None,
        manufacturer_data: Mapping[int, bytes] | None = None,
        connectable: bool = True,
        rssi: int = -60,
        interval_ms: float = 100.0,
    ) -> None:
        super().__init__(
            address=address,
            local_name=local_name,
            connectable=connectable,
            rssi=rssi,
            interval_ms=interval_ms,
        )
        runtime = profile.binding("ble_gatt")
        if not isinstance(runtime, GattRuntime):
            raise ValueError(f"profile {profile.id} has no ble_gatt binding")
        self.profile = profile
        self.runtime: GattRuntime = runtime
        self.manufacturer_data = dict(manufacturer_data or {})
        if not self.manufacturer_data:
            self.manufacturer_data = self._fingerprint_manufacturer_data()
        self.fields: dict[str, int] = {
            f"{frame}.{f.name}": 0
            for frame, (_c, layout) in runtime.frames.items()
            for f in layout.fields
        }
        self.writes: list[bytes] = []  # every control write, as received
        self.commands: list[tuple[str, dict[str, Any]]] = []  # the writes the profile explains
        self.silent_notifications = False  # "going silent" on the link: no notifications
        self._characteristics: dict[str, gatt.Characteristic[bytes]] = {}

    @classmethod
    def from_profile(cls, path: str | Path, **kw: Any) -> GattProfileDevice:
        return cls(load_gatt_profile(path), **kw)

    def _fingerprint_manufacturer_data(self) -> dict[int, bytes]:
        for fp in self.profile.fingerprints:
            company = getattr(fp, "manufacturer_id", None)
            if company is not None:
                return {int(company): bytes(getattr(fp, "manufacturer_data_start", None) or b"")}
        return {}

    # ------------------------------------------------------------------ advertising / GATT

    def ad_fields(self) -> AdFields:
        return AdFields(
            local_name=self.local_name,
            manufacturer_data=self.manufacturer_data,
            service_uuids=(normalize_uuid(self.runtime.service),),
            tx_power=self.tx_power,
        )

    def gatt_services(self) -> Sequence[gatt.Service]:
        chars: list[gatt.Characteristic[bytes]] = []
        for frame, (uuid, _layout) in self.runtime.frames.items():
            char: gatt.Characteristic[bytes] = gatt.Characteristic(
                uuid,
                _Props.READ | _Props.NOTIFY,
                gatt.Characteristic.READABLE,
                gatt.CharacteristicValue(read=lambda _conn, f=frame: self.frame_bytes(f)),
            )
            self._characteristics[frame] = char
            chars.append(char)
        control = self.runtime.control_characteristic
        if control is not None and control.lower() not in {
            u.lower() for u, _l in self.runtime.frames.values()
        }:
            chars.append(
                gatt.Characteristic(
                    control,
                    _Props.WRITE | _Props.WRITE_WITHOUT_RESPONSE,
                    gatt.Characteristic.WRITEABLE,
                    gatt.CharacteristicValue(write=self._on_control_write),
                )
            )
        return [gatt.Service(self.runtime.service, chars)]

    # ------------------------------------------------------------------ frames and state

    def _layout(self, frame: str) -> StructLayout:
        entry = self.runtime.frames.get(frame)
        if entry is None:
            raise ValueError(f"unknown frame {frame!r} (frames: {', '.join(self.runtime.frames)})")
        return entry[1]

    def frame_bytes(self, frame: str) -> bytes:
        layout = self._layout(frame)
        data = bytearray(layout.size)
        for f in layout.fields:
            data[f.offset : f.offset + len(encode_int(f.type, 0))] = encode_int(
                f.type, self.fields[f"{frame}.{f.name}"]
            )
        return bytes(data)

    def set_frame(self, frame: str, data: bytes) -> None:
        """Take a whole frame (e.g. a recorded one) as the new state of its fields."""
        for name, value in self._layout(frame).decode(data).items():
            self.fields[f"{frame}.{name}"] = value

    def _address_of(self, path: str) -> str:
        for address in self.runtime.addresses():
            if any(d.path == path for d in self.runtime.decoders_at(address)):
                return str(address)
        raise ValueError(f"{path} is not a property of {self.profile.id}'s ble_gatt binding")

    def _decode(self, path: str, address: str, raw: int) -> Any:
        for dec in self.runtime.decoders_at(address):
            if dec.path == path:
                return dec.decode(raw)
        raise ValueError(path)

    def field_value_for(
        self, path: str, value: Any, fields: Mapping[str, int] | None = None
    ) -> tuple[str, int]:
        """``(frame.field, raw)`` that makes the hub decode ``path`` as ``value``, starting from
        ``fields`` (default: the current state) so that other bits of the field stay as they are."""
        address = self._address_of(path)
        dec = next(d for d in self.runtime.decoders_at(address) if d.path == path)
        current = (self.fields if fields is None else fields)[address]
        if dec.codec.invertible:
            try:
                raw = dec.codec.encode(value)
                if isinstance(raw, float) and raw.is_integer():
                    raw = int(raw)
                if type(raw) is int and self._decode(path, address, raw) == value:
                    return address, raw
            except (CodecError, ValueError):
                pass
        # Bits (and codecs without an inverse): change at most one bit of the current value and
        # keep the candidate the profile itself decodes to the wanted value.
        for candidate in [current] + [current ^ (1 << bit) for bit in range(64)]:
            try:
                if self._decode(path, address, candidate) == value:
                    return address, candidate
            except (CodecError, ValueError):
                continue
        raise ValueError(f"{path}: no raw value of {address} decodes to {value!r}")

    def state(self) -> dict[str, Any]:
        """What the hub would decode now: property path -> value."""
        out: dict[str, Any] = {}
        for frame in self.runtime.frames:
            out.update(self.runtime.decode_frame(frame, self.frame_bytes(frame)).states)
        return out

    async def set_state(self, values: Mapping[str, Any], *, notify: bool = True) -> None:
        """Set properties (paths of the profile) or raw fields (``"frame.field"``) and notify the
        frames that changed. ValueError (nothing changed) when any value cannot be represented."""
        work = dict(self.fields)
        for key, value in values.items():
            if key in work:
                if type(value) is not int:
                    raise ValueError(f"field {key} takes an integer, got {value!r}")
                work[key] = value
            else:
                address, raw = self.field_value_for(key, value, work)
                work[address] = raw
        for address, raw in work.items():
            frame, name = address.split(".", 1)
            ftype = next(f.type for f in self._layout(frame).fields if f.name == name)
            try:
                encode_int(ftype, raw)
            except CodecError as err:
                raise ValueError(f"{address}: {err}") from err
        changed = {a.split(".", 1)[0] for a, v in work.items() if self.fields[a] != v}
        self.fields = work
        if notify:
            for frame in sorted(changed):
                await self.notify(frame)

    async def notify(self, frame: str) -> None:
        """Send the frame to every subscribed central (unless notifications are silenced)."""
        if self.silent_notifications or not self.on_air:
            return
        char = self._characteristics[frame]
        await self.device.notify_subscribers(char, self.frame_bytes(frame))

    # ------------------------------------------------------------------ knobs

    async def flame_out(self, component: str) -> None:
        """Gas cooktops: the burner's flame went out and its flame-failure device tripped."""
        await self.set_state(
            {
                f"{component}/burner/ignited": False,
                f"{component}/burner/flame_protection": "tripped",
            }
        )

    # ------------------------------------------------------------------ control writes

    def _on_control_write(self, _connection: Connection | None, value: bytes) -> None:
        data = bytes(value)
        self.writes.append(data)
        matched = self.explain_write(data)
        if matched is None:
            _LOGGER.warning("%s: control write %s matches no command", self.address, data.hex())
            return
        path, args = matched
        self.commands.append((path, args))
        self._apply_effects(path, args)
        if self.on_air:
            for frame in self.runtime.frames:
                self.tasks.create(self.notify(frame), f"ble {self.address} notify {frame}")

    def explain_write(self, data: bytes) -> tuple[str, dict[str, Any]] | None:
        """Which profile command encodes to ``data``, with which arguments (found by search over
        the parameter's range; commands without parameters match exactly)."""
        for path in sorted(self.runtime.supported_commands()):
            encoder = self.runtime.command_encoder(path)
            if not isinstance(encoder, GattWriteCommand):
                continue
            prefix = bytearray()
            for expr in encoder.items:
                if not expr.is_constant or type(expr.constant) is not int:
                    break
                prefix.append(expr.constant)
            if not data.startswith(bytes(prefix)):
                continue
            params = encoder.command.params
            if not params:
                if self._encodes_to(path, {}, data):
                    return path, {}
                continue
            if len(params) != 1:
                continue
            ((name, param),) = params.items()
            low, high = param.range if param.range is not None else (0, 0xFFFF)
            for candidate in self._candidates(path, name, int(low), int(high)):
                if self._encodes_to(path, {name: candidate}, data):
                    return path, {name: candidate}
        return None

    def _candidates(self, path: str, name: str, low: int, high: int) -> Sequence[int]:
        # Prefer values the device can report back exactly (whole minutes for a minute field).
        values = list(range(low, high + 1))
        return sorted(values, key=lambda v: (v % 60 != 0, v % 10 != 0, v))

    def _encodes_to(self, path: str, args: Mapping[str, Any], data: bytes) -> bool:
        try:
            payload = self.runtime.encode_command(path, args)
        except (BindingError, ValueError, TypeError):
            return False
        return isinstance(payload, GattWrite) and payload.data == data

    def _apply_effects(self, path: str, args: Mapping[str, Any]) -> None:
        component, _, rest = path.partition("/")
        capability, _, _command = rest.partition(".")
        encoder = self.runtime.command_encoder(path)
        assert encoder is not None
        effects: dict[str, Any] = dict(encoder.command.effects)
        # A started countdown is reported as remaining time on devices that report one.
        if capability == "timer" and "duration_s" in effects:
            effects.setdefault("remaining_s", effects["duration_s"])
        for prop, effect in effects.items():
            value = (
                args.get(effect[1:])
                if isinstance(effect, str) and effect.startswith("$")
                else effect
            )
            target = f"{component}/{capability}/{prop}"
            try:
                address, raw = self.field_value_for(target, value)
            except ValueError:
                continue  # not carried by any frame of this device
            self.fields[address] = raw
