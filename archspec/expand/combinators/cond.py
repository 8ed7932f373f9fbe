"""if: `then` or `else` by a condition on args (absent branch: the identity). With `name`, the
chosen branch is named as a concat branch is: one item is that item, a list opens a scope."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from archspec.expand.combinators.base import Combinator, Context, Items, register
from archspec.expand.scope import Scope, Value, reads_input
from archspec.source import Pos, SDict, SList
from archspec.spec import Expr, Strict


class IfDef(Strict):
    """`then` if the condition holds, else `else`; an absent branch is the identity."""

    if_: bool | Expr = Field(alias="if")
    then: Items = None
    else_: Items = Field(None, alias="else")
    name: str | int | None = None  # names the chosen branch (torchvision's `activation` of either op)


@register
class If(Combinator):
    """`then` or `else`, chosen when the spec is expanded."""

    key = "if"
    Model = IfDef
    flow = True

    def expand(self, ctx: Context, val: Any, pos: Pos | None, scope: Scope, x: Value) -> Value:
        d = ctx.validate(IfDef, val, pos, scope, "if")
        if d is None or (x is None and reads_input(d.if_)):  # unknown input: the earlier error says it
            return None
        key = "then" if ctx.value(d.if_, val.at("if"), ctx.with_input(scope, x)) else "else"
        branch, name = val.get(key), ctx.name(val, "name", scope)
        if name is None or branch is None:
            return ctx.items(branch, val.at(key), scope, x)
        if isinstance(branch, SDict) and "if" in branch and "name" not in branch:  # else-if: it takes the name
            branch = _with_name(branch, name)
        if not isinstance(branch, SList):
            return ctx.item(branch, val.at(key), scope, x, name=name)
        sub = scope.child(scope.take(name))
        ctx.graph.scopes[sub.prefix[:-1]] = "if"
        return ctx.items(branch, val.at(key), sub, x)


def _with_name(raw: SDict, name: str) -> SDict:
    out = SDict({**raw, "name": name})
    out.pos, out.key_pos, out.val_pos = raw.pos, raw.key_pos, raw.val_pos
    return out
