"""Remove every node that returns its input unchanged, by its op's `noop(node, input shapes)`: a
scale by 1 (Inception-ResNet-v2's last Block8), an adaptive pool to the size it has (AlexNet's
6x6 pool at 224x224), a channel pad to as many channels without stride, an identity. Its
consumers and outputs read its input. Such a node computes exactly its input, so the outputs do
not change at all; onnxsim and onnxslim would otherwise remove the ONNX node themselves."""

from __future__ import annotations

from archspec.ir import Graph
from archspec.passes.base import PassResult, Weights, counted, op_nodes
from archspec.passes.rewire import bypass


def drop_noops(graph: Graph, weights: Weights) -> PassResult:
    gone = [n for n in op_nodes(graph)
            if len(n.inputs) == 1 and n.impl.noop(n, [graph.nodes[n.inputs[0]].shape])]
    if not gone:
        return PassResult(graph, weights, False)
    new = bypass(graph, {n.name: n.inputs[0] for n in gone})
    return PassResult(new, weights, True, f"removed {counted([n.op for n in gone])}")
