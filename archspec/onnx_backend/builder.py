"""The builder an op's `onnx(node, b)` lowering writes into.

It holds the ONNX nodes and initializers emitted so far and the value name of
every IR node. An op's final ONNX node takes the IR path as its name and writes
the IR node's value; helper nodes of a composite lowering are named
`<path>/<tag>`. Parameters are initializers named `<path>.<local>` (the
state_dict key); constants are initializers named `<path>/<tag>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from archspec.onnx_backend import proto, shapes
from archspec.ops.base import state_key
from archspec.parallel import Array

if TYPE_CHECKING:
    from archspec.ir import Graph
    from archspec.lowering import NodeView
    from archspec.ops.base import Shape


ValueType = tuple[int, shapes.Dims]  # (TensorProto.DataType, dims): a value's value_info


@dataclass(frozen=True)
class OnnxNode:
    """An emitted ONNX node, its attributes encoded (so a bad value is refused at its spec line),
    and `owner`, the IR node it lowers (its spec line becomes the node's doc_string)."""

    op_type: str
    inputs: list[str]
    outputs: list[str]
    name: str
    attrs: bytes
    owner: str
    domain: str = ""

    def encode(self, doc: str = "") -> bytes:
        return proto.node_fields(self.op_type, self.inputs, self.outputs, self.name, self.attrs, doc, self.domain)


class Builder:
    INT64_MAX = int(np.iinfo(np.int64).max)  # "to the end" for Slice

    def __init__(self, graph: Graph, weights: dict[str, Array], values: dict[str, str], opset: int,
                 types: dict[str, ValueType] | None = None):
        self.graph = graph
        self.weights = weights
        self.values = values  # IR node name -> ONNX value name
        self.opset = opset
        self.nodes: list[OnnxNode] = []
        self.inits: dict[str, Array] = {}
        # value name -> its type: the IR nodes' values as given, each helper's as emitted
        self.types: dict[str, ValueType] = types if types is not None else {}
        self._names: set[str] = set(values.values())  # every value name, to catch a clash early

    def in_shape(self, node: NodeView, i: int = 0) -> Shape:
        """Per-sample shape of the node's i-th input."""
        return self.graph.nodes[node.inputs[i]].shape

    def inputs(self, node: NodeView) -> list[str]:
        """Value names of the node's inputs, in order."""
        return [self.values[i] for i in node.inputs]

    def x(self, node: NodeView) -> str:
        """Value name of the node's single input."""
        return self.values[node.inputs[0]]

    def param(self, node: NodeView, local: str) -> str:
        """The initializer of a weight or buffer the node owns, named by its state_dict key."""
        name = state_key(node.name, local)
        if name not in self.inits:
            self._claim(name)
            self.inits[name] = self.weights[name]
        return name

    def const(self, node: NodeView, tag: str, value: Any, dtype: Any = np.float32) -> str:
        """A constant initializer named `<path>/<tag>`; float constants follow the model's dtype."""
        name = f"{node.name}/{tag}"
        if name not in self.inits:
            self._claim(name)
        self.inits[name] = np.asarray(value, dtype=dtype)
        return name

    def _claim(self, name: str) -> None:
        if name in self._names:
            raise AssertionError(f"ONNX value name '{name}' is used twice")  # a lowering bug
        self._names.add(name)

    def op(self, op_type: str, inputs: list[str], node: NodeView, tag: str | None = None, **attrs: Any) -> str:
        """Emit one ONNX node. Without `tag` it is the node's final op: named by the IR path, it
        writes the IR node's value. With `tag` it is a helper named and written as `<path>/<tag>`."""
        out = self.values[node.name] if tag is None else f"{node.name}/{tag}"
        name = node.name if tag is None else out
        if tag is not None:
            self._claim(out)
        try:
            self.nodes.append(OnnxNode(op_type, inputs, [out], name, proto.attributes(attrs), node.name))
        except proto.EncodeError as e:  # a value the spec gave that ONNX cannot hold: say where
            where = f"{node.pos}: " if node.pos else ""
            raise proto.EncodeError(f"{where}node '{node.name}': {e}") from None
        if tag is not None and self.types:
            self._infer(op_type, inputs, out, attrs)
        return out

    def _infer(self, op_type: str, inputs: list[str], out: str, attrs: dict[str, Any]) -> None:
        """The type of a helper's value, from its inputs' (values or initializers)."""
        dims: list[shapes.Dims] = []
        consts: list[np.ndarray | None] = []
        for i in inputs:
            a = self.inits.get(i)
            if i in self.types:
                dims.append(self.types[i][1])
            elif a is not None:
                dims.append(tuple(a.shape))
            else:
                return  # an input of unknown type: so is this value
            consts.append(a if isinstance(a, np.ndarray) else None)
        # the data's type: a mask's (Where's condition) and Gather's indices' are not the output's
        data = inputs[:1] if op_type == "Gather" else inputs
        elem = next((self.types[i][0] for i in data if i in self.types and self.types[i][0] != shapes.BOOL),
                    proto.FLOAT)
        found = shapes.infer(op_type, dims, attrs, consts, elem)
        if found is not None:
            self.types[out] = found

    def chain(self, node: NodeView, x: str, steps: list[tuple[str, str, list[str], dict[str, Any]]]) -> str:
        """Emit `(op_type, tag, extra_inputs, attrs)` steps, each fed by the previous; the last
        one is the node's final op. An empty list lowers to Identity."""
        if not steps:
            return self.op("Identity", [x], node)
        for i, (op_type, tag, extra, attrs) in enumerate(steps):
            x = self.op(op_type, [x, *extra], node, None if i == len(steps) - 1 else tag, **attrs)
        return x
