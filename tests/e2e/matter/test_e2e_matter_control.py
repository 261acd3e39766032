"""Controlling commissioned Matter devices through the hub's API, and state changes made on the
devices themselves arriving in the hub. Each command is checked where it lands: in the virtual
device's own state (its ``@state`` lines), not only in what the hub believes."""

from __future__ import annotations

from typing import Any

import pytest
from hub_process import OWNER, Api
from matter_setup import Lab

pytestmark = [pytest.mark.slow, pytest.mark.netns]


def _confirmed(answer: tuple[int, Any], *, sent_is_enough: bool = False) -> dict[str, Any]:
    """A 200 answer whose device confirmed the change (its report matched the command's effect);
    "sent" is enough only for commands without a predictable effect (toggle)."""
    status, body = answer
    assert status == 200, body
    allowed = {"confirmed", "sent"} if sent_is_enough else {"confirmed"}
    assert body["result"]["status"] in allowed, body
    return dict(body["result"])


def _events(api: Api, device_id: str) -> list[dict[str, Any]]:
    status, body = api.call("GET", f"/api/devices/{device_id}/events?limit=100")
    assert status == 200, body
    return list(body["events"])


def test_on_off_through_the_hub(api: Api, lab: Lab, matter: dict[str, dict[str, Any]]) -> None:
    light, device = matter["light"]["id"], lab.devices["light"]
    _confirmed(api.command(light, "main/onoff.on"))
    device.wait_state(lambda s: s.get("on") is True)
    assert api.value(light, "main/onoff/on") is True
    _confirmed(api.command(light, "main/onoff.off"))
    device.wait_state(lambda s: s.get("on") is False)
    _confirmed(api.command(light, "main/onoff.toggle"), sent_is_enough=True)
    device.wait_state(lambda s: s.get("on") is True)
    api.wait_value(light, "main/onoff/on", lambda v: v is True)


def test_level_in_percent_and_colour_temperature_in_kelvin(
    api: Api, lab: Lab, matter: dict[str, dict[str, Any]]
) -> None:
    ct, device = matter["ct"]["id"], lab.devices["ct"]
    _confirmed(api.command(ct, "main/brightness.set_level", {"level": 80}))
    # 80 % of 1..100 onto 1..254 is 202.9: the lamp gets 203 (MoveToLevelWithOnOff: on, too).
    state = device.wait_state(lambda s: s.get("level") == 203)
    assert state["on"] is True
    assert api.value(ct, "main/brightness/level") == pytest.approx(80, abs=0.5)
    assert api.value(ct, "main/onoff/on") is True

    _confirmed(api.command(ct, "main/color_temperature.set_kelvin", {"kelvin": 4000}))
    device.wait_state(lambda s: s.get("mireds") == 250)  # 10⁶ / 4000 K
    assert api.value(ct, "main/color_temperature/kelvin") == 4000


def test_out_of_range_values_are_refused_and_nothing_is_sent(
    api: Api, lab: Lab, matter: dict[str, dict[str, Any]]
) -> None:
    ct, device = matter["ct"]["id"], lab.devices["ct"]
    before = device.control("state")
    status, body = api.command(ct, "main/brightness.set_level", {"level": 150})
    assert status == 400, body
    assert body["error"]["code"] == "bad_argument"
    assert device.control("state") == before


def test_device_side_changes_arrive_in_the_hub(
    api: Api, lab: Lab, matter: dict[str, dict[str, Any]]
) -> None:
    light, ct = matter["light"]["id"], matter["ct"]["id"]
    now = lab.devices["light"].control("toggle")["on"]
    api.wait_value(light, "main/onoff/on", lambda v: v is now)
    lab.devices["light"].control("toggle")
    api.wait_value(light, "main/onoff/on", lambda v: v is (not now))

    lab.devices["ct"].control("level 254")
    api.wait_value(ct, "main/brightness/level", lambda v: v == 100)
    lab.devices["ct"].control("mireds 153")
    api.wait_value(ct, "main/color_temperature/kelvin", lambda v: v == 6536)


def test_lock_and_unlock_with_pin_step_up(
    api: Api, lab: Lab, matter: dict[str, dict[str, Any]]
) -> None:
    lock, device = matter["lock"]["id"], lab.devices["lock"]
    if not device.control("state")["locked"]:
        _confirmed(api.command(lock, "main/lock.lock"))
    device.wait_state(lambda s: s.get("locked") is True)

    # Unlock without the PIN: refused by the hub, nothing reaches the lock.
    status, body = api.command(lock, "main/lock.unlock")
    assert status == 403, body
    assert body["error"]["code"] == "step_up_required"
    assert body["error"]["needs"] == "pin"
    status, body = api.command(lock, "main/lock.unlock", pin="000000")
    assert status == 403, body
    assert body["error"]["code"] == "pin_invalid"
    assert device.control("state")["locked"] is True

    _confirmed(api.command(lock, "main/lock.unlock", pin=OWNER["pin"]))
    device.wait_state(lambda s: s.get("locked") is False)
    assert api.value(lock, "main/lock/lock_state") == "unlocked"

    _confirmed(api.command(lock, "main/lock.lock"))
    device.wait_state(lambda s: s.get("locked") is True)
    assert api.value(lock, "main/lock/lock_state") == "locked"

    # The lock's own LockOperation events (source: remote) reach the hub ...
    events = api.wait_for(
        "remote lock_operation events",
        lambda: [
            e
            for e in _events(api, lock)
            if e["path"] == "main/lock/lock_operation" and e["fields"].get("source") == "remote"
        ],
        lambda found: {e["fields"].get("operation") for e in found} >= {"lock", "unlock"},
    )
    assert events
    # ... and the lock commands are in the audit log, the wrong PIN too.
    status, body = api.call("GET", "/api/audit?limit=100")
    assert status == 200, body
    done = {
        (e["target"], e["detail"].get("status"))
        for e in body["entries"]
        if e["action"] == "command" and e["result"] == "ok"
    }
    assert (f"{lock}/main/lock.unlock", "confirmed") in done, body["entries"][:10]
    assert (f"{lock}/main/lock.lock", "confirmed") in done, body["entries"][:10]
    assert any(e["action"] == "pin_invalid" for e in body["entries"]), body["entries"][:10]


def test_lock_operated_by_hand_arrives_with_its_event(
    api: Api, lab: Lab, matter: dict[str, dict[str, Any]]
) -> None:
    lock, device = matter["lock"]["id"], lab.devices["lock"]
    device.control("unlock")
    api.wait_value(lock, "main/lock/lock_state", lambda v: v == "unlocked")
    api.wait_for(
        "manual unlock event",
        lambda: [
            e
            for e in _events(api, lock)
            if e["path"] == "main/lock/lock_operation"
            and e["fields"].get("source") == "manual"
            and e["fields"].get("operation") == "unlock"
        ],
        bool,
    )
    # Lock operations are written to the audit log as device events.
    api.wait_for(
        "the manual unlock in the audit log",
        lambda: [
            e
            for e in api.call("GET", "/api/audit?action=device_event&limit=50")[1]["entries"]
            if e["target"] == f"{lock}/main/lock/lock_operation"
        ],
        bool,
    )
    device.control("door open")
    api.wait_value(lock, "main/lock/door_state", lambda v: v == "open")
    device.control("door closed")
    api.wait_value(lock, "main/lock/door_state", lambda v: v == "closed")
    # A jammed bolt: DoorLockAlarm (LockJammed) arrives as the lock's alarm event.
    device.control("jam")
    api.wait_value(lock, "main/lock/lock_state", lambda v: v == "not_fully_locked")
    api.wait_for(
        "the jam alarm event",
        lambda: [e for e in _events(api, lock) if e["path"] == "main/lock/lock_alarm"],
        bool,
    )
    device.control("lock")
    api.wait_value(lock, "main/lock/lock_state", lambda v: v == "locked")
