"""Adaptive average pooling: a fixed output size, whatever the input size."""

from __future__ import annotations

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
