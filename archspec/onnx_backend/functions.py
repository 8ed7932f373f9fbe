"""`archspec compile --functions`: each scope (a block instance or a combinator's body) becomes a
call of an ONNX model-local function, as ONNX Script writes models, so the hierarchy survives in
the file (Netron opens a call into its body) and runtimes inline it back (onnxruntime does at
session start: outputs equal the flat graph's).

A function takes every value its body reads but does not write, the weights among them (a
function cannot read the graph's initializers), and returns the values read outside it. Inside,
values and nodes are named relative to the scope (`layer1.0.conv1.weight` is `conv1.weight` in
`layer1.0`), other inputs `x0, x1, ...` and outputs named from outside `y0, y1, ...`, so instances
of a block with the same body (weights of any shape) share one function: ResNet-18's eight basic
blocks are two functions, `basic` and `basic_2` (with a downsample). A function is named for its
block (`graph.scopes`), numbered when bodies differ. A call carries the spec line of its scope's
first node as doc_string. Values inside functions carry no value_info: one function serves
instances of different shapes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from archspec.ir import Graph
from archspec.onnx_backend.builder import OnnxNode
from archspec.onnx_backend.proto import CompileError, bytes_field, int_field, str_field

DOMAIN = "archspec"


@dataclass
class _Outliner:
    graph: Graph
    outputs: set[str]  # the graph's output values
    sources: Mapping[str, str]
    opset: int
    readers: dict[str, set[int]] = field(default_factory=dict)  # value -> indices of nodes reading it
    bodies: dict[bytes, str] = field(default_factory=dict)  # encoded function (no name) -> its name
    functions: list[bytes] = field(default_factory=list)

    def child_of(self, scope: str, owner: str) -> str | None:
        """The scope right below `scope` that holds IR node `owner`, or None when `scope` itself does."""
        parts = owner.split(".")
        start = len(scope.split(".")) if scope else 0
        for k in range(start + 1, len(parts)):
            name = ".".join(parts[:k])
            if name in self.graph.scopes:
                return name
        return None

    def level(self, scope: str, nodes: list[tuple[int, OnnxNode]]) -> list[OnnxNode]:
        """The nodes of `scope`, each child scope's nodes replaced by one call of its function."""
        direct: list[tuple[int, OnnxNode]] = []
        children: dict[str, list[tuple[int, OnnxNode]]] = {}
        for i, n in nodes:
            child = self.child_of(scope, n.owner)
            if child is None:
                direct.append((i, n))
            else:
                children.setdefault(child, []).append((i, n))
        items = direct + [(inside[0][0], self.call(child, inside)) for child, inside in children.items()]
        return _topological(sorted(items, key=lambda t: t[0]), scope)

    def call(self, scope: str, nodes: list[tuple[int, OnnxNode]]) -> OnnxNode:
        inside = {i for i, _ in nodes}
        written = [v for _, n in nodes for v in n.outputs]
        own = set(written)
        ins = list(dict.fromkeys(v for _, n in nodes for v in n.inputs if v not in own))
        outs = [v for v in written if v in self.outputs or self.readers.get(v, set()) - inside]
        body = self.level(scope, nodes)
        name = self.define(scope, body, ins, outs)
        return OnnxNode(name, ins, outs, scope, b"", nodes[0][1].owner, DOMAIN)

    def define(self, scope: str, body: list[OnnxNode], ins: list[str], outs: list[str]) -> str:
        """The function of `body` (a new one, or an equal one defined already); returns its name."""
        rename = _local_names(scope, body, ins, outs)
        nodes = b"".join(bytes_field(7, OnnxNode(
            n.op_type, [rename[v] for v in n.inputs], [rename[v] for v in n.outputs], _relative(scope, n.name),
            n.attrs, n.owner, n.domain).encode(self.sources.get(n.owner, ""))) for n in body)
        opsets = bytes_field(9, str_field(1, "") + int_field(2, self.opset))
        if any(n.domain == DOMAIN for n in body):
            opsets += bytes_field(9, str_field(1, DOMAIN) + int_field(2, 1))
        encoded = (b"".join(str_field(4, rename[v]) for v in ins) + b"".join(str_field(5, rename[v]) for v in outs)
                   + nodes + opsets + str_field(10, DOMAIN))
        if encoded not in self.bodies:
            block = self.graph.scopes[scope]
            taken = set(self.bodies.values())
            name = block if block not in taken else next(f"{block}_{k}" for k in range(2, len(taken) + 3)
                                                         if f"{block}_{k}" not in taken)
            self.bodies[encoded] = name
            self.functions.append(str_field(1, name) + encoded)
        return self.bodies[encoded]


def _relative(scope: str, name: str) -> str:
    return name[len(scope) + 1:] if name.startswith(scope + ".") else name


def _local_names(scope: str, body: list[OnnxNode], ins: list[str], outs: list[str]) -> dict[str, str]:
    """Names inside the function: relative to the scope where the value is the scope's, else
    `x<i>` for an input and `y<i>` for an output."""
    rename: dict[str, str] = {}
    for prefix, values in (("x", ins), ("y", outs)):
        for i, v in enumerate(values):
            rename[v] = _relative(scope, v) if v.startswith(scope + ".") else f"{prefix}{i}"
    for n in body:
        for v in n.outputs:
            rename.setdefault(v, _relative(scope, v) if v.startswith(scope + ".") else f"{scope}/{v}")
    if len(set(rename.values())) != len(rename):  # a relative name equal to an x<i> or y<i>
        raise CompileError(f"--functions: the values of scope '{scope}' do not get distinct local names")
    return rename


def _topological(items: list[tuple[int, OnnxNode]], scope: str) -> list[OnnxNode]:
    """The items in graph order where it is topological (always, in a flat graph), else the first
    ready item in that order; a scope that reads a value computed outside it from its own values
    cannot be one function."""
    written = {v: k for k, (_, n) in enumerate(items) for v in n.outputs}
    deps = [{written[v] for v in n.inputs if v in written} for _, n in items]
    done: set[int] = set()
    order: list[OnnxNode] = []
    while len(order) < len(items):
        ready = next((k for k in range(len(items)) if k not in done and deps[k] <= done), None)
        if ready is None:
            raise CompileError(f"--functions: the scopes in '{scope or 'the graph'}' depend on each other both "
                               f"ways, so they cannot be functions")
        done.add(ready)
        order.append(items[ready][1])
    return order


def outline(graph: Graph, nodes: list[OnnxNode], outputs: list[str], sources: Mapping[str, str],
            opset: int) -> tuple[list[bytes], list[bytes], list[str]]:
    """(the graph's encoded nodes, the encoded FunctionProtos, the values the graph's nodes write)."""
    o = _Outliner(graph, set(outputs), sources, opset)
    for i, n in enumerate(nodes):
        for v in n.inputs:
            o.readers.setdefault(v, set()).add(i)
    top = o.level("", list(enumerate(nodes)))
    encoded = [n.encode(sources.get(n.owner, "")) for n in top]
    return encoded, o.functions, [v for n in top for v in n.outputs]
