"""Safe arithmetic in specs: `$name` and `${expression}`.

Expressions are parsed with Python's `ast` and checked against a whitelist of
node types; they are evaluated by walking that tree, never by `eval`. Names
resolve to block args (and loop variables); a few pure functions are allowed.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from functools import lru_cache
from typing import Any

from archspec.limits import LIMITS

_NAME = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
_WHOLE = re.compile(r"^\$\{(.*)\}$", re.S)
_PART = re.compile(r"\$\{([^}]*)\}")

_BINOPS: dict[type[ast.AST], Any] = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
           ast.Pow: operator.pow}
_UNOPS: dict[type[ast.AST], Any] = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
_CMPOPS: dict[type[ast.AST], Any] = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
           ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}
FUNCTIONS = {"min": min, "max": max, "int": int, "float": float, "round": round,
             "abs": abs, "floor": math.floor, "ceil": math.ceil, "sqrt": math.sqrt,
             "len": len, "sum": sum}
_MAX_POW = 64  # keeps `2 ** 10 ** 10` from hanging the checker


class ExprError(ValueError):
    """A malformed or disallowed expression, or one that failed to evaluate."""


def is_expr(value: object) -> bool:
    return isinstance(value, str) and "$" in value


@lru_cache(maxsize=4096)
def parse(text: str) -> ast.expr:
    """Parse and whitelist one expression body (without `${` `}`)."""
    if len(text) > LIMITS.expr_chars:
        raise ExprError(f"expression of {len(text):,} characters is longer than {LIMITS.expr_chars:,} "
                        f"(limit expr_chars; raise it with --limit expr_chars=N)")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as e:
        raise ExprError(f"invalid expression '{_short(text)}': {e.msg}") from None
    except (RecursionError, MemoryError):
        raise ExprError(f"expression '{_short(text)}' nests too deeply") from None
    if _depth(tree) > LIMITS.expr_depth:
        raise ExprError(f"expression '{_short(text)}' nests deeper than {LIMITS.expr_depth} "
                        f"(limit expr_depth; raise it with --limit expr_depth=N)")
    for node in ast.walk(tree):
        _check(node, text)
    return tree


def _depth(tree: ast.AST) -> int:
    """The syntax tree's depth, without recursion (evaluation recurses: it needs a bound)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((child, d + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[:n] + "..."


def _check(node: ast.AST, text: str) -> None:
    allowed = (ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Constant,
               ast.Name, ast.Load, ast.Call, ast.Subscript, ast.List, ast.Tuple, ast.Slice,
               ast.And, ast.Or, *_BINOPS, *_UNOPS, *_CMPOPS)
    if not isinstance(node, allowed):
        raise ExprError(f"'{type(node).__name__}' is not allowed in expression '{text}'")
    if isinstance(node, ast.Call) and (
            not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords):
        raise ExprError(f"only the functions {', '.join(sorted(FUNCTIONS))} may be called "
                            f"in expression '{text}'")
    if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float, str, bool)):
        raise ExprError(f"constant {node.value!r} is not allowed in expression '{text}'")


def evaluate(text: str, env: dict[str, object]) -> object:
    """Evaluate a whole-value reference (`$x`, `${x * 2}`) or interpolate `a${i}b` into a str."""
    m = _NAME.match(text)
    if m:
        return _lookup(m.group(1), env)
    m = _WHOLE.match(text)
    if m and "${" not in m.group(1):
        return _eval(parse(m.group(1)), env)
    if "${" in text:
        return _PART.sub(lambda part: str(_eval(parse(part.group(1)), env)), text)
    raise ExprError(f"'{text}': use $name or ${{expression}}")


def _lookup(name: str, env: dict[str, Any]) -> Any:
    if name in env:
        return env[name]
    if name in FUNCTIONS:
        return FUNCTIONS[name]
    import difflib

    close = difflib.get_close_matches(name, list(env), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else (
        f"; defined here: {', '.join(sorted(env))}" if env else "; no args are defined here")
    raise ExprError(f"undefined name '{name}'{hint}")


def _eval(node: ast.expr, env: dict[str, object]) -> object:
    try:
        return _walk(node, env)
    except ExprError:
        raise
    except (ArithmeticError, TypeError, ValueError, IndexError, KeyError) as e:
        raise ExprError(f"cannot evaluate '{ast.unparse(node)}': {e}") from None


def _walk(n: ast.expr, env: dict[str, Any]) -> Any:  # values are as dynamically typed as Python's
    if isinstance(n, ast.Constant):
        return n.value
    if isinstance(n, ast.Name):
        return _lookup(n.id, env)
    if isinstance(n, ast.BinOp):
        left, right = _walk(n.left, env), _walk(n.right, env)
        _bound(n.op, left, right)
        return _bounded(_BINOPS[type(n.op)](left, right))
    if isinstance(n, ast.UnaryOp):
        return _UNOPS[type(n.op)](_walk(n.operand, env))
    if isinstance(n, ast.BoolOp):
        values = (_walk(v, env) for v in n.values)
        return all(values) if isinstance(n.op, ast.And) else any(values)
    if isinstance(n, ast.Compare):
        left = _walk(n.left, env)
        for op, comp in zip(n.ops, n.comparators):
            right = _walk(comp, env)
            if not _CMPOPS[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(n, ast.IfExp):
        return _walk(n.body, env) if _walk(n.test, env) else _walk(n.orelse, env)
    if isinstance(n, ast.Call):
        assert isinstance(n.func, ast.Name)  # _check allows calls of names only
        return _bounded(_lookup(n.func.id, env)(*(_walk(a, env) for a in n.args)))
    if isinstance(n, ast.Subscript):
        return _walk(n.value, env)[_walk(n.slice, env)]
    if isinstance(n, ast.Slice):
        parts = (None if p is None else _walk(p, env) for p in (n.lower, n.upper, n.step))
        return slice(*parts)
    if isinstance(n, (ast.List, ast.Tuple)):
        return [_walk(e, env) for e in n.elts]
    raise ExprError(f"unsupported expression '{ast.unparse(n)}'")  # unreachable after _check


def _bound(op: ast.operator, a: object, b: object) -> None:
    """Refuse, before computing it, a result past LIMITS: a big integer (`9**9**9` would take
    hours) or a long string or list (`'a' * 10**9`)."""
    bits, length = LIMITS.expr_int_bits, LIMITS.expr_length
    if isinstance(op, ast.Pow) and isinstance(b, (int, float)) and abs(b) > _MAX_POW:
        raise ExprError(f"exponent {b} is too large")
    ia, ib = _as_int(a), _as_int(b)
    if ia is not None and ib is not None and (
            (isinstance(op, ast.Pow) and ib > 0 and ia.bit_length() * ib > bits)
            or (isinstance(op, ast.Mult) and ia.bit_length() + ib.bit_length() > bits + 1)):
        raise ExprError(f"the result of {a} {_SYMBOL[type(op)]} {b} "
                        f"is past {bits} bits (limit expr_int_bits)")
    if isinstance(op, ast.Mult) and (n := _repeated_length(a, b) or _repeated_length(b, a)) > length:
        raise ExprError(f"a string or list of {n:,} items is past {length:,} (limit expr_length)")
    if isinstance(op, ast.Add) and isinstance(a, (str, list)) and isinstance(b, (str, list)) \
            and len(a) + len(b) > length:
        raise ExprError(f"a string or list longer than {length:,} (limit expr_length)")


_SYMBOL = {ast.Pow: "**", ast.Mult: "*"}


def _as_int(x: object) -> int | None:
    return x if isinstance(x, int) and not isinstance(x, bool) else None


def _repeated_length(seq: object, times: object) -> int:
    """len(seq * times) for a str or list times an int, else 0."""
    n = _as_int(times)
    return len(seq) * max(n, 0) if isinstance(seq, (str, list)) and n is not None else 0


def _bounded(value: object) -> object:
    n = _as_int(value)
    if n is not None and n.bit_length() > LIMITS.expr_int_bits:
        raise ExprError(f"an integer of {n.bit_length()} bits is past {LIMITS.expr_int_bits} (limit expr_int_bits)")
    if isinstance(value, (str, list)) and len(value) > LIMITS.expr_length:
        raise ExprError(f"a string or list of {len(value):,} items is past {LIMITS.expr_length:,} "
                        f"(limit expr_length)")
    return value


def substitute(value: object, env: dict[str, object]) -> object:
    """Resolve expressions inside a plain value (scalars and lists; not mappings)."""
    if isinstance(value, str) and "$" in value:
        return evaluate(value, env)
    if isinstance(value, list):
        return [substitute(v, env) for v in value]
    return value
