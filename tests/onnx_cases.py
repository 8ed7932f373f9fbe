"""Shared by the ONNX tests (the every-op spec is the torch tests' too): cases and helpers."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

import archspec
from archspec.ir import Graph
from archspec.loader import builtin_names
from archspec.ops.base import state_key

EVERY_OP = Path(__file__).parent / "every_op.yaml"  # every op, and the lowering paths that differ


@cache
def every_op() -> archspec.Model:
    return archspec.load(EVERY_OP)


# Test-time policy for the zoo's largest built-ins, beside the reduced inputs of zoo_sizes.py (their
# figures stay checked at full size in test_zoo.py). ONNX_COVERED: the biggest members
# of a family, whose ONNX checks a smaller sibling with the very same blocks covers (vgg11 and
# vgg11_bn; resnext101_64x4d, wide_resnet50_2; regnet_x_8gf, regnet_y_8gf; swin_t for swin_s and
# swin_b), because each would spend 5-20 s compiling 0.3-0.6 GB of weights twice; they keep the
# torch-vs-reference check (which runs every key, shape and value of theirs against torchvision)
# and their figures. TOO_BIG: not
# built by any test (regnet_y_128gf: 644M params, 2.6 GB a copy; its ONNX needs external data):
# state_dict layout on the meta device and figures only (tests/test_zoo_cnn.py).
ONNX_COVERED = {*(f"vgg{d}{bn}" for d in (13, 16, 19) for bn in ("", "_bn")), "resnext101_32x8d",
                "wide_resnet101_2", *(f"regnet_{s}" for s in ("x_16gf", "x_32gf", "y_16gf", "y_32gf")),
                "swin_s", "swin_b",  # swin_t: the same blocks
                "vit_l_16", "vit_l_32"}  # vit_b_16 and vit_b_32: the same blocks, 304M params fewer
TOO_BIG = {"regnet_y_128gf", "vit_h_14"}  # vit_h_14: 632M params, 2.5 GB


def specs() -> list[str]:
    """The built-ins the ONNX tests compile: all but those a sibling covers or too big to build."""
    return [n for n in builtin_names() if n not in ONNX_COVERED | TOO_BIG]


def realistic(model: archspec.Model, seed: int = 1) -> dict[str, np.ndarray]:
    """Initial weights with non-trivial BN statistics and affine terms, so folding is really tested."""
    from archspec.weights import init_weights

    w = init_weights(model.graph, seed)
    rng = np.random.default_rng(seed)
    for k, v in w.items():
        if k.endswith(("running_mean", ".bias")) and v.ndim == 1:
            w[k] = rng.normal(0, 0.2, v.shape).astype(np.float32)
        elif k.endswith(("running_var", ".weight")) and v.ndim == 1:
            w[k] = rng.uniform(0.5, 1.5, v.shape).astype(np.float32)
    return w


def evaluate(graph: Graph, weights: dict[str, np.ndarray], x: np.ndarray) -> dict[str, np.ndarray]:
    """Every node's value from the ops' float64 numpy references (`Op.reference`): the graph's input
    node gets `x` as its one input."""
    vals: dict[str, np.ndarray] = {}
    for n in graph.nodes.values():
        w = {k: np.asarray(weights[state_key(n.name, k)], np.float64) for k in (*n.weights, *n.buffers)}
        ins = [vals[i] for i in n.inputs] if n.inputs else [x.astype(np.float64)]
        vals[n.name] = n.impl.reference(n, ins, w)
    return vals


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def run(model: onnx.ModelProto, x: np.ndarray) -> dict[str, np.ndarray]:
    s = session(model)
    return dict(zip([o.name for o in s.get_outputs()], s.run(None, {s.get_inputs()[0].name: x})))


def ort_max_opset() -> int:
    """The newest opset this onnxruntime loads (and onnx knows)."""
    from onnx import TensorProto, helper

    best = 13
    for v in range(13, onnx.defs.onnx_opset_version() + 1):
        g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", v)])
        m.ir_version = helper.find_min_ir_version_for(list(m.opset_import))
        try:
            session(m)
        except Exception:
            break
        best = v
    return best


def dims(v: onnx.ValueInfoProto) -> tuple:
    return tuple(d.dim_value if d.HasField("dim_value") else d.dim_param
                 for d in v.type.tensor_type.shape.dim)


def inferred_shapes(model: onnx.ModelProto) -> dict[str, tuple]:
    """Strict ONNX shape inference: the shape of each ONNX node's output, by node name."""
    inf = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    values = {v.name: dims(v) for v in (*inf.graph.value_info, *inf.graph.output, *inf.graph.input)}
    return {n.name: values[n.output[0]] for n in inf.graph.node}


def expose_all(model: onnx.ModelProto, names: list[str]) -> onnx.ModelProto:
    """A copy whose outputs also include the value of each ONNX node named in `names`."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for n in m.graph.node:
        if n.name in names and n.output[0] not in have:
            m.graph.output.append(onnx.helper.make_tensor_value_info(n.output[0], onnx.TensorProto.FLOAT, None))
    return m


def node_values(model: onnx.ModelProto, names: list[str], x: np.ndarray) -> dict[str, np.ndarray]:
    """onnxruntime's value of each IR node (by the ONNX node that bears its name)."""
    m = expose_all(model, names)
    out = run(m, x)
    return {n.name: out[n.output[0]] for n in m.graph.node if n.name in names}


def scale_diff(a: np.ndarray, ref: np.ndarray) -> float:
    """max |a - ref| relative to the reference's largest magnitude."""
    return float(np.abs(a - ref).max() / max(np.abs(ref).max(), 1e-12))
