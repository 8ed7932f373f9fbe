"""The expander: spec items to IR nodes (ops, block calls, names, params, values)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from archspec.errors import Collector, did_you_mean
from archspec.expand.combinators import Combinators
from archspec.expand.graph_form import GraphForm
from archspec.expand.scope import COMBINATORS, ITEM_KEYS, Scope, Value
from archspec.expr import ExprError, substitute
from archspec.ir import Graph, Node, Output
from archspec.loader import Source
from archspec.ops.base import REGISTRY, OpError
from archspec.source import Pos, SDict, SList
from archspec.spec import BODY_KEYS, ArgSpec, BlockDef, SpecFile, report_errors, validate

_TYPES = {"int": int, "float": (int, float), "bool": bool, "str": str, "list": list}


class Expander(Combinators, GraphForm):
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
        g.add(Node(self.spec.input.name, "input", REGISTRY["input"].Params(shape=input_shape), [], input_shape,
                   pos=raw.at("input")))
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
            if name is None and isinstance(val, SDict) and "name" in val:  # residual: {name: x, ...}
                name = self._name(val, "name", scope)
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



def _freeze(v: Any) -> Any:
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    return (type(v).__name__, v)


