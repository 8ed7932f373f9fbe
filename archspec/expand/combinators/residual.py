"""residual: a body added to a shortcut (the identity unless given), optionally scaled, then `after`."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from archspec.expand.combinators.base import ITEMS, Combinator, Context, Items, SchemaBuilder, register
from archspec.expand.scope import Scope, Value, reads_input
from archspec.ops.base import REGISTRY, Shape, fmt
from archspec.source import Pos, SDict
from archspec.spec import Expr, Strict


class ResidualDef(Strict):
    body: Items
    shortcut: Items = None  # absent: the identity
    scale: float | Expr | None = None  # the body times this before the add
    after: Items = None  # items applied to the sum
    name: str | None = None


class ShortcutDef(Strict):
    """A shortcut given as a mapping: conditional, named, or both."""

    if_: bool | Expr = Field(True, alias="if")
    then: Items = None
    else_: Items = Field(None, alias="else")
    layers: Items = None
    name: str = "shortcut"


_SHORTCUT_KEYS = {"if", "then", "else", "layers", "name"}


@register
class Residual(Combinator):
    """body(x) + shortcut(x), then `after`."""

    key = "residual"
    Model = ResidualDef

    def expand(self, ctx: Context, val: Any, pos: Pos | None, scope: Scope, x: Value) -> Value:
        d = ctx.validate(ResidualDef, val, pos, scope, "residual")
        if d is None:
            return None
        body = ctx.items(val["body"], val.at("body"), scope, x)
        short = _shortcut(ctx, val, scope, x)
        if body is not None and d.scale is not None:
            scale = ctx.value(d.scale, val.at("scale"), scope)
            p = None if scale is None else REGISTRY["scale"].Params.model_validate({"value": scale})
            body = None if p is None else ctx.node("scale", p, [body], scope.prefix + scope.take(None),
                                                   val.at("scale"), scope)
        if body is None or short is None:
            return ctx.items(val.get("after"), val.at("after"), scope, None)  # checked, builds nothing
        bs, ss = ctx.graph.nodes[body].shape, ctx.graph.nodes[short].shape
        if bs != ss:
            hint = _hint(bs, ss, ctx.graph.nodes[short].impl.family)
            ctx.error(f"cannot add {fmt(bs)} and {fmt(ss)}", val.at("shortcut") if "shortcut" in val else pos,
                      scope, hint)
            return ctx.items(val.get("after"), val.at("after"), scope, body)  # the sum has the body's shape
        added = ctx.node("add", REGISTRY["add"].Params(), [short, body], scope.prefix + scope.take(None), pos,
                         scope)
        return ctx.items(val.get("after"), val.at("after"), scope, added)

    def schema(self, js: SchemaBuilder) -> dict[str, Any]:
        s = js.model(ResidualDef)
        s["properties"]["shortcut"] = {"anyOf": [ITEMS, js.model(ShortcutDef)]}
        return s


def _shortcut(ctx: Context, val: SDict, scope: Scope, x: Value) -> Value:
    raw = val.get("shortcut")
    if raw is None:
        return x
    pos = val.at("shortcut")
    if not (isinstance(raw, SDict) and set(raw) <= _SHORTCUT_KEYS):
        return ctx.items(raw, pos, scope.child("shortcut"), x)
    d = ctx.validate(ShortcutDef, raw, pos, scope, "shortcut")
    if d is None or (x is None and reads_input(d.if_)):
        return None
    cond = ctx.value(d.if_, raw.at("if"), ctx.with_input(scope, x)) if "if" in raw else True
    key = ("then" if "then" in raw else "layers") if cond else "else"
    layers = raw.get(key)
    if layers is None:
        return x
    sub = scope.child(ctx.name(raw, "name", scope) or "shortcut")
    return ctx.items(layers, raw.at(key), sub, x)


def _hint(body: Shape, short: Shape, short_family: str) -> str:
    if len(body) != 3 or len(short) != 3:
        return f"the body ends with {fmt(body)}: make the shortcut match it"
    if short_family == "conv" and body[1:] == short[1:]:
        return f"the body ends with {body[0]} channels; give the shortcut conv out: {body[0]}"
    stride = short[1] // body[1] if body[1] and short[1] % body[1] == 0 else 1
    return (f"the body ends with {fmt(body)}: give the shortcut a projection, "
            f"e.g. [conv: {{out: {body[0]}, kernel: 1, stride: {stride}}}, bn]")
