"""Expansion: a spec's blocks, args, expressions, repeats and combinators become the flat IR.

Naming follows nn.Sequential: an item without `name:` is named by its position in
its scope. Block calls, named combinators and concat branches open a scope
(`layer1.0.`); unnamed combinators, `repeat` and `if` are transparent. Every node's
shape, weights and MACs are inferred as it is created, so errors point at the
item that caused them. An error poisons only the tensor it produced: later items
that consume it are skipped, independent ones are still checked.

Besides args and loop variables, the expressions of op params and block args see
`in_channels`, the channel (or feature) count of the tensor the item receives; an
`outputs:` entry's `from` may name a block call or named combinator, meaning its output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from archspec.errors import Collector, did_you_mean
from archspec.expr import ExprError, substitute
from archspec.ir import Graph, Node, Output
from archspec.loader import Source
from archspec.ops.base import REGISTRY, OpError, fmt
from archspec.source import Pos, SDict, SList
from archspec.spec import (
    BODY_KEYS,
    ArgSpec,
    BlockDef,
    DenseDef,
    IfDef,
    OutputDef,
    RepeatDef,
    ResidualDef,
    ShortcutDef,
    SpecFile,
    report_errors,
    validate,
)

COMBINATORS = frozenset(BODY_KEYS)
ITEM_KEYS = ("name", "from", "freeze")  # keys allowed beside the op/block/combinator key
_TYPES = {"int": int, "float": (int, float), "bool": bool, "str": str, "list": list}

Value = str | None  # the node producing the current tensor; None once an error poisoned it


@dataclass
class _Counter:
    n: int = 0


@dataclass
class Scope:
    prefix: str
    env: dict[str, Any]
    calls: tuple[tuple[Pos | None, str], ...] = ()
    counter: _Counter = field(default_factory=_Counter)
    train_only: bool = False

    def child(self, name: str, env: dict[str, Any] | None = None,
              call: tuple[Pos | None, str] | None = None) -> Scope:
        calls = (*self.calls, call) if call else self.calls
        return Scope(f"{self.prefix}{name}.", self.env if env is None else env, calls,
                     train_only=self.train_only)

    def with_env(self, extra: dict[str, Any]) -> Scope:
        return Scope(self.prefix, self.env | extra, self.calls, self.counter, self.train_only)

    def take(self, given: str | None) -> str:
        """The local name of the next item: its own, or its position."""
        n = self.counter.n
        self.counter.n += 1
        return given if given else str(n)


class Expander:
    def __init__(self, src: Source, spec: SpecFile, errors: Collector):
        self.src, self.spec, self.errors = src, spec, errors
        self.graph = Graph(spec.name, spec.input.name)
        self.blocks: dict[str, tuple[SDict, Pos | None, BlockDef]] = {}
        self._params_cache: dict[tuple, Any] = {}
        self._block_args: dict[str, dict[str, ArgSpec]] = {}
        self.scope_out: dict[str, str] = {}  # block call / named combinator path -> its output node

    # ---- entry -------------------------------------------------------------------------

    def run(self, input_shape: tuple[int, ...]) -> Graph:
        self._check_blocks()
        raw = self.src.raw
        g = self.graph
        g.add(Node(self.spec.input.name, "input", None, [], input_shape, pos=raw.at("input")))
        top = Scope("", dict(self.spec.args))
        has_layers, has_graph = self.spec.layers is not None, self.spec.graph is not None
        if has_layers == has_graph:
            self.errors.add("a spec has exactly one of 'layers' or 'graph'", raw.pos)
            return g
        body = "layers" if has_layers else "graph"
        if has_layers:
            out = self.items(raw["layers"], raw.at("layers"), top, self.spec.input.name)
        else:
            out = self.graph_form(raw["graph"], raw.at("graph"), top, self.spec.input.name)
        if out is not None:
            g.outputs.append(Output(self.spec.output, out))
        elif not self.errors.items:
            self.errors.add(f"'{body}' produces no output", raw.at(body))
        self._extra_outputs(raw, top)
        return g

    def _check_blocks(self) -> None:
        for name, (raw, pos) in self.src.blocks.items():
            if name in REGISTRY or name in COMBINATORS or name in ("repeat", "if"):
                self.errors.add(f"block name '{name}' is taken by an op or combinator", pos)
                continue
            bdef = validate(BlockDef, raw, pos, self.errors, what=f"block '{name}':")
            if bdef is None:
                continue
            bodies = [k for k in BODY_KEYS if getattr(bdef, k) is not None]
            if len(bodies) != 1:
                self.errors.add(f"block '{name}' needs exactly one body ({', '.join(BODY_KEYS)}), "
                                f"got {len(bodies)}", pos)
                continue
            self.blocks[name] = (raw, pos, bdef)
            self._block_args[name] = {k: v if isinstance(v, ArgSpec) else ArgSpec(type=v)
                                      for k, v in bdef.args.items()}

    def _extra_outputs(self, raw: SDict, top: Scope) -> None:
        outs = raw.get("outputs") or []
        for i, o in enumerate(self.spec.outputs):
            oraw = outs[i]
            src = self.scope_out.get(o.from_, o.from_)
            if src not in self.graph.nodes:
                self.errors.add(f"output '{o.name}': 'from' names no node or block: '{o.from_}'",
                                oraw.at("from"), hint=did_you_mean(o.from_, [*self.graph.nodes, *self.scope_out]))
                continue
            scope = Scope(f"{o.name}.", top.env, train_only=o.train_only)
            self.graph.scopes[o.name] = "train-only output" if o.train_only else "output"
            out = self.items(oraw.get("layers"), oraw.at("layers"), scope, src) if o.layers else src
            if out is not None:
                self.graph.outputs.append(Output(o.name, out, o.train_only))

    # ---- sequences and items -----------------------------------------------------------

    def items(self, raw: Any, pos: Pos | None, scope: Scope, x: Value) -> Value:
        """A list of items, or one item, applied in order."""
        if raw is None:
            return x
        if isinstance(raw, SList):
            for i, item in enumerate(raw):
                x = self.item(item, raw.at(i), scope, x)
            return x
        return self.item(raw, pos, scope, x)

    def item(self, raw: Any, pos: Pos | None, scope: Scope, x: Value, name: str | None = None) -> Value:
        """One item. With x None (an earlier error) it is still validated, but builds nothing."""
        if isinstance(raw, str):
            return self._keyed(raw, None, pos, pos, scope, [x], name)
        if not isinstance(raw, SDict) or not raw:
            self.errors.add(f"expected an op, block or combinator, got {raw!r}", pos, scope.prefix[:-1])
            return None
        if "repeat" in raw:
            return self.repeat(raw, pos, scope, x)
        if "if" in raw:
            return self.cond(raw, pos, scope, x)
        keys = [k for k in raw if k not in ITEM_KEYS]
        if len(keys) != 1:
            got = ", ".join(map(str, keys)) or "none"
            self.errors.add(f"an item has exactly one op, block or combinator key; got: {got}", pos,
                            scope.prefix[:-1], hint="give each op its own list item: '- relu'")
            return None
        key = keys[0]
        given = name if name is not None else self._name(raw, "name", scope)
        extras = {k: raw[k] for k in ("freeze",) if k in raw}
        return self._keyed(key, raw[key], raw.at(key), pos, scope, [x], given, extras)

    def _keyed(self, key: Any, val: Any, vpos: Pos | None, pos: Pos | None, scope: Scope,
               ins: list[str], name: str | None, extras: dict | None = None) -> Value:
        # `concat` with one input is the combinator (branches); the op joins several (graph form)
        if key in REGISTRY and not (key in COMBINATORS and len(ins) == 1):
            return self.op(key, val, vpos, pos, scope, ins, name, extras or {})
        if key in self.blocks:
            return self.call(key, val, vpos, pos, scope, ins[0], name)
        if key in COMBINATORS:
            if None in ins:
                return None
            sub = scope.child(scope.take(name)) if name else scope
            if not name:
                return self.body(key, val, vpos, sub, ins[0])
            self.graph.scopes[sub.prefix[:-1]] = key
            return self._scope_output(sub, self.body(key, val, vpos, sub, ins[0]))
        known = [*REGISTRY, *self.blocks, *COMBINATORS, "repeat", "if"]
        self.errors.add(f"unknown op or block '{key}'", pos, scope.prefix + scope.take(name),
                        did_you_mean(key, known),
                        notes=self._call_notes(scope))
        return None

    def _name(self, raw: SDict, key: str, scope: Scope) -> str | None:
        if key not in raw:
            return None
        try:
            value = substitute(raw[key], scope.env)
        except ExprError as e:
            self.errors.add(str(e), raw.at(key), scope.prefix[:-1])
            return None
        if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value) or "." in str(value):
            self.errors.add(f"a name must be a non-empty string without dots, got {value!r}",
                            raw.at(key), scope.prefix[:-1])
            return None
        return str(value)

    # ---- ops -----------------------------------------------------------------------------

    def op(self, key: str, val: Any, vpos: Pos | None, pos: Pos | None, scope: Scope,
           ins: list[str], name: str | None, extras: dict) -> Value:
        op = REGISTRY[key]
        if isinstance(val, SDict):
            name = self._name(val, "name", scope) if "name" in val else name
            extras = extras | ({"freeze": val["freeze"]} if "freeze" in val else {})
            raw = {k: (v, val.at(k)) for k, v in val.items() if k not in ("name", "freeze")}
        elif val is None:
            raw = {}
        elif op.shorthand is not None:
            raw = {op.shorthand: (val, vpos)}
        else:
            self.errors.add(f"'{key}' takes a mapping of params, got {val!r}", vpos, scope.prefix[:-1])
            return None
        path = scope.prefix + scope.take(name)
        params: dict[str, Any] = {}
        env = self._env(scope, ins)
        for k, (v, at) in raw.items():
            try:
                params[k] = substitute(v, env)
            except ExprError as e:
                if None not in ins:  # else `in_channels` is unknown only because of an earlier error
                    self.errors.add(str(e), at, path, notes=self._call_notes(scope))
                return None
        p = self._params(key, params, val, vpos or pos, path, scope)
        if p is None or None in ins:
            return None
        return self.node(key, p, ins, path, pos, scope, bool(extras.get("freeze", False)))

    def _params(self, key: str, params: dict, raw: Any, pos: Pos | None, path: str, scope: Scope) -> Any:
        cache_key = (key, _freeze(params))
        if cache_key in self._params_cache:
            return self._params_cache[cache_key]
        op = REGISTRY[key]
        try:
            p = op.Params.model_validate(params)
        except ValidationError as e:
            n = len(self.errors.items)
            report_errors(e.errors(), raw if isinstance(raw, SDict) else None, pos, self.errors, path,
                          op.Params, what=key)
            for d in self.errors.items[n:]:
                d.notes = self._call_notes(scope)
            return None
        self._params_cache[cache_key] = p
        return p

    def node(self, key: str, p: Any, ins: list[str], path: str, pos: Pos | None, scope: Scope,
             frozen: bool = False) -> Value:
        op, g = REGISTRY[key], self.graph
        if path in g.nodes:
            first = g.nodes[path].pos
            self.errors.add(f"two nodes are named '{path}'", pos, path,
                            "give one of them another name:",
                            notes=[(first, "the first is here")] if first else None)
            return None
        shapes = [g.nodes[i].shape for i in ins]
        if (op.arity == 1 and len(ins) != 1) or (op.arity is None and len(ins) < 2):
            want = "one input" if op.arity == 1 else "two or more inputs"
            self.errors.add(f"'{key}' takes {want}, got {len(ins)}", pos, path,
                            "in a sequence use the residual or concat combinator, or the graph form"
                            if op.arity is None else "")
            return None
        try:
            shape = op.shape(p, shapes)
            weights, buffers = op.weights(p, shapes, shape), op.buffers(p, shapes, shape)
            macs = op.macs(p, shapes, shape)
        except OpError as e:
            self.errors.add(str(e), pos, path, e.hint, self._call_notes(scope))
            return None
        g.add(Node(path, key, p, list(ins), shape, weights, buffers, macs, pos, scope.train_only, frozen))
        return path

    def _env(self, scope: Scope, ins: list[Value]) -> dict[str, Any]:
        """What an item's expressions see: `in_channels` of its (first) input, then the scope's names."""
        if not ins or ins[0] is None:
            return scope.env
        return {"in_channels": self.graph.nodes[ins[0]].shape[0]} | scope.env

    def _scope_output(self, scope: Scope, out: Value) -> Value:
        if out is not None:
            self.scope_out[scope.prefix[:-1]] = out
        return out

    def _call_notes(self, scope: Scope) -> list[tuple[Pos, str]]:
        return [(pos, f"in block '{name}' called here") for pos, name in reversed(scope.calls) if pos]

    # ---- blocks ------------------------------------------------------------------------

    def call(self, key: str, val: Any, vpos: Pos | None, pos: Pos | None, scope: Scope, x: str,
             name: str | None) -> Value:
        raw, _, bdef = self.blocks[key]
        if any(n == key for _, n in scope.calls):
            self.errors.add(f"block '{key}' calls itself", pos, scope.prefix[:-1])
            return None
        args = self._args(key, val, vpos, pos, scope, x)
        if args is None or x is None:
            return None
        if isinstance(val, SDict) and "name" in val:
            name = self._name(val, "name", scope)
        sub = scope.child(scope.take(name), env=dict(self.spec.args) | args, call=(pos, key))
        self.graph.scopes[sub.prefix[:-1]] = key
        body = next(k for k in BODY_KEYS if getattr(bdef, k) is not None)
        return self._scope_output(sub, self.body(body, raw[body], raw.at(body), sub, x))

    def _args(self, key: str, val: Any, vpos: Pos | None, pos: Pos | None, scope: Scope,
              x: Value) -> dict | None:
        decl = self._block_args[key]
        given = val if isinstance(val, SDict) else {}
        if val is not None and not isinstance(val, SDict):
            self.errors.add(f"block '{key}' takes a mapping of args, got {val!r}", vpos, scope.prefix[:-1])
            return None
        out, ok, env = {}, True, self._env(scope, [x])
        for k in given:
            if k not in decl and k not in ITEM_KEYS:
                self.errors.add(f"block '{key}' has no arg '{k}'", given.key_pos.get(k), scope.prefix[:-1],
                                did_you_mean(k, decl) if decl else f"'{key}' takes no args")
                ok = False
        for k, spec in decl.items():
            if k in given:
                try:
                    v = substitute(given[k], env)
                except ExprError as e:
                    if x is not None:  # else `in_channels` is unknown only because of an earlier error
                        self.errors.add(str(e), given.at(k), scope.prefix[:-1], notes=self._call_notes(scope))
                    ok = False
                    continue
            elif spec.default is not None:
                v = spec.default
            else:
                self.errors.add(f"block '{key}' needs arg '{k}' ({spec.type})", pos, scope.prefix[:-1],
                                notes=self._call_notes(scope))
                ok = False
                continue
            if not isinstance(v, _TYPES[spec.type]) or (spec.type in ("int", "float") and isinstance(v, bool)):
                if spec.type == "int" and isinstance(v, float) and v.is_integer():
                    v = int(v)
                else:
                    self.errors.add(f"block '{key}' arg '{k}' must be {spec.type}, got {v!r}",
                                    given.at(k) if k in given else pos, scope.prefix[:-1])
                    ok = False
                    continue
            out[k] = v
        return out if ok else None

    # ---- combinators ---------------------------------------------------------------------

    def body(self, key: str, val: Any, pos: Pos | None, scope: Scope, x: str) -> Value:
        if key == "seq":
            return self.items(val, pos, scope, x)
        return getattr(self, key if key != "graph" else "graph_form")(val, pos, scope, x)

    def residual(self, val: Any, pos: Pos | None, scope: Scope, x: str) -> Value:
        d = validate(ResidualDef, val, pos, self.errors, scope.prefix[:-1], "residual:")
        if d is None:
            return None
        if d.name:
            scope = scope.child(scope.take(d.name))
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
            hint = _residual_hint(bs, ss, self.graph.nodes[short].op)
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
            branches = [(str(i), b, val.at(i)) for i, b in enumerate(val)]
        elif isinstance(val, SDict):
            branches = [(str(k), b, val.at(k)) for k, b in val.items()]
        else:
            self.errors.add("concat takes a list or a mapping of branches", pos, scope.prefix[:-1])
            return None
        if len(branches) < 2:
            self.errors.add("concat needs two or more branches", pos, scope.prefix[:-1])
            return None
        outs = []
        for bname, braw, bpos in branches:
            if isinstance(braw, SList):
                sub = scope.child(bname)
                self.graph.scopes[sub.prefix[:-1]] = "branch"
                outs.append(self.items(braw, bpos, sub, x))
            else:  # a single item is the branch itself, named after it
                outs.append(self.item(braw, bpos, scope.with_env({}), x, name=bname))
        if any(o is None for o in outs):
            return None
        return self.node("concat", REGISTRY["concat"].Params(), outs, scope.prefix + scope.take(None),
                         pos, scope)

    def dense(self, val: Any, pos: Pos | None, scope: Scope, x: str) -> Value:
        d = validate(DenseDef, val, pos, self.errors, scope.prefix[:-1], "dense:")
        if d is None:
            return None
        if d.name:
            scope = scope.child(scope.take(d.name))
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

    def graph_form(self, val: Any, pos: Pos | None, scope: Scope, x: str) -> Value:
        """Named entries with explicit inputs (`from`), ordered by their dependencies."""
        if not isinstance(val, SList) or not val:
            self.errors.add("graph takes a non-empty list of named entries", pos, scope.prefix[:-1])
            return None
        entries: dict[str, tuple[SDict, Pos | None, list[str]]] = {}
        prev = "in"
        for i, e in enumerate(val):
            epos = val.at(i)
            name = self._name(e, "name", scope) if isinstance(e, SDict) else None
            if name is None:
                self.errors.add("each graph entry needs a 'name'", epos, scope.prefix[:-1])
                return None
            if name in entries or name == "in":
                self.errors.add(f"two graph entries are named '{name}'", epos, scope.prefix[:-1])
                return None
            src = e.get("from", prev)
            entries[name] = (e, epos, [src] if isinstance(src, str) else list(src))
            prev = name
        inputs = {"in", self.spec.input.name} if not scope.prefix else {"in"}
        order = self._toposort(entries, inputs, scope)
        if order is None:
            return None
        values: dict[str, Value] = {n: x for n in inputs}
        for name in order:
            e, epos, srcs = entries[name]
            ins = [values[s] for s in srcs]
            if any(v is None for v in ins):
                values[name] = None
                continue
            key = next((k for k in e if k not in ITEM_KEYS), None)
            if key in REGISTRY and REGISTRY[key].arity is None:
                values[name] = self._keyed(key, e[key], e.at(key), epos, scope, ins, name)
            elif len(ins) != 1:
                self.errors.add(f"'{key}' takes one input, got {len(ins)}", e.at("from"), scope.prefix + name)
                values[name] = None
            else:
                item = SDict((k, v) for k, v in e.items() if k != "from")
                item.pos, item.key_pos, item.val_pos = e.pos, e.key_pos, e.val_pos
                values[name] = self.item(item, epos, scope, ins[0])
        return values[next(reversed(entries))]

    def _toposort(self, entries: dict, inputs: set[str], scope: Scope) -> list[str] | None:
        order, state, ok = [], {}, True  # state: 1 visiting, 2 done

        def visit(n: str, trail: list[str]) -> None:
            nonlocal ok
            if state.get(n) == 2:
                return
            if state.get(n) == 1:
                cycle = " -> ".join([*trail[trail.index(n):], n])
                self.errors.add(f"the graph has a cycle: {cycle}", entries[n][1], scope.prefix + n)
                ok = False
                return
            state[n] = 1
            e, epos, srcs = entries[n]
            for s in srcs:
                if s in inputs:
                    continue
                if s not in entries:
                    self.errors.add(f"'from' names no entry: '{s}'", e.at("from") if "from" in e else epos,
                                    scope.prefix + n, did_you_mean(s, [*entries, *inputs]))
                    ok = False
                    continue
                visit(s, [*trail, n])
            state[n] = 2
            order.append(n)

        for n in entries:
            visit(n, [])
        return order if ok else None

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

    # ---- values ------------------------------------------------------------------------

    def _value(self, v: Any, pos: Pos | None, scope: Scope) -> Any:
        try:
            return substitute(v, scope.env)
        except ExprError as e:
            self.errors.add(str(e), pos, scope.prefix[:-1], notes=self._call_notes(scope))
            return None

    def _count(self, v: Any, pos: Pos | None, scope: Scope) -> int | None:
        n = self._value(v, pos, scope)
        if isinstance(n, float) and n.is_integer():
            n = int(n)
        if not isinstance(n, int) or isinstance(n, bool):
            if n is not None:
                self.errors.add(f"repeat count must be an integer, got {n!r}", pos, scope.prefix[:-1])
            return None
        if n < 0:
            self.errors.add(f"repeat count must be >= 0, got {n}", pos, scope.prefix[:-1],
                            notes=self._call_notes(scope))
            return None
        return n


def _residual_hint(body: tuple, short: tuple, short_op: str) -> str:
    if len(body) != 3 or len(short) != 3:
        return f"the body ends with {fmt(body)}: make the shortcut match it"
    if short_op == "conv" and body[1:] == short[1:]:
        return f"the body ends with {body[0]} channels; give the shortcut conv out: {body[0]}"
    stride = short[1] // body[1] if body[1] and short[1] % body[1] == 0 else 1
    return (f"the body ends with {fmt(body)}: give the shortcut a projection, "
            f"e.g. [conv: {{out: {body[0]}, kernel: 1, stride: {stride}}}, bn]")


def _freeze(v: Any) -> Any:
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    return (type(v).__name__, v)


def expand(src: Source, input_shape: tuple[int, ...] | None = None) -> Graph:
    """Validate and expand a read spec into its IR; raises SpecError with every problem found."""
    errors = Collector()
    spec = validate(SpecFile, src.raw, src.raw.pos, errors)
    errors.raise_if_any()
    exp = Expander(src, spec, errors)
    graph = exp.run(tuple(input_shape or spec.input.shape))
    errors.raise_if_any()
    problems = graph.lint()
    if problems:  # a bug in archspec, not in the spec
        raise AssertionError("IR lint failed: " + "; ".join(problems))
    return graph


__all__ = ["Expander", "OutputDef", "expand"]
