"""Native Matter events in the capability model's words.

The server passes an event's fields with their CHIP labels and enum numbers (DoorLock
LockOperation: ``{"lockOperationType": 1, "operationSource": 3, "userIndex": 2, …}``); the
``lock`` capability's events say ``{"operation": "unlock", "source": "keypad", "user_index": 2}``.
Profiles bind a native event to a capability event and pass its payload on as reported, so the
translation of the spec's enums for the Door Lock cluster lives here, once for every lock.
Events of other clusters pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["DOOR_LOCK", "translate_event"]

DOOR_LOCK = 0x0101
_ALARM, _OPERATION, _OPERATION_ERROR = 0x00, 0x02, 0x03

_OPERATION_TYPE = {0: "lock", 1: "unlock", 4: "unlock"}  # 4 = Unlatch
_SOURCE = {
    1: "manual",
    2: "remote",  # ProprietaryRemote
    3: "keypad",
    4: "auto",
    5: "manual",  # Button
    6: "auto",  # Schedule
    7: "remote",
    8: "card",  # RFID
    9: "fingerprint",  # Biometric
    10: "ble",  # Aliro (phone key)
}
_ERROR = {1: "invalid_credential", 2: "disabled_user", 3: "restricted", 4: "low_battery"}
_ALARM_CODE = {
    0: "jammed",
    4: "wrong_code_limit",
    5: "tamper",  # FrontEsceutcheonRemoved
    6: "forced_open",
    7: "door_ajar",
    8: "duress",  # ForcedUser
}


def _get(data: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in data:
            return data[name]
    lowered = {str(k).lower(): v for k, v in data.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def _door_lock(event_id: int, data: Mapping[str, Any]) -> dict[str, Any] | None:
    source = _SOURCE.get(_get(data, "operationSource", "OperationSource"))
    out: dict[str, Any] = {}
    if event_id == _OPERATION:
        operation = _OPERATION_TYPE.get(_get(data, "lockOperationType", "LockOperationType"))
        if operation is None:
            return None  # non-access user events carry no lock operation
        out["operation"] = operation
        if source is not None:
            out["source"] = source
        user = _get(data, "userIndex", "UserIndex")
        if isinstance(user, int) and not isinstance(user, bool):
            out["user_index"] = user
        return out
    if event_id == _OPERATION_ERROR:
        if source is not None:
            out["source"] = source
        error = _ERROR.get(_get(data, "operationError", "OperationError"))
        if error is not None:
            out["error"] = error
        operation = _OPERATION_TYPE.get(_get(data, "lockOperationType", "LockOperationType"))
        if operation is not None:
            out["operation"] = operation
        return out
    if event_id == _ALARM:
        code = _ALARM_CODE.get(_get(data, "alarmCode", "AlarmCode"))
        return {"code": code} if code is not None else None  # factory reset, power cycle
    return dict(data)


def translate_event(cluster_id: int, event_id: int, data: Any) -> dict[str, Any] | None:
    """The fields to pass to the profile's event rule, or None when the event means nothing in
    the capability model (it is then dropped)."""
    payload: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    if cluster_id == DOOR_LOCK:
        return _door_lock(event_id, payload)
    return dict(payload)
