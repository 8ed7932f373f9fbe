"""Convolution (1x1 included)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, PositiveInt, model_validator

from archspec.ops.base import Op, OpError, Params, Saved, Shape, fmt, need_image, pads, pair, register, window_out

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
class Conv(Op):
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
        w = {"weight": (p.out, ins[0][0] // p.groups, *pair(p.kernel))}
        return w | {"bias": (p.out,)} if p.bias else w

    def macs(self, p: ConvParams, ins: list[Shape], out: Shape) -> int:
        kh, kw = pair(p.kernel)
        return out[0] * out[1] * out[2] * (ins[0][0] // p.groups) * kh * kw

    def onnx(self, node, b) -> None:
        p = node.params
        ins = [b.x(node), b.param(node, "weight"), *([b.param(node, "bias")] if p.bias else [])]
        b.op("Conv", ins, node, kernel_shape=list(pair(p.kernel)), strides=list(pair(p.stride)),
             pads=list(pads(p.pad)), dilations=list(pair(p.dilation)), group=p.groups)

    def init(self, node, rng) -> dict:
        """PyTorch's kaiming_uniform(a=sqrt(5)): weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        from archspec.weights import fan_in_uniform

        return fan_in_uniform(node.weights, rng)

    def summary(self, p: ConvParams) -> str:
        kh, kw = pair(p.kernel)
        s = f"{kh}x{kw}, {p.out}"
        if p.stride != 1:
            s += f", /{p.stride}"
        return s + (f", g{p.groups}" if p.groups > 1 else "")

    def torch(self, node):
        from torch import nn

        from archspec.torch_backend.modules import PadConv2d

        p = node.params
        cin = node.weights["weight"][1] * p.groups
        kw = dict(kernel_size=pair(p.kernel), stride=pair(p.stride), dilation=pair(p.dilation),
                  groups=p.groups, bias=p.bias)
        t, left, b, r = pads(p.pad)
        if (t, left) == (b, r):
            return nn.Conv2d(cin, p.out, padding=(t, left), **kw)
        return PadConv2d(cin, p.out, pad=(t, left, b, r), **kw)
