"""seq: items applied in order (a block body; in a list of layers, a nested scope when named)."""

from __future__ import annotations

from typing import Any

from archspec.expand.combinators.base import ITEM, Combinator, Context, SchemaBuilder, register
from archspec.expand.scope import Scope, Value
from archspec.source import Pos


@register
class Seq(Combinator):
    """Items applied in order."""

    key = "seq"

    def expand(self, ctx: Context, val: Any, pos: Pos | None, scope: Scope, x: Value) -> Value:
        return ctx.items(val, pos, scope, x)

    def schema(self, js: SchemaBuilder) -> dict[str, Any]:
        return {"type": "array", "items": ITEM}
