"""Adaptive average pooling: a fixed output size, whatever the input size."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archspec.ops.base import Arrays, Case, Op, Params, Saved, Shape, need_image, pair, register
from archspec.ops.conv import PerAxis

if TYPE_CHECKING:
    import numpy as np

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


class AdaptiveAvgPoolParams(Params):
    out: PerAxis  # output size, int or [h, w]


@register
class AdaptiveAvgPool(Op[AdaptiveAvgPoolParams]):
    """Adaptive average pooling to an `out` x `out` grid, as torch's AdaptiveAvgPool2d.

    Along an axis of size n pooled to m cells, cell i averages the input range
    [floor(i*n/m), ceil((i+1)*n/m)). When m divides n this is avgpool kernel = stride = n/m;
    when n == m it is the identity (torchvision AlexNet's 6x6 pool at 224x224); when m > n
    cells repeat input values (AlexNet's 6x6 pool of a 1x1 map at 64x64).
    """

    name = "adaptive_avgpool"
    saves = Saved(input=True)
    family = "pool"
    Params = AdaptiveAvgPoolParams
    shorthand = "out"
    cases = (
        Case("global", {"out": 1}),
        Case("same", {"out": [5, 6]}),
        Case("divides", {"out": [1, 3]}),
        Case("uneven", {"out": [4, 3]}, ((2, 7, 5),)),
        Case("larger_from_1x1", {"out": 6}, ((3, 1, 1),)),
        Case("larger_from_3x3", {"out": [6, 4]}, ((2, 3, 3),)),
    )

    def noop(self, node: NodeView, ins: list[Shape]) -> bool:
        return tuple(node.shape[1:]) == tuple(ins[0][1:])

    def tied_to_input_size(self, node: NodeView) -> bool:
        """Only the 1x1 grid lowers to an op of any size (GlobalAveragePool)."""
        return tuple(node.shape[1:]) != (1, 1)

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """1x1: GlobalAveragePool (any size); equal sizes: Identity; sizes that divide: AveragePool;
        otherwise (a larger grid too) y = A_h x A_w^T as two MatMuls, row i of A holding 1/len
        over cell i's range."""
        (_, h, w), (oh, ow), x = b.in_shape(node), node.shape[1:], b.x(node)
        if (oh, ow) == (1, 1):
            b.op("GlobalAveragePool", [x], node)
        elif (oh, ow) == (h, w):
            b.op("Identity", [x], node)
        elif oh <= h and ow <= w and h % oh == 0 and w % ow == 0:
            k = [h // oh, w // ow]
            b.op("AveragePool", [x], node, kernel_shape=k, strides=k)
        else:
            cols = b.op("MatMul", [x, b.const(node, "cols", _cells(w, ow).T)], node, "width")
            b.op("MatMul", [b.const(node, "rows", _cells(h, oh)), cols], node)

    def shape(self, p: AdaptiveAvgPoolParams, ins: list[Shape]) -> Shape:
        c, _, _ = need_image(ins, "adaptive_avgpool")
        return (c, *pair(p.out))

    def summary(self, p: AdaptiveAvgPoolParams) -> str:
        oh, ow = pair(p.out)
        return f"->{oh}x{ow}"

    def torch(self, node: NodeView) -> TorchLowering:
        from torch import nn

        return nn.AdaptiveAvgPool2d(pair(self.params_of(node).out))

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        """Each cell the mean of its window (written per cell, independently of `_cells`)."""
        import numpy as np

        x, (_, oh, ow) = ins[0], node.shape
        h, wd = x.shape[2:]
        out = np.zeros((*x.shape[:2], oh, ow))
        for i in range(oh):
            for j in range(ow):
                win = x[:, :, i * h // oh: -(-(i + 1) * h // oh), j * wd // ow: -(-(j + 1) * wd // ow)]
                out[:, :, i, j] = win.mean(axis=(2, 3))
        return out


def _cells(n: int, m: int) -> np.ndarray:
    """(m, n): row i averages [floor(i*n/m), ceil((i+1)*n/m)), torch's adaptive pooling cells."""
    import numpy as np

    a = np.zeros((m, n), dtype=np.float32)
    for i in range(m):
        lo, hi = i * n // m, -(-(i + 1) * n // m)
        a[i, lo:hi] = 1 / (hi - lo)
    return a
