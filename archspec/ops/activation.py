"""Elementwise activations: ReLU and its variants, Softplus, sigmoid, tanh; softmax; dropout."""

from __future__ import annotations

from pydantic import Field, PositiveFloat

from archspec.ops.base import Op, OpError, Params, Shape, register


@register
class ReLU(Op):
    """ReLU: y = max(x, 0)."""

    name = "relu"

    def torch(self, node):
        import torch.nn.functional as F

        from archspec.torch_backend.build import Call

        return Call(F.relu)


class LeakyReLUParams(Params):
    slope: float = 0.01


@register
class LeakyReLU(Op):
    """Leaky ReLU: y = x if x > 0 else slope * x (the lecture's epsilon)."""

    name = "leaky_relu"
    Params = LeakyReLUParams
    shorthand = "slope"

    def torch(self, node):
        from torch import nn

        return nn.LeakyReLU(node.params.slope)


class ShiftedReLUParams(Params):
    alpha: float = 1.0


@register
class ShiftedReLU(Op):
    """Shifted ReLU: y = max(x, 0) - alpha."""

    name = "shifted_relu"
    Params = ShiftedReLUParams
    shorthand = "alpha"

    def torch(self, node):
        from archspec.torch_backend.build import Call
        from archspec.torch_backend.modules import shifted_relu

        return Call(shifted_relu, {"alpha": node.params.alpha})


class ELUParams(Params):
    a: float = 1.0  # the initial value when trainable
    trainable: bool = True


@register
class ELU(Op):
    """ELU: y = x if x > 0 else a * (exp(x) - 1); `a` is a learned scalar when trainable."""

    name = "elu"
    Params = ELUParams

    def weights(self, p: ELUParams, ins: list[Shape], out: Shape) -> dict[str, Shape]:
        return {"a": (1,)} if p.trainable else {}

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
    Params = SoftplusParams

    def torch(self, node):
        from torch import nn

        return nn.Softplus(node.params.beta, node.params.threshold)


@register
class Sigmoid(Op):
    """Sigmoid: y = 1 / (1 + exp(-x))."""

    name = "sigmoid"

    def torch(self, node):
        import torch

        from archspec.torch_backend.build import Call

        return Call(torch.sigmoid)


@register
class Tanh(Op):
    """Tanh: y = tanh(x)."""

    name = "tanh"

    def torch(self, node):
        import torch

        from archspec.torch_backend.build import Call

        return Call(torch.tanh)


class SoftmaxParams(Params):
    axis: int = 1  # an axis of the full [N, ...] tensor


@register
class Softmax(Op):
    """Softmax over `axis`: y_i = exp(x_i) / sum_j exp(x_j)."""

    name = "softmax"
    Params = SoftmaxParams

    def shape(self, p: SoftmaxParams, ins: list[Shape]) -> Shape:
        rank = len(ins[0]) + 1
        if not -rank <= p.axis < rank or p.axis in (0, -rank):
            raise OpError(f"softmax axis {p.axis} is not a non-batch axis of a rank-{rank} tensor")
        return ins[0]

    def torch(self, node):
        import torch

        from archspec.torch_backend.build import Call

        return Call(torch.softmax, {"dim": node.params.axis})


class DropoutParams(Params):
    p: float = Field(0.5, ge=0, lt=1)


@register
class Dropout(Op):
    """Dropout: in training, zero each value with probability p and scale the rest by 1/(1-p);
    the identity at inference."""

    name = "dropout"
    Params = DropoutParams
    shorthand = "p"

    def summary(self, p: DropoutParams) -> str:
        return f"p={p.p}"

    def torch(self, node):
        from torch import nn

        return nn.Dropout(node.params.p)
