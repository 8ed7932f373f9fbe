"""Ops that join or reshape tensors: add, concat, scale, channel zero-pad, identity."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import PositiveInt

from archspec.ops.base import (
    Arrays,
    Case,
    NoParams,
    Op,
    OpError,
    Params,
    Shape,
    broadcast,
    fmt,
    need_image,
    num,
    register,
)

if TYPE_CHECKING:
    import numpy as np
    import torch as T

    from archspec.lowering import NodeView, OnnxBuilder, Step, TorchLowering


def add_into(a: T.Tensor, b: T.Tensor) -> T.Tensor:
    """b += a, in place: a residual add into the body's output (torchvision's `out += identity`);
    a + b where b is the smaller side of a broadcast (the lowering sees no input shapes)."""
    if all(x in (1, y) for x, y in zip(a.shape, b.shape)):
        return b.add_(a)
    return a + b


def check_broadcast(what: str, ins: list[Shape], hint: Callable[[Shape, Shape], str]) -> Shape:
    """The inputs' broadcast shape (base.broadcast); else an OpError naming the first pair that
    does not broadcast."""
    out = broadcast(ins)
    if out is not None:
        return out
    for i, a in enumerate(ins):
        for other in ins[i + 1:]:
            if broadcast([a, other]) is None:
                raise OpError(f"cannot {what} {fmt(a)} and {fmt(other)}", hint(a, other))
    raise AssertionError("shapes that broadcast pairwise broadcast together")  # pragma: no cover


@register
class Add(Op[NoParams]):
    """Elementwise sum of two or more tensors, with numpy broadcasting over per-sample shapes of
    one rank (an axis of size 1 stretches: [C,H,W] + [C,1,1])."""

    name = "add"
    family = "merge"
    merge = True
    backward_reads_output = False
    arity = None
    Params = NoParams
    cases = (Case("two", inputs=((3, 4, 5),) * 2), Case("three", inputs=((3, 4, 5),) * 3),
             Case("flat", inputs=((6,),) * 2), Case("broadcast", inputs=((3, 4, 5), (3, 1, 1))),
             Case("broadcast_three", inputs=((3, 4, 5), (1, 4, 5), (3, 1, 1))))

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        b.op("Add" if len(node.inputs) == 2 else "Sum", b.inputs(node), node)

    def shape(self, p: NoParams, ins: list[Shape]) -> Shape:
        return check_broadcast("add", ins, _add_hint)

    def torch(self, node: NodeView) -> TorchLowering:
        import operator

        from archspec.lowering import Call

        return Call(operator.add, fold=True)

    def torch_inplace(self, node: NodeView) -> TorchLowering | None:
        """body += shortcut (torchvision's `out += identity`), for the two-input residual add."""
        from archspec.lowering import Call

        return Call(add_into) if len(node.inputs) == 2 else None

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        return sum(ins[1:], ins[0])


def _add_hint(a: Shape, b: Shape) -> str:
    if len(a) != len(b):
        return rank_hint(a, b)
    if len(a) == len(b) == 3 and a[0] != b[0] and a[1:] == b[1:]:
        return f"the channels differ ({a[0]} vs {b[0]}): project one side with a 1x1 conv"
    if len(a) == len(b) == 3 and a[1:] != b[1:]:
        return "the spatial sizes differ: give the shortcut the same stride as the body"
    return ""


def rank_hint(a: Shape, b: Shape) -> str:
    """Why inputs of different ranks do not broadcast, and the fix."""
    small, big = sorted((a, b), key=len)
    want = fmt((*small, *(1,) * (len(big) - len(small))))
    return (f"broadcasting needs one rank: reshape the {fmt(small)} side to {want} "
            "(archspec does not align ranks as numpy does, since the batch axis comes first)")


class ConcatParams(Params):
    axis: int = 1


@register
class Concat(Op[ConcatParams]):
    """Concatenation along `axis` (channels by default) of tensors equal on every other axis."""

    name = "concat"
    family = "merge"
    merge = True
    backward_reads_output = False
    Params = ConcatParams
    arity = None
    cases = (Case("channels", inputs=((2, 4, 5), (3, 4, 5))), Case("three", inputs=((2, 3, 4),) * 3),
             Case("width", {"axis": -1}, ((2, 3, 4), (2, 3, 1))), Case("flat", inputs=((3,), (5,))))

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        b.op("Concat", b.inputs(node), node, axis=self.params_of(node).axis)

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

    def torch(self, node: NodeView) -> TorchLowering:
        import torch

        from archspec.lowering import Call

        return Call(torch.cat, {"dim": self.params_of(node).axis}, packed=True)

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        return np.concatenate(ins, axis=self.params_of(node).axis)


class ScaleParams(Params):
    value: float


@register
class Scale(Op[ScaleParams]):
    """Multiplication by a constant: y = value * x (Inception-ResNet residual scaling)."""

    name = "scale"
    Params = ScaleParams
    shorthand = "value"
    cases = (Case("image", {"value": 0.3}), Case("negative", {"value": -2.0}, ((4,),)))

    def noop(self, node: NodeView, ins: list[Shape]) -> bool:
        return self.params_of(node).value == 1.0

    def factor(self, node: NodeView) -> float | None:
        return self.params_of(node).value

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        b.op("Mul", [b.x(node), b.const(node, "value", self.params_of(node).value)], node)

    def summary(self, p: ScaleParams) -> str:
        return f"x{num(p.value)}"

    def torch(self, node: NodeView) -> TorchLowering:
        import operator

        from archspec.lowering import Call

        return Call(operator.mul, args=(self.params_of(node).value,))

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        return ins[0] * self.params_of(node).value


class ChannelPadParams(Params):
    out: PositiveInt
    stride: PositiveInt = 1


def channel_pad(x: T.Tensor, out: int, stride: int) -> T.Tensor:
    """Option A shortcut: subsample by `stride`, then zero-pad channels to `out`, split evenly
    (the odd channel, if any, after)."""
    import torch.nn.functional as F

    if stride > 1:
        x = x[:, :, ::stride, ::stride]
    extra = out - x.shape[1]
    return F.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2))


@register
class ChannelPad(Op[ChannelPadParams]):
    """Zero-pad channels to `out` (split evenly before/after), after subsampling by `stride`:
    the parameter-free option A shortcut of the CIFAR ResNets, y = pad(x[:, :, ::s, ::s])."""

    name = "channel_pad"
    Params = ChannelPadParams
    cases = (Case("no_stride", {"out": 7}), Case("stride", {"out": 8, "stride": 2}, ((4, 5, 6),)),
             Case("same", {"out": 3}))

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """x[:, :, ::s, ::s] as a Slice with steps, then a Pad of (out - c) // 2 zero channels
        before and the rest after."""
        p, c = self.params_of(node), b.in_shape(node)[0]
        steps: list[Step] = []
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

    def noop(self, node: NodeView, ins: list[Shape]) -> bool:
        p = self.params_of(node)
        return p.stride == 1 and p.out == ins[0][0]

    def shape(self, p: ChannelPadParams, ins: list[Shape]) -> Shape:
        c, h, w = need_image(ins, "channel_pad")
        if p.out < c:
            raise OpError(f"channel_pad out: {p.out} is less than the input's {c} channels")
        return (p.out, -(-h // p.stride), -(-w // p.stride))

    def summary(self, p: ChannelPadParams) -> str:
        return f"->{p.out}, /{p.stride}"

    def torch(self, node: NodeView) -> TorchLowering:
        from archspec.lowering import Call

        p = self.params_of(node)
        return Call(channel_pad, {"out": p.out, "stride": p.stride})

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        p = self.params_of(node)
        x = ins[0][:, :, ::p.stride, ::p.stride]
        before = (p.out - x.shape[1]) // 2
        return np.pad(x, ((0, 0), (before, p.out - x.shape[1] - before), (0, 0), (0, 0)))


@register
class Identity(Op[NoParams]):
    """Identity: y = x."""

    onnx_op = "Identity"
    name = "identity"
    Params = NoParams
    cases = (Case("image"), Case("flat", inputs=((4,),)))

    def noop(self, node: NodeView, ins: list[Shape]) -> bool:
        return True

    def torch(self, node: NodeView) -> TorchLowering:
        from torch import nn

        return nn.Identity()

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        return ins[0]
