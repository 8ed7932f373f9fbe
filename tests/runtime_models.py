"""Small ONNX models made with onnx.helper, for runtime tests that need no compiler."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TINY_MACS = 4 * 8 * 8 * 3 * 3 * 3 + 5 * 4  # conv: 256 outputs x 27; gemm: 5 x 4


def tiny_model(preprocess: dict | None = None, labels: list[str] | None = None, channels: int = 3,
               batch: int | str = "N", softmax: bool = False, seed: int = 0, hw: tuple = (8, 8),
               meta: dict[str, str] | None = None) -> onnx.ModelProto:
    """image [N,C,8,8] -> conv 3x3 (4) -> relu -> global avg pool -> flatten -> gemm (5) [-> softmax].
    `hw` ("H", "W") makes the size symbolic, as --dynamic-hw does; `meta` adds metadata."""
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), n) for n, s in
             [("c.weight", (4, channels, 3, 3)), ("c.bias", (4,)), ("fc.weight", (5, 4)), ("fc.bias", (5,))]]
    nodes = [helper.make_node("Conv", ["image", "c.weight", "c.bias"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("GlobalAveragePool", ["r"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["fc" if softmax else "logits"], transB=1)]
    if softmax:
        nodes.append(helper.make_node("Softmax", ["fc"], ["logits"], axis=1))
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                                                            [batch, channels, *hw])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, 5])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    helper.set_model_props(m, {"spec": "tiny", "preprocess": json.dumps(preprocess), "labels": json.dumps(labels),
                               **(meta or {})})
    onnx.checker.check_model(m)
    return m


def save(m: onnx.ModelProto, path: Path) -> Path:
    onnx.save(m, str(path))
    return path
