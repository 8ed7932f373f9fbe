"""Remove every op that is the identity at inference (`inference_identity`: dropout): its consumers
read its input."""

from __future__ import annotations

from archspec.ir import Graph
from archspec.passes.base import PassResult, Weights, counted, op_nodes
from archspec.passes.rewire import bypass


def remove_dropout(graph: Graph, weights: Weights) -> PassResult:
    gone = [n for n in op_nodes(graph) if n.impl.inference_identity]
    if not gone:
        return PassResult(graph, weights, False)
    new = bypass(graph, {n.name: n.inputs[0] for n in gone})
    return PassResult(new, weights, True, f"removed {counted([n.op for n in gone])}")
