"""MACs counted in an ONNX graph, for .onnx files that come without their spec.

The same convention as archspec's cost pass: multiply-adds of Conv, Gemm and MatMul only,
one sample (BN, activations and pooling are not counted).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import onnx


def onnx_macs(proto: onnx.ModelProto, sample_shape: tuple[int, ...]) -> int:
    """Multiply-adds of one sample of `sample_shape` through `proto`."""
    shapes = _shapes(proto, sample_shape)
    total = 0
    for n in proto.graph.node:
        out = shapes.get(n.output[0]) if n.output else None
        operand = shapes.get(n.input[0 if n.op_type == "MatMul" else 1]) if len(n.input) > 1 else None
        if out is None or operand is None:  # a size shape inference could not tell
            continue
        if n.op_type == "Conv":  # each output element: C_in/groups * kernel multiply-adds
            total += math.prod(out) * math.prod(operand[1:])
        elif n.op_type == "Gemm":
            trans_b = next((a.i for a in n.attribute if a.name == "transB"), 0)
            total += math.prod(out) * operand[1 if trans_b else 0]
        elif n.op_type == "MatMul":
            total += math.prod(out) * operand[-1]
    return total


def _shapes(proto: onnx.ModelProto, sample_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """Every value's shape after ONNX shape inference, with the input fixed to (1, *sample_shape);
    values with a size it cannot tell are left out."""
    import onnx

    m = onnx.ModelProto()
    m.CopyFrom(proto)
    inits = {i.name: tuple(i.dims) for i in m.graph.initializer}
    first = next(i for i in m.graph.input if i.name not in inits)
    dims = first.type.tensor_type.shape.dim
    for d, v in zip(dims, (1, *sample_shape)):
        d.Clear()
        d.dim_value = v
    m = onnx.shape_inference.infer_shapes(m)
    shapes = dict(inits)
    for vi in [*m.graph.input, *m.graph.value_info, *m.graph.output]:
        t = vi.type.tensor_type
        if t.HasField("shape") and all(d.HasField("dim_value") for d in t.shape.dim):
            shapes[vi.name] = tuple(d.dim_value for d in t.shape.dim)
    return shapes
