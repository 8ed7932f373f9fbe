"""require: a condition the item's input (or the args) must meet, else an error at its line; it
adds no node. A library states what its architecture needs, instead of what an op would do with
any input (a patch conv floors a size that is no multiple of the patch, torchvision refuses it)."""

from __future__ import annotations

from typing import Any

from archspec.expand.combinators.base import Combinator, Context, register
from archspec.expand.scope import Scope, Value, reads_input
from archspec.source import Pos
from archspec.spec import Expr, Strict


class RequireDef(Strict):
    """An error with `message` (an expression may give it) unless `require` holds."""

    require: bool | Expr
    message: str = "the spec's requirement does not hold"


@register
class Require(Combinator):
    """An error at its line unless the condition holds; passes its input on unchanged."""

    key = "require"
    Model = RequireDef
    flow = True

    def expand(self, ctx: Context, val: Any, pos: Pos | None, scope: Scope, x: Value) -> Value:
        d = ctx.validate(RequireDef, val, pos, scope, "require")
        if d is None or (x is None and reads_input(d.require)):  # unknown input: the earlier error says it
            return x
        seen = ctx.with_input(scope, x)
        holds = ctx.value(d.require, val.at("require"), seen)
        if holds is not None and not holds:
            message = ctx.value(d.message, val.at("message"), seen) if "message" in val else d.message
            ctx.error(f"require failed: {message}", val.at("require"), scope,
                      f"the condition {val['require']!r} is false here")
        return x
