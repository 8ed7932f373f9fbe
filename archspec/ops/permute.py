"""Permute: reorder the axes of a tensor (torchvision's Permute, as in ConvNeXt's channels-last blocks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archspec.ops.base import Arrays, Case, Op, OpError, Params, Shape, fmt, register

if TYPE_CHECKING:
    import numpy as np

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


class PermuteParams(Params):
    dims: list[int]  # including the batch axis 0, as torch.permute; negative counts from the end


def batch_dims(dims: list[int], rank: int) -> list[int]:
    """`dims` of a rank-`rank` per-sample tensor (batch included) made non-negative; OpError unless
    it is a permutation whose first axis is the batch."""
    full = rank + 1
    if len(dims) != full or any(not -full <= d < full for d in dims):
        raise OpError(f"permute dims {dims} are not a permutation of the {full} axes of an [N,...] "
                      f"rank-{full} input", f"list {full} axes, e.g. {[0, *range(2, full), 1]}")
    out = [d % full for d in dims]
    if sorted(out) != list(range(full)):
        raise OpError(f"permute dims {dims} repeat an axis", "name each axis once")
    if out[0] != 0:
        raise OpError(f"permute dims {dims} move the batch axis 0", "keep 0 first: shapes are per sample")
    return out


@register
class Permute(Op[PermuteParams]):
    """Permute: y = x.permute(dims); `dims` includes the batch axis 0, which stays first
    ([0, 2, 3, 1]: NCHW to NHWC)."""

    name = "permute"
    Params = PermuteParams
    backward_reads_output = False
    cases = (Case("nhwc", {"dims": [0, 2, 3, 1]}), Case("nchw", {"dims": [0, 3, 1, 2]}, ((5, 6, 3),)),
             Case("negative", {"dims": [0, -1, 1, 2]}), Case("hw", {"dims": [0, 1, 3, 2]}, ((2, 3, 4),)),
             Case("flat", {"dims": [0, 1]}, ((7,),)))

    def shape(self, p: PermuteParams, ins: list[Shape]) -> Shape:
        try:
            dims = batch_dims(p.dims, len(ins[0]))
        except OpError as e:
            raise OpError(f"{e} (input {fmt(ins[0])})", e.hint) from None
        return tuple(ins[0][d - 1] for d in dims[1:])

    def summary(self, p: PermuteParams) -> str:
        return ",".join(map(str, p.dims))

    def _dims(self, node: NodeView) -> list[int]:
        return batch_dims(self.params_of(node).dims, len(node.shape))

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        b.op("Transpose", [b.x(node)], node, perm=self._dims(node))

    def torch(self, node: NodeView) -> TorchLowering:
        import torch

        from archspec.lowering import Call

        return Call(torch.permute, {"dims": tuple(self._dims(node))})

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        return np.transpose(ins[0], self._dims(node))
