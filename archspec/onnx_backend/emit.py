"""IR -> an encoded ONNX model. Each op lowers itself (`Op.onnx`) into a Builder; this file names
the values, declares the graph's inputs and outputs, and assembles the model's pieces."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from archspec.ir import Graph
from archspec.onnx_backend import proto
from archspec.onnx_backend.builder import Builder
from archspec.onnx_backend.metadata import META_VERSION
from archspec.onnx_backend.proto import CompileError as CompileError  # defined beside EncodeError, its kind
from archspec.onnx_backend.proto import bytes_field, int_field, key, str_field, varint
from archspec.parallel import Array, Deferred, cancel, resolve

if TYPE_CHECKING:
    import onnx

Dims = Sequence[int | str | None]  # an ONNX shape: sizes, symbolic names, or unknown
GRAPH, INITIALIZER, RAW_DATA = 7, 5, 9  # ModelProto.graph, GraphProto.initializer, TensorProto.raw_data
PROTOBUF_LIMIT = 2**31 - 1  # the largest message protobuf parses or serialises, in bytes


class Writer(Protocol):
    def write(self, data: bytes | memoryview, /) -> int: ...


@dataclass
class Compiled:
    """A model as the encoded ModelProto fields around its initializers, and their arrays: a writer
    streams the arrays' bytes, or moves them to an external file, without copying them into a
    protobuf message. An array may still be being drawn (`Deferred`): the writer waits for each in
    turn. Pieces in field-number order: model fields 1-6, graph (7): nodes and name
    (fields 1-2), initializers (5), inputs and outputs (11-12); model fields 8 and 14."""

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
         io_dims: dict[str, Dims], metadata: dict[str, str], doc: str = "") -> Compiled:
    """The model of `graph`. `io_dims` gives the per-sample dims of the input and output nodes."""
    values, identities = value_names(graph)
    b = Builder(graph, weights, values, opset)
    for node in graph.nodes.values():
        node.impl.onnx(node, b)
    for out, read in identities:
        b.nodes.append(proto.node("Identity", [values[read]], [out], out, {}))
    elem = proto.FLOAT16 if fp16 else proto.FLOAT

    def io_field(field: int, value: str, node: str) -> bytes:
        return bytes_field(field, proto.value_info(value, elem, [batch, *io_dims[node]]))

    tensors = {}
    for name, a in b.inits.items():
        a = _cast(a, fp16)
        tensors[name] = (proto.tensor_head(name, a), a)
    model_head = (int_field(1, proto.ir_version(opset)) + str_field(2, "archspec")
                  + str_field(3, metadata.get(META_VERSION, "")) + str_field(6, doc))
    graph_head = b"".join(bytes_field(1, n) for n in b.nodes) + str_field(2, graph.name)
    graph_tail = io_field(11, graph.input, graph.input) + b"".join(io_field(12, o.name, o.node) for o in graph.outputs)
    model_tail = bytes_field(8, str_field(1, "") + int_field(2, opset)) + b"".join(
        bytes_field(14, str_field(1, k) + str_field(2, v)) for k, v in sorted(metadata.items()))
    return Compiled(model_head, graph_head, tensors, graph_tail, model_tail)


def _cast(a: Array, fp16: bool) -> Array:
    """C order and little-endian, as ONNX stores raw data; float32 -> float16 for fp16 models."""
    dtype = np.dtype(np.float16 if fp16 and a.dtype == np.float32 else a.dtype).newbyteorder("<")
    if isinstance(a, Deferred):
        return a.then(lambda v: np.require(v, dtype, "C"), dtype)
    return np.require(a, dtype, "C")  # (ascontiguousarray makes 0-d 1-d)
