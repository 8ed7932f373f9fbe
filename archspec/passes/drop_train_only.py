"""Drop train-only outputs (auxiliary heads) and every node that only they need."""

from __future__ import annotations

from archspec.ir import Graph, Node, Output
from archspec.passes.base import PassResult, Weights
from archspec.passes.rewire import bypass
from archspec.weights import expected


def live_nodes(graph: Graph, outputs: list[Output]) -> list[Node]:
    """The nodes `outputs` depend on (the input included), in graph order."""
    need, stack = {graph.input}, [o.node for o in outputs]
    while stack:
        name = stack.pop()
        if name not in need:
            need.add(name)
            stack.extend(graph.nodes[name].inputs)
    return [n for n in graph.nodes.values() if n.name in need]


def eval_outputs(graph: Graph) -> list[Output]:
    return [o for o in graph.outputs if not o.train_only]


def drop_train_only(graph: Graph, weights: Weights) -> PassResult:
    outputs = eval_outputs(graph)
    live = {n.name for n in live_nodes(graph, outputs)}
    dead = [n for n in graph.nodes.values() if n.name not in live]
    if not dead and len(outputs) == len(graph.outputs):
        return PassResult(graph, weights, False)
    # a dropped node has no consumer left, so it needs no stand-in; `bypass` only removes it
    new = bypass(graph, {n.name: graph.input for n in dead}, outputs=outputs)
    gone = expected(dead)
    names = [o.name for o in graph.outputs if o.train_only]
    note = f"dropped {len(dead)} nodes" + (f" and train-only {', '.join(names)}" if names else "")
    return PassResult(new, {k: v for k, v in weights.items() if k not in gone}, True, note)
