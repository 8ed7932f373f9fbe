"""Graph surgery shared by the passes: a copy of a graph without some nodes, consumers rewired."""

from __future__ import annotations

from dataclasses import replace

from archspec.ir import Graph, Node, Output


def bypass(graph: Graph, drop: dict[str, str], swap: dict[str, Node] | None = None,
           outputs: list[Output] | None = None) -> Graph:
    """A new graph without the nodes in `drop` (name -> the node whose value stands in for it);
    their consumers and outputs read the stand-in instead. `swap` replaces nodes by name. The
    input graph and its nodes are left untouched."""
    swap = swap or {}

    def resolve(name: str) -> str:
        while name in drop:
            name = drop[name]
        return name

    nodes: dict[str, Node] = {}
    for n in graph.nodes.values():
        if n.name in drop:
            continue
        n = swap.get(n.name, n)
        ins = [resolve(i) for i in n.inputs]
        nodes[n.name] = n if ins == n.inputs else replace(n, inputs=ins)
    outs = [replace(o, node=resolve(o.node)) for o in (graph.outputs if outputs is None else outputs)]
    return Graph(graph.name, graph.input, nodes, outs, graph.scopes)


def uses(graph: Graph) -> dict[str, int]:
    """How many times each node's value is read, by nodes and by graph outputs."""
    count = dict.fromkeys(graph.nodes, 0)
    for n in graph.nodes.values():
        for i in n.inputs:
            count[i] += 1
    for o in graph.outputs:
        count[o.node] += 1
    return count
