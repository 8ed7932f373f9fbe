"""Shared by the pass tests: a graph as it stands, before or after a pass, run on onnxruntime."""

from __future__ import annotations

import numpy as np
from onnx_cases import run

from archspec.ir import Graph
from archspec.onnx_backend.compile import DEFAULT_OPSET
from archspec.onnx_backend.emit import emit
from archspec.parallel import Array


def outputs(graph: Graph, weights: dict[str, Array], x: np.ndarray) -> dict[str, np.ndarray]:
    """onnxruntime's outputs of `graph` (every output, train-only ones included) on input `x`."""
    compiled = emit(graph, weights, opset=DEFAULT_OPSET, batch="N", fp16=False, metadata={})
    return run(compiled.proto(), x)


def sample(graph: Graph, batch: int = 2, seed: int = 0) -> np.ndarray:
    """A standard normal input batch for `graph`."""
    shape = graph.nodes[graph.input].shape
    return np.random.default_rng(seed).standard_normal((batch, *shape)).astype(np.float32)
