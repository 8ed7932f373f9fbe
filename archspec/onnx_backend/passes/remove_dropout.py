"""Remove dropout: at inference it is the identity, so its consumers read its input."""

from __future__ import annotations

import numpy as np

from archspec.ir import Graph
from archspec.onnx_backend.passes.rewire import bypass


def run(graph: Graph, weights: dict[str, np.ndarray]) -> tuple[Graph, dict[str, np.ndarray], bool]:
    drop = {n.name: n.inputs[0] for n in graph.nodes.values() if n.op == "dropout"}
    return (bypass(graph, drop), weights, True) if drop else (graph, weights, False)
