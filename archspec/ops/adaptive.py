"""Adaptive average pooling: a fixed output size, whatever the input size."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archspec.ops.base import Op, OpError, Params, Saved, Shape, fmt, need_image, pair, register
from archspec.ops.conv import PerAxis

if TYPE_CHECKING:
    import numpy as np


class AdaptiveAvgPoolParams(Params):
    out: PerAxis  # output size, int or [h, w]


@register
class AdaptiveAvgPool(Op):
    """Adaptive average pooling to an `out` x `out` grid, as torch's AdaptiveAvgPool2d.

    Along an axis of size n pooled to m cells, cell i averages the input range
    [floor(i*n/m), ceil((i+1)*n/m)). When m divides n this is avgpool kernel = stride = n/m;
    when n == m it is the identity (torchvision AlexNet's 6x6 pool at 224x224).
    """

    name = "adaptive_avgpool"
    saves = Saved(input=True)
    family = "pool"
    Params = AdaptiveAvgPoolParams
    shorthand = "out"

    def tied_to_input_size(self, node) -> bool:
        """Only the 1x1 grid lowers to an op of any size (GlobalAveragePool)."""
        return tuple(node.shape[1:]) != (1, 1)

    def onnx(self, node, b) -> None:
        """1x1: GlobalAveragePool (any size); equal sizes: Identity; sizes that divide: AveragePool;
        otherwise y = A_h x A_w^T as two MatMuls, row i of A holding 1/len over cell i's range."""
        (_, h, w), (oh, ow), x = b.in_shape(node), node.shape[1:], b.x(node)
        if (oh, ow) == (1, 1):
            b.op("GlobalAveragePool", [x], node)
        elif (oh, ow) == (h, w):
            b.op("Identity", [x], node)
        elif h % oh == 0 and w % ow == 0:
            k = [h // oh, w // ow]
            b.op("AveragePool", [x], node, kernel_shape=k, strides=k)
        else:
            cols = b.op("MatMul", [x, b.const(node, "cols", _cells(w, ow).T)], node, "width")
            b.op("MatMul", [b.const(node, "rows", _cells(h, oh)), cols], node)

    def shape(self, p: AdaptiveAvgPoolParams, ins: list[Shape]) -> Shape:
        c, h, w = need_image(ins, "adaptive_avgpool")
        oh, ow = pair(p.out)
        if oh > h or ow > w:
            raise OpError(f"adaptive_avgpool to {oh}x{ow} is larger than its input {fmt(ins[0])}",
                          "pool to at most the input size, or feed it a larger input")
        return (c, oh, ow)

    def summary(self, p: AdaptiveAvgPoolParams) -> str:
        oh, ow = pair(p.out)
        return f"->{oh}x{ow}"

    def torch(self, node):
        from torch import nn

        return nn.AdaptiveAvgPool2d(tuple(node.shape[1:]))


def _cells(n: int, m: int) -> np.ndarray:
    """(m, n): row i averages [floor(i*n/m), ceil((i+1)*n/m)), torch's adaptive pooling cells."""
    import numpy as np

    a = np.zeros((m, n), dtype=np.float32)
    for i in range(m):
        lo, hi = i * n // m, -(-(i + 1) * n // m)
        a[i, lo:hi] = 1 / (hi - lo)
    return a
