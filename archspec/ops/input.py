"""The graph's input: the spec's `input:`, a node like any other so backends need no special case."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, PositiveInt

from archspec.ops.base import Arrays, Case, Op, OpError, Params, Shape, register

if TYPE_CHECKING:
    import numpy as np

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


class InputParams(Params):
    shape: tuple[PositiveInt, ...] = Field(min_length=1)  # per sample, batch excluded


@register
class Input(Op[InputParams]):
    """The graph's input, of the spec's `input: {name, shape}`; it takes no input and computes
    nothing. Not a layer: the spec's `input:` key makes it."""

    name = "input"
    family = "io"
    graph_input = True
    arity = 0
    Params = InputParams
    cases = (Case("image", {"shape": [3, 4, 5]}, ()), Case("flat", {"shape": [7]}, ()))

    def shape(self, p: InputParams, ins: list[Shape]) -> Shape:
        if ins:
            raise OpError("'input' is not a layer: a spec declares its input with the top-level "
                          "`input: {name, shape}`")
        return p.shape

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """Nothing: the emitter declares the graph's inputs, as it declares the outputs."""

    def torch(self, node: NodeView) -> TorchLowering:
        from archspec.lowering import Placeholder

        return Placeholder()

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        """The value fed in, which the caller passes as the one input."""
        return ins[0]
