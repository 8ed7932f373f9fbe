"""IR passes of the deploy graph. Each pass is one file with
`run(graph, weights) -> (graph, weights, changed)`; it never mutates its inputs, except that a
`Deferred` array (drawn for one compile) is handed on, and may be changed in place, not copied."""

from __future__ import annotations

from types import ModuleType

from archspec.ir import Graph
from archspec.onnx_backend.passes import drop_train_only, fold_bn, remove_dropout
from archspec.parallel import Array


def deploy(graph: Graph, weights: dict[str, Array], fold: bool = True,
           train_only_dropped: bool = False) -> tuple[Graph, dict[str, Array]]:
    """Train-only outputs dropped (unless `train_only_dropped`: done already), dropout removed,
    BN folded into convs (when `fold`)."""
    for p in (*(() if train_only_dropped else (drop_train_only,)), remove_dropout, *((fold_bn,) if fold else ())):
        graph, weights = apply(p, graph, weights)
    return graph, weights


def apply(p: ModuleType, graph: Graph, weights: dict[str, Array]) -> tuple[Graph, dict[str, Array]]:
    """Run the pass `p`, then lint its graph."""
    graph, weights, _ = p.run(graph, weights)
    problems = graph.lint()
    if problems:  # a pass bug, not a user error
        raise AssertionError(f"{p.__name__}: IR lint failed: " + "; ".join(problems))
    return graph, weights
