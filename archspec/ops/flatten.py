"""Flatten: merge the axes from `start` to `end` into one (torch.flatten)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from archspec.ops.base import Arrays, Case, Op, OpError, Params, Shape, fmt, register
from archspec.ops.reshape import onnx_reshape

if TYPE_CHECKING:
    import numpy as np

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


class FlattenParams(Params):
    start: int = 1  # axes as torch counts them, batch 0 included; negative from the end
    end: int = -1


def axes(p: FlattenParams, rank: int) -> tuple[int, int]:
    """(start, end) as per-sample axes (batch excluded), end inclusive; OpError where they do not fit."""
    full = rank + 1
    s, e = (a % full if -full <= a < full else -1 for a in (p.start, p.end))
    if s < 1 or e < s:
        raise OpError(f"flatten start {p.start}, end {p.end} do not name axes start <= end of an [N,...] "
                      f"rank-{full} input, past the batch axis 0", "start: 1, end: -1 flattens all but the batch")
    return s - 1, e - 1


@register
class Flatten(Op[FlattenParams]):
    """Flatten: y = torch.flatten(x, start, end), axes counted with the batch as 0; by default
    [N, C, H, W] -> [N, C*H*W]."""

    name = "flatten"
    Params = FlattenParams
    cases = (Case("image"), Case("flat", inputs=((5,),)), Case("spatial", {"start": 2}),
             Case("channels_height", {"start": 1, "end": 2}), Case("one_axis", {"start": -1, "end": 3}))

    def _default(self, node: NodeView) -> bool:
        """Everything but the batch, as before start/end existed: lowered to ONNX Flatten."""
        p = self.params_of(node)
        return p.start == 1 and p.end == -1

    def shape(self, p: FlattenParams, ins: list[Shape]) -> Shape:
        try:
            s, e = axes(p, len(ins[0]))
        except OpError as err:
            raise OpError(f"{err} (input {fmt(ins[0])})", err.hint) from None
        return (*ins[0][:s], math.prod(ins[0][s:e + 1]), *ins[0][e + 1:])

    def tied_to_input_size(self, node: NodeView) -> bool:
        """Other than the default, lowered as a Reshape to the sizes at the expanded input size."""
        return not self._default(node)

    def summary(self, p: FlattenParams) -> str:
        return "" if (p.start, p.end) == (1, -1) else f"{p.start}..{p.end}"

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        if self._default(node):
            b.op("Flatten", b.inputs(node), node)  # axis 1 by default
        else:
            onnx_reshape(b, node, b.x(node), node.shape)

    def torch(self, node: NodeView) -> TorchLowering:
        import torch

        from archspec.lowering import Call

        p = self.params_of(node)
        dims = {"start_dim": 1} if self._default(node) else {"start_dim": p.start, "end_dim": p.end}
        return Call(torch.flatten, dims)

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        return ins[0].reshape(ins[0].shape[0], *node.shape)
