"""Remove dropout: at inference it is the identity, so its consumers read its input."""

from __future__ import annotations

from archspec.ir import Graph
from archspec.onnx_backend.passes.rewire import bypass
from archspec.parallel import Array


def run(graph: Graph, weights: dict[str, Array]) -> tuple[Graph, dict[str, Array], bool]:
    drop = {n.name: n.inputs[0] for n in graph.nodes.values() if n.op == "dropout"}
    return (bypass(graph, drop), weights, True) if drop else (graph, weights, False)
