"""Elementwise activations: ReLU and its variants, Softplus, sigmoid, tanh; and softmax."""

from __future__ import annotations

from pydantic import PositiveFloat

from archspec.ops.base import Op, OpError, Params, Saved, Shape, register


@register
class ReLU(Op):
    """ReLU: y = max(x, 0)."""

    onnx_op = "Relu"
    name = "relu"
    saves = Saved(output=True)
    family = "activation"

    def torch(self, node):
        import torch.nn.functional as F

        from archspec.lowering import Call

        return Call(F.relu)

    def torch_inplace(self, node):
        import torch

        from archspec.lowering import Call

        return Call(torch.relu_)


class LeakyReLUParams(Params):
    slope: float = 0.01


@register
class LeakyReLU(Op):
    """Leaky ReLU: y = x if x > 0 else slope * x (the lecture's epsilon)."""

    name = "leaky_relu"
    saves = Saved(input=True)
    family = "activation"
    Params = LeakyReLUParams
    shorthand = "slope"

    def onnx(self, node, b) -> None:
        b.op("LeakyRelu", [b.x(node)], node, alpha=node.params.slope)

    def torch(self, node):
        from torch import nn

        return nn.LeakyReLU(node.params.slope)


class ShiftedReLUParams(Params):
    alpha: float = 1.0


@register
class ShiftedReLU(Op):
    """Shifted ReLU: y = max(x, 0) - alpha."""

    name = "shifted_relu"
    saves = Saved(own=4)  # relu's float output inside it
    family = "activation"
    Params = ShiftedReLUParams
    shorthand = "alpha"

    def onnx(self, node, b) -> None:
        b.chain(node, b.x(node), [("Relu", "relu", [], {}),
                                  ("Sub", "", [b.const(node, "alpha", node.params.alpha)], {})])

    def torch(self, node):
        from archspec.lowering import Call
        from archspec.torch_backend.modules import shifted_relu

        return Call(shifted_relu, {"alpha": node.params.alpha})


class ELUParams(Params):
    a: float = 1.0  # the initial value when trainable
    trainable: bool = True


@register
class ELU(Op):
    """ELU: y = x if x > 0 else a * (exp(x) - 1); `a` is a learned scalar when trainable."""

    name = "elu"
    saves = Saved(input=True)
    family = "activation"
    Params = ELUParams

    def onnx(self, node, b) -> None:
        """ONNX Elu takes a fixed alpha. With a trainable a: e = Elu(x, 1) is x for x > 0 and
        exp(x) - 1 <= 0 otherwise, so PRelu(e, a) = x if x > 0 else a * (exp(x) - 1)."""
        p = node.params
        if not p.trainable:
            b.op("Elu", [b.x(node)], node, alpha=p.a)
            return
        b.chain(node, b.x(node), [("Elu", "elu", [], {"alpha": 1.0}), ("PRelu", "", [b.param(node, "a")], {})])

    def init(self, node, rng) -> dict:
        import numpy as np

        return {"a": np.full((1,), node.params.a, np.float32)} if node.params.trainable else {}

    def weights(self, p: ELUParams, ins: list[Shape], out: Shape) -> dict[str, Shape]:
        return {"a": (1,)} if p.trainable else {}

    def saved(self, p: ELUParams) -> Saved:
        """The trainable form (relu(x) + a * expm1(min(x, 0))) also keeps relu's and expm1's outputs."""
        return Saved(input=True, own=8) if p.trainable else self.saves

    def torch(self, node):
        from torch import nn

        from archspec.torch_backend.modules import ELU

        return ELU(node.params.a) if node.params.trainable else nn.ELU(node.params.a)


class SoftplusParams(Params):
    beta: PositiveFloat = 1.0
    threshold: float = 20.0


@register
class Softplus(Op):
    """Softplus: y = log(1 + exp(beta * x)) / beta (linear above `threshold`, as PyTorch)."""

    name = "softplus"
    saves = Saved(input=True)
    family = "activation"
    Params = SoftplusParams

    def onnx(self, node, b) -> None:
        """Softplus(beta * x) / beta; where beta * x > threshold, x. Above 15 the switch is below
        float32 resolution (softplus(z) - z = log1p(exp(-z)) < 3e-7 < z * eps), so it is left out."""
        p, x = node.params, b.x(node)
        beta = b.const(node, "beta", p.beta) if p.beta != 1 else None
        switch = p.threshold < 15
        z = b.op("Mul", [x, beta], node, "bx") if beta else x
        y = b.op("Softplus", [z], node, "softplus" if beta or switch else None)
        if beta:
            y = b.op("Div", [y, beta], node, "unscale" if switch else None)
        if switch:
            linear = b.op("Greater", [z, b.const(node, "threshold", p.threshold)], node, "linear")
            b.op("Where", [linear, x, y], node)

    def torch(self, node):
        from torch import nn

        return nn.Softplus(node.params.beta, node.params.threshold)


@register
class Sigmoid(Op):
    """Sigmoid: y = 1 / (1 + exp(-x))."""

    onnx_op = "Sigmoid"
    name = "sigmoid"
    saves = Saved(output=True)
    family = "activation"

    def torch(self, node):
        import torch

        from archspec.lowering import Call

        return Call(torch.sigmoid)


@register
class Tanh(Op):
    """Tanh: y = tanh(x)."""

    onnx_op = "Tanh"
    name = "tanh"
    saves = Saved(output=True)
    family = "activation"

    def torch(self, node):
        import torch

        from archspec.lowering import Call

        return Call(torch.tanh)


class SoftmaxParams(Params):
    axis: int = 1  # an axis of the full [N, ...] tensor


@register
class Softmax(Op):
    """Softmax over `axis`: y_i = exp(x_i) / sum_j exp(x_j)."""

    name = "softmax"
    saves = Saved(output=True)
    family = "activation"
    Params = SoftmaxParams

    def onnx(self, node, b) -> None:
        b.op("Softmax", [b.x(node)], node, axis=node.params.axis)

    def shape(self, p: SoftmaxParams, ins: list[Shape]) -> Shape:
        rank = len(ins[0]) + 1
        if not -rank <= p.axis < rank or p.axis in (0, -rank):
            raise OpError(f"softmax axis {p.axis} is not a non-batch axis of a rank-{rank} tensor")
        return ins[0]

    def torch(self, node):
        import torch

        from archspec.lowering import Call

        return Call(torch.softmax, {"dim": node.params.axis})
