"""Behaviours of the safety-relevant capabilities: locks, doorbells, burners, gas detectors,
shut-off valves and alarm sounders.

They follow the rules the capability model and the profiles state, and nothing more lenient:
a burner can be switched off from the network but lit only by hand (``ignite``); a gas shut-off
valve without an ``open`` binding can only be reopened on site; a gas detector whose profile
gives it the ``gas_shutoff`` role closes its own valve on alarm, as the certified device does.
Events are produced as the profile derives them (``model.emit``), so a hub sees exactly the DP
pattern the real product sends.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from integrations.zsdp.errors import ErrorCode
from integrations.zsdp.simulator.base import (
    ActionError,
    Behaviour,
    Write,
    arg_float,
    arg_int,
    arg_str,
    refuse,
    register,
)
from integrations.zsdp.simulator.behaviours import Timer

__all__ = ["AlarmSounder", "Burner", "Doorbell", "GasDetector", "Lock", "Valve"]

VALVE_TRAVEL_S = 1.5
SOUNDER_TEST_S = 3.0


def _require_event(behaviour: Behaviour, event: str, what: str, **fields: Any) -> None:
    """Emit an event the action stands for; an action the product cannot report is refused."""
    path = behaviour.path(event)
    if behaviour.emit(event, **fields):
        return
    if behaviour.model.table.event_rules(path):
        raise ActionError(f"this product reports no {what}")


# ---------------------------------------------------------------------------- lock


@register
class Lock(Behaviour):
    """Lock state, door state, auto-relock, wrong-code counting, jams and alarms."""

    capability = "lock"
    defaults = {"lock_state": "locked", "door_state": "closed", "auto_relock_s": 10}
    actions = {
        "keypad_unlock": "user",
        "fingerprint_unlock": "user",
        "card_unlock": "user",
        "temporary_code_unlock": "user",
        "key_unlock": "",
        "manual_unlock": "",
        "manual_lock": "",
        "keypad_lock": "",
        "wrong_code": "source: keypad | fingerprint | card",
        "jam": "",
        "clear_jam": "",
        "tamper": "",
        "open_door": "",
        "close_door": "",
    }
    WRONG_LIMIT = 5

    def start(self) -> None:
        self.relock_left: float | None = None
        self.wrong = 0

    # -- from the network ---------------------------------------------------------------------

    def validate(self, write: Write) -> None:
        for match in write.command(self.component, self.name):
            if self.get("lock_state") == "jammed":
                raise refuse("the bolt is jammed", ErrorCode.DEVICE_FAILURE)
            pin = self.host.options.get("pin")
            given = match.args.get("pin")
            if match.command == "unlock" and None not in (pin, given) and str(given) != str(pin):
                raise refuse("wrong PIN")
            if match.command == "lock" and self.get("door_state") not in ("closed", None):
                raise refuse("the door is open")

    def on_write(self, write: Write) -> None:
        for match in write.command(self.component, self.name):
            if match.command == "unlock":
                self._unlock("remote", 0)
            elif match.command == "lock":
                self._lock("remote")
        if self.path("auto_relock_s") in write.changed and self.relock_left is not None:
            self._arm_relock()

    # -- mechanics ----------------------------------------------------------------------------

    def _arm_relock(self) -> None:
        delay = self.get("auto_relock_s", 0) or 0
        self.relock_left = float(delay) if delay > 0 else None

    def _unlock(self, source: str, user: int) -> None:
        if self.get("lock_state") == "jammed":
            self.emit("lock_alarm", code="jammed")
            raise ActionError("the bolt is jammed")
        _require_event(
            self,
            "lock_operation",
            f"{source} unlock",
            operation="unlock",
            source=source,
            user_index=user,
        )
        self.set("lock_state", "unlocked")
        self.wrong = 0
        self._arm_relock()

    def _lock(self, source: str) -> None:
        _require_event(self, "lock_operation", f"{source} lock", operation="lock", source=source)
        self.set("lock_state", "locked")
        self.relock_left = None

    def tick(self, dt: float) -> None:
        if self.relock_left is None or self.get("door_state", "closed") != "closed":
            return
        self.relock_left -= dt
        if self.relock_left <= 0:
            self.relock_left = None
            if self.get("lock_state") == "unlocked":
                self._lock("auto")

    # -- the physical side --------------------------------------------------------------------

    def _user(self, args: Mapping[str, Any]) -> int:
        return arg_int(args, "user", 1)

    def act_keypad_unlock(self, args: Mapping[str, Any]) -> None:
        self._unlock("keypad", self._user(args))

    def act_fingerprint_unlock(self, args: Mapping[str, Any]) -> None:
        self._unlock("fingerprint", self._user(args))

    def act_card_unlock(self, args: Mapping[str, Any]) -> None:
        self._unlock("card", self._user(args))

    def act_temporary_code_unlock(self, args: Mapping[str, Any]) -> None:
        self._unlock("temporary_code", self._user(args))

    def act_key_unlock(self, args: Mapping[str, Any]) -> None:
        self._unlock("key", 0)

    def act_manual_unlock(self, args: Mapping[str, Any]) -> None:
        if self.get("lock_state") == "jammed":
            raise ActionError("the bolt is jammed")
        self.set("lock_state", "unlocked")
        self._arm_relock()

    def act_manual_lock(self, args: Mapping[str, Any]) -> None:
        self._lock("manual")

    def act_keypad_lock(self, args: Mapping[str, Any]) -> None:
        self._lock("keypad")

    def act_wrong_code(self, args: Mapping[str, Any]) -> None:
        source = arg_str(args, "source", "keypad")
        _require_event(
            self,
            "lock_operation_error",
            f"failed {source} attempt",
            source=source,
            error="invalid_credential",
        )
        self.wrong += 1
        if self.wrong >= self.WRONG_LIMIT:
            self.wrong = 0
            self.emit("lock_alarm", code="wrong_code_limit")

    def act_jam(self, args: Mapping[str, Any]) -> None:
        self.set("lock_state", "jammed")
        self.relock_left = None
        self.emit("lock_alarm", code="jammed")

    def act_clear_jam(self, args: Mapping[str, Any]) -> None:
        if self.get("lock_state") == "jammed":
            self.set("lock_state", "locked")

    def act_tamper(self, args: Mapping[str, Any]) -> None:
        _require_event(self, "lock_alarm", "tamper alarm", code="tamper")

    def act_open_door(self, args: Mapping[str, Any]) -> None:
        if self.get("lock_state") in ("locked", "jammed"):
            self.set("door_state", "forced_open")
            self.emit("lock_alarm", code="forced_open")
        else:
            self.set("door_state", "open")

    def act_close_door(self, args: Mapping[str, Any]) -> None:
        self.set("door_state", "closed")
        if self.get("lock_state") == "unlocked":
            self._arm_relock()


@register
class Doorbell(Behaviour):
    capability = "doorbell"
    actions = {"ring": ""}

    def act_ring(self, args: Mapping[str, Any]) -> None:
        _require_event(self, "ring", "doorbell ring")


# ---------------------------------------------------------------------------- burner


@register
class Burner(Behaviour):
    """Lit only by hand; switched off by hand, by the network, by its timer or by its
    flame-failure device."""

    capability = "burner"
    alias = "burner"
    defaults = {"ignited": False, "firepower": 0, "flame_protection": "ok"}
    actions = {
        "ignite": "burner, level",
        "set_level": "burner, level",
        "turn_off": "burner",
        "flame_out": "burner",
        "dry_burn": "burner",
        "protection_fault": "burner",
    }

    def _levels(self) -> int:
        definition = self.instance.properties["firepower"]
        return int(definition.range[1]) if definition.range is not None else 9

    def _level(self, args: Mapping[str, Any]) -> int:
        level = arg_int(args, "level", math.ceil(self._levels() / 2))
        if not 1 <= level <= self._levels():
            raise ActionError(f"level must be 1-{self._levels()}")
        return level

    def on_write(self, write: Write) -> None:
        if any(m.command == "off" for m in write.command(self.component, self.name)):
            self.turn_off()

    def turn_off(self) -> None:
        self.set("ignited", False)
        self.set("firepower", 0)
        timer = self.sibling("timer")
        if isinstance(timer, Timer):
            timer.cancel()

    def _dry_burn_bit(self, on: bool) -> None:
        for rule in self.model.table.event_rules(self.path("dry_burn_protect")):
            if rule.bit is None or rule.dp not in self.model.raw:
                continue
            current = int(self.model.raw[rule.dp])
            mask = 1 << rule.bit
            self.model.put_raw(rule.dp, current | mask if on else current & ~mask)

    def act_ignite(self, args: Mapping[str, Any]) -> None:
        if self.get("flame_protection") == "disabled_fault":
            raise ActionError("the flame-failure device is faulty: the burner does not light")
        level = self._level(args)
        self._dry_burn_bit(False)
        self.set("flame_protection", "ok")
        self.set("firepower", level)
        self.set("ignited", True)

    def act_set_level(self, args: Mapping[str, Any]) -> None:
        if not self.get("ignited"):
            raise ActionError("the burner is not lit")
        self.set("firepower", self._level(args))

    def act_turn_off(self, args: Mapping[str, Any]) -> None:
        self.turn_off()

    def act_flame_out(self, args: Mapping[str, Any]) -> None:
        if not self.get("ignited"):
            raise ActionError("the burner is not lit")
        self.set("flame_protection", "tripped")
        self.turn_off()

    def act_dry_burn(self, args: Mapping[str, Any]) -> None:
        if not self.get("ignited"):
            raise ActionError("the burner is not lit")
        self._dry_burn_bit(True)
        self.turn_off()

    def act_protection_fault(self, args: Mapping[str, Any]) -> None:
        self.set("flame_protection", "disabled_fault")
        self.turn_off()


# ---------------------------------------------------------------------------- gas


@register
class Valve(Behaviour):
    """Moves in ``valve_travel_s`` (option, default 1.5 s); opens only where the profile binds
    an ``open`` command that its safety section does not forbid, or by hand."""

    capability = "valve"
    alias = "valve"
    defaults = {"state": "open"}
    actions = {
        "open_valve_by_hand": "",
        "close_valve_by_hand": "",
        "valve_fault": "fault: general | blocked | leaking | not_connected | overcurrent",
        "clear_valve_fault": "",
    }

    def start(self) -> None:
        self.target: str | None = None
        self.left = 0.0

    def moving(self) -> bool:
        return self.target is not None

    def move(self, target: str) -> None:
        if self.target == target or (self.target is None and self.get("state") == target):
            return
        self.target = target
        self.left = self.option("valve_travel_s", VALVE_TRAVEL_S)
        self.set("state", "transitioning")

    def _forbidden(self, command: str) -> bool:
        target = f"{self.component}/{self.name}.{command}"
        restrictions = self.host.profile.model.safety.restrictions
        return any(r.target == target and r.rule == "not_available" for r in restrictions)

    def validate(self, write: Write) -> None:
        for match in write.command(self.component, self.name):
            if match.command == "open" and self._forbidden("open"):
                raise refuse("this valve is reopened by hand only")
            if "blocked" in (self.get("fault") or []):
                raise refuse("the valve is blocked", ErrorCode.DEVICE_FAILURE)

    def on_write(self, write: Write) -> None:
        for match in write.command(self.component, self.name):
            if match.command in ("open", "close"):
                self.move("open" if match.command == "open" else "closed")

    def tick(self, dt: float) -> None:
        if self.target is None:
            return
        self.left -= dt
        if self.left <= 0:
            target, self.target = self.target, None
            self.set("state", target)

    def act_open_valve_by_hand(self, args: Mapping[str, Any]) -> None:
        self.move("open")

    def act_close_valve_by_hand(self, args: Mapping[str, Any]) -> None:
        self.move("closed")

    def act_valve_fault(self, args: Mapping[str, Any]) -> None:
        fault = arg_str(args, "fault", "general")
        if fault not in self.values("fault"):
            raise ActionError(f"fault must be one of {', '.join(self.values('fault'))}")
        self.set("fault", sorted({*(self.get("fault") or []), fault}))

    def act_clear_valve_fault(self, args: Mapping[str, Any]) -> None:
        self.set("fault", [])


@register
class AlarmSounder(Behaviour):
    capability = "alarm_sounder"
    defaults = {"sounding": False, "muted": False, "volume": "high"}

    def start(self) -> None:
        self.test_left = 0.0

    def sound(self) -> None:
        self.set("muted", False)
        self.set("sounding", True)

    def silence(self) -> None:
        self.set("sounding", False)
        self.set("muted", False)

    def on_write(self, write: Write) -> None:
        for match in write.command(self.component, self.name):
            if match.command == "mute":
                self.set("sounding", False)
                self.set("muted", True)
            elif match.command == "test":
                self.test_left = SOUNDER_TEST_S
                self.set("sounding", True)

    def tick(self, dt: float) -> None:
        if self.test_left > 0:
            self.test_left = max(0.0, self.test_left - dt)
            if self.test_left == 0:
                detector = self.sibling("gas_detector")
                if not (isinstance(detector, GasDetector) and detector.alarming()):
                    self.set("sounding", False)


@register
class GasDetector(Behaviour):
    """Raises and clears gas alarms; with the ``gas_shutoff`` role it closes its valves and
    keeps them closed while the alarm lasts (reopening is by hand)."""

    capability = "gas_detector"
    defaults = {"gas_detected": False, "concentration": 0, "sensor_state": "normal"}
    actions = {
        "gas_alarm": "concentration: %LEL (default 12)",
        "gas_clear": "",
        "sensor_fault": "",
        "sensor_ok": "",
    }

    def alarming(self) -> bool:
        return bool(self.get("gas_detected"))

    def _valves(self) -> list[Valve]:
        roles = self.host.profile.model.safety.roles
        if "gas_shutoff" not in roles:
            return []
        return [v for v in self.host.behaviours("valve") if isinstance(v, Valve)]

    def _sounder(self) -> AlarmSounder | None:
        sounder = self.sibling("alarm_sounder")
        return sounder if isinstance(sounder, AlarmSounder) else None

    def on_write(self, write: Write) -> None:
        for match in write.command(self.component, self.name):
            if match.command == "self_test":
                passed = self.get("sensor_state") != "fault"
                self.emit("self_test_result", result="pass" if passed else "fail")
            elif match.command == "mute":
                sounder = self._sounder()
                if sounder is not None:
                    sounder.set("sounding", False)
                    sounder.set("muted", True)

    def tick(self, dt: float) -> None:
        if self.alarming():
            for valve in self._valves():
                if not valve.moving() and valve.get("state") == "open":
                    valve.move("closed")

    def act_gas_alarm(self, args: Mapping[str, Any]) -> None:
        concentration = arg_float(args, "concentration", 12.0)
        if not 0 < concentration <= 100:
            raise ActionError("concentration is 0-100 %LEL")
        threshold = self.info("alarm_threshold_lel", 10)
        severity = "critical" if concentration >= threshold else "warning"
        self.set("concentration", concentration)
        _require_event(
            self,
            "gas_alarm",
            f"{severity} gas alarm",
            severity=severity,
            concentration=concentration,
        )
        self.set("gas_detected", True)
        sounder = self._sounder()
        if sounder is not None:
            sounder.sound()
        for valve in self._valves():
            valve.move("closed")

    def act_gas_clear(self, args: Mapping[str, Any]) -> None:
        self.set("concentration", 0)
        self.set("gas_detected", False)
        sounder = self._sounder()
        if sounder is not None:
            sounder.silence()

    def act_sensor_fault(self, args: Mapping[str, Any]) -> None:
        self.set("sensor_state", "fault")

    def act_sensor_ok(self, args: Mapping[str, Any]) -> None:
        self.set("sensor_state", "normal")
