"""Max, average and global average pooling."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import model_validator

from archspec.ops.base import (
    Arrays,
    Case,
    NoParams,
    Op,
    OpError,
    Params,
    Saved,
    Shape,
    fmt,
    need_image,
    pads,
    pair,
    register,
    window_out,
)
from archspec.ops.conv import Padding, PerAxis

if TYPE_CHECKING:
    import numpy as np

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


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


PP = TypeVar("PP", bound=PoolParams)


class _Pool(Op[PP]):
    onnx_pool: ClassVar[str]  # MaxPool or AveragePool

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """ceil_mode only where it adds a window: ORT follows PyTorch's rule (a window must start
        inside the input or left pad), ONNX shape inference does not; floor mode is exact for both."""
        p, (_, h, w) = self.params_of(node), b.in_shape(node)
        (kh, kw), (sh, sw), (t, left, bot, r) = pair(p.kernel), p.strides(), pads(p.pad)
        floor = (window_out(h, kh, sh, t, bot), window_out(w, kw, sw, left, r))
        attrs: dict[str, Any] = {"kernel_shape": [kh, kw], "strides": [sh, sw], "pads": [t, left, bot, r]}
        if node.shape[1:] != floor:
            attrs["ceil_mode"] = 1
        if isinstance(p, AvgPoolParams):
            attrs["count_include_pad"] = int(p.count_include_pad)
        b.op(self.onnx_pool, [b.x(node)], node, **attrs)

    def shape(self, p: PP, ins: list[Shape]) -> Shape:
        c, h, w = need_image(ins, self.name)
        (kh, kw), (sh, sw) = pair(p.kernel), p.strides()
        t, left, b, r = pads(p.pad)
        oh = window_out(h, kh, sh, t, b, ceil=p.ceil_mode)
        ow = window_out(w, kw, sw, left, r, ceil=p.ceil_mode)
        if oh <= 0 or ow <= 0:
            raise OpError(f"output size {oh}x{ow} is not positive: a {kh}x{kw} window does not "
                          f"fit the input {fmt(ins[0])}", "remove a downsampling layer or pad")
        return (c, oh, ow)

    def summary(self, p: PP) -> str:
        kh, kw = pair(p.kernel)
        return f"{kh}x{kw}, /{p.strides()[0]}"

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        """PyTorch's windows: start i*s - pad; max over the input part; the average divides by the
        window clipped to input + pads (count_include_pad) or by its input part."""
        import numpy as np

        p, x = self.params_of(node), ins[0]
        (kh, kw), (sh, sw), (t, left, b, r) = pair(p.kernel), p.strides(), pads(p.pad)
        _, oh, ow = node.shape
        h, wd = x.shape[2:]
        out = np.zeros((*x.shape[:2], oh, ow))
        for i in range(oh):
            for j in range(ow):
                r0, c0 = i * sh - t, j * sw - left
                r1, c1 = min(r0 + kh, h + b), min(c0 + kw, wd + r)
                win = x[:, :, max(r0, 0):min(r1, h), max(c0, 0):min(c1, wd)]
                if not isinstance(p, AvgPoolParams):
                    out[:, :, i, j] = win.max(axis=(2, 3))
                else:
                    div = (r1 - r0) * (c1 - c0) if p.count_include_pad else win.shape[2] * win.shape[3]
                    out[:, :, i, j] = win.sum(axis=(2, 3)) / div
        return out


@register
class MaxPool(_Pool[PoolParams]):
    """Max pooling: y = max over each window (padding counts as -inf)."""

    onnx_pool = "MaxPool"
    name = "maxpool"
    saves = Saved(input=True, own=8)  # and the int64 argmax indices
    family = "pool"
    Params = PoolParams
    cases = (
        Case("2x2", {"kernel": 2}),
        Case("3x3_s2_pad", {"kernel": 3, "stride": 2, "pad": 1}),
        Case("ceil_asym", {"kernel": 3, "stride": 2, "pad": [1, 1, 0, 0], "ceil_mode": True}, ((3, 8, 7),)),
        Case("ceil_rect", {"kernel": [2, 3], "stride": [2, 1], "ceil_mode": True}, ((2, 7, 6),)),
    )

    def torch(self, node: NodeView) -> TorchLowering:
        from torch import nn

        from archspec.ops._torch import PadMaxPool2d

        p = self.params_of(node)
        t, left, b, r = pads(p.pad)
        if (t, left) == (b, r):
            return nn.MaxPool2d(pair(p.kernel), p.strides(), (t, left), ceil_mode=p.ceil_mode)
        return PadMaxPool2d(pair(p.kernel), p.strides(), ceil_mode=p.ceil_mode, pad=(t, left, b, r))


@register
class AvgPool(_Pool[AvgPoolParams]):
    """Average pooling: y = mean over each window (padding included unless count_include_pad: false)."""

    onnx_pool = "AveragePool"
    name = "avgpool"
    saves = Saved(input=True)
    family = "pool"
    Params = AvgPoolParams
    cases = (
        Case("2x2", {"kernel": 2}),
        Case("ceil_pad", {"kernel": 3, "stride": 2, "pad": 1, "ceil_mode": True}, ((3, 8, 7),)),
        Case("asym_exclude_pad", {"kernel": 2, "stride": 1, "pad": [1, 0, 0, 1], "count_include_pad": False}),
        Case("exclude_pad", {"kernel": 3, "stride": 2, "pad": 1, "count_include_pad": False}),
    )

    def torch(self, node: NodeView) -> TorchLowering:
        from torch import nn

        from archspec.ops._torch import PadAvgPool2d

        p = self.params_of(node)
        t, left, b, r = pads(p.pad)
        if (t, left) == (b, r):
            return nn.AvgPool2d(pair(p.kernel), p.strides(), (t, left), p.ceil_mode, p.count_include_pad)
        return PadAvgPool2d(pair(p.kernel), p.strides(), ceil_mode=p.ceil_mode, pad=(t, left, b, r),
                            count_include_pad=p.count_include_pad)


@register
class GlobalAvgPool(Op[NoParams]):
    """Global average pooling: y[c] = mean over H, W of x[c]; output [N, C, 1, 1]."""

    onnx_op = "GlobalAveragePool"
    name = "global_avgpool"
    family = "pool"
    Params = NoParams
    cases = (Case("image"),)

    def shape(self, p: NoParams, ins: list[Shape]) -> Shape:
        c, _, _ = need_image(ins, "global_avgpool")
        return (c, 1, 1)

    def torch(self, node: NodeView) -> TorchLowering:
        from torch import nn

        return nn.AdaptiveAvgPool2d(1)

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        return np.asarray(ins[0].mean(axis=(2, 3), keepdims=True))
