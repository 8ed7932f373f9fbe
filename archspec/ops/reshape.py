"""Reshape: a new per-sample shape for the same values (batch kept), one -1 inferred."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import Field

from archspec.ops.base import Arrays, Case, Op, OpError, Params, Shape, fmt, register

if TYPE_CHECKING:
    import numpy as np
    import torch as T

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


def onnx_reshape(b: OnnxBuilder, node: NodeView, x: str, shape: Shape, tag: str | None = None) -> str:
    """ONNX Reshape of `x` to per-sample `shape`: the batch copied (0), every other size written out,
    so ONNX shape inference gives the exact shape (a -1 beside a symbolic batch would be unknown)."""
    const = b.const(node, "shape" if tag is None else f"{tag}_shape", [0, *shape], "int64")
    return b.op("Reshape", [x, const], node, tag)


def reshape_batch(x: T.Tensor, shape: tuple[int, ...]) -> T.Tensor:
    """x reshaped to (batch, *shape)."""
    return x.reshape(x.shape[0], *shape)


class ReshapeParams(Params):
    shape: list[int] = Field(min_length=1)  # per sample: the batch is kept; one -1 is inferred


@register
class Reshape(Op[ReshapeParams]):
    """Reshape: y = x.reshape(N, *shape), the per-sample `shape` with at most one -1 (inferred)."""

    name = "reshape"
    Params = ReshapeParams
    backward_reads_output = False
    cases = (Case("split_channels", {"shape": [3, 1, 5, 6]}), Case("infer", {"shape": [-1, 6]}),
             Case("flat", {"shape": [2, 2, 3]}, ((12,),)), Case("to_flat", {"shape": [-1]}, ((2, 3, 4),)))

    def shape(self, p: ReshapeParams, ins: list[Shape]) -> Shape:
        size, free = math.prod(ins[0]), [i for i, d in enumerate(p.shape) if d == -1]
        if len(free) > 1 or any(d < 1 and d != -1 for d in p.shape):
            raise OpError(f"reshape shape {p.shape}: sizes must be positive, with at most one -1",
                          "the batch is kept: give the per-sample shape")
        known = math.prod(d for d in p.shape if d != -1)
        if (size % known if free else size != known):
            raise OpError(f"cannot reshape {fmt(ins[0])} ({size} values per sample) to {fmt(tuple(p.shape))}",
                          "the sizes must multiply to the input's count per sample")
        return tuple(size // known if d == -1 else d for d in p.shape)

    def tied_to_input_size(self, node: NodeView) -> bool:
        """A -1 is lowered as the size it had at the expanded input size."""
        return -1 in self.params_of(node).shape

    def summary(self, p: ReshapeParams) -> str:
        return "x".join(map(str, p.shape))

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        onnx_reshape(b, node, b.x(node), node.shape)

    def torch(self, node: NodeView) -> TorchLowering:
        from archspec.lowering import Call

        return Call(reshape_batch, {"shape": tuple(node.shape)})

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        return ins[0].reshape(ins[0].shape[0], *node.shape)
