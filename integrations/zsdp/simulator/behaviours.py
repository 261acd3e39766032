"""Capability behaviours, keyed by capability name (``REGISTRY``).

Starting values are data (each class's ``defaults``, clamped into the profile's ranges); the
physics is a few lines per capability: a timer counts down and does what the profile's
``info.action`` says, a filter wears by the day or by motor hour as its ``info`` rates it, a
heater's outlet temperature approaches its setpoint while water flows. The safety-relevant
capabilities (locks, burners, gas detectors, valves) live in :mod:`.safety`.
A capability without an entry here (vendor capabilities included) keeps what hubs write.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from integrations.zsdp.simulator.base import (
    REGISTRY,
    ActionError,
    Behaviour,
    Write,
    arg_float,
    arg_int,
    arg_str,
    refuse,
    register,
)

__all__ = ["REGISTRY", "Fault", "OnOff", "Timer"]

AMBIENT_C = 25.0
HEAT_RATE_C_PER_S = 0.5  # gas water heater outlet, while burning
COOK_C_PER_S = 0.2  # rice cooker inner pot
GAS_M3_PER_S_PER_LPM = 0.00005  # ~1.4 m3/h at 8 L/min
# Cooking time by program tag (profile `values: {x: {tags: [...]}}`); minutes.
PROGRAM_MINUTES = {"quick": 20, "rice": 40, "porridge": 60, "soup": 90, "steam": 25, "warm": 0}
DEFAULT_PROGRAM_MINUTES = 30


# ---------------------------------------------------------------------------- lighting, power


@register
class OnOff(Behaviour):
    capability = "onoff"
    actions = {"press": "", "switch": "on: bool"}

    def act_press(self, args: Mapping[str, Any]) -> None:
        self.set("on", not self.get("on", False))

    def act_switch(self, args: Mapping[str, Any]) -> None:
        self.set("on", bool(args.get("on", True)))

    def turn_off(self) -> None:
        self.set("on", False)


@register
class Brightness(Behaviour):
    capability = "brightness"
    defaults = {"level": 60}
    actions = {"dim": "level: 1-100"}

    def act_dim(self, args: Mapping[str, Any]) -> None:
        self.set("level", arg_float(args, "level"))


def _back_to_first_effect(behaviour: Behaviour, write: Write) -> None:
    """A lamp leaves its scene when a colour or colour temperature is chosen (unless the same
    SET chose a scene too)."""
    effect = behaviour.sibling("light_effect")
    if (
        effect is not None
        and effect.values("effect")
        and effect.path("effect") not in write.changed
    ):
        effect.set("effect", effect.values("effect")[0])


@register
class ColorTemperature(Behaviour):
    capability = "color_temperature"
    defaults = {"kelvin": 4000}

    def initial(self) -> dict[str, Any]:
        out = super().initial()
        kelvin = self.instance.properties["kelvin"]
        if kelvin.range is not None:
            out["min_kelvin"], out["max_kelvin"] = round(kelvin.range[0]), round(kelvin.range[1])
        return out

    def on_write(self, write: Write) -> None:
        if self.path("kelvin") in write.changed:
            _back_to_first_effect(self, write)


@register
class Color(Behaviour):
    capability = "color"
    defaults = {"hue": 30, "saturation": 100, "mode": "hs"}

    def on_write(self, write: Write) -> None:
        if self.path("hue") in write.changed or self.path("saturation") in write.changed:
            _back_to_first_effect(self, write)


@register
class Timer(Behaviour):
    """Counts ``remaining_s`` down; at zero does the profile's ``info.action``."""

    capability = "timer"

    def start(self) -> None:
        self.remaining = float(self.get("remaining_s", 0) or 0)

    def on_write(self, write: Write) -> None:
        if self.path("remaining_s") in write.changed:
            self.remaining = float(write.changed[self.path("remaining_s")])

    def cancel(self) -> None:
        self.remaining = 0.0
        self.set("remaining_s", 0)

    def tick(self, dt: float) -> None:
        if self.remaining <= 0:
            return
        self.remaining = max(0.0, self.remaining - dt)
        self.set("remaining_s", math.ceil(self.remaining))
        if self.remaining == 0:
            self.expire()

    def expire(self) -> None:
        self.emit("expired")
        action = self.info("action")
        if action in ("light_off", "power_off"):
            onoff = self.sibling("onoff")
            if isinstance(onoff, OnOff):
                onoff.turn_off()
        elif action == "burner_off":
            burner = self.sibling("burner")
            if burner is not None:
                burner.act("turn_off", {})  # the cooktop cuts its own gas at expiry


@register
class Battery(Behaviour):
    capability = "battery"
    defaults = {"percent": 80, "low": False}
    actions = {"battery": "percent: 0-100"}
    LOW = 20

    def act_battery(self, args: Mapping[str, Any]) -> None:
        percent = arg_int(args, "percent")
        self.set("percent", percent)
        self.set("low", percent < self.LOW)


@register
class Fault(Behaviour):
    capability = "fault"
    actions = {"fault": "code: one of the profile's codes", "clear_fault": "code (optional)"}

    def codes(self) -> list[str]:
        return list(self.get("codes", []) or [])

    def act_fault(self, args: Mapping[str, Any]) -> None:
        code = arg_str(args, "code")
        if code not in self.values("codes"):
            raise ActionError(f"{code!r} is not one of {', '.join(self.values('codes'))}")
        self.set("codes", sorted({*self.codes(), code}))
        self.set("active", True)

    def act_clear_fault(self, args: Mapping[str, Any]) -> None:
        code = args.get("code")
        left = [] if code is None else [c for c in self.codes() if c != code]
        self.set("codes", left)
        self.set("active", bool(left))


def _faults(behaviour: Behaviour) -> list[str]:
    fault = behaviour.sibling("fault")
    return fault.codes() if isinstance(fault, Fault) else []


# ---------------------------------------------------------------------------- appliances


@register
class OperationalState(Behaviour):
    """Programs that run for a while (a rice cooker): start, appointment, keep warm."""

    capability = "operational_state"
    actions = {"start": "", "stop": ""}

    def available_actions(self) -> Mapping[str, str]:
        # The panel's start button, on products whose program can be started at all.
        start = f"{self.component}/{self.name}.start"
        return self.actions if start in self.model.table.binding.supported_commands() else {}

    def start(self) -> None:
        self.left = float(self.get("remaining_s", 0) or 0)

    def _minutes(self) -> int:
        program = self.sibling("program")
        name = program.get("program") if program is not None else None
        if program is None or name is None:
            return DEFAULT_PROGRAM_MINUTES
        tags = program.instance.value_tags("program").get(name, ())
        for tag, minutes in PROGRAM_MINUTES.items():
            if tag in tags:
                return minutes
        return DEFAULT_PROGRAM_MINUTES

    def _has(self, state: str) -> bool:
        return state in self.values("state")

    def validate(self, write: Write) -> None:
        starting = [
            c
            for c in write.commands
            if c.component == self.component
            and (c.path.endswith("operational_state.start") or c.path.endswith("timer.start"))
        ]
        codes = _faults(self)
        if starting and codes:
            raise refuse(f"fault {', '.join(codes)}: cannot start")

    def on_write(self, write: Write) -> None:
        for match in write.commands:
            if match.component != self.component:
                continue
            if match.path.endswith("operational_state.start"):
                self.begin()
            elif match.path.endswith(("operational_state.stop", "timer.cancel")):
                self.halt()
            elif match.path.endswith("timer.start") and self._has("appointment"):
                self.set("state", "appointment")

    def begin(self) -> None:
        minutes = self._minutes()
        if minutes == 0 and self._has("keep_warm"):
            self.set("state", "keep_warm")
            return
        self.left = minutes * 60.0
        self.set("state", "running")
        self.set("remaining_s", round(self.left))

    def halt(self) -> None:
        self.left = 0.0
        self.set("state", "stopped")
        self.set("remaining_s", 0)
        timer = self.sibling("timer")
        if isinstance(timer, Timer):
            timer.cancel()

    def tick(self, dt: float) -> None:
        state = self.get("state")
        temperature = self.sibling("temperature")
        if state == "appointment":
            timer = self.sibling("timer")
            due = timer.remaining if isinstance(timer, Timer) else 0.0
            if due <= self._minutes() * 60:
                self.left = due
                self.set("state", "running")
        elif state == "running":
            self.left = max(0.0, self.left - dt)
            self.set("remaining_s", math.ceil(self.left))
            if isinstance(temperature, Temperature):
                temperature.approach(100.0, COOK_C_PER_S, dt)
            if self.left == 0:
                self.set("state", "keep_warm" if self._has("keep_warm") else "stopped")
        elif state == "keep_warm" and isinstance(temperature, Temperature):
            temperature.approach(70.0, COOK_C_PER_S / 4, dt)

    def act_start(self, args: Mapping[str, Any]) -> None:
        codes = _faults(self)
        if codes:
            raise ActionError(f"fault {', '.join(codes)}: the appliance does not start")
        self.begin()

    def act_stop(self, args: Mapping[str, Any]) -> None:
        self.halt()


@register
class Fan(Behaviour):
    capability = "fan"
    defaults = {"percent": 30, "delay_off_s": 0}
    actions = {"set_mode": "mode"}
    PERCENT = {"off": 0, "low": 30, "medium": 60, "high": 100, "boost": 100}

    def on_write(self, write: Write) -> None:
        mode, percent = self.path("mode"), self.path("percent")
        if mode in write.changed and percent not in write.changed:
            target = self.PERCENT.get(str(write.changed[mode]))
            if target is not None and self.bound("percent"):
                self.set("percent", max(target, 1) if target else self._floor())
        elif (
            percent in write.changed
            and mode not in write.changed
            and self.get("mode") not in ("auto", "off")
        ):
            value = float(write.changed[percent])
            self.set("mode", "low" if value <= 33 else "medium" if value <= 66 else "high")

    def _floor(self) -> float:
        definition = self.instance.properties["percent"]
        return definition.range[0] if definition.range is not None else 0

    def running(self) -> bool:
        onoff = self.sibling("onoff")
        if onoff is not None and onoff.get("on") is False:
            return False
        return bool(self.get("mode", "off") != "off")

    def act_set_mode(self, args: Mapping[str, Any]) -> None:
        mode = arg_str(args, "mode")
        if mode not in self.values("mode"):
            raise ActionError(f"mode must be one of {', '.join(self.values('mode'))}")
        self.set("mode", mode)


@register
class FilterLife(Behaviour):
    """Wears by the day (``info.rated_d``) or by fan running hour (``info.rated_h``)."""

    capability = "filter_life"
    alias = "filter"
    defaults = {"percent": 80}
    actions = {
        "wear": "percent | days | hours (filter: which; all when omitted)",
        "replace_filter": "filter",
    }
    broadcast = frozenset({"wear"})
    DEFAULT_RATED_D = 180

    def initial(self) -> dict[str, Any]:
        out = super().initial()
        self.life = 0.8
        out.update(self._figures())
        return out

    def start(self) -> None:
        percent = self.get("percent")
        self.life = float(percent) / 100 if percent is not None else self.life
        self._show()

    def _rated_s(self) -> float:
        hours = self.info("rated_h")
        if isinstance(hours, int | float) and hours > 0:
            return float(hours) * 3600
        days = self.info("rated_d", self.DEFAULT_RATED_D)
        return float(days if isinstance(days, int | float) and days > 0 else 180) * 86400

    def _figures(self) -> dict[str, Any]:
        life = max(0.0, min(1.0, self.life))
        out: dict[str, Any] = {"percent": round(life * 100)}
        rated = self._rated_s()
        out["remaining_d"] = math.floor(life * rated / 86400)
        out["remaining_h"] = math.floor(life * rated / 3600)
        return out

    def _show(self) -> None:
        for prop, value in self._figures().items():
            self.set(prop, value)

    def on_write(self, write: Write) -> None:
        if any(c.command == "reset" for c in write.command(self.component, self.name)):
            self.life = 1.0
            self._show()

    def tick(self, dt: float) -> None:
        if self.life <= 0:
            return
        if self.info("rated_h") is not None:
            fan = self.sibling("fan")
            if not (isinstance(fan, Fan) and fan.running()):
                return
        self.life -= dt * self.option("wear_speed", 1.0) / self._rated_s()
        self._show()

    def act_wear(self, args: Mapping[str, Any]) -> None:
        if "percent" in args:
            self.life -= arg_float(args, "percent") / 100
        elif "days" in args:
            self.life -= arg_float(args, "days") * 86400 / self._rated_s()
        elif "hours" in args:
            self.life -= arg_float(args, "hours") * 3600 / self._rated_s()
        else:
            raise ActionError("give percent, days or hours")
        self.life = max(0.0, self.life)
        self._show()

    def act_replace_filter(self, args: Mapping[str, Any]) -> None:
        self.life = 1.0
        self._show()


@register
class Heating(Behaviour):
    """A gas water heater: burns while hot water flows and the outlet approaches the setpoint."""

    capability = "heating"
    actions = {"tap": "lpm: flow in L/min (0 closes the tap)", "close_tap": ""}

    def initial(self) -> dict[str, Any]:
        out = super().initial()
        out["state"] = "standby"
        return out

    def _flow(self) -> float:
        flow = self.sibling("water_flow")
        return float(flow.get("lpm", 0) or 0) if flow is not None else 0.0

    def tick(self, dt: float) -> None:
        flow = self._flow()
        if _faults(self):
            self.set("state", "fault")
            return
        self.set("state", "heating" if flow > 0 else "standby")
        if flow <= 0:
            return
        temperature, setpoint = self.sibling("temperature"), self.sibling("temperature_setpoint")
        if isinstance(temperature, Temperature) and setpoint is not None:
            target = float(setpoint.get("setpoint", temperature.now()))
            temperature.approach(target, HEAT_RATE_C_PER_S, dt)
        consumption = self.sibling("consumption")
        if isinstance(consumption, Consumption) and consumption.unit() == "m3":
            consumption.add(flow * GAS_M3_PER_S_PER_LPM * dt)

    def act_tap(self, args: Mapping[str, Any]) -> None:
        flow = self.sibling("water_flow")
        if flow is None:
            raise ActionError("this heater reports no water flow")
        flow.set("lpm", max(0.0, arg_float(args, "lpm", 8.0)))

    def act_close_tap(self, args: Mapping[str, Any]) -> None:
        self.act_tap({"lpm": 0})


@register
class Temperature(Behaviour):
    """Keeps the temperature as a float: the DP may carry whole degrees only, and slow
    heating must still add up."""

    capability = "temperature"
    defaults = {"celsius": AMBIENT_C}

    def initial(self) -> dict[str, Any]:
        out = super().initial()
        if self.sibling("temperature_setpoint") is not None:
            out["celsius"] = 40.0  # a water heater's outlet after the last use
        return out

    def start(self) -> None:
        self.celsius = float(self.get("celsius", AMBIENT_C) or AMBIENT_C)

    def now(self) -> float:
        shown = self.get("celsius")
        if isinstance(shown, int | float) and abs(shown - self.celsius) >= 1:
            self.celsius = float(shown)  # set from outside (the control socket's `set`)
        return self.celsius

    def approach(self, target: float, rate: float, dt: float) -> None:
        """Move towards ``target`` by at most ``rate`` °C per second."""
        now, step = self.now(), rate * dt
        self.celsius = min(target, now + step) if now < target else max(target, now - step)
        self.set("celsius", round(self.celsius, 1))


@register
class TemperatureSetpoint(Behaviour):
    capability = "temperature_setpoint"
    defaults = {"setpoint": 42}

    def initial(self) -> dict[str, Any]:
        out = super().initial()
        setpoint = self.instance.properties["setpoint"]
        if setpoint.range is not None:
            out["min"], out["max"] = setpoint.range
        if setpoint.step is not None:
            out["step"] = setpoint.step
        return out


@register
class Consumption(Behaviour):
    capability = "consumption"
    START = {"m3": 120.0, "L": 850.0, "kWh": 35.0}

    def unit(self) -> str | None:
        return self.instance.properties["total"].unit

    def initial(self) -> dict[str, Any]:
        out = super().initial()
        self.total = self.START.get(self.unit() or "", 0.0)
        out["total"] = self.total
        return out

    def start(self) -> None:
        self.total = float(self.get("total", self.total) or 0)

    def add(self, amount: float) -> None:
        self.total += amount
        self.set("total", round(self.total, 3))


@register
class WaterQuality(Behaviour):
    """Outlet TDS rises as the filters wear; drawing water makes the purifier produce."""

    capability = "water_quality"
    defaults = {"tds_in": 286, "tds_out": 12}
    actions = {"draw_water": "litres"}
    LPM = 2.0

    def start(self) -> None:
        self.producing = 0.0

    def _worst_filter(self) -> float:
        filters = [b for b in self.host.behaviours("filter_life") if isinstance(b, FilterLife)]
        return min((b.life for b in filters), default=1.0)

    def tick(self, dt: float) -> None:
        worn = 1.0 - max(0.0, min(1.0, self._worst_filter()))
        self.set("tds_out", round(8 + worn * worn * 80))
        if self.producing > 0:
            self.producing = max(0.0, self.producing - dt)
            if self.producing == 0:
                self._state("stopped")

    def _state(self, state: str) -> None:
        op = self.sibling("operational_state")
        if op is not None and state in op.values("state"):
            op.set("state", state)

    def act_draw_water(self, args: Mapping[str, Any]) -> None:
        litres = arg_float(args, "litres", 1.0)
        if litres <= 0:
            raise ActionError("litres must be positive")
        self.producing += litres / self.LPM * 60
        self._state("producing")
        consumption = self.sibling("consumption")
        if isinstance(consumption, Consumption) and consumption.unit() == "L":
            consumption.add(litres)


@register
class ApplianceLink(Behaviour):
    capability = "appliance_link"
    defaults = {"enabled": True, "linked": True}


@register
class Contact(Behaviour):
    capability = "contact"
    actions = {
        "open": "",
        "close": "",
        "open_door": "",
        "close_door": "",
        "tamper": "",
        "clear_tamper": "",
    }

    def act_open(self, args: Mapping[str, Any]) -> None:
        self.set("open", True)

    def act_close(self, args: Mapping[str, Any]) -> None:
        self.set("open", False)

    act_open_door = act_open
    act_close_door = act_close

    def act_tamper(self, args: Mapping[str, Any]) -> None:
        self.set("tampered", True)

    def act_clear_tamper(self, args: Mapping[str, Any]) -> None:
        self.set("tampered", False)


@register
class Occupancy(Behaviour):
    """Motion sets ``occupied``; it clears after the hold time (a ``hold_s`` setting of the
    same component when the product has one, else option ``hold_s``, 30 s)."""

    capability = "occupancy"
    actions = {"motion": "", "clear": ""}

    def start(self) -> None:
        self.hold_left = 0.0

    def _hold_s(self) -> float:
        caps = self.host.profile.components.components.get(self.component, {})
        for name, inst in caps.items():
            if "hold_s" in inst.properties:
                value = self.model.value(f"{self.component}/{name}/hold_s")
                if isinstance(value, int | float):
                    return float(value)
        return self.option("hold_s", 30.0)

    def act_motion(self, args: Mapping[str, Any]) -> None:
        self.set("occupied", True)
        self.hold_left = self._hold_s()

    def act_clear(self, args: Mapping[str, Any]) -> None:
        self.hold_left = 0.0
        self.set("occupied", False)

    def tick(self, dt: float) -> None:
        if self.hold_left > 0:
            self.hold_left = max(0.0, self.hold_left - dt)
            if self.hold_left == 0:
                self.set("occupied", False)
