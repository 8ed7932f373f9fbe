"""split: consecutive parts of one axis, each a named output (a `slice` node per part).

In the graph form a split without `branches` has several outputs, read as `from: NAME.PART`
(graph.py asks `split_parts` for them). As an item (in a sequence, a block body or a graph entry with
`branches`) each part goes through its branch, the identity where it has none, and the results are
concatenated again on the same axis: ShuffleNet's split, transform, concat.
"""

from __future__ import annotations

from typing import Any, cast

from archspec.errors import did_you_mean
from archspec.expand.combinators.base import Combinator, Context, Items, register
from archspec.expand.scope import Scope, Value
from archspec.ops.base import REGISTRY, OpError, fmt
from archspec.ops.slice import SliceParams, axis_of
from archspec.source import Pos, SDict, SList
from archspec.spec import Expr, Strict

Size = int | Expr


class SplitDef(Strict):
    sizes: dict[str, Size] | list[Size]  # part sizes in order, by name or by position; one -1 takes the rest
    axis: int | Expr = 1  # batch 0 counted; 1 is the channels
    branches: dict[str, Items] | None = None  # items applied to a part; the parts are then concatenated
    name: str | None = None


@register
class Split(Combinator):
    """Consecutive parts of one axis (channels by default): `sizes` as a mapping of named parts or a
    list (parts named by position), one -1 for the rest; each part goes through its entry of
    `branches` and the results are concatenated. In the graph form, without `branches`, the parts
    are outputs read as `from: NAME.PART`."""

    key = "split"
    Model = SplitDef

    def expand(self, ctx: Context, val: Any, pos: Pos | None, scope: Scope, x: Value) -> Value:
        d = ctx.validate(SplitDef, val, pos, scope, "split")
        if d is None:
            return None
        if d.branches is None:
            ctx.error("a split without 'branches' has several outputs, one per part", pos, scope,
                      "give 'branches' (the parts are then concatenated again), or read the parts in the "
                      "graph form: from: NAME.PART")
            return None
        parts = split_parts(ctx, val, pos, scope, x, scope.prefix + scope.take(None), d)
        unknown = [k for k in d.branches if parts is not None and k not in parts]
        for k in unknown:
            ctx.error(f"split has no part '{k}'", val["branches"].at(k), scope,
                      did_you_mean(k, list(parts or {})))
        if parts is None or unknown:
            return None
        outs = []
        for part, v in parts.items():
            if part not in d.branches:
                outs.append(v)
                continue
            braw, bpos = val["branches"][part], val["branches"].at(part)
            bname = part if isinstance(d.sizes, dict) else None  # parts by position: the next position, as concat's
            if isinstance(braw, SList):  # as concat's branches: a list opens a scope
                sub = scope.child(scope.take(bname))
                ctx.graph.scopes[sub.path] = "branch"
                outs.append(ctx.items(braw, bpos, sub, v))
            else:  # one item is the branch itself, named after it
                outs.append(ctx.item(braw, bpos, scope, v, name=bname))
        joined = [o for o in outs if o is not None]
        if len(joined) < len(outs):
            return None
        first = ctx.graph.nodes[str(next(iter(parts.values())))]  # every part has its slice by now
        axis = cast(SliceParams, first.params).axis
        cat = REGISTRY["concat"].Params.model_validate({"axis": axis})
        return ctx.node("concat", cat, joined, scope.prefix + scope.take(None), pos, scope)


def split_parts(ctx: Context, val: Any, pos: Pos | None, scope: Scope, x: Value, path: str,
                d: SplitDef | None = None) -> dict[str, Value] | None:
    """A `slice` node `<path>.<part>` per part of `x`, by part name; None (reported) on an error."""
    d = d or ctx.validate(SplitDef, val, pos, scope, "split")
    if d is None or x is None:
        return None
    shape, at = ctx.graph.nodes[x].shape, val.at("sizes")
    env = scope.with_env({"in_channels": shape[0]})
    raw = d.sizes.items() if isinstance(d.sizes, dict) else enumerate(d.sizes)
    sizes = {str(k): ctx.value(v, at, env) for k, v in raw}
    if any(v is None for v in sizes.values()):
        return None
    axis = ctx.value(d.axis, val.at("axis"), env)
    if not isinstance(axis, int) or isinstance(axis, bool):
        if axis is not None:
            ctx.error(f"split axis must be an integer, got {axis!r}", val.at("axis"), scope, path=path)
        return None
    try:
        axis = axis_of(axis, len(shape))
    except OpError as e:
        ctx.error(f"split: {e} (input {fmt(shape)})", val.at("axis"), scope, e.hint, path=path)
        return None
    try:
        bounds = _bounds(sizes, shape[axis - 1])
    except OpError as e:
        ctx.error(f"{e} (input {fmt(shape)})", at, scope, e.hint, path=path)
        return None
    bad = next((k for k in sizes if not k or "." in k), None)
    if bad is not None:
        ctx.error(f"a split part's name must be non-empty, without dots, got {bad!r}", at, scope)
        return None
    ctx.graph.scopes[path] = "split"
    slices = REGISTRY["slice"].Params
    return {k: ctx.node("slice", slices(axis=axis, start=s, end=e), [x], f"{path}.{k}", pos, scope)
            for k, (s, e) in bounds.items()}


def _bounds(sizes: dict[str, Any], total: int) -> dict[str, tuple[int, int]]:
    """Each part's (start, end) on an axis of `total` entries; one -1 takes what the others leave."""
    if len(sizes) < 2:
        raise OpError(f"a split needs two or more parts, got {len(sizes)}")
    if any(not isinstance(v, int) or isinstance(v, bool) or (v < 1 and v != -1) for v in sizes.values()) \
            or list(sizes.values()).count(-1) > 1:
        raise OpError(f"split sizes {list(sizes.values())} must be positive integers, with at most one -1")
    known = sum(v for v in sizes.values() if v != -1)
    rest = total - known
    if rest < (1 if -1 in sizes.values() else 0) or (rest and -1 not in sizes.values()):
        raise OpError(f"split sizes {list(sizes.values())} sum to {known}, but the axis has {total} entries",
                      "the sizes must add up to the axis; -1 takes the rest")
    out, start = {}, 0
    for k, v in sizes.items():
        end = start + (rest if v == -1 else v)
        out[k], start = (start, end), end
    return out


def is_split(entry: SDict) -> bool:
    """Whether a graph entry is a split with several outputs (no branches)."""
    val = entry.get("split")
    return isinstance(val, SDict) and "branches" not in val

