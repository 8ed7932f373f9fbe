"""Ops that join or reshape tensors: add, concat, scale, channel zero-pad, identity."""

from __future__ import annotations

from pydantic import PositiveInt

from archspec.ops.base import Op, OpError, Params, Shape, fmt, need_image, num, register


@register
class Add(Op):
    """Elementwise sum of two or more tensors of the same shape."""

    name = "add"
    family = "merge"
    merge = True
    backward_reads_output = False
    arity = None

    def onnx(self, node, b) -> None:
        b.op("Add" if len(node.inputs) == 2 else "Sum", b.inputs(node), node)

    def shape(self, p: Params, ins: list[Shape]) -> Shape:
        for other in ins[1:]:
            if other != ins[0]:
                raise OpError(f"cannot add {fmt(ins[0])} and {fmt(other)}", _add_hint(ins[0], other))
        return ins[0]

    def torch(self, node):
        import operator

        from archspec.lowering import Call

        return Call(operator.add, fold=True)

    def torch_inplace(self, node):
        """body += shortcut (torchvision's `out += identity`), for the two-input residual add."""
        from archspec.lowering import Call
        from archspec.torch_backend.modules import add_into

        return Call(add_into) if len(node.inputs) == 2 else None


def _add_hint(a: Shape, b: Shape) -> str:
    if len(a) == len(b) == 3 and a[0] != b[0] and a[1:] == b[1:]:
        return f"the channels differ ({a[0]} vs {b[0]}): project one side with a 1x1 conv"
    if len(a) == len(b) == 3 and a[1:] != b[1:]:
        return "the spatial sizes differ: give the shortcut the same stride as the body"
    return ""


class ConcatParams(Params):
    axis: int = 1


@register
class Concat(Op):
    """Concatenation along `axis` (channels by default) of tensors equal on every other axis."""

    name = "concat"
    family = "merge"
    merge = True
    backward_reads_output = False
    Params = ConcatParams
    arity = None

    def onnx(self, node, b) -> None:
        b.op("Concat", b.inputs(node), node, axis=node.params.axis)

    def shape(self, p: ConcatParams, ins: list[Shape]) -> Shape:
        rank = len(ins[0]) + 1
        axis = p.axis % rank if -rank <= p.axis < rank else 0
        if axis == 0:
            raise OpError(f"concat axis {p.axis} is not a non-batch axis of a rank-{rank} tensor")
        for other in ins[1:]:
            if len(other) != len(ins[0]) or any(
                x != y for i, (x, y) in enumerate(zip(ins[0], other)) if i != axis - 1
            ):
                raise OpError(f"cannot concat {fmt(ins[0])} and {fmt(other)} on axis {axis}",
                              "the branches must agree on every other axis: check strides and padding")
        return tuple(sum(s[axis - 1] for s in ins) if i == axis - 1 else d
                     for i, d in enumerate(ins[0]))

    def torch(self, node):
        import torch

        from archspec.lowering import Call

        return Call(torch.cat, {"dim": node.params.axis}, packed=True)


class ScaleParams(Params):
    value: float


@register
class Scale(Op):
    """Multiplication by a constant: y = value * x (Inception-ResNet residual scaling)."""

    name = "scale"
    Params = ScaleParams
    shorthand = "value"

    def onnx(self, node, b) -> None:
        b.op("Mul", [b.x(node), b.const(node, "value", node.params.value)], node)

    def summary(self, p: ScaleParams) -> str:
        return f"x{num(p.value)}"

    def torch(self, node):
        import operator

        from archspec.lowering import Call

        return Call(operator.mul, args=(node.params.value,))


class ChannelPadParams(Params):
    out: PositiveInt
    stride: PositiveInt = 1


@register
class ChannelPad(Op):
    """Zero-pad channels to `out` (split evenly before/after), after subsampling by `stride`:
    the parameter-free option A shortcut of the CIFAR ResNets, y = pad(x[:, :, ::s, ::s])."""

    name = "channel_pad"
    Params = ChannelPadParams

    def onnx(self, node, b) -> None:
        """x[:, :, ::s, ::s] as a Slice with steps, then a Pad of (out - c) // 2 zero channels
        before and the rest after."""
        p, c = node.params, b.in_shape(node)[0]
        steps = []
        if p.stride > 1:
            ends = b.const(node, "ends", [b.INT64_MAX] * 2, "int64")
            bounds = [b.const(node, "starts", [0, 0], "int64"), ends, b.const(node, "axes", [2, 3], "int64"),
                      b.const(node, "steps", [p.stride] * 2, "int64")]
            steps.append(("Slice", "subsample", bounds, {}))
        if p.out > c:
            before = (p.out - c) // 2
            pads = b.const(node, "pads", [0, before, 0, 0, 0, p.out - c - before, 0, 0], "int64")
            steps.append(("Pad", "", [pads], {}))
        b.chain(node, b.x(node), steps)

    def shape(self, p: ChannelPadParams, ins: list[Shape]) -> Shape:
        c, h, w = need_image(ins, "channel_pad")
        if p.out < c:
            raise OpError(f"channel_pad out: {p.out} is less than the input's {c} channels")
        return (p.out, -(-h // p.stride), -(-w // p.stride))

    def summary(self, p: ChannelPadParams) -> str:
        return f"->{p.out}, /{p.stride}"

    def torch(self, node):
        from archspec.lowering import Call
        from archspec.torch_backend.modules import channel_pad

        return Call(channel_pad, {"out": node.params.out, "stride": node.params.stride})


@register
class Identity(Op):
    """Identity: y = x."""

    onnx_op = "Identity"
    name = "identity"

    def torch(self, node):
        from torch import nn

        return nn.Identity()
