"""Max, average and global average pooling."""

from __future__ import annotations

from pydantic import model_validator

from archspec.ops.base import Op, OpError, Params, Saved, Shape, fmt, need_image, pads, pair, register, window_out
from archspec.ops.conv import Padding, PerAxis


class PoolParams(Params):
    kernel: PerAxis
    stride: PerAxis | None = None  # default: the kernel, as in PyTorch
    pad: Padding = 0
    ceil_mode: bool = False

    @model_validator(mode="after")
    def _pad_fits(self) -> PoolParams:
        kh, kw = pair(self.kernel)
        t, left, b, r = pads(self.pad)
        if max(t, b) * 2 > kh or max(left, r) * 2 > kw:
            raise ValueError("pad must be at most half the kernel size")
        return self

    def strides(self) -> tuple[int, int]:
        return pair(self.stride if self.stride is not None else self.kernel)


class AvgPoolParams(PoolParams):
    count_include_pad: bool = True


class _Pool(Op):
    def onnx(self, node, b) -> None:
        """ceil_mode only where it adds a window: ORT follows PyTorch's rule (a window must start
        inside the input or left pad), ONNX shape inference does not; floor mode is exact for both."""
        p, (_, h, w) = node.params, b.in_shape(node)
        (kh, kw), (sh, sw), (t, left, bot, r) = pair(p.kernel), p.strides(), pads(p.pad)
        floor = (window_out(h, kh, sh, t, bot), window_out(w, kw, sw, left, r))
        attrs = {"kernel_shape": [kh, kw], "strides": [sh, sw], "pads": [t, left, bot, r]}
        if node.shape[1:] != floor:
            attrs["ceil_mode"] = 1
        if isinstance(p, AvgPoolParams):
            attrs["count_include_pad"] = int(p.count_include_pad)
        b.op(self.onnx_op, [b.x(node)], node, **attrs)

    def shape(self, p: PoolParams, ins: list[Shape]) -> Shape:
        c, h, w = need_image(ins, self.name)
        (kh, kw), (sh, sw) = pair(p.kernel), p.strides()
        t, left, b, r = pads(p.pad)
        oh = window_out(h, kh, sh, t, b, ceil=p.ceil_mode)
        ow = window_out(w, kw, sw, left, r, ceil=p.ceil_mode)
        if oh <= 0 or ow <= 0:
            raise OpError(f"output size {oh}x{ow} is not positive: a {kh}x{kw} window does not "
                          f"fit the input {fmt(ins[0])}", "remove a downsampling layer or pad")
        return (c, oh, ow)

    def summary(self, p: PoolParams) -> str:
        kh, kw = pair(p.kernel)
        return f"{kh}x{kw}, /{p.strides()[0]}"


@register
class MaxPool(_Pool):
    """Max pooling: y = max over each window (padding counts as -inf)."""

    onnx_op = "MaxPool"
    name = "maxpool"
    saves = Saved(input=True, own=8)  # and the int64 argmax indices
    family = "pool"
    Params = PoolParams

    def torch(self, node):
        from torch import nn

        from archspec.torch_backend.modules import PadMaxPool2d

        p = node.params
        kw = dict(kernel_size=pair(p.kernel), stride=p.strides(), ceil_mode=p.ceil_mode)
        t, left, b, r = pads(p.pad)
        if (t, left) == (b, r):
            return nn.MaxPool2d(padding=(t, left), **kw)
        return PadMaxPool2d(pad=(t, left, b, r), **kw)


@register
class AvgPool(_Pool):
    """Average pooling: y = mean over each window (padding included unless count_include_pad: false)."""

    onnx_op = "AveragePool"
    name = "avgpool"
    saves = Saved(input=True)
    family = "pool"
    Params = AvgPoolParams

    def torch(self, node):
        from torch import nn

        from archspec.torch_backend.modules import PadAvgPool2d

        p = node.params
        kw = dict(kernel_size=pair(p.kernel), stride=p.strides(), ceil_mode=p.ceil_mode)
        t, left, b, r = pads(p.pad)
        if (t, left) == (b, r):
            return nn.AvgPool2d(padding=(t, left), count_include_pad=p.count_include_pad, **kw)
        return PadAvgPool2d(pad=(t, left, b, r), count_include_pad=p.count_include_pad, **kw)


@register
class GlobalAvgPool(Op):
    """Global average pooling: y[c] = mean over H, W of x[c]; output [N, C, 1, 1]."""

    onnx_op = "GlobalAveragePool"
    name = "global_avgpool"
    family = "pool"

    def shape(self, p: Params, ins: list[Shape]) -> Shape:
        c, _, _ = need_image(ins, "global_avgpool")
        return (c, 1, 1)

    def torch(self, node):
        from torch import nn

        return nn.AdaptiveAvgPool2d(1)
