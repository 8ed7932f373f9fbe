"""graph: named entries with explicit inputs (`from`), ordered by their dependencies."""

from __future__ import annotations

from typing import Any

from archspec.errors import did_you_mean
from archspec.expand.combinators.base import ENTRY, Combinator, Context, SchemaBuilder, register
from archspec.expand.combinators.split import is_split, split_parts
from archspec.expand.scope import ITEM_KEYS, Scope, Value
from archspec.ops.base import REGISTRY
from archspec.source import Pos, SDict, SList

Entries = dict[str, tuple[SDict, Pos | None, list[str]]]  # name -> (entry, position, its inputs)


@register
class GraphForm(Combinator):
    """The general form: named entries, each an item with `from` (default: the entry before;
    `in` is the input), for ops that join several tensors."""

    key = "graph"

    def expand(self, ctx: Context, val: Any, pos: Pos | None, scope: Scope, x: Value) -> Value:
        if not isinstance(val, SList) or not val:
            ctx.error("graph takes a non-empty list of named entries", pos, scope)
            return None
        entries = _entries(ctx, val, scope)
        if entries is None:
            return None
        inputs = {"in", ctx.spec.input.name} if not scope.prefix else {"in"}
        order = _toposort(ctx, entries, inputs, scope)
        if order is None:
            return None
        values: dict[str, Value] = dict.fromkeys(inputs, x)
        parts: dict[str, dict[str, Value]] = {}  # split entries' outputs, by part
        for name in order:
            e, epos, srcs = entries[name]
            ins = [_source(ctx, s, e, scope, name, values, parts) for s in srcs]
            if is_split(e):
                parts[name] = _split(ctx, name, e, epos, scope, ins) or {}
                values[name] = None
            else:
                values[name] = _entry(ctx, name, e, epos, scope, ins)
        last = next(reversed(entries))
        if parts.get(last):
            ctx.error(f"the graph ends with split '{last}', which has several outputs", entries[last][1], scope,
                      "end the graph with an entry that reads them, e.g. a concat")
        return values[last]

    def schema(self, js: SchemaBuilder) -> dict[str, Any]:
        return {"type": "array", "items": ENTRY}


def _entries(ctx: Context, val: SList, scope: Scope) -> Entries | None:
    entries: Entries = {}
    prev = "in"
    for i, e in enumerate(val):
        epos = val.at(i)
        name = ctx.name(e, "name", scope) if isinstance(e, SDict) else None
        if name is None:
            ctx.error("each graph entry needs a 'name'", epos, scope)
            return None
        if name in entries or name == "in":
            ctx.error(f"two graph entries are named '{name}'", epos, scope)
            return None
        src = e.get("from", prev)
        entries[name] = (e, epos, [src] if isinstance(src, str) else list(src))
        prev = name
    return entries


def _source(ctx: Context, src: str, e: SDict, scope: Scope, name: str, values: dict[str, Value],
            parts: dict[str, dict[str, Value]]) -> Value:
    """The value `from` names: an entry, the input, or a part of a split (`split.part`)."""
    head, _, part = src.partition(".")
    if src in values and head not in parts:
        return values[src]
    if head not in parts:  # a part of an entry that is no split: _toposort lets it through
        ctx.error(f"'from' names '{src}', but '{head}' is no split with parts", _from_pos(e), scope,
                  path=scope.prefix + name)
        return None
    outs = parts[head]
    if not part and outs:
        ctx.error(f"'from' names split '{head}', which has several outputs", _from_pos(e), scope,
                  f"name one: {', '.join(f'{head}.{k}' for k in outs)}", path=scope.prefix + name)
        return None
    if outs and part not in outs:
        ctx.error(f"split '{head}' has no output '{part}'", _from_pos(e), scope,
                  did_you_mean(part, list(outs)), path=scope.prefix + name)
        return None
    return outs.get(part)


def _from_pos(e: SDict) -> Pos | None:
    return e.at("from") if "from" in e else e.pos


def _split(ctx: Context, name: str, e: SDict, epos: Pos | None, scope: Scope,
           ins: list[Value]) -> dict[str, Value] | None:
    if len(ins) != 1:
        ctx.error(f"'split' takes one input, got {len(ins)}", _from_pos(e), scope, path=scope.prefix + name)
        return None
    return split_parts(ctx, e["split"], e.at("split"), scope, ins[0], scope.prefix + name)


def _entry(ctx: Context, name: str, e: SDict, epos: Pos | None, scope: Scope, ins: list[Value]) -> Value:
    """The entry applied to `ins`; one whose input an earlier error poisoned is still checked (its
    op, params and arity), as an item after an error in a sequence is, and builds nothing."""
    key = next((k for k in e if k not in ITEM_KEYS), None)
    if key in REGISTRY and REGISTRY[key].arity is None:
        return ctx.keyed(key, e[key], e.at(key), epos, scope, ins, name)
    item = SDict((k, v) for k, v in e.items() if k != "from")
    item.pos, item.key_pos, item.val_pos = e.pos, e.key_pos, e.val_pos
    if len(ins) == 1:
        return ctx.item(item, epos, scope, ins[0])
    if any(v is None for v in ins):
        return ctx.item(item, epos, scope, None) if not (isinstance(key, str) and ctx.known(key)) else None
    if isinstance(key, str) and ctx.known(key):  # an op, block or combinator of one input
        ctx.error(f"'{key}' takes one input, got {len(ins)}", e.at("from"), scope, path=scope.prefix + name)
        return None
    return ctx.item(item, epos, scope, None)  # an unknown key, or not one key: reported as in a sequence


def _toposort(ctx: Context, entries: Entries, inputs: set[str], scope: Scope) -> list[str] | None:
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    ok = True

    def visit(n: str, trail: list[str]) -> None:
        nonlocal ok
        if state.get(n) == 2:
            return
        if state.get(n) == 1:
            cycle = " -> ".join([*trail[trail.index(n):], n])
            ctx.error(f"the graph has a cycle: {cycle}", entries[n][1], scope, path=scope.prefix + n)
            ok = False
            return
        state[n] = 1
        e, epos, srcs = entries[n]
        for s in srcs:
            if s in inputs:
                continue
            if s not in entries and s.partition(".")[0] in entries:  # a split's part: `split.part`
                s = s.partition(".")[0]
            if s not in entries:
                ctx.error(f"'from' names no entry: '{s}'", e.at("from") if "from" in e else epos, scope,
                          did_you_mean(s, [*entries, *inputs]), path=scope.prefix + n)
                ok = False
                continue
            visit(s, [*trail, n])
        state[n] = 2
        order.append(n)

    for n in entries:
        visit(n, [])
    return order if ok else None
