"""dense: DenseNet's block, each layer fed the concatenation of the input and all earlier layers."""

from __future__ import annotations

from typing import Any

from archspec.expand.combinators.base import Combinator, Context, Items, register
from archspec.expand.scope import Scope, Value
from archspec.ops.base import REGISTRY
from archspec.source import Pos, SList
from archspec.spec import Expr, Strict


class DenseDef(Strict):
    repeat: int | Expr  # the number of layers
    layer: Items  # one layer; its expressions see `i`, the layer's index
    name: str | None = None


@register
class Dense(Combinator):
    """x = concat(x, layer(x)), `repeat` times."""

    key = "dense"
    Model = DenseDef

    def expand(self, ctx: Context, val: Any, pos: Pos | None, scope: Scope, x: Value) -> Value:
        d = ctx.validate(DenseDef, val, pos, scope, "dense")
        if d is None:
            return None
        count = ctx.count(d.repeat, val.at("repeat"), scope)
        layer = val["layer"]
        for i in range(count or 0):
            layer_scope = scope.with_env({"i": i})
            if isinstance(layer, SList):
                layer_scope = scope.child(scope.take(None), env=scope.env | {"i": i})
                ctx.graph.scopes[layer_scope.prefix[:-1]] = "dense layer"
            y = ctx.items(layer, val.at("layer"), layer_scope, x)
            if x is None or y is None:  # checked once: later layers would repeat its problems
                return None
            x = ctx.node("concat", REGISTRY["concat"].Params(), [x, y], scope.prefix + scope.take(None),
                         val.at("layer"), scope)
        return x if count is not None else None
