"""The combinators that join tensors: residual, concat, dense; and the flow items repeat and if.

A mixin of Expander: each method expands one combinator through the expander's item and node
methods, so naming, errors and shape inference behave as for any other item.
"""

from __future__ import annotations

from typing import Any

from archspec.expand.scope import Scope, Value
from archspec.ops.base import REGISTRY, fmt
from archspec.source import Pos, SDict, SList
from archspec.spec import DenseDef, IfDef, RepeatDef, ResidualDef, ShortcutDef, validate


class Combinators:
    def body(self, key: str, val: Any, pos: Pos | None, scope: Scope, x: str) -> Value:
        if key == "seq":
            return self.items(val, pos, scope, x)
        return getattr(self, key if key != "graph" else "graph_form")(val, pos, scope, x)

    def residual(self, val: Any, pos: Pos | None, scope: Scope, x: str) -> Value:
        d = validate(ResidualDef, val, pos, self.errors, scope.prefix[:-1], "residual:")
        if d is None:
            return None
        body = self.items(val["body"], val.at("body"), scope, x)
        short = self._shortcut(val, scope, x)
        if body is None or short is None:
            return None
        if d.scale is not None:
            scale = self._value(d.scale, val.at("scale"), scope)
            if scale is None:
                return None
            body = self.node("scale", REGISTRY["scale"].Params(value=scale), [body],
                             scope.prefix + scope.take(None), val.at("scale"), scope)
            if body is None:
                return None
        bs, ss = self.graph.nodes[body].shape, self.graph.nodes[short].shape
        if bs != ss:
            hint = _residual_hint(bs, ss, self.graph.nodes[short].impl.family == "conv")
            at = val.at("shortcut") if "shortcut" in val else pos
            self.errors.add(f"cannot add {fmt(bs)} and {fmt(ss)}", at, scope.prefix[:-1], hint,
                            self._call_notes(scope))
            return self.items(val.get("after"), val.at("after"), scope, body)  # check what follows
        added = self.node("add", REGISTRY["add"].Params(), [short, body],
                          scope.prefix + scope.take(None), pos, scope)
        return self.items(val.get("after"), val.at("after"), scope, added)

    def _shortcut(self, val: SDict, scope: Scope, x: str) -> Value:
        raw = val.get("shortcut")
        if raw is None:
            return x
        pos = val.at("shortcut")
        if isinstance(raw, SDict) and set(raw) <= {"if", "then", "else", "layers", "name"}:
            d = validate(ShortcutDef, raw, pos, self.errors, scope.prefix[:-1], "shortcut:")
            if d is None:
                return None
            cond = self._value(d.if_, raw.at("if"), scope) if "if" in raw else True
            key = ("then" if "then" in raw else "layers") if cond else "else"
            layers = raw.get(key)
            if layers is None:
                return x
            sub = scope.child(self._name(raw, "name", scope) or "shortcut")
            return self.items(layers, raw.at(key), sub, x)
        return self.items(raw, pos, scope.child("shortcut"), x)

    def concat(self, val: Any, pos: Pos | None, scope: Scope, x: str) -> Value:
        if isinstance(val, SList):
            branches = [(None, b, val.at(i)) for i, b in enumerate(val)]  # named by position
        elif isinstance(val, SDict):
            branches = [(str(k), b, val.at(k)) for k, b in val.items()]
        else:
            self.errors.add("concat takes a list or a mapping of branches", pos, scope.prefix[:-1])
            return None
        if len(branches) < 2:
            self.errors.add("concat needs two or more branches", pos, scope.prefix[:-1])
            return None
        outs = []
        for bname, braw, bpos in branches:  # each takes a position, so the join's name is free
            if isinstance(braw, SList):
                sub = scope.child(scope.take(bname))
                self.graph.scopes[sub.prefix[:-1]] = "branch"
                outs.append(self.items(braw, bpos, sub, x))
            else:  # a single item is the branch itself, named after it
                outs.append(self.item(braw, bpos, scope, x, name=bname))
        if any(o is None for o in outs):
            return None
        return self.node("concat", REGISTRY["concat"].Params(), outs, scope.prefix + scope.take(None),
                         pos, scope)

    def dense(self, val: Any, pos: Pos | None, scope: Scope, x: str) -> Value:
        d = validate(DenseDef, val, pos, self.errors, scope.prefix[:-1], "dense:")
        if d is None:
            return None
        count = self._count(d.repeat, val.at("repeat"), scope)
        for i in range(count or 0):
            layer_scope = scope.with_env({"i": i})
            if isinstance(val["layer"], SList):
                layer_scope = scope.child(scope.take(None), env=scope.env | {"i": i})
                self.graph.scopes[layer_scope.prefix[:-1]] = "dense layer"
            y = self.items(val["layer"], val.at("layer"), layer_scope, x)
            if y is None:
                return None
            x = self.node("concat", REGISTRY["concat"].Params(), [x, y], scope.prefix + scope.take(None),
                          val.at("layer"), scope)
            if x is None:
                return None
        return x if count is not None else None

    def repeat(self, raw: SDict, pos: Pos | None, scope: Scope, x: Value) -> Value:
        d = validate(RepeatDef, raw, pos, self.errors, scope.prefix[:-1], "repeat:")
        if d is None:
            return None
        count = self._count(d.repeat, raw.at("repeat"), scope)
        if count is None:
            return None
        for i in range(count):
            x = self.items(raw["body"], raw.at("body"), scope.with_env({d.var: i}), x)
        return x

    def cond(self, raw: SDict, pos: Pos | None, scope: Scope, x: Value) -> Value:
        d = validate(IfDef, raw, pos, self.errors, scope.prefix[:-1], "if:")
        if d is None:
            return None
        test = self._value(d.if_, raw.at("if"), scope)
        key = "then" if test else "else"
        return self.items(raw.get(key), raw.at(key), scope, x)


def _residual_hint(body: tuple, short: tuple, short_conv: bool) -> str:
    if len(body) != 3 or len(short) != 3:
        return f"the body ends with {fmt(body)}: make the shortcut match it"
    if short_conv and body[1:] == short[1:]:
        return f"the body ends with {body[0]} channels; give the shortcut conv out: {body[0]}"
    stride = short[1] // body[1] if body[1] and short[1] % body[1] == 0 else 1
    return (f"the body ends with {fmt(body)}: give the shortcut a projection, "
            f"e.g. [conv: {{out: {body[0]}, kernel: 1, stride: {stride}}}, bn]")


