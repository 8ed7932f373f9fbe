"""Select: one token of a sequence (ViT's class token read out, `x[:, 0]`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archspec.ops.base import Arrays, Case, Op, OpError, Params, Shape, fmt, register

if TYPE_CHECKING:
    import numpy as np
    import torch as T

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


class SelectParams(Params):
    index: int = 0  # the token; negative counts from the end


def select_token(x: T.Tensor, index: int) -> T.Tensor:
    """x[:, index]: torchvision's `x[:, 0]`."""
    return x[:, index]


@register
class Select(Op[SelectParams]):
    """Select: y = x[:, index], one entry of the first per-sample axis (a token of a [N,T,D]
    sequence), that axis dropped: [N,T,D] -> [N,D]."""

    name = "select"
    Params = SelectParams
    shorthand = "index"
    backward_reads_output = False
    cases = (Case("first", {}, ((5, 4),)), Case("last", {"index": -1}, ((3, 6),)),
             Case("image", {"index": 2}, ((4, 3, 5),)))

    def shape(self, p: SelectParams, ins: list[Shape]) -> Shape:
        x = ins[0]
        if len(x) < 2:
            raise OpError(f"select needs an input of at least [N,T,D], got {fmt(x)}", "it drops axis 1")
        if not -x[0] <= p.index < x[0]:
            raise OpError(f"select index {p.index} is outside the {x[0]} entries of axis 1 of {fmt(x)}",
                          f"use 0 to {x[0] - 1}, or negative from the end")
        return x[1:]

    def summary(self, p: SelectParams) -> str:
        return str(p.index)

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        index = b.const(node, "index", self.params_of(node).index % b.in_shape(node)[0], "int64")
        b.op("Gather", [b.x(node), index], node, axis=1)

    def torch(self, node: NodeView) -> TorchLowering:
        from archspec.lowering import Call

        return Call(select_token, {"index": self.params_of(node).index})

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        return np.asarray(ins[0][:, self.params_of(node).index])
