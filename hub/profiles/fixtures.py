"""Running a profile's ``tests:`` through its compiled bindings (docs/profile-format.md §6).

The fixtures go through exactly what integrations call (:meth:`RuntimeBinding.decode`,
``decode_frame``, ``encode_command``, ``encode_write``), so a passing fixture means the shipped
codec code turns the sample frame into the expected state.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.profiles.compiled import LoadedProfile
from hub.profiles.runtime import (
    BindingError,
    CommandPayload,
    DecodeResult,
    DriverOp,
    GattRuntime,
    GattWrite,
    MatterInvoke,
    MatterWrite,
    RuntimeBinding,
    parse_matter_address,
)
from hub.profiles.schema import FixtureFrame, FixtureTest, FixtureWrite

__all__ = ["FixtureResult", "run_fixture", "run_fixtures", "values_equal"]


@dataclass(frozen=True, slots=True)
class FixtureResult:
    index: int
    transport: str
    name: str | None
    line: int | None
    diffs: list[str] = field(default_factory=list)  # empty: passed

    @property
    def passed(self) -> bool:
        return not self.diffs

    @property
    def label(self) -> str:
        extra = f", {self.name}" if self.name else ""
        return f"tests[{self.index}] ({self.transport}{extra})"


def values_equal(want: Any, got: Any) -> bool:
    """Fixture equality: floats within 1e-9, sets in any order, booleans only equal booleans."""
    if type(want) is bool or type(got) is bool:
        return want is got
    if isinstance(want, int | float) and isinstance(got, int | float):
        return math.isclose(want, got, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(want, list | tuple) and isinstance(got, list | tuple):
        if len(want) != len(got):
            return False
        if all(values_equal(w, g) for w, g in zip(want, got, strict=True)):
            return True
        if all(isinstance(x, str) for x in (*want, *got)):
            return sorted(want) == sorted(got)
        return False
    if isinstance(want, Mapping) and isinstance(got, Mapping):
        return set(want) == set(got) and all(values_equal(want[k], got[k]) for k in want)
    return bool(want == got)


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, bytes):
        return value.hex()
    return repr(value)


class _Failed(Exception):
    """A fixture that cannot even run (malformed frame); the message is the diff line."""


def _frame_raw(frame: FixtureFrame) -> dict[Hashable, Any]:
    if frame.dps is not None:
        return {k: v for k, v in frame.dps.items()}
    if frame.objects is not None:
        return {k: v for k, v in frame.objects.items()}
    if frame.attributes is not None:
        out: dict[Hashable, Any] = {}
        for key, value in frame.attributes.items():
            try:
                out[parse_matter_address(key)] = value
            except ValueError as err:
                raise _Failed(str(err)) from None
        return out
    raise _Failed("this transport takes frame + hex")


def _hex(text: str) -> bytes:
    try:
        return bytes.fromhex(text.replace(" ", ""))
    except ValueError:
        raise _Failed(f"{text!r} is not hex") from None


def _decode(binding: RuntimeBinding, test: FixtureTest) -> DecodeResult:
    assert test.given is not None
    state = test.state.get
    if isinstance(binding, GattRuntime):
        given, before = test.given, test.before
        if given.frame is None or given.hex is None:
            raise _Failed("a ble_gatt test gives frame + hex")
        previous = None
        if before is not None:
            if before.frame != given.frame or before.hex is None:
                raise _Failed("before must give the same frame as given")
            previous = _hex(before.hex)
        return binding.decode_frame(given.frame, _hex(given.hex), previous, state)
    raw = _frame_raw(test.given)
    previous_raw = _frame_raw(test.before) if test.before is not None else None
    return binding.decode(raw, previous_raw, state)


def _check_decode(test: FixtureTest, result: DecodeResult) -> list[str]:
    diffs = [f"decode error: {e}" for e in result.errors]
    for path, want in test.expect.items():
        if path not in result.states:
            diffs.append(f"{path}: expected {_show(want)}, got no value")
        elif not values_equal(want, result.states[path]):
            diffs.append(f"{path}: expected {_show(want)}, got {_show(result.states[path])}")
    for path, fields in test.expect_event.items():
        produced = [f for p, f in result.events if p == path]
        want_fields = fields or {}
        if any(
            all(k in f and values_equal(v, f[k]) for k, v in want_fields.items()) for f in produced
        ):
            continue
        if not produced:
            others = ", ".join(p for p, _f in result.events) or "none"
            diffs.append(f"event {path}: expected {want_fields}, not emitted (events: {others})")
        else:
            got = "; ".join(repr(f) for f in produced)
            diffs.append(f"event {path}: expected fields {want_fields}, got {got}")
    return diffs


def _subset_diffs(what: str, want: Mapping[str, Any], got: Mapping[str, Any]) -> list[str]:
    diffs: list[str] = []
    for key, value in want.items():
        if key not in got:
            diffs.append(f"{what}.{key}: expected {_show(value)}, not in the payload")
        elif not values_equal(value, got[key]):
            diffs.append(f"{what}.{key}: expected {_show(value)}, got {_show(got[key])}")
    return diffs


def _check_write(payload: CommandPayload, want: FixtureWrite) -> list[str]:
    if want.dps is not None:
        if not isinstance(payload, list):
            return [f"expected DP writes, got {payload!r}"]
        got = dict(payload)
        diffs = [
            f"DP {dp}: expected {_show(v)}, got {_show(got[dp])}"
            if dp in got
            else f"DP {dp}: expected {_show(v)}, not written"
            for dp, v in want.dps.items()
            if dp not in got or not values_equal(v, got[dp])
        ]
        diffs += [
            f"DP {dp}: written {_show(v)}, not expected"
            for dp, v in got.items()
            if dp not in want.dps
        ]
        return diffs
    if want.bytes_ is not None:
        if not isinstance(payload, GattWrite):
            return [f"expected a GATT write, got {payload!r}"]
        diffs = []
        expected = want.bytes_.replace(" ", "").lower()
        if payload.data.hex() != expected:
            diffs.append(f"bytes: expected {expected}, got {payload.data.hex()}")
        if want.characteristic and want.characteristic.lower() != payload.characteristic.lower():
            diffs.append(
                f"characteristic: expected {want.characteristic}, got {payload.characteristic}"
            )
        return diffs
    if want.invoke is not None:
        if not isinstance(payload, MatterInvoke):
            return [f"expected a Matter invoke, got {payload!r}"]
        got_invoke = {
            "endpoint": payload.endpoint,
            "cluster": payload.cluster,
            "command": payload.command,
            "fields": payload.fields,
            "timed_ms": payload.timed_ms,
        }
        diffs = _subset_diffs("invoke", want.invoke, got_invoke)
        if "fields" not in want.invoke and payload.fields:
            diffs.append(f"invoke.fields: expected none, got {payload.fields}")
        return diffs
    if want.write_attribute is not None:
        if not isinstance(payload, MatterWrite):
            return [f"expected a Matter attribute write, got {payload!r}"]
        got_write = {
            "endpoint": payload.endpoint,
            "cluster": payload.cluster,
            "attribute": payload.attribute,
            "value": payload.value,
        }
        return _subset_diffs("write_attribute", want.write_attribute, got_write)
    if want.driver_op is not None:
        if not isinstance(payload, DriverOp):
            return [f"expected a driver operation, got {payload!r}"]
        return _subset_diffs("driver_op", want.driver_op, {"op": payload.op, "args": payload.args})
    return ["expect_write names nothing to compare"]


def run_fixture(profile: LoadedProfile, index: int) -> FixtureResult:
    """Run ``tests[index]`` of a loaded profile."""
    test = profile.model.tests[index]
    line = profile.lines.get(("tests", index))
    binding = profile.binding(test.transport)
    diffs: list[str] = []
    if binding is None:
        diffs.append(f"the profile has no {test.transport} binding")
        return FixtureResult(index, test.transport, test.name, line, diffs)
    try:
        if test.given is not None:
            diffs += _check_decode(test, _decode(binding, test))
        if test.command is not None or test.write is not None:
            assert test.expect_write is not None  # the schema pairs them
            if test.command is not None:
                ((path, args),) = test.command.items()
                payload = binding.encode_command(path, args or {}, test.state.get)
            else:
                assert test.write is not None
                ((path, value),) = test.write.items()
                payload = binding.encode_write(path, value)
            diffs += _check_write(payload, test.expect_write)
    except BindingError as err:
        diffs.append(f"encode error: {err}")
    except _Failed as err:
        diffs.append(str(err))
    return FixtureResult(index, test.transport, test.name, line, diffs)


def run_fixtures(profile: LoadedProfile) -> list[FixtureResult]:
    return [run_fixture(profile, i) for i in range(len(profile.model.tests))]
