"""repeat: a body applied `repeat` times in sequence, with a loop variable."""

from __future__ import annotations

from typing import Any

from archspec.expand.combinators.base import Combinator, Context, Items, register
from archspec.expand.scope import Scope, Value
from archspec.source import Pos
from archspec.spec import Expr, Strict


class RepeatDef(Strict):
    """`repeat` times `body` in sequence; transparent for naming."""

    repeat: int | Expr
    body: Items
    var: str = "i"  # the loop variable, 0-based, usable in the body's expressions and names


@register
class Repeat(Combinator):
    """The body `repeat` times in sequence."""

    key = "repeat"
    Model = RepeatDef
    flow = True

    def expand(self, ctx: Context, val: Any, pos: Pos | None, scope: Scope, x: Value) -> Value:
        d = ctx.validate(RepeatDef, val, pos, scope, "repeat")
        if d is None:
            return None
        count = ctx.count(d.repeat, val.at("repeat"), scope)
        if count is None:
            return None
        for i in range(count):
            x = ctx.items(val["body"], val.at("body"), scope.with_env({d.var: i}), x)
        return x
