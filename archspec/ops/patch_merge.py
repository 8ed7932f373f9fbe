"""Patch merging's rearrangement (Swin, torchvision's PatchMerging before its norm and reduction)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archspec.ops.base import Arrays, Case, NoParams, Op, OpError, Shape, fmt, register

if TYPE_CHECKING:
    import numpy as np
    import torch as T

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering

# (row, column) offsets of x0..x3 in torchvision's order: x1 is the next row, x2 the next column
OFFSETS = ((0, 0), (1, 0), (0, 1), (1, 1))


def merge_patches(x: T.Tensor) -> T.Tensor:
    """torchvision's _patch_merging_pad."""
    from torchvision.models.swin_transformer import _patch_merging_pad

    merged: T.Tensor = _patch_merging_pad(x)
    return merged


@register
class PatchMerge(Op[NoParams]):
    """Patch merge on a channels-last [N,H,W,C] map: zero-pad H and W to even, take the four 2x2
    strided sub-grids x0 = x[0::2, 0::2], x1 = x[1::2, 0::2], x2 = x[0::2, 1::2], x3 = x[1::2, 1::2]
    and concatenate them on channels: [N, ceil(H/2), ceil(W/2), 4C]. Swin's PatchMerging is this,
    then layer_norm and a linear 4C -> 2C without bias."""

    name = "patch_merge"
    Params = NoParams
    backward_reads_output = False
    cases = (Case("even", {}, ((4, 6, 3),)), Case("odd", {}, ((5, 3, 2),)))

    def shape(self, p: NoParams, ins: list[Shape]) -> Shape:
        if len(ins[0]) != 3:
            raise OpError(f"patch_merge needs a channels-last [N,H,W,C] input, got {fmt(ins[0])}")
        h, w, c = ins[0]
        return (-(-h // 2), -(-w // 2), 4 * c)

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """Pad (odd sides only), four strided Slices, Concat on the last axis."""
        h, w, _ = b.in_shape(node)
        x = b.x(node)
        if h % 2 or w % 2:
            x = b.op("Pad", [x, b.const(node, "pads", [0, 0, 0, 0, 0, h % 2, w % 2, 0], "int64")], node, "pad")
        axes, steps, ends = (b.const(node, t, v, "int64") for t, v in
                             (("axes", [1, 2]), ("steps", [2, 2]), ("ends", [b.INT64_MAX] * 2)))
        parts = [b.op("Slice", [x, b.const(node, f"x{i}_starts", list(o), "int64"), ends, axes, steps], node, f"x{i}")
                 for i, o in enumerate(OFFSETS)]
        b.op("Concat", parts, node, axis=-1)

    def torch(self, node: NodeView) -> TorchLowering:
        from archspec.lowering import Call

        return Call(merge_patches)

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        _, h, wd, _ = ins[0].shape
        x = np.pad(ins[0], ((0, 0), (0, h % 2), (0, wd % 2), (0, 0)))
        return np.concatenate([x[:, r::2, c::2] for r, c in OFFSETS], -1)
