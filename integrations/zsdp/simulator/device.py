"""``SimulatedDevice``: one virtual product from a profile, speaking real ZS-DP.

It holds the raw DP map (:class:`DpModel`), answers hubs as a :class:`DeviceHandler` (GET from
the map; SET validated entirely against the DP table and the behaviours, then applied and
reported), runs its capability behaviours on simulated time, takes "physical" actions from the
control interface, and can lose power (``go_offline``: connections dropped without BYE, mDNS
withdrawn without goodbye) and come back on the same port.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.profiles.compiled import LoadedProfile
from hub.profiles.runtime import same_raw
from integrations.zsdp.device import DeviceEndpoint
from integrations.zsdp.discovery import Advertisement
from integrations.zsdp.errors import ErrorCode, ZsdpError
from integrations.zsdp.handshake import PROTOCOL_VERSION, DeviceInfo
from integrations.zsdp.simulator import safety
from integrations.zsdp.simulator.base import ActionError, Behaviour, Write, behaviour_class
from integrations.zsdp.simulator.mdns import Advertiser
from integrations.zsdp.simulator.model import DpModel, ModelError
from integrations.zsdp.simulator.state import SlotKeys
from integrations.zsdp.simulator.table import DpTable, from_dp_value, types_compatible
from integrations.zsdp.wire import DPValue

__all__ = ["DEVICE_ACTIONS", "DeviceSpec", "SimulatedDevice", "product_ids", "reports_json"]

_LOGGER = logging.getLogger(__name__)
_ = safety  # registers the safety behaviours
MAX_STEPS = 600  # an `advance` is simulated in at most this many steps
TEST_VID = 0xFFF0  # docs/zsdp.md §3.2: 0xFFF0-0xFFFF are for tests and prototypes
DEVICE_ACTIONS = {
    "set": "path, value: set a property as the device itself would",
    "set_dp": "dp, value: put a raw value on a DP",
    "open_pairing": "hold the pairing button: opens the pairing window (10 min)",
    "factory_reset": "forget every paired hub, reboot, open pairing",
}


def product_ids(profile: LoadedProfile) -> tuple[int, int]:
    """vid/pid from the profile's mDNS fingerprint (the first alternative of each)."""
    for fp in profile.fingerprints:
        txt = getattr(fp, "txt", None)
        if getattr(fp, "transport", None) != "mdns" or not isinstance(txt, Mapping):
            continue
        try:
            vid = int(str(txt["vid"]).split("|")[0].replace("*", "0"), 16)
            pid = int(str(txt["pid"]).split("|")[0].replace("*", "0"), 16)
        except (KeyError, ValueError):
            continue
        return vid, pid
    _LOGGER.warning("%s has no mDNS vid/pid fingerprint; advertising test ids", profile.id)
    return TEST_VID, 0x0001


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


@dataclass(slots=True)
class DeviceSpec:
    """What to simulate: a profile plus identity, naming and starting state."""

    key: str  # the device's slot: a home's device key, or "<profile id>#<n>"
    profile: LoadedProfile
    device_id: str
    pairing_code: str
    name_zh: str | None = None
    name_en: str | None = None
    room: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # behaviour options (pin, speeds …)
    state: dict[str, Any] = field(default_factory=dict)  # starting property values
    fw: str = "1.0.0"


class _Endpoint(DeviceEndpoint):
    """A device endpoint that can also lose power: every connection dropped, no BYE."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writers: set[asyncio.StreamWriter] = set()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            await super()._on_client(reader, writer)
        finally:
            self._writers.discard(writer)

    def pull_plug(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()


class SimulatedDevice:
    """Implements ``DeviceHandler``; behaviours see it as their ``Host``."""

    def __init__(
        self,
        spec: DeviceSpec,
        *,
        key_store: SlotKeys,
        advertiser: Advertiser | None = None,
        host: str = "127.0.0.1",
        pairing_window: float | None = 600.0,
    ) -> None:
        self.spec = spec
        self.profile = spec.profile
        self.options: Mapping[str, Any] = spec.options
        self.table = DpTable(spec.profile)
        self.model = DpModel(self.table)
        self.keys = key_store
        self.host = host
        self.port = 0
        self.online = False
        vid, pid = product_ids(spec.profile)
        model = spec.profile.model.model.encode("utf-8")[:64].decode("utf-8", "ignore")
        self.info = DeviceInfo(spec.device_id, vid, pid, spec.fw, model)
        self._advertiser = advertiser
        self._pairing_window = pairing_window
        self._endpoint: _Endpoint | None = None
        self._behaviours: list[Behaviour] = []
        self._dirty = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._build()

    @property
    def device_id(self) -> str:
        return self.info.device_id

    # ------------------------------------------------------------------ set-up

    def _build(self) -> None:
        for component, caps in self.profile.components.components.items():
            for name, instance in caps.items():
                cls = behaviour_class(name)
                self._behaviours.append(cls(self, component, instance))
        initial: dict[str, Any] = {}
        for b in self._behaviours:
            initial.update({b.path(p): v for p, v in b.initial().items() if v is not None})
        initial.update(self.spec.state)
        self.model.load(initial)
        for b in self._behaviours:
            b.start()
        self.model.discard_reports()

    def behaviours(self, capability: str, component: str | None = None) -> list[Behaviour]:
        return [
            b
            for b in self._behaviours
            if b.name == capability and (component is None or b.component == component)
        ]

    # ------------------------------------------------------------------ life

    async def start(self, port: int = 0) -> None:
        """Listen (``port`` 0: any free port), advertise, start reporting."""
        self._endpoint = _Endpoint(
            self.info,
            self,
            pairing_code=self.spec.pairing_code,
            key_store=self.keys,
            pairing_window=self._pairing_window,
            on_pairing_change=self._pairing_changed,
        )
        try:
            await self._endpoint.start(self.host, port or self.port)
        except OSError:
            await self._endpoint.stop()  # disarms its pairing-window timer
            self._endpoint = None
            raise
        self.port = self._endpoint.port
        self.online = True
        self._spawn(self._report_loop(), "report")
        await self._advertise()

    async def stop(self) -> None:
        """Withdraw with goodbye, say BYE to hubs, stop every task."""
        if self._advertiser is not None:
            await self._advertiser.withdraw(self.device_id, goodbye=True)
        await self._shutdown()

    async def _shutdown(self) -> None:
        self.online = False
        if self._endpoint is not None:
            await self._endpoint.stop()
            self._endpoint = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.model.discard_reports()

    async def go_offline(self) -> None:
        """Pull the plug: hubs lose the connection without BYE, mDNS has no goodbye."""
        if not self.online:
            return
        if self._endpoint is not None:
            self._endpoint.pull_plug()
        if self._advertiser is not None:
            await self._advertiser.withdraw(self.device_id, goodbye=False)
        await self._shutdown()

    async def go_online(self) -> None:
        if not self.online:
            await self.start(self.port)

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=f"sim {self.device_id} {name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def pairing_open(self) -> bool:
        return self._endpoint.pairing_open if self._endpoint is not None else False

    def advertisement(self) -> Advertisement:
        i = self.info
        return Advertisement(
            i.device_id, i.vid, i.pid, i.fw, PROTOCOL_VERSION, self.pairing_open, i.model
        )

    async def _advertise(self) -> None:
        if self._advertiser is not None and self.online:
            await self._advertiser.publish(self.advertisement(), self.port)

    def _pairing_changed(self, is_open: bool) -> None:
        _LOGGER.info("%s: pairing window %s", self.device_id, "open" if is_open else "closed")
        if self.online:
            self._spawn(self._advertise(), "txt")

    # ------------------------------------------------------------------ reporting

    async def _report_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            await self.flush()

    async def flush(self) -> list[dict[int, DPValue]]:
        """Send what changed as REPORTs (in order); returns them."""
        async with self._send_lock:
            reports = self.model.take_reports()
            if self._endpoint is not None and self.online:
                for values in reports:
                    await self._endpoint.report(values)
            return reports

    # ------------------------------------------------------------------ DeviceHandler

    async def get(self, hub_id: str, dps: tuple[int, ...]) -> Mapping[int, DPValue]:
        for dp in dps:
            if dp not in self.table.specs:
                raise ZsdpError(ErrorCode.UNKNOWN_DP, f"no DP {dp}", dp=dp)
        return self.model.dp_values(dps)

    async def set(self, hub_id: str, values: Mapping[int, DPValue]) -> None:
        raw: dict[int, Any] = {}
        changed: dict[str, Any] = {}
        for dp, value in values.items():
            spec = self.table.specs.get(dp)
            if spec is None:
                raise ZsdpError(ErrorCode.UNKNOWN_DP, f"no DP {dp}", dp=dp)
            if not spec.writable:
                raise ZsdpError(ErrorCode.READ_ONLY, f"DP {dp} cannot be written", dp=dp)
            if not types_compatible(spec.type, value.type):
                kind = spec.type.name if spec.type is not None else "?"
                raise ZsdpError(ErrorCode.BAD_TYPE, f"DP {dp} is {kind}", dp=dp)
            got = from_dp_value(value)
            if spec.allowed is not None and not any(same_raw(got, a) for a in spec.allowed):
                raise ZsdpError(ErrorCode.OUT_OF_RANGE, f"DP {dp} does not take {got!r}", dp=dp)
            if spec.raw_range is not None and not spec.raw_range[0] <= got <= spec.raw_range[1]:
                low, high = (round(x) for x in spec.raw_range)
                raise ZsdpError(ErrorCode.OUT_OF_RANGE, f"DP {dp} takes {low}-{high}", dp=dp)
            if spec.stateful:
                result = self.table.binding.decode({dp: got})
                if result.errors:
                    raise ZsdpError(ErrorCode.OUT_OF_RANGE, result.errors[0][:120], dp=dp)
                changed.update(result.states)
            raw[dp] = got
        write = Write(raw, changed, tuple(self.table.match_commands(raw)))
        for b in self._behaviours:
            b.validate(write)
        for dp, got in raw.items():
            if self.table.specs[dp].stateful:
                self.model.put_raw(dp, got)
        for b in self._behaviours:
            b.on_write(write)
        self._dirty.set()  # the REPORT follows the RESULT

    async def invoke(
        self, hub_id: str, action: int, args: Mapping[int, DPValue]
    ) -> Mapping[int, DPValue]:
        raise ZsdpError(ErrorCode.UNKNOWN_ACTION, f"no action {action}")

    # ------------------------------------------------------------------ simulated time

    def tick(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass (in steps, so timers fire in order)."""
        if seconds <= 0 or not self.online:
            return
        steps = max(1, min(MAX_STEPS, math.ceil(seconds)))
        for _ in range(steps):
            for b in self._behaviours:
                b.tick(seconds / steps)
        self._dirty.set()

    async def advance(self, seconds: float) -> list[dict[int, DPValue]]:
        self.tick(seconds)
        return await self.flush()

    # ------------------------------------------------------------------ control

    def actions(self) -> list[dict[str, Any]]:
        out = [{"action": a, "args": h, "component": None} for a, h in DEVICE_ACTIONS.items()]
        for b in self._behaviours:
            for action, help_text in b.available_actions().items():
                out.append(
                    {
                        "action": action,
                        "args": help_text,
                        "component": b.component,
                        "capability": b.name,
                    }
                )
        return out

    async def act(self, action: str, args: Mapping[str, Any]) -> list[dict[int, DPValue]]:
        """Do something to the device by hand; returns the REPORTs it caused."""
        if not self.online:
            raise ActionError(f"{self.device_id} is offline (no power)")
        if action in DEVICE_ACTIONS:
            await self._device_action(action, args)
        else:
            for b, rest in self._targets(action, args):
                b.act(action, rest)
        return await self.flush()

    def _targets(
        self, action: str, args: Mapping[str, Any]
    ) -> list[tuple[Behaviour, dict[str, Any]]]:
        found = [b for b in self._behaviours if action in b.available_actions()]
        if not found:
            names = sorted({a["action"] for a in self.actions()})
            raise ActionError(f"no action {action!r} here; try: {', '.join(names)}")
        rest = dict(args)
        wanted = rest.pop("component", None)
        for b in found:
            if b.alias and b.alias in rest:
                wanted = rest.pop(b.alias)
        if wanted is not None:
            found = [b for b in found if b.component == wanted or wanted in b.component.split("_")]
            if not found:
                raise ActionError(f"no component {wanted!r} with action {action!r}")
        if len(found) > 1 and action not in found[0].broadcast:
            which = found[0].alias or "component"
            choices = ", ".join(b.component for b in found)
            raise ActionError(f"which {which}? give {which}: one of {choices}")
        return [(b, rest) for b in found]

    async def _device_action(self, action: str, args: Mapping[str, Any]) -> None:
        if action == "set":
            path, value = args.get("path"), args.get("value")
            if not isinstance(path, str):
                raise ActionError("set needs path (component/capability/property) and value")
            try:
                if not self.model.put(path, value):
                    raise ActionError(f"{path} is not bound to a DP in this profile")
            except ModelError as err:
                raise ActionError(str(err)) from err
        elif action == "set_dp":
            given = args.get("dp")
            dp = int(given) if isinstance(given, int | str) and str(given).isdigit() else None
            if dp is None or dp not in self.table.specs:
                raise ActionError(f"unknown DP {given!r}")
            self.model.put_raw(dp, args.get("value"))
        elif action == "open_pairing":
            if self._endpoint is not None:
                self._endpoint.open_pairing()
        elif action == "factory_reset":
            await self.go_offline()
            self.keys.clear()
            await self.go_online()

    def snapshot(self) -> dict[str, Any]:
        spec = self.spec
        return {
            "id": self.device_id,
            "key": spec.key,
            "profile_id": self.profile.id,
            "model": self.info.model,
            "vid": f"0x{self.info.vid:04X}",
            "pid": f"0x{self.info.pid:04X}",
            "name": {"zh": spec.name_zh, "en": spec.name_en},
            "room": spec.room,
            "host": self.host,
            "port": self.port,
            "pairing_code": spec.pairing_code,
            "online": self.online,
            "pairing_open": self.pairing_open,
            "paired_hubs": self.keys.hub_ids(),
            "connected_hubs": self._endpoint.connected_hubs if self._endpoint is not None else [],
        }

    def state(self) -> dict[str, Any]:
        return {
            "dps": {str(dp): _jsonable(raw) for dp, raw in sorted(self.model.raw.items())},
            "state": {path: _jsonable(v) for path, v in sorted(self.model.state().items())},
        }


def reports_json(reports: list[dict[int, DPValue]]) -> list[dict[str, Any]]:
    return [{str(dp): _jsonable(v.value) for dp, v in r.items()} for r in reports]
