"""Fold a multiplication by a constant into the convolution that feeds it: every node with a
constant `factor` (scale) whose input is an `absorbs_norm` node (conv) read by nothing else.

    s * conv(x) = s * (W * x + b) = (s * W) * x + s * b

so the conv alone with W' = s * W and b' = s * b computes the pair. Inception-ResNet-v2 scales
each residual branch's last conv (`conv2d`, with bias) before the add (y = relu(x + s * conv2d(..)),
timm's Block35/17/8): its 40 scales fold; the add reads the conv. Exact only when nothing else
reads the conv's output (one reader, not a graph output). W' and b' are rounded to float32 once
(relative 6e-8), where the pair rounds the product at run time instead.
"""

from __future__ import annotations

import numpy as np

from archspec.ir import Graph
from archspec.parallel import Array, Deferred
from archspec.passes.base import PassResult, Weights, counted, op_nodes
from archspec.passes.fold_bn import scale_rows
from archspec.passes.rewire import bypass, uses


def fold_scale(graph: Graph, weights: Weights) -> PassResult:
    readers = uses(graph)
    pairs = [(graph.nodes[n.inputs[0]], n) for n in op_nodes(graph) if n.impl.factor(n) is not None]
    pairs = [(conv, s) for conv, s in pairs
             if conv.name != graph.input and conv.impl.absorbs_norm and readers[conv.name] == 1]
    if not pairs:
        return PassResult(graph, weights, False)
    weights, drop = dict(weights), {}
    for conv, s in pairs:
        factor = np.float32(s.impl.factor(s))
        for local in conv.weights:  # weight, and bias where it has one
            key = f"{conv.name}.{local}"
            weights[key] = _times(weights[key], factor)
        drop[s.name] = conv.name
    note = f"folded {counted([f'{s.op} into {conv.op}' for conv, s in pairs])}"
    return PassResult(bypass(graph, drop), weights, True, note)


def _times(a: Array, factor: np.float32) -> Array:
    """a * factor, a new array (the weights given are not changed) or, for a Deferred drawn for
    this compile alone, scaled in place as it is drawn."""
    s = np.full(a.shape[:1], factor, np.float32)
    if isinstance(a, Deferred):
        return a.then(lambda v: scale_rows(v, s, v))
    return scale_rows(np.asarray(a), s)

