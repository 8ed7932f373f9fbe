"""The expander: spec items to IR nodes (ops, block calls, names, params, values).

It is the :class:`~archspec.expand.combinators.Context` every combinator expands through.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from archspec.errors import Collector, Diagnostic, SpecError, did_you_mean
from archspec.expand.blocks import Block, read_blocks, typed, unknown_args
from archspec.expand.combinators import COMBINATORS, flow_keys
from archspec.expand.scope import ITEM_KEYS, Scope, Value, input_names, reads_input
from archspec.expr import ExprError, substitute
from archspec.ir import Graph, Node, Output
from archspec.limits import LIMITS
from archspec.loader import Source
from archspec.ops._foreign import foreign_hint
from archspec.ops.base import REGISTRY, Op, OpError
from archspec.source import Pos, SDict, SList
from archspec.spec import SpecFile, report_errors, validate


class Expander:
    def __init__(self, src: Source, spec: SpecFile, errors: Collector):
        self.src, self.spec, self.errors = src, spec, errors
        self.graph = Graph(spec.name, spec.input.name)
        self.blocks: dict[str, Block] = {}
        self._params_cache: dict[tuple[Any, ...], Any] = {}
        self.scope_out: dict[str, str] = {}  # block call / named combinator path -> its output node
        self.iterations = 0  # of every repeat and dense so far: nested repeats multiply

    # ---- entry -------------------------------------------------------------------------

    def run(self, input_shape: tuple[int, ...]) -> Graph:
        self.blocks = read_blocks(self.src, self.errors)
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
        out = self.body("seq" if has_layers else "graph", raw[body], raw.at(body), top, self.spec.input.name)
        if out is not None:
            g.outputs.append(Output(self.spec.output, out))
        elif not self.errors.items:
            self.errors.add(f"'{body}' produces no output", raw.at(body))
        self._extra_outputs(raw, top)
        if not self.errors.items:  # after an error, nodes cut off by it would be reported too
            self._unread()
        return g

    def _unread(self) -> None:
        """A node that neither an output nor another node reads is an error: counted in params and
        MACs but dropped by the deploy compile, it would be a model that is not the one described."""
        g = self.graph
        read = {o.node for o in g.outputs} | {i for n in g.nodes.values() for i in n.inputs}
        for n in g.nodes.values():
            if n.name not in read and n.op != "input":
                self.errors.add("nothing reads this node's output", n.pos, n.name,
                                "read it with 'from' in a later node or an 'outputs' entry, or remove it")

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

    def body(self, key: str, val: Any, pos: Pos | None, scope: Scope, x: Value) -> Value:
        """The combinator `key` applied to `x`."""
        return COMBINATORS[key].expand(self, val, pos, scope, x)

    def items(self, raw: Any, pos: Pos | None, scope: Scope, x: Value) -> Value:
        """A list of items, or one item, applied in order. After an error the later items are still
        checked, with what they can be checked against."""
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
            return self.keyed(raw, None, pos, pos, scope, [x], name)
        if not isinstance(raw, SDict) or not raw:
            self.error(f"expected an op, block or combinator, got {raw!r}", pos, scope)
            return None
        flow = next((k for k in flow_keys() if k in raw), None)
        if flow is not None:
            return self.body(flow, raw, pos, scope, x)
        keys = [k for k in raw if k not in ITEM_KEYS]
        if len(keys) != 1:
            got = ", ".join(map(str, keys)) or "none"
            self.error(f"an item has exactly one op, block or combinator key; got: {got}", pos, scope,
                       hint="give each op its own list item: '- relu'")
            return None
        key = keys[0]
        given = name if name is not None else self.name(raw, "name", scope)
        frozen = bool(raw.get("freeze", False))
        return self.keyed(key, raw[key], raw.at(key), pos, scope, [x], given, frozen)

    def keyed(self, key: str, val: Any, vpos: Pos | None, pos: Pos | None, scope: Scope,
              ins: list[Value], name: str | None, frozen: bool = False) -> Value:
        # `concat` with one input is the combinator (branches); the op joins several (graph form)
        if key in REGISTRY and not (key in COMBINATORS and len(ins) == 1):
            return self.op(key, val, vpos, pos, scope, ins, name, frozen)
        if key in self.blocks:
            return self.call(self.blocks[key], val, vpos, pos, scope, ins[0], name)
        if key in COMBINATORS and not COMBINATORS[key].flow:
            if name is None and isinstance(val, SDict) and "name" in val:  # residual: {name: x, ...}
                name = self.name(val, "name", scope)
            if not name:  # transparent for names, one position for numbers
                return self.body(key, val, vpos, scope.numbered(), ins[0])
            sub = scope.child(scope.take(name))
            self.graph.scopes[sub.path] = key
            return self._scope_output(sub, self.body(key, val, vpos, sub, ins[0]))
        known = {*REGISTRY, *self.blocks, *COMBINATORS} - {"input"}
        hint = foreign_hint(key, known) or did_you_mean(key, known)
        self.errors.add(f"unknown op or block '{key}'", pos, scope.prefix + scope.take(name), hint,
                        notes=self.call_notes(scope))
        return None

    def known(self, key: str) -> bool:
        return key in REGISTRY or key in self.blocks or key in COMBINATORS

    # ---- ops -----------------------------------------------------------------------------

    def op(self, key: str, val: Any, vpos: Pos | None, pos: Pos | None, scope: Scope,
           ins: list[Value], name: str | None, frozen: bool = False) -> Value:
        op = REGISTRY[key]
        if isinstance(val, SDict):
            name = self.name(val, "name", scope) if "name" in val else name
            frozen = bool(val["freeze"]) if "freeze" in val else frozen
            raw = {k: (v, val.at(k)) for k, v in val.items() if k not in ("name", "freeze")}
        elif val is None:
            raw = {}
        elif op.shorthand is not None:
            raw = {op.shorthand: (val, vpos)}
        else:
            self.error(f"'{key}' takes a mapping of params, got {val!r}", vpos, scope)
            return _stand_in(op, ins)
        path = scope.prefix + scope.take(name)
        params: dict[str, Any] = {}
        env, ok = self._env(scope, ins), True
        for k, (v, at) in raw.items():
            try:
                params[k] = substitute(v, env)
            except ExprError as e:
                if None not in ins or not reads_input(v):  # else only the earlier error made it fail
                    self.error(str(e), at, scope, path=path)
                ok = False
        p = self._params(key, params, val, vpos or pos, path, scope) if ok else None
        if p is None:
            return _stand_in(op, ins)
        known = [i for i in ins if i is not None]
        if len(known) < len(ins):
            return None
        return self.node(key, p, known, path, pos, scope, frozen)

    def _params(self, key: str, params: dict[str, Any], raw: Any, pos: Pos | None, path: str,
                scope: Scope) -> Any:
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
                d.notes = self.call_notes(scope)
            return None
        self._params_cache[cache_key] = p
        return p

    def node(self, key: str, p: Any, ins: list[str], path: str, pos: Pos | None, scope: Scope,
             frozen: bool = False) -> Value:
        op, g = REGISTRY[key], self.graph
        if path in g.nodes:
            first = g.nodes[path].pos
            self.errors.add(f"two nodes are named '{path}'", pos, path, "give one of them another name:",
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
            self.error(str(e), pos, scope, e.hint, path=path)
            return None
        if len(g.nodes) >= LIMITS.nodes:
            raise SpecError(Diagnostic(f"the spec expands to more than {LIMITS.nodes:,} nodes (limit nodes)", pos,
                                       path, "raise it with --limit nodes=N"))
        g.add(Node(path, key, p, list(ins), shape, weights, buffers, macs, pos, scope.train_only, frozen))
        return path

    def _env(self, scope: Scope, ins: list[Value]) -> dict[str, Any]:
        """What an item's expressions see: `in_channels` (and `in_height`, `in_width`) of its (first)
        input, then the scope's names, which win."""
        if not ins or ins[0] is None:
            return scope.env
        return input_names(self.graph.nodes[ins[0]].shape) | scope.env

    def with_input(self, scope: Scope, x: Value) -> Scope:
        return scope.with_env(self._env(scope, [x])) if x is not None else scope

    # ---- blocks ------------------------------------------------------------------------

    def call(self, block: Block, val: Any, vpos: Pos | None, pos: Pos | None, scope: Scope, x: Value,
             name: str | None) -> Value:
        if any(n == block.name for _, n in scope.calls):
            self.error(f"block '{block.name}' calls itself", pos, scope)
            return None
        args = self._args(block, val, vpos, pos, scope, x)
        if args is None or x is None:
            return None
        if isinstance(val, SDict) and "name" in val:
            name = self.name(val, "name", scope)
        sub = scope.child(scope.take(name), env=dict(self.spec.args) | args, call=(pos, block.name))
        self.graph.scopes[sub.path] = block.name
        raw = block.raw
        return self._scope_output(sub, self.body(block.body, raw[block.body], raw.at(block.body), sub, x))

    def _args(self, block: Block, val: Any, vpos: Pos | None, pos: Pos | None, scope: Scope,
              x: Value) -> dict[str, Any] | None:
        if val is not None and not isinstance(val, SDict):
            self.error(f"block '{block.name}' takes a mapping of args, got {val!r}", vpos, scope)
            return None
        given = val if isinstance(val, SDict) else SDict()
        out: dict[str, Any] = {}
        env = self._env(scope, [x])
        bad = unknown_args(block, given) if given else []
        for k, at, hint in bad:
            self.errors.add(f"block '{block.name}' has no arg '{k}'", at, scope.path, hint)
        ok = not bad
        # given args in the caller's names; then defaults, which are expressions in the block's own
        # names: the input's, the spec's args and the args before them (given or defaulted)
        order = [k for k in block.args if k in given] + [k for k in block.args if k not in given]
        for k in order:
            spec = block.args[k]
            if k in given:
                v, at, names = given[k], given.at(k), env
            elif spec.default is not None:
                v, at, names = spec.default, _default_pos(block, k) or pos, self._env(scope, [x]) | self.spec.args | out
            else:
                self.error(f"block '{block.name}' needs arg '{k}' ({spec.type})", pos, scope)
                ok = False
                continue
            try:
                v = substitute(v, names)
            except ExprError as e:
                if x is not None or not reads_input(v):  # else only the earlier error made it fail
                    self.error(str(e), at, scope)
                ok = False
                continue
            fits, v = typed(spec, v)
            if not fits:
                self.errors.add(f"block '{block.name}' arg '{k}' must be {spec.type}, got {v!r}", at, scope.path)
                ok = False
                continue
            out[k] = v
        return out if ok else None

    # ---- names, values, errors -----------------------------------------------------------

    def name(self, raw: Any, key: str, scope: Scope) -> str | None:
        if not isinstance(raw, SDict) or key not in raw:
            return None
        try:
            value = substitute(raw[key], scope.env)
        except ExprError as e:
            self.errors.add(str(e), raw.at(key), scope.path)
            return None
        if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value) or "." in str(value):
            self.errors.add(f"a name must be a non-empty string without dots, got {value!r}", raw.at(key),
                            scope.path)
            return None
        return str(value)

    def value(self, v: Any, pos: Pos | None, scope: Scope) -> Any:
        try:
            return substitute(v, scope.env)
        except ExprError as e:
            self.error(str(e), pos, scope)
            return None

    def count(self, v: Any, pos: Pos | None, scope: Scope) -> int | None:
        n = self.value(v, pos, scope)
        if isinstance(n, float) and n.is_integer():
            n = int(n)
        if not isinstance(n, int) or isinstance(n, bool):
            if n is not None:
                self.errors.add(f"repeat count must be an integer, got {n!r}", pos, scope.path)
            return None
        if n < 0:
            self.error(f"repeat count must be >= 0, got {n}", pos, scope)
            return None
        if n > LIMITS.repeat:
            self.error(f"repeat count {n:,} is past the limit {LIMITS.repeat:,}", pos, scope,
                       "raise it with --limit repeat=N")
            return None
        self.iterations += n
        if self.iterations > LIMITS.nodes:  # ends the expansion: nested repeats could run for hours
            raise SpecError(Diagnostic(f"repeats expand to more than {LIMITS.nodes:,} iterations (limit nodes)",
                                       pos, scope.path, "raise it with --limit nodes=N"))
        return n

    def validate(self, model: type[BaseModel], raw: Any, pos: Pos | None, scope: Scope, what: str) -> Any:
        return validate(model, raw, pos, self.errors, scope.path, what)

    def error(self, message: str, pos: Pos | None, scope: Scope, hint: str = "", path: str | None = None) -> None:
        self.errors.add(message, pos, scope.path if path is None else path, hint, self.call_notes(scope))

    def call_notes(self, scope: Scope) -> list[tuple[Pos, str]]:
        return [(pos, f"in block '{name}' called here") for pos, name in reversed(scope.calls) if pos]

    def _scope_output(self, scope: Scope, out: Value) -> Value:
        if out is not None:
            self.scope_out[scope.path] = out
        return out


def _stand_in(op: Op[Any], ins: list[Value]) -> Value:
    """What follows an op whose params are wrong: its input, where its output has the input's shape
    whatever the params (an elementwise op), so later items are still checked soundly; else None."""
    elementwise = op.arity == 1 and type(op).shape is Op.shape
    return ins[0] if elementwise and len(ins) == 1 else None



def _default_pos(block: Block, arg: str) -> Pos | None:
    args = block.raw.get("args")
    spec = args.get(arg) if isinstance(args, SDict) else None
    return spec.at("default") if isinstance(spec, SDict) and "default" in spec else None


def _freeze(v: Any) -> Any:
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    return (type(v).__name__, v)
