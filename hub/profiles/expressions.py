"""Sandboxed expressions for command arguments in profiles (docs/profile-format.md §4.2).

Examples: ``linear(level,[1,100],[10,1000])``, ``transition_s*10``, ``1000000/kelvin``,
``map(mode)``, ``current(main/brightness/level)*10``, ``u16le(duration_s/60)``,
``tuya_hsv12(hue, saturation*10, level*10)``.

Profile text is parsed with :mod:`ast` and only a small whitelist of node types is accepted; nothing
is ever passed to ``eval``/``exec``. Each accepted tree is compiled once into nested closures, so
evaluating an expression for a command does not walk the tree again.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Collection, Mapping
from typing import Any, Final

from hub.capabilities.codecs import encode_int, hsv12_encode, round_half_away

__all__ = ["FUNCTIONS", "Expression", "ExpressionError", "compile_expression"]

MAX_SOURCE_LENGTH: Final = 1000


class ExpressionError(ValueError):
    """An expression that is not allowed, or that failed to evaluate."""


class _Fail(Exception):
    """Raised inside compiled closures; :meth:`Expression.evaluate` adds the expression text."""


class _Ctx:
    __slots__ = ("current", "params", "reverse_map")

    def __init__(
        self,
        params: Mapping[str, Any],
        current: Callable[[str], Any] | None,
        reverse_map: Callable[[str, Any], Any] | None,
    ) -> None:
        self.params = params
        self.current = current
        self.reverse_map = reverse_map


_Eval = Callable[[_Ctx], Any]


def _is_num(v: Any) -> bool:
    # type() rather than isinstance(): true/false must not take part in arithmetic.
    t = type(v)
    return t is int or t is float


def _num(v: Any, what: str) -> Any:
    if _is_num(v):
        return v
    raise _Fail(f"{what} needs a number, got {v!r}")


# --------------------------------------------------------------------------- operators


def _add(a: Any, b: Any) -> Any:
    if (_is_num(a) and _is_num(b)) or (type(a) is type(b) and type(a) in (str, bytes)):
        return a + b
    raise _Fail(f"cannot add {a!r} and {b!r}")


def _sub(a: Any, b: Any) -> Any:
    return _num(a, "-") - _num(b, "-")


def _mul(a: Any, b: Any) -> Any:
    # Numbers only: "x" * 10**6 would be a memory bomb from a string parameter.
    return _num(a, "*") * _num(b, "*")


def _div(a: Any, b: Any) -> Any:
    return _num(a, "/") / _num(b, "/")


def _floordiv(a: Any, b: Any) -> Any:
    return _num(a, "//") // _num(b, "//")


_BINOPS: Final[dict[type[ast.operator], Callable[[Any, Any], Any]]] = {
    ast.Add: _add,
    ast.Sub: _sub,
    ast.Mult: _mul,
    ast.Div: _div,
    ast.FloorDiv: _floordiv,
}


# --------------------------------------------------------------------------- functions


def _linear(x: Any, src: tuple[float, float], dst: tuple[float, float]) -> Any:
    a, b = src
    c, d = dst
    # Multiply before dividing so that whole-number ranges map exactly (50 -> 500, not 499.99..).
    y = c + (_num(x, "linear") - a) * (d - c) / (b - a)
    lo, hi = (c, d) if c <= d else (d, c)
    return lo if y < lo else hi if y > hi else y


def _round(x: Any, digits: Any = None) -> Any:
    v = _num(x, "round")
    if digits is None:
        if not math.isfinite(v):
            raise _Fail(f"cannot round {v!r}")
        return round_half_away(v)
    if type(digits) is not int:
        raise _Fail("round's second argument must be an integer")
    return round(v, digits)


def _min(*args: Any) -> Any:
    return min(_num(a, "min") for a in args)


def _max(*args: Any) -> Any:
    return max(_num(a, "max") for a in args)


def _abs(x: Any) -> Any:
    return abs(_num(x, "abs"))


def _int(x: Any) -> int:
    v = _num(x, "int")
    if not math.isfinite(v):
        raise _Fail(f"cannot convert {v!r} to an integer")
    return int(v)


def _whole(x: Any, what: str) -> int:
    v = _num(x, what)
    if not math.isfinite(v):
        raise _Fail(f"{what} needs a finite number, got {v!r}")
    return round_half_away(v)


def _u8(x: Any) -> bytes:
    return encode_int("u8", _whole(x, "u8"))


def _u16le(x: Any) -> bytes:
    return encode_int("u16le", _whole(x, "u16le"))


def _hsv12(h: Any, s: Any, v: Any) -> str:
    return hsv12_encode(h, s, v)


# name -> (implementation, min args, max args). map/current/linear are compiled specially.
_SIMPLE: Final[dict[str, tuple[Callable[..., Any], int, int]]] = {
    "round": (_round, 1, 2),
    "min": (_min, 2, 8),
    "max": (_max, 2, 8),
    "abs": (_abs, 1, 1),
    "int": (_int, 1, 1),
    "u8": (_u8, 1, 1),
    "u16le": (_u16le, 1, 1),
    "tuya_hsv12": (_hsv12, 3, 3),
}
FUNCTIONS: Final[frozenset[str]] = frozenset({*_SIMPLE, "linear", "map", "current"})


# --------------------------------------------------------------------------- current(path)

_PATH_CHARS: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@-/"
)
_IDENT_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _quote_paths(text: str) -> str:
    """Rewrite ``current(a/b/c)`` to ``current('a/b/c')`` outside string literals.

    A bare path would otherwise parse as divisions; quoting it first keeps the grammar Python's.
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"":
            j = i + 1
            while j < n and text[j] != ch:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
            continue
        if text.startswith("current", i) and (i == 0 or text[i - 1] not in _IDENT_CHARS):
            j = i + len("current")
            while j < n and text[j] == " ":
                j += 1
            if j < n and text[j] == "(":
                k = j + 1
                while k < n and text[k] == " ":
                    k += 1
                start = k
                while k < n and text[k] in _PATH_CHARS:
                    k += 1
                path = text[start:k]
                while k < n and text[k] == " ":
                    k += 1
                if "/" in path and k < n and text[k] == ")":
                    out.append(f"current({path!r})")
                    i = k + 1
                    continue
        out.append(ch)
        i += 1
    return "".join(out)


def _valid_path(path: str) -> bool:
    parts = path.split("/")
    return len(parts) >= 2 and all(parts) and all(c in _PATH_CHARS for c in path)


# --------------------------------------------------------------------------- compiler


class _Compiler:
    def __init__(self, source: str, params: Collection[str], *, columns: bool) -> None:
        self.source = source
        self.columns = columns  # False when current(path) quoting shifted the text
        self.params = frozenset(params)
        self.params_used: set[str] = set()
        self.paths_used: set[str] = set()
        self.uses_map: list[str] = []

    def fail(self, node: ast.AST | None, message: str) -> ExpressionError:
        col = getattr(node, "col_offset", None) if self.columns else None
        where = f" (column {col + 1})" if col is not None else ""
        return ExpressionError(f"{self.source!r}: {message}{where}")

    def compile(self, node: ast.AST) -> tuple[_Eval, bool]:
        """A closure for ``node`` and whether it is constant (then folded at compile time)."""
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            return self._name(node), False
        if isinstance(node, ast.List | ast.Tuple):
            return self._sequence(node)
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise self.fail(node, f"{_describe(node)} is not allowed in an expression")

    def _constant(self, node: ast.Constant) -> tuple[_Eval, bool]:
        v = node.value
        if type(v) not in (int, float, str, bool):
            raise self.fail(node, f"constant {v!r} is not allowed")
        if type(v) is float and not math.isfinite(v):
            raise self.fail(node, f"constant {v!r} is not finite")
        return (lambda ctx: v), True

    def _name(self, node: ast.Name) -> _Eval:
        name = node.id
        if name.startswith("_"):
            raise self.fail(node, f"name {name!r} is not allowed")
        if name in FUNCTIONS:
            raise self.fail(node, f"{name} is a function; call it as {name}(...)")
        if name not in self.params:
            known = ", ".join(sorted(self.params)) or "none"
            raise self.fail(node, f"unknown name {name!r} (parameters: {known})")
        self.params_used.add(name)

        def get(ctx: _Ctx) -> Any:
            try:
                return ctx.params[name]
            except KeyError:
                raise _Fail(f"parameter {name!r} is missing") from None

        return get

    def _sequence(self, node: ast.List | ast.Tuple) -> tuple[_Eval, bool]:
        parts = [self.compile(e) for e in node.elts]
        fns = tuple(f for f, _ in parts)
        return self._fold((lambda ctx: [f(ctx) for f in fns]), all(c for _, c in parts), node)

    def _binop(self, node: ast.BinOp) -> tuple[_Eval, bool]:
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise self.fail(node, f"operator {type(node.op).__name__} is not allowed (+ - * / //)")
        left, lc = self.compile(node.left)
        right, rc = self.compile(node.right)
        if rc and op in (_div, _floordiv) and right(_NO_CTX) == 0:
            raise self.fail(node, "division by zero")
        return self._fold((lambda ctx: op(left(ctx), right(ctx))), lc and rc, node)

    def _unary(self, node: ast.UnaryOp) -> tuple[_Eval, bool]:
        if not isinstance(node.op, ast.USub):
            raise self.fail(node, f"operator {type(node.op).__name__} is not allowed (only -x)")
        inner, c = self.compile(node.operand)
        return self._fold((lambda ctx: -_num(inner(ctx), "-")), c, node)

    def _fold(self, fn: _Eval, constant: bool, node: ast.AST) -> tuple[_Eval, bool]:
        """Evaluate constant sub-expressions now: faster later, and ``1/0`` fails at validation."""
        if not constant:
            return fn, False
        try:
            value = fn(_NO_CTX)
        except (_Fail, ArithmeticError, ValueError, TypeError) as err:
            raise self.fail(node, _error_text(err)) from err
        return (lambda ctx: value), True

    def _call(self, node: ast.Call) -> tuple[_Eval, bool]:
        func = node.func
        if not isinstance(func, ast.Name):
            raise self.fail(node, "only the listed functions can be called")
        name = func.id
        if name not in FUNCTIONS:
            raise self.fail(
                node, f"unknown function {name!r} (allowed: {', '.join(sorted(FUNCTIONS))})"
            )
        if node.keywords:
            raise self.fail(node, f"{name}() takes positional arguments only")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(node, f"{name}(): *arguments are not allowed")
        if name == "map":
            return self._map(node), False
        if name == "current":
            return self._current(node), False
        if name == "linear":
            return self._linear(node)
        impl, lo, hi = _SIMPLE[name]
        if not lo <= len(node.args) <= hi:
            count = str(lo) if lo == hi else f"{lo} to {hi}"
            raise self.fail(node, f"{name}() takes {count} arguments, got {len(node.args)}")
        parts = [self.compile(a) for a in node.args]
        fns = tuple(f for f, _ in parts)
        constant = all(c for _, c in parts)
        if len(fns) == 1:
            (a,) = fns
            return self._fold((lambda ctx: impl(a(ctx))), constant, node)
        return self._fold((lambda ctx: impl(*[f(ctx) for f in fns])), constant, node)

    def _map(self, node: ast.Call) -> _Eval:
        if len(node.args) != 1 or not isinstance(node.args[0], ast.Name):
            raise self.fail(node, "map() takes one parameter name, e.g. map(mode)")
        get = self._name(node.args[0])
        name = node.args[0].id
        if name not in self.uses_map:
            self.uses_map.append(name)

        def reverse(ctx: _Ctx) -> Any:
            if ctx.reverse_map is None:
                raise _Fail(f"map({name}) needs the property's map, and none was given")
            return ctx.reverse_map(name, get(ctx))

        return reverse

    def _current(self, node: ast.Call) -> _Eval:
        arg = node.args[0] if len(node.args) == 1 else None
        if not (
            isinstance(arg, ast.Constant) and type(arg.value) is str and _valid_path(arg.value)
        ):
            raise self.fail(node, "current() takes a capability path, e.g. current(main/onoff/on)")
        path = arg.value
        self.paths_used.add(path)

        def current(ctx: _Ctx) -> Any:
            if ctx.current is None:
                raise _Fail(f"current({path}) needs the device state, and none was given")
            value = ctx.current(path)
            if value is None:
                raise _Fail(f"current({path}) has no value yet")
            return value

        return current

    def _linear(self, node: ast.Call) -> tuple[_Eval, bool]:
        if len(node.args) != 3:
            raise self.fail(node, "linear() takes (x, [a, b], [c, d])")
        x, xc = self.compile(node.args[0])
        src = self._const_pair(node.args[1])
        dst = self._const_pair(node.args[2])
        return self._fold((lambda ctx: _linear(x(ctx), src, dst)), xc, node)

    def _const_pair(self, node: ast.expr) -> tuple[float, float]:
        # Ranges are literals so that a profile's mapping is checkable when it is validated.
        value: Any = None
        if isinstance(node, ast.List | ast.Tuple):
            fn, constant = self.compile(node)
            if constant:
                value = fn(_NO_CTX)
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(_is_num(v) and math.isfinite(v) for v in value)
        ):
            raise self.fail(node, "linear() ranges must be literal pairs of numbers like [1, 100]")
        if value[0] == value[1]:
            raise self.fail(node, f"linear() range {value} is empty")
        return value[0], value[1]


_NO_CTX: Final = _Ctx({}, None, None)


def _describe(node: ast.AST) -> str:
    names = {
        ast.Attribute: "attribute access",
        ast.Subscript: "indexing",
        ast.Lambda: "lambda",
        ast.ListComp: "a comprehension",
        ast.SetComp: "a comprehension",
        ast.DictComp: "a comprehension",
        ast.GeneratorExp: "a generator",
        ast.Compare: "comparison",
        ast.BoolOp: "and/or",
        ast.IfExp: "if/else",
        ast.JoinedStr: "an f-string",
        ast.NamedExpr: "assignment",
        ast.Dict: "a mapping",
        ast.Set: "a set",
        ast.Starred: "unpacking",
        ast.Await: "await",
    }
    return names.get(type(node), type(node).__name__)


def _error_text(err: BaseException) -> str:
    if isinstance(err, ZeroDivisionError):
        return "division by zero"
    return str(err) or type(err).__name__


def _finish(value: Any) -> Any:
    """Integral floats become ints (``1000000/4000`` -> 250): raw DPs and fields are integers."""
    if type(value) is float:
        if not math.isfinite(value):
            raise _Fail(f"result {value!r} is not a finite number")
        if value.is_integer():
            return int(value)
    elif type(value) is list:
        return [_finish(v) for v in value]
    return value


class Expression:
    """A compiled expression; build with :func:`compile_expression`."""

    __slots__ = (
        "_fn",
        "constant",
        "is_constant",
        "params_used",
        "paths_used",
        "source",
        "uses_map",
    )

    def __init__(
        self,
        source: str,
        fn: _Eval,
        *,
        constant: bool,
        params_used: frozenset[str] = frozenset(),
        paths_used: frozenset[str] = frozenset(),
        uses_map: tuple[str, ...] = (),
    ) -> None:
        self.source = source
        self._fn = fn
        self.is_constant = constant
        self.params_used = params_used
        self.paths_used = paths_used
        self.uses_map = uses_map
        # The value of a constant expression (None otherwise), for validators and UIs.
        self.constant: Any = None
        if constant:
            try:
                self.constant = _finish(fn(_NO_CTX))
            except _Fail as err:
                raise ExpressionError(f"{source!r}: {err}") from err

    def evaluate(
        self,
        params: Mapping[str, Any],
        *,
        current: Callable[[str], Any] | None = None,
        reverse_map: Callable[[str, Any], Any] | None = None,
    ) -> Any:
        """Evaluate over command ``params``; ``current(path)``/``map(param)`` use the callbacks."""
        try:
            return _finish(self._fn(_Ctx(params, current, reverse_map)))
        except (_Fail, ArithmeticError, ValueError, TypeError, LookupError) as err:
            raise ExpressionError(f"{self.source!r}: {_error_text(err)}") from err

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


def _literal(source: Any) -> Expression:
    return Expression(repr(source), lambda ctx: source, constant=True)


def compile_expression(source: Any, *, params: Collection[str]) -> Expression:
    """Compile a profile value into an :class:`Expression`.

    Non-string YAML scalars (``true``, ``0``, ``20``) are constants. A string that is a single
    identifier not among ``params`` is a string constant (``white``, ``close``); any other string
    must be a valid expression over ``params``. Lists compile element-wise
    (``bytes: [1, "u8(x)"]``).
    """
    if source is None or source is True or source is False:
        return _literal(source)
    if type(source) in (int, float):
        if not math.isfinite(source):
            raise ExpressionError(f"{source!r}: constant is not finite")
        return _literal(source)
    if isinstance(source, list | tuple):
        return _compile_list(list(source), params)
    if type(source) is not str:
        raise ExpressionError(f"{source!r}: an expression must be a string, number or boolean")
    text = source.strip()
    if text.isidentifier() and text not in params:
        return _literal(text)
    if not text:
        raise ExpressionError("empty expression")
    if len(text) > MAX_SOURCE_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_SOURCE_LENGTH} characters")
    quoted = _quote_paths(text)
    try:
        tree = ast.parse(quoted, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
        detail = getattr(err, "msg", None) or type(err).__name__
        raise ExpressionError(f"{source!r}: not a valid expression ({detail})") from err
    compiler = _Compiler(text, params, columns=quoted == text)
    try:
        fn, constant = compiler.compile(tree.body)
    except RecursionError as err:
        raise ExpressionError(f"{source!r}: expression is nested too deeply") from err
    return Expression(
        text,
        fn,
        constant=constant,
        params_used=frozenset(compiler.params_used),
        paths_used=frozenset(compiler.paths_used),
        uses_map=tuple(compiler.uses_map),
    )


def _compile_list(items: list[Any], params: Collection[str]) -> Expression:
    parts = [compile_expression(item, params=params) for item in items]
    fns = tuple(p._fn for p in parts)
    uses_map: list[str] = []
    for p in parts:
        uses_map.extend(m for m in p.uses_map if m not in uses_map)
    return Expression(
        "[" + ", ".join(p.source for p in parts) + "]",
        lambda ctx: [f(ctx) for f in fns],
        constant=all(p.is_constant for p in parts),
        params_used=frozenset().union(*(p.params_used for p in parts)),
        paths_used=frozenset().union(*(p.paths_used for p in parts)),
        uses_map=tuple(uses_map),
    )
