"""concat: branches applied to the same input, joined on channels."""

from __future__ import annotations

from typing import Any

from archspec.expand.combinators.base import ITEMS, Combinator, Context, SchemaBuilder, register
from archspec.expand.scope import Scope, Value
from archspec.ops.base import REGISTRY
from archspec.source import Pos, SDict, SList


@register
class Concat(Combinator):
    """Branches applied to the same input, concatenated on channels: a list (named by position)
    or a mapping of named branches; each branch is one item or a list of items."""

    key = "concat"

    def expand(self, ctx: Context, val: Any, pos: Pos | None, scope: Scope, x: Value) -> Value:
        if isinstance(val, SList):
            branches: list[tuple[str | None, Any, Pos | None]] = [(None, b, val.at(i)) for i, b in enumerate(val)]
        elif isinstance(val, SDict):
            branches = [(str(k), b, val.at(k)) for k, b in val.items()]
        else:
            ctx.error("concat takes a list or a mapping of branches", pos, scope)
            return None
        if len(branches) < 2:
            ctx.error("concat needs two or more branches", pos, scope)
            return None
        outs: list[Value] = []
        for bname, braw, bpos in branches:  # each takes a position, so the join's name is free
            if isinstance(braw, SList):
                sub = scope.child(scope.take(bname))
                ctx.graph.scopes[sub.prefix[:-1]] = "branch"
                outs.append(ctx.items(braw, bpos, sub, x))
            else:  # a single item is the branch itself, named after it
                outs.append(ctx.item(braw, bpos, scope, x, name=bname))
        joined = [o for o in outs if o is not None]
        if len(joined) < len(outs):
            return None
        return ctx.node("concat", REGISTRY["concat"].Params(), joined, scope.prefix + scope.take(None), pos, scope)

    def schema(self, js: SchemaBuilder) -> dict[str, Any]:
        return {"anyOf": [{"type": "array", "items": ITEMS}, {"type": "object", "additionalProperties": ITEMS}]}
