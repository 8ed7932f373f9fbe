"""if: `then` or `else` by a condition on args (absent branch: the identity)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from archspec.expand.combinators.base import Combinator, Context, Items, register
from archspec.expand.scope import Scope, Value
from archspec.source import Pos
from archspec.spec import Expr, Strict


class IfDef(Strict):
    """`then` if the condition holds, else `else`; an absent branch is the identity."""

    if_: bool | Expr = Field(alias="if")
    then: Items = None
    else_: Items = Field(None, alias="else")


@register
class If(Combinator):
    """`then` or `else`, chosen when the spec is expanded."""

    key = "if"
    Model = IfDef
    flow = True

    def expand(self, ctx: Context, val: Any, pos: Pos | None, scope: Scope, x: Value) -> Value:
        d = ctx.validate(IfDef, val, pos, scope, "if")
        if d is None:
            return None
        key = "then" if ctx.value(d.if_, val.at("if"), scope) else "else"
        return ctx.items(val.get(key), val.at(key), scope, x)
