"""IR -> an encoded ONNX model. Each op lowers itself (`Op.onnx`) into a Builder; this file names
the values, declares the graph's inputs and outputs, and assembles the model's pieces."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from archspec.ir import Graph
from archspec.onnx_backend import proto
from archspec.onnx_backend.builder import Builder, OnnxNode, ValueType
from archspec.onnx_backend.metadata import META_VERSION
from archspec.onnx_backend.proto import CompileError as CompileError  # defined beside EncodeError, its kind
from archspec.onnx_backend.proto import bytes_field, int_field, key, str_field, varint
from archspec.ops.base import OpError
from archspec.parallel import Array, Deferred, cancel, resolve

if TYPE_CHECKING:
    import onnx

Dims = Sequence[int | str | None]  # an ONNX shape: sizes, symbolic names, or unknown
GRAPH, INITIALIZER, RAW_DATA = 7, 5, 9  # ModelProto.graph, GraphProto.initializer, TensorProto.raw_data
PROTOBUF_LIMIT = 2**31 - 1  # the largest message protobuf parses or serialises, in bytes
FUNCTION_DOMAIN = "archspec"  # the domain of the model-local functions of `--functions`
FUNCTIONS_IR = 8  # the first IR version with model-local functions (onnx 1.10)


class Writer(Protocol):
    def write(self, data: bytes | memoryview, /) -> int: ...


@dataclass
class Compiled:
    """A model as the encoded ModelProto fields around its initializers, and their arrays: a writer
    streams the arrays' bytes, or moves them to an external file, without copying them into a
    protobuf message. An array may still be being drawn (`Deferred`): the writer waits for each in
    turn. Pieces in field-number order: model fields 1-6, graph (7): nodes and name
    (fields 1-2), initializers (5), inputs, outputs and value_info (11-13); model fields 8, 14
    and 25 (functions)."""

    model_head: bytes
    graph_head: bytes
    tensors: dict[str, tuple[bytes, Array]]  # name -> (TensorProto fields before raw_data, values)
    graph_tail: bytes
    model_tail: bytes
    report: tuple[str, ...] = ()  # what each pass of the compile did (`archspec compile -v`)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for _, a in self.tensors.values())

    def write(self, f: Writer, external: dict[str, bytes] | None = None) -> None:
        """The ModelProto encoding; tensors named in `external` get those fields instead of raw_data."""
        external = external or {}
        parts: list[tuple[bytes, Array | None]] = []
        for name, (head, a) in self.tensors.items():
            if name in external:
                parts.append((bytes_field(INITIALIZER, head + external[name]), None))
                continue
            raw = key(RAW_DATA) + varint(a.nbytes)
            parts.append((key(INITIALIZER) + varint(len(head) + len(raw) + a.nbytes) + head + raw, a))
        size = len(self.graph_head) + len(self.graph_tail) + sum(
            len(p) + (0 if a is None else a.nbytes) for p, a in parts)
        f.write(self.model_head + key(GRAPH) + varint(size) + self.graph_head)
        for prefix, values in parts:
            f.write(prefix)
            if values is not None:
                f.write(resolve(values).reshape(-1).view(np.uint8).data)
        f.write(self.graph_tail + self.model_tail)

    def tobytes(self) -> bytes:
        buf = io.BytesIO()
        self.write(buf)
        return buf.getvalue()

    def proto(self) -> onnx.ModelProto:
        """The model as one protobuf message; past protobuf's 2 GiB only a file with external data
        holds it (protobuf would otherwise fail late, with 'Wire format was corrupt')."""
        import onnx

        if self.nbytes > PROTOBUF_LIMIT:
            cancel(a for _, a in self.tensors.values())  # no waiting for weights nobody will read
            raise CompileError(f"the weights take {self.nbytes / 1e9:.2f} GB, past protobuf's 2 GiB limit "
                               "for one ONNX message: write the model to a file instead (`archspec compile`, "
                               "or Model.save_onnx), which moves the weights to external data")
        return onnx.load_from_string(self.tobytes())


def value_names(graph: Graph) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The ONNX value of each IR node: its path (`<path>/value` where the path names the node's
    parameter: ops.base.state_key), except that an output's node writes the output's
    name (`fc` writes `logits`). An output that cannot rename its node's value (the input, or a
    node another output named already) reads it through an Identity: returned as (output, node)."""
    # a node whose parameter is keyed by its path (layer_scale) leaves the path to the initializer
    values = {name: f"{name}/value" if "" in n.weights else name for name, n in graph.nodes.items()}
    own = dict(values)
    identities = []
    for o in graph.outputs:
        if o.name in graph.nodes and o.name != o.node:
            raise CompileError(f"output '{o.name}' has the name of node '{o.name}'; rename one of them")
        if o.node != graph.input and values[o.node] == own[o.node]:
            values[o.node] = o.name
        elif values[o.node] != o.name:
            identities.append((o.name, o.node))
    return values, identities


def emit(graph: Graph, weights: dict[str, Array], *, opset: int, batch: int | str, fp16: bool,
         dims: Mapping[str, Dims] | None = None, metadata: dict[str, str], doc: str = "",
         sources: Mapping[str, str] | None = None, functions: bool = False) -> Compiled:
    """The model of `graph`. `dims`: per-sample dims of a node's value where they differ from its IR
    shape (symbolic or unknown H and W). `sources`: each node's spec line, written as the
    doc_string of the ONNX nodes it lowers to. `functions`: each scope an ONNX local function."""
    values, identities = value_names(graph)
    elem = proto.FLOAT16 if fp16 else proto.FLOAT
    dims = dims or {}
    types = {values[n.name]: (elem, (batch, *dims.get(n.name, n.shape))) for n in graph.nodes.values()}
    b = Builder(graph, weights, values, opset, types)
    for node in graph.nodes.values():
        try:
            node.impl.onnx(node, b)
        except OpError as e:  # a lowering the options rule out (attention fused: true below opset 23)
            where = f"{node.pos}: " if node.pos else ""
            raise CompileError(f"{where}node '{node.name}': {e}" + (f" ({e.hint})" if e.hint else "")) from None
    for out, read in identities:
        b.nodes.append(OnnxNode("Identity", [values[read]], [out], out, b"", read))
        types[out] = types[values[read]]
    sources = sources or {}
    tensors = {}
    for name, a in b.inits.items():
        a = _cast(a, fp16)
        tensors[name] = (proto.tensor_head(name, a), a)
    if functions:
        from archspec.onnx_backend.functions import outline

        top, funcs, written = outline(graph, b.nodes, [o.name for o in graph.outputs], sources, opset)
    else:
        top, funcs = [n.encode(sources.get(n.owner, "")) for n in b.nodes], []
        written = [v for n in b.nodes for v in n.outputs]
    model_head = (int_field(1, max(proto.ir_version(opset), FUNCTIONS_IR) if funcs else proto.ir_version(opset))
                  + str_field(2, "archspec") + str_field(3, metadata.get(META_VERSION, "")) + str_field(6, doc))
    graph_head = b"".join(bytes_field(1, n) for n in top) + str_field(2, graph.name)
    graph_tail = (bytes_field(11, proto.value_info(graph.input, *types[graph.input]))
                  + b"".join(bytes_field(12, proto.value_info(o.name, *types[o.name])) for o in graph.outputs)
                  + _value_infos(written, types, {graph.input, *(o.name for o in graph.outputs)}))
    opsets = bytes_field(8, str_field(1, "") + int_field(2, opset))
    if funcs:
        opsets += bytes_field(8, str_field(1, FUNCTION_DOMAIN) + int_field(2, 1))
    model_tail = opsets + b"".join(
        bytes_field(14, str_field(1, k) + str_field(2, v)) for k, v in sorted(metadata.items())) + b"".join(
        bytes_field(25, f) for f in funcs)
    return Compiled(model_head, graph_head, tensors, graph_tail, model_tail)


def _value_infos(written: list[str], types: dict[str, ValueType], io: set[str]) -> bytes:
    """GraphProto.value_info (13): the type of every value the graph's nodes write but its outputs,
    in node order (with functions, the values inside a function are not the graph's)."""
    return b"".join(bytes_field(13, proto.value_info(v, *types[v])) for v in written if v not in io and v in types)


def _cast(a: Array, fp16: bool) -> Array:
    """C order and little-endian, as ONNX stores raw data; float32 -> float16 for fp16 models."""
    dtype = np.dtype(np.float16 if fp16 and a.dtype == np.float32 else a.dtype).newbyteorder("<")
    if isinstance(a, Deferred):
        return a.then(lambda v: np.require(v, dtype, "C"), dtype)
    return np.require(a, dtype, "C")  # (ascontiguousarray makes 0-d 1-d)
