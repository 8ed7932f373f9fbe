"""Convolution (1x1 included)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field, PositiveInt, model_validator

from archspec.ops.base import (
    Arrays,
    Case,
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

if TYPE_CHECKING:
    import numpy as np

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering

PerAxis = PositiveInt | Annotated[list[PositiveInt], Field(min_length=2, max_length=2)]
Padding = Annotated[int, Field(ge=0)] | Annotated[list[Annotated[int, Field(ge=0)]],
                                                  Field(min_length=2, max_length=4)]


class ConvParams(Params):
    out: PositiveInt
    kernel: PerAxis
    stride: PerAxis = 1
    pad: Padding = 0
    dilation: PerAxis = 1
    groups: PositiveInt = 1
    bias: bool = True

    @model_validator(mode="after")
    def _pad_arity(self) -> ConvParams:
        if isinstance(self.pad, list) and len(self.pad) == 3:
            raise ValueError("pad takes an int, [h, w] or [top, left, bottom, right]")
        return self


@register
class Conv(Op[ConvParams]):
    """2-D convolution: y[o] = b[o] + sum_{i in group(o)} W[o, i] * x[i].

    kernel, stride and dilation take an int or [h, w]; pad an int, [h, w] or
    [top, left, bottom, right]. Weight (out, in/groups, kh, kw), bias (out,).
    """

    name = "conv"
    saves = Saved(input=True)
    family = "conv"
    absorbs_norm = True
    backward_reads_output = False
    Params = ConvParams
    cases = (
        Case("1x1", {"out": 4, "kernel": 1}),
        Case("3x3_pad_stride", {"out": 4, "kernel": 3, "stride": 2, "pad": 1, "bias": False}),
        Case("asym_pad", {"out": 3, "kernel": 3, "pad": [1, 0, 2, 1]}),
        Case("grouped_rect", {"out": 4, "kernel": [1, 3], "pad": [0, 1], "groups": 2}, ((4, 5, 6),)),
        Case("dilated", {"out": 2, "kernel": 3, "dilation": 2, "pad": 2}),
        Case("depthwise", {"out": 6, "kernel": 3, "groups": 3, "stride": [1, 2]}),
    )

    def shape(self, p: ConvParams, ins: list[Shape]) -> Shape:
        c, h, w = need_image(ins, "conv")
        if c % p.groups or p.out % p.groups:
            raise OpError(f"groups={p.groups} must divide both in channels ({c}) and out ({p.out})")
        (kh, kw), (sh, sw), (dh, dw) = pair(p.kernel), pair(p.stride), pair(p.dilation)
        t, left, b, r = pads(p.pad)
        oh, ow = window_out(h, kh, sh, t, b, dh), window_out(w, kw, sw, left, r, dw)
        if oh <= 0 or ow <= 0:
            raise OpError(f"output size {oh}x{ow} is not positive: a {kh}x{kw} kernel "
                          f"(dilation {dh}x{dw}) does not fit the input {fmt(ins[0])}",
                          "pad the input, use a smaller kernel, or remove a downsampling layer")
        return (p.out, oh, ow)

    def weights(self, p: ConvParams, ins: list[Shape], out: Shape) -> dict[str, Shape]:
        w: dict[str, Shape] = {"weight": (p.out, ins[0][0] // p.groups, *pair(p.kernel))}
        return w | {"bias": (p.out,)} if p.bias else w

    def macs(self, p: ConvParams, ins: list[Shape], out: Shape) -> int:
        kh, kw = pair(p.kernel)
        return out[0] * out[1] * out[2] * (ins[0][0] // p.groups) * kh * kw

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        p = self.params_of(node)
        ins = [b.x(node), b.param(node, "weight"), *([b.param(node, "bias")] if p.bias else [])]
        b.op("Conv", ins, node, kernel_shape=list(pair(p.kernel)), strides=list(pair(p.stride)),
             pads=list(pads(p.pad)), dilations=list(pair(p.dilation)), group=p.groups)

    def init(self, node: NodeView, rng: np.random.Generator) -> Arrays:
        """PyTorch's kaiming_uniform(a=sqrt(5)): weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        from archspec.weights import fan_in_uniform

        return fan_in_uniform(node.weights, rng)

    def summary(self, p: ConvParams) -> str:
        kh, kw = pair(p.kernel)
        s = f"{kh}x{kw}, {p.out}"
        if p.stride != 1:
            s += f", /{p.stride}"
        return s + (f", g{p.groups}" if p.groups > 1 else "")

    def torch(self, node: NodeView) -> TorchLowering:
        from torch import nn

        from archspec.ops._torch import PadConv2d

        p = self.params_of(node)
        cin = node.weights["weight"][1] * p.groups
        t, left, b, r = pads(p.pad)
        if (t, left) == (b, r):
            return nn.Conv2d(cin, p.out, pair(p.kernel), pair(p.stride), (t, left), pair(p.dilation), p.groups, p.bias)
        return PadConv2d(cin, p.out, pair(p.kernel), pair(p.stride), dilation=pair(p.dilation), groups=p.groups,
                         bias=p.bias, pad=(t, left, b, r))

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        """Zero-pad, then per group and kernel tap, a strided patch times the tap's weights."""
        import numpy as np

        p = self.params_of(node)
        (sh, sw), (dh, dw), (t, left, b, r) = pair(p.stride), pair(p.dilation), pads(p.pad)
        x = np.pad(ins[0], ((0, 0), (0, 0), (t, b), (left, r)))
        k = w["weight"]
        o, cg, kh, kw = k.shape
        oh, ow = (x.shape[2] - dh * (kh - 1) - 1) // sh + 1, (x.shape[3] - dw * (kw - 1) - 1) // sw + 1
        out = np.zeros((x.shape[0], o, oh, ow))
        og = o // p.groups
        for g in range(p.groups):
            xs = x[:, g * cg:(g + 1) * cg]
            for i in range(kh):
                for j in range(kw):
                    patch = xs[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh, j * dw: j * dw + sw * (ow - 1) + 1: sw]
                    out[:, g * og:(g + 1) * og] += np.einsum("nchw,oc->nohw", patch, k[g * og:(g + 1) * og, :, i, j])
        return out + w["bias"].reshape(1, -1, 1, 1) if "bias" in w else out
