"""IR -> onnx.ModelProto. Each op lowers itself (`Op.onnx`) into a Builder; this file names the
values, declares the graph's inputs and outputs, and assembles the model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from onnx import ModelProto, TensorProto, ValueInfoProto, helper

from archspec.ir import Graph
from archspec.onnx_backend.builder import Builder

Dims = Sequence[int | str | None]  # an ONNX shape: sizes, symbolic names, or unknown
Tensors = dict[str, np.ndarray]  # initializer name -> its values


class CompileError(ValueError):
    """Options or a graph that cannot become the ONNX model asked for."""


def value_names(graph: Graph) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The ONNX value of each IR node: its path, except that an output's node writes the output's
    name (`fc` writes `logits`). An output that cannot rename its node's value (the input, or a
    node another output named already) reads it through an Identity: returned as (output, node)."""
    values = {name: name for name in graph.nodes}
    identities = []
    for o in graph.outputs:
        if o.name in graph.nodes and o.name != o.node:
            raise CompileError(f"output '{o.name}' has the name of node '{o.name}'; rename one of them")
        if o.node != graph.input and values[o.node] == o.node:
            values[o.node] = o.name
        elif values[o.node] != o.name:
            identities.append((o.name, o.node))
    return values, identities


def emit(graph: Graph, weights: dict[str, np.ndarray], *, opset: int, batch: int | str, fp16: bool,
         io_dims: dict[str, Dims], metadata: dict[str, str], doc: str = "") -> tuple[ModelProto, Tensors]:
    """The model of `graph`, its initializers without their bytes, and those bytes' arrays by name
    (so a writer can stream them; `attach` puts them in). `io_dims` gives the per-sample dims of
    the input and output nodes."""
    values, identities = value_names(graph)
    b = Builder(graph, weights, values, opset)
    for node in graph.nodes.values():
        if node.op != "input":
            node.impl.onnx(node, b)
    for out, node in identities:
        b.nodes.append(helper.make_node("Identity", [values[node]], [out], name=out))
    elem = TensorProto.FLOAT16 if fp16 else TensorProto.FLOAT

    def io(value: str, node: str) -> ValueInfoProto:
        return helper.make_tensor_value_info(value, elem, [batch, *io_dims[node]])

    model = ModelProto()
    model.ir_version = helper.find_min_ir_version_for([helper.make_opsetid("", opset)])  # oldest runtime
    model.producer_name, model.producer_version = "archspec", metadata.get("archspec_version", "")
    model.doc_string = doc
    model.opset_import.add(domain="", version=opset)
    g = model.graph
    g.name = graph.name
    g.node.extend(b.nodes)
    g.input.append(io(graph.input, graph.input))
    g.output.extend(io(o.name, o.node) for o in graph.outputs)
    tensors: Tensors = {}
    for name, a in b.inits.items():
        a = tensors[name] = _cast(a, fp16)
        t = g.initializer.add()
        t.name, t.data_type = name, helper.np_dtype_to_tensor_dtype(a.dtype)
        t.dims.extend(a.shape)
    for key, value in sorted(metadata.items()):
        model.metadata_props.add(key=key, value=value)
    return model, tensors


def attach(model: ModelProto, tensors: Tensors) -> ModelProto:
    """Put the arrays' bytes into the initializers (in place) and return the model."""
    for t in model.graph.initializer:
        t.raw_data = tensors[t.name].tobytes()
    return model


def _cast(a: np.ndarray, fp16: bool) -> np.ndarray:
    """C order and little-endian, as ONNX stores raw data; float32 -> float16 for fp16 models."""
    dtype = np.float16 if fp16 and a.dtype == np.float32 else a.dtype
    return np.require(a, np.dtype(dtype).newbyteorder("<"), "C")  # (ascontiguousarray makes 0-d 1-d)
