"""Shared by the ONNX tests: a small spec that uses every op of the registry, and helpers."""

from __future__ import annotations

from functools import cache

import numpy as np
import onnx
import onnxruntime as ort

import archspec
from archspec.loader import builtin_names

# Every registry op, and the lowering paths that differ: BN folded into a conv with and without
# bias, BN without affine, BN on a flat tensor (kept), odd and even LRN, trainable and fixed ELU,
# Softplus with beta and a low threshold, a 3-input add, ceil-mode pools, adaptive pools that
# divide and do not, a train-only head.
ALL_OPS = """
archspec: 1
name: allops
input: {name: x, shape: [3, 21, 19]}
output: probs
blocks:
  add3:
    graph:
      - {name: a, conv: {out: 16, kernel: 1, bias: false}, from: in}
      - {name: b, tanh: {}, from: in}
      - {name: c, sigmoid: {}, from: in}
      - {name: sum, add: {}, from: [a, b, c]}
  branches:
    graph:
      - {name: soft, seq: [conv: {out: 6, kernel: 1}, softplus: {beta: 2.0, threshold: 5.0}], from: in}
      - {name: avg, seq: [avgpool: {kernel: 3, stride: 1, pad: 1, count_include_pad: false},
                          elu: {a: 0.5, trainable: false}], from: in}
      - {name: plain, seq: [conv: {out: 4, kernel: 1}, softplus], from: in}
      - {name: pad, channel_pad: {out: 19}, from: in}
      - {name: keep, identity: {}, from: in}
      - {name: cat, concat: {}, from: [soft, avg, plain, pad, keep]}
layers:
  - conv: {out: 8, kernel: [3, 5], pad: [1, 2, 2, 1], name: stem}
  - bn: {name: stem_bn}
  - leaky_relu: 0.1
  - maxpool: {kernel: 3, stride: 2, ceil_mode: true, name: pool1}
  - lrn: {size: 5, alpha: 0.001, beta: 0.75, k: 2.0}
  - lrn: {size: 4, alpha: 0.01, name: lrn_even}
  - residual:
      name: res1
      body:
        - conv: {out: 8, kernel: 3, pad: 1, groups: 4, bias: false}
        - bn: {affine: false, eps: 0.001}
        - elu
        - conv: {out: 8, kernel: 3, pad: 2, dilation: 2}
      scale: 0.2
      after: {shifted_relu: 0.5}
  - residual:
      name: down
      body:
        - conv: {out: 16, kernel: 3, stride: 2, pad: 1, bias: false}
        - bn
        - relu
      shortcut: [channel_pad: {out: 16, stride: 2}]
  - add3: {name: mix}
  - branches: {name: branches}
  - avgpool: {kernel: 2, ceil_mode: true, name: pool2}
  - dropout: 0.3
  - global_avgpool
  - flatten
  - linear: {out: 10, name: fc}
  - bn: {name: head_bn}
  - softmax
outputs:
  - name: aux
    from: mix.sum
    train_only: true
    layers: [adaptive_avgpool: [3, 5], adaptive_avgpool: [2, 2], global_avgpool, flatten, dropout: 0.2,
             linear: {out: 5, bias: false}]
"""


@cache
def all_ops() -> archspec.Model:
    return archspec.loads(ALL_OPS, name="allops.yaml")


def specs() -> list[str]:
    return builtin_names()


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
