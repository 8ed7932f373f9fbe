"""Adaptive average pooling: a fixed output size, whatever the input size."""

from __future__ import annotations

import numpy as np

from archspec.ops.base import Op, OpError, Params, Shape, fmt, need_image, pair, register
from archspec.ops.conv import PerAxis


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
    Params = AdaptiveAvgPoolParams
    shorthand = "out"

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

    def onnx(self, node, b) -> None:
        """An AveragePool where the cells tile the input evenly; otherwise (GoogLeNet's aux heads
        pool 14 to 4) y = P_h x P_w^T with constant averaging matrices, as two MatMuls."""
        _, h, w = b.in_shape(node)
        (oh, ow) = node.shape[1:]
        if h % oh == 0 and w % ow == 0:
            k = [h // oh, w // ow]
            b.op("AveragePool", [b.x(node)], node, kernel_shape=k, strides=k)
            return
        cols = b.op("MatMul", [b.x(node), b.const(node, "pool_w", _cells(w, ow).T)], node, tag="cols")
        b.op("MatMul", [b.const(node, "pool_h", _cells(h, oh)), cols], node)

    def torch(self, node):
        from torch import nn

        return nn.AdaptiveAvgPool2d(tuple(node.shape[1:]))


def _cells(n: int, m: int) -> np.ndarray:
    """(m, n): row i averages [floor(i*n/m), ceil((i+1)*n/m)), torch's adaptive pooling cells."""
    a = np.zeros((m, n), dtype=np.float32)
    for i in range(m):
        lo, hi = i * n // m, -(-(i + 1) * n // m)
        a[i, lo:hi] = 1 / (hi - lo)
    return a
