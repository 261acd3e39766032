"""Sandboxed command-argument expressions (docs/profile-format.md §4.2)."""

from __future__ import annotations

from typing import Any

import pytest

from hub.profiles.expressions import FUNCTIONS, Expression, ExpressionError, compile_expression

PARAMS = frozenset(
    {
        "level",
        "transition_s",
        "kelvin",
        "mode",
        "duration_s",
        "hue",
        "saturation",
        "setpoint",
        "pin",
    }
)
ARGS: dict[str, Any] = {
    "level": 50,
    "transition_s": 0.5,
    "kelvin": 4000,
    "mode": "high",
    "duration_s": 600,
    "hue": 120,
    "saturation": 100,
    "setpoint": 21.5,
    "pin": "1234",
}
STATE: dict[str, Any] = {
    "main/brightness/level": 80,
    "main/color/hue": 240,
    "main/color/saturation": 50,
    "detector/gas_detector/concentration": 12.5,
}
REVERSE = {("mode", "high"): "3", ("mode", "off"): "0", ("effect", "rainbow"): "scene"}


def ev(source: Any, args: dict[str, Any] | None = None, params: frozenset[str] = PARAMS) -> Any:
    expr = compile_expression(source, params=params)
    return expr.evaluate(
        ARGS if args is None else args,
        current=STATE.get,
        reverse_map=lambda name, value: REVERSE[(name, value)],
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("linear(level,[1,100],[10,1000])", 500),
        ("linear(level,[1,100],[1,254])", 1 + 49 * 253 / 99),
        ("round(linear(level,[1,100],[1,254]))", 126),
        ("linear(kelvin,[2700,6500],[0,1000])", 1000 * 1300 / 3800),
        ("transition_s*10", 5),
        ("1000000/kelvin", 250),
        ("map(mode)", "3"),
        ("current(main/brightness/level)*10", 800),
        ("current( main/brightness/level )", 80),
        ("current('main/brightness/level')", 80),
        ("u16le(duration_s/60)", b"\x0a\x00"),
        ("u8(duration_s/60)", b"\x0a"),
        ("tuya_hsv12(hue, saturation*10, level*10)", "007803e801f4"),
        (
            "tuya_hsv12(current(main/color/hue), current(main/color/saturation)*10, level*10)",
            "00f001f401f4",
        ),
        ("setpoint*100", 2150),
        ("duration_s/60", 10),
        ("duration_s//7", 85),
        ("-level + 60", 10),
        ("(level + 10) * 2", 120),
        ("min(level, 30)", 30),
        ("max(level, 30, 70)", 70),
        ("abs(-level)", 50),
        ("int(setpoint)", 21),
        ("round(setpoint)", 22),
        ("round(2.5)", 3),
        ("round(-2.5)", -3),
        ("round(setpoint / 7, 2)", 3.07),
        ("pin", "1234"),
        ("'a' + 'b'", "ab"),
        ("u8(1) + u16le(2)", b"\x01\x02\x00"),
        ("[level, 1, 'x']", [50, 1, "x"]),
        ("linear(150,[1,100],[10,1000])", 1000),
        ("linear(-5,[1,100],[10,1000])", 10),
        ("linear(level,[1,100],[1000,10])", 1000 - 490),
        ("linear(level,[-100,100],[-1,1])", 0.5),
    ],
)
def test_examples(source: str, expected: Any) -> None:
    result = ev(source)
    assert result == pytest.approx(expected) if isinstance(expected, float) else result == expected
    assert type(result) is type(expected)


def test_integral_floats_become_ints() -> None:
    assert type(ev("1000000/kelvin")) is int
    assert type(ev("transition_s*10")) is int
    assert ev("1000000/kelvin", {**ARGS, "kelvin": 3000}) == pytest.approx(333.333, abs=1e-3)


@pytest.mark.parametrize(
    ("source", "expected"),
    [(True, True), (False, False), (0, 0), (20, 20), (1.5, 1.5), (None, None)],
)
def test_yaml_literals_are_constants(source: Any, expected: Any) -> None:
    expr = compile_expression(source, params=PARAMS)
    assert expr.is_constant
    assert expr.constant == expected
    assert expr.evaluate({}) == expected
    assert expr.params_used == frozenset()


@pytest.mark.parametrize(
    "word", ["white", "close", "start", "cancel", "appoint", "pp", "round", "None"]
)
def test_bare_identifier_not_a_param_is_a_string(word: str) -> None:
    expr = compile_expression(word, params=PARAMS)
    assert expr.is_constant
    assert expr.evaluate({}) == word
    assert expr.params_used == frozenset()


def test_bare_param_name_is_the_param() -> None:
    expr = compile_expression("duration_s", params=PARAMS)
    assert not expr.is_constant
    assert expr.params_used == {"duration_s"}
    assert expr.evaluate({"duration_s": 90}) == 90


def test_list_source_compiles_elementwise() -> None:
    expr = compile_expression([0x01, 0x00, "u16le(duration_s/60)"], params=PARAMS)
    assert expr.evaluate({"duration_s": 1800}) == [1, 0, b"\x1e\x00"]
    assert expr.params_used == {"duration_s"}
    assert not expr.is_constant
    assert compile_expression([2, 0], params=PARAMS).constant == [2, 0]


def test_constant_expressions_are_folded() -> None:
    expr = compile_expression("linear(50,[1,100],[10,1000]) + 2*3", params=PARAMS)
    assert expr.is_constant
    assert expr.constant == 506


@pytest.mark.parametrize(
    ("source", "params_used", "paths_used", "uses_map"),
    [
        ("linear(level,[1,100],[10,1000])", {"level"}, set(), ()),
        ("map(mode)", {"mode"}, set(), ("mode",)),
        ("current(main/brightness/level)*10", set(), {"main/brightness/level"}, ()),
        (
            "tuya_hsv12(current(main/color/hue), current(main/color/saturation)*10, level*10)",
            {"level"},
            {"main/color/hue", "main/color/saturation"},
            (),
        ),
        ("min(map(mode), map(mode)) + saturation", {"mode", "saturation"}, set(), ("mode",)),
        (
            "current(main/vendor.demo-water.ro_flush/state)",
            set(),
            {"main/vendor.demo-water.ro_flush/state"},
            (),
        ),
        ("20", set(), set(), ()),
    ],
)
def test_used_names(
    source: str, params_used: set[str], paths_used: set[str], uses_map: tuple[str, ...]
) -> None:
    expr = compile_expression(source, params=PARAMS)
    assert expr.params_used == params_used
    assert expr.paths_used == paths_used
    assert expr.uses_map == uses_map


def test_map_order_is_first_use() -> None:
    expr = compile_expression("map(saturation) + map(mode) + map(saturation)", params=PARAMS)
    assert expr.uses_map == ("saturation", "mode")


def test_current_path_inside_a_string_literal_is_left_alone() -> None:
    assert ev("'current(a/b/c)'") == "current(a/b/c)"


@pytest.mark.parametrize(
    "source",
    [
        "level.real",
        "level.__class__",
        "(1).__class__.__bases__",
        "lambda: 1",
        "[x for x in [1, 2]]",
        "{x for x in [1]}",
        "(x for x in [1])",
        "{'a': 1}",
        "{1, 2}",
        "__import__('os')",
        "__import__('os').system('true')",
        "__builtins__ + 1",
        "_private + 1",
        "open('/etc/passwd')",
        "eval('1')",
        "exec('x=1')",
        "getattr(level, 'real')",
        "unknown_fn(level)",
        "level[0]",
        "level < 5",
        "level and 1",
        "not level",
        "~level",
        "+level",
        "level if level else 1",
        "2 ** 10",
        "level % 3",
        "level << 2",
        "level & 1",
        "f'{level}'",
        "(y := 1)",
        "*level",
        "round(level, ndigits=1)",
        "round(*[level])",
        "None + 1",
        "b'x'",
        "1j",
        "level +",
        "linear(level, [1, 100])",
        "linear(level, lo, [1, 2])",
        "linear(level, [1, 1], [1, 2])",
        "linear(level, [1, 'a'], [1, 2])",
        "map(level + 1)",
        "map('mode')",
        "map(missing)",
        "current(level)",
        "current(main)",
        "current()",
        "round()",
        "abs(1, 2)",
        "min(level)",
        "tuya_hsv12(1, 2)",
        "level(1)",
        "level.bit_length()",
        "nosuchparam * 2",
        "1/0",
        "level / (2 - 2)",
        "'a' * 3",
        "'a' - 'b'",
        "u8(300)",
        "1e308 * 10",
        "",
        "   ",
        "x" * 1500 + " + 1",
        "(" * 500 + "1" + ")" * 500,
    ],
)
def test_rejected_at_compile_time(source: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(source, params=PARAMS)


@pytest.mark.parametrize("source", [{"a": 1}, {1, 2}, object(), float("inf"), b"x"])
def test_rejected_source_types(source: Any) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(source, params=PARAMS)


@pytest.mark.parametrize("name", ["__class__", "_secret"])
def test_underscore_names_are_rejected_even_as_params(name: str) -> None:
    with pytest.raises(ExpressionError, match="not allowed"):
        compile_expression(f"{name} + 1", params={name})


def test_error_names_the_expression() -> None:
    with pytest.raises(ExpressionError, match=r"'open\(level\)'.*unknown function"):
        compile_expression("open(level)", params=PARAMS)
    with pytest.raises(ExpressionError, match="unknown name 'nosuch'"):
        compile_expression("nosuch + 1", params=PARAMS)


@pytest.mark.parametrize(
    ("source", "args", "message"),
    [
        ("1000000/kelvin", {"kelvin": 0}, "division by zero"),
        ("level // kelvin", {"level": 1, "kelvin": 0}, "division by zero"),
        ("level*10", {"level": "ten"}, "needs a number"),
        ("level*10", {"level": True}, "needs a number"),
        ("level + 1", {"level": "1"}, "cannot add"),
        ("level + 1", {"level": None}, "cannot add"),
        ("-level", {"level": "x"}, "needs a number"),
        ("level*10", {}, "parameter 'level' is missing"),
        ("u16le(duration_s/60)", {"duration_s": 60 * 70000}, "does not fit"),
        ("u8(level)", {"level": -1}, "does not fit"),
        ("tuya_hsv12(hue, 0, 0)", {"hue": 400}, "outside"),
        ("linear(level,[1,100],[10,1000])", {"level": "50"}, "needs a number"),
        ("round(level)", {"level": [1]}, "needs a number"),
        ("level * 1e308 * 10", {"level": 10}, "not a finite number"),
    ],
)
def test_evaluation_errors(source: str, args: dict[str, Any], message: str) -> None:
    expr = compile_expression(source, params=PARAMS)
    with pytest.raises(ExpressionError, match=message) as info:
        expr.evaluate(args)
    assert repr(source) in str(info.value)


def test_map_and_current_need_their_callbacks() -> None:
    with pytest.raises(ExpressionError, match="map"):
        compile_expression("map(mode)", params=PARAMS).evaluate({"mode": "high"})
    with pytest.raises(ExpressionError, match="current"):
        compile_expression("current(main/color/hue)", params=PARAMS).evaluate({})


def test_current_without_a_value() -> None:
    expr = compile_expression("current(main/color/hue)*10", params=PARAMS)
    with pytest.raises(ExpressionError, match="no value"):
        expr.evaluate({}, current=lambda path: None)


def test_reverse_map_errors_become_expression_errors() -> None:
    def reverse(name: str, value: Any) -> Any:
        raise ValueError(f"{value!r} has no raw value")

    with pytest.raises(ExpressionError, match="has no raw value"):
        compile_expression("map(mode)", params=PARAMS).evaluate({"mode": "x"}, reverse_map=reverse)


def test_reverse_map_receives_param_name_and_value() -> None:
    seen: list[tuple[str, Any]] = []

    def reverse(name: str, value: Any) -> Any:
        seen.append((name, value))
        return 7

    assert ev("map(mode)", {"mode": "off"}) == "0"
    result = compile_expression("map(mode)", params=PARAMS).evaluate(
        {"mode": "boost"}, reverse_map=reverse
    )
    assert result == 7
    assert seen == [("mode", "boost")]


def test_compiled_once_and_reusable() -> None:
    expr = compile_expression("linear(level,[1,100],[10,1000])", params=PARAMS)
    assert isinstance(expr, Expression)
    assert [expr.evaluate({"level": v}) for v in (1, 50, 100)] == [10, 500, 1000]


def test_function_list() -> None:
    assert (
        frozenset(
            {
                "linear",
                "round",
                "min",
                "max",
                "abs",
                "int",
                "map",
                "current",
                "u8",
                "u16le",
                "tuya_hsv12",
            }
        )
        == FUNCTIONS
    )
