"""A compiled .onnx file as a graph to draw (`archspec graph FILE.onnx`).

archspec names every ONNX node by its spec path (the steps of a multi-node lowering as
`path/step`), so the dotted names give the same scopes, clusters and `--depth` cut as the spec.
What is drawn is the compiled graph: BN folded into convs, dropout gone, as deployed.
Shapes come from ONNX shape inference; a node's params are the initializers named under it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from archspec.ir import Graph, Node, Output
from archspec.ops import REGISTRY
from archspec.ops.base import Params

# ONNX op -> drawing family (Op.family of the archspec ops they lower)
FAMILY = {
    "Conv": "conv", "Gemm": "linear", "MatMul": "linear", "BatchNormalization": "norm", "LRN": "norm",
    "Relu": "activation", "LeakyRelu": "activation", "Elu": "activation", "PRelu": "activation",
    "Softplus": "activation", "Sigmoid": "activation", "Tanh": "activation", "Softmax": "activation",
    "MaxPool": "pool", "AveragePool": "pool", "GlobalAveragePool": "pool", "Add": "merge", "Sum": "merge",
    "Concat": "merge",
}


class Detail(Params):
    """The params of a node drawn from an ONNX file: its key attributes as one label."""

    text: str = ""


def onnx_op(op_type: str) -> str:
    """The op name a drawn ONNX node carries (so drawing can tell it from an archspec op)."""
    return f"onnx:{op_type}"


def read_onnx(path: str | Path) -> Graph:
    """The nodes of the ONNX file at `path` as a Graph (ops named `onnx:<OpType>`, params the label
    detail); raises ValueError for a file onnx cannot read."""
    import onnx
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

    try:
        model = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    except (DecodeError, onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        raise ValueError(f"{path}: not an ONNX model onnx can read ({e})") from None
    g = model.graph
    inits = {i.name: tuple(i.dims) for i in g.initializer}
    shapes = {v.name: _dims(v) for v in [*g.input, *g.value_info, *g.output]}
    graph = Graph(g.name or Path(path).stem, "")
    producer: dict[str, str] = {}
    for i in g.input:
        if i.name not in inits:
            shape = shapes.get(i.name, ())
            params = REGISTRY["input"].Params.model_construct(shape=shape)  # sizes may be symbolic
            graph.add(Node(i.name, "input", params, [], shape))
            producer[i.name] = i.name
            graph.input = graph.input or i.name
    for k, n in enumerate(g.node):
        name = n.name or f"{n.op_type}_{k}"
        weights = {x: inits[x] for x in n.input if x in inits and x.startswith(name.split("/")[0] + ".")}
        out = shapes.get(n.output[0], ()) if n.output else ()
        ins = [producer[x] for x in n.input if x in producer]
        graph.add(Node(name, onnx_op(n.op_type), Detail(text=_detail(n, inits)), ins, out, weights=weights,
                       macs=_macs(n, out, inits)))
        for o in n.output:
            producer[o] = name
    graph.outputs = [Output(o.name, producer[o.name]) for o in g.output if o.name in producer]
    return graph


def _dims(value: Any) -> tuple[Any, ...]:
    """A value's per-sample shape: the batch dim dropped, other symbolic dims by their names."""
    dims = value.type.tensor_type.shape.dim
    return tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in dims[1:])


def _attr(n: Any, name: str) -> list[int]:
    return next((list(a.ints) for a in n.attribute if a.name == name), [])


def _detail(n: Any, inits: dict[str, tuple[int, ...]]) -> str:
    """Key params in a few characters, as the archspec ops' summaries write them."""
    kernel, strides = _attr(n, "kernel_shape"), _attr(n, "strides")
    parts = ["x".join(map(str, kernel))] if kernel else []
    if n.op_type in ("Conv", "Gemm") and len(n.input) > 1 and n.input[1] in inits:
        parts.append(str(inits[n.input[1]][0]))
    if strides and max(strides) > 1:
        parts.append(f"/{strides[0]}")
    return ", ".join(parts)


def _macs(n: Any, out: tuple[Any, ...], inits: dict[str, tuple[int, ...]]) -> int:
    """Conv and Gemm multiply-adds of one sample (archspec's convention)."""
    w = inits.get(n.input[1]) if len(n.input) > 1 else None
    if w is None or not all(isinstance(d, int) for d in out):
        return 0
    if n.op_type == "Conv":
        return int(math.prod(out) * math.prod(w[1:]))
    if n.op_type == "Gemm":
        return int(math.prod(out) * math.prod(w) // w[0])
    return 0
