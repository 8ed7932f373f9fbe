"""Elementwise activations: ReLU and its variants, Softplus, sigmoid, tanh; and softmax."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import PositiveFloat

from archspec.ops.base import Arrays, Case, NoParams, Op, OpError, Params, Saved, Shape, register

if TYPE_CHECKING:
    import numpy as np
    import torch as T

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


@register
class ReLU(Op[NoParams]):
    """ReLU: y = max(x, 0)."""

    onnx_op = "Relu"
    name = "relu"
    saves = Saved(output=True)
    family = "activation"
    Params = NoParams
    cases = (Case("image"), Case("flat", inputs=((7,),)))

    def torch(self, node: NodeView) -> TorchLowering:
        import torch.nn.functional as F

        from archspec.lowering import Call

        return Call(F.relu)

    def torch_inplace(self, node: NodeView) -> TorchLowering:
        import torch

        from archspec.lowering import Call

        return Call(torch.relu_)

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        return np.asarray(np.maximum(ins[0], 0))


class LeakyReLUParams(Params):
    slope: float = 0.01


@register
class LeakyReLU(Op[LeakyReLUParams]):
    """Leaky ReLU: y = x if x > 0 else slope * x (the lecture's epsilon)."""

    name = "leaky_relu"
    saves = Saved(input=True)
    family = "activation"
    Params = LeakyReLUParams
    shorthand = "slope"
    cases = (Case("default"), Case("slope", {"slope": 0.3}))

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        b.op("LeakyRelu", [b.x(node)], node, alpha=self.params_of(node).slope)

    def torch(self, node: NodeView) -> TorchLowering:
        from torch import nn

        return nn.LeakyReLU(self.params_of(node).slope)

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        return np.where(ins[0] > 0, ins[0], self.params_of(node).slope * ins[0])


class ShiftedReLUParams(Params):
    alpha: float = 1.0


def shifted_relu(x: T.Tensor, alpha: float) -> T.Tensor:
    """y = max(x, 0) - alpha (torch lowering; needs no torch import to be defined)."""
    return x.relu() - alpha


@register
class ShiftedReLU(Op[ShiftedReLUParams]):
    """Shifted ReLU: y = max(x, 0) - alpha."""

    name = "shifted_relu"
    saves = Saved(own=4)  # relu's float output inside it
    family = "activation"
    Params = ShiftedReLUParams
    shorthand = "alpha"
    cases = (Case("default"), Case("half", {"alpha": 0.5}))

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        b.chain(node, b.x(node), [("Relu", "relu", [], {}),
                                  ("Sub", "", [b.const(node, "alpha", self.params_of(node).alpha)], {})])

    def torch(self, node: NodeView) -> TorchLowering:
        from archspec.lowering import Call

        return Call(shifted_relu, {"alpha": self.params_of(node).alpha})

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        return np.asarray(np.maximum(ins[0], 0) - self.params_of(node).alpha)


class ELUParams(Params):
    a: float = 1.0  # the initial value when trainable
    trainable: bool = True


@register
class ELU(Op[ELUParams]):
    """ELU: y = x if x > 0 else a * (exp(x) - 1); `a` is a learned scalar when trainable."""

    name = "elu"
    saves = Saved(input=True)
    family = "activation"
    Params = ELUParams
    cases = (Case("trainable", {"a": 0.8}), Case("fixed_a", {"a": 1.5, "trainable": False}))

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """ONNX Elu takes a fixed alpha. With a trainable a: e = Elu(x, 1) is x for x > 0 and
        exp(x) - 1 <= 0 otherwise, so PRelu(e, a) = x if x > 0 else a * (exp(x) - 1)."""
        p = self.params_of(node)
        if not p.trainable:
            b.op("Elu", [b.x(node)], node, alpha=p.a)
            return
        b.chain(node, b.x(node), [("Elu", "elu", [], {"alpha": 1.0}), ("PRelu", "", [b.param(node, "a")], {})])

    def init(self, node: NodeView, rng: np.random.Generator) -> Arrays:
        import numpy as np

        p = self.params_of(node)
        return {"a": np.full((1,), p.a, np.float32)} if p.trainable else {}

    def weights(self, p: ELUParams, ins: list[Shape], out: Shape) -> dict[str, Shape]:
        return {"a": (1,)} if p.trainable else {}

    def saved(self, p: ELUParams, shape: Shape = ()) -> Saved:
        """The trainable form (relu(x) + a * expm1(min(x, 0))) also keeps relu's and expm1's outputs."""
        return Saved(input=True, own=8) if p.trainable else self.saves

    def torch(self, node: NodeView) -> TorchLowering:
        from torch import nn

        from archspec.ops._torch import ELU

        p = self.params_of(node)
        return ELU(p.a) if p.trainable else nn.ELU(p.a)

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        p = self.params_of(node)
        a = w["a"][0] if p.trainable else p.a
        return np.where(ins[0] > 0, ins[0], a * np.expm1(np.minimum(ins[0], 0)))


class SoftplusParams(Params):
    beta: PositiveFloat = 1.0
    threshold: float = 20.0


@register
class Softplus(Op[SoftplusParams]):
    """Softplus: y = log(1 + exp(beta * x)) / beta (linear above `threshold`, as PyTorch)."""

    name = "softplus"
    saves = Saved(input=True)
    family = "activation"
    Params = SoftplusParams
    cases = (Case("plain"), Case("beta", {"beta": 2.0}), Case("beta_threshold", {"beta": 2.0, "threshold": 1.5}))

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """Softplus(beta * x) / beta; where beta * x > threshold, x. Above 15 the switch is below
        float32 resolution (softplus(z) - z = log1p(exp(-z)) < 3e-7 < z * eps), so it is left out."""
        p, x = self.params_of(node), b.x(node)
        beta = b.const(node, "beta", p.beta) if p.beta != 1 else None
        switch = p.threshold < 15
        z = b.op("Mul", [x, beta], node, "bx") if beta else x
        y = b.op("Softplus", [z], node, "softplus" if beta or switch else None)
        if beta:
            y = b.op("Div", [y, beta], node, "unscale" if switch else None)
        if switch:
            linear = b.op("Greater", [z, b.const(node, "threshold", p.threshold)], node, "linear")
            b.op("Where", [linear, x, y], node)

    def torch(self, node: NodeView) -> TorchLowering:
        from torch import nn

        p = self.params_of(node)
        return nn.Softplus(p.beta, p.threshold)

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        p, x = self.params_of(node), ins[0]
        return np.where(p.beta * x > p.threshold, x, np.logaddexp(0, p.beta * x) / p.beta)


@register
class Sigmoid(Op[NoParams]):
    """Sigmoid: y = 1 / (1 + exp(-x))."""

    onnx_op = "Sigmoid"
    name = "sigmoid"
    saves = Saved(output=True)
    family = "activation"
    Params = NoParams
    cases = (Case("image"),)

    def torch(self, node: NodeView) -> TorchLowering:
        import torch

        from archspec.lowering import Call

        return Call(torch.sigmoid)

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        return np.asarray(1 / (1 + np.exp(-ins[0])))


@register
class Tanh(Op[NoParams]):
    """Tanh: y = tanh(x)."""

    onnx_op = "Tanh"
    name = "tanh"
    saves = Saved(output=True)
    family = "activation"
    Params = NoParams
    cases = (Case("image"),)

    def torch(self, node: NodeView) -> TorchLowering:
        import torch

        from archspec.lowering import Call

        return Call(torch.tanh)

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        return np.asarray(np.tanh(ins[0]))


class SoftmaxParams(Params):
    axis: int = 1  # an axis of the full [N, ...] tensor


@register
class Softmax(Op[SoftmaxParams]):
    """Softmax over `axis`: y_i = exp(x_i) / sum_j exp(x_j)."""

    name = "softmax"
    saves = Saved(output=True)
    family = "activation"
    Params = SoftmaxParams
    cases = (Case("flat", inputs=((10,),)), Case("channels"), Case("last_axis", {"axis": -1}))

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        b.op("Softmax", [b.x(node)], node, axis=self.params_of(node).axis)

    def shape(self, p: SoftmaxParams, ins: list[Shape]) -> Shape:
        rank = len(ins[0]) + 1
        if not -rank <= p.axis < rank or p.axis in (0, -rank):
            raise OpError(f"softmax axis {p.axis} is not a non-batch axis of a rank-{rank} tensor")
        return ins[0]

    def torch(self, node: NodeView) -> TorchLowering:
        import torch

        from archspec.lowering import Call

        return Call(torch.softmax, {"dim": self.params_of(node).axis})

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        axis = self.params_of(node).axis
        e = np.exp(ins[0] - ins[0].max(axis=axis, keepdims=True))
        return np.asarray(e / e.sum(axis=axis, keepdims=True))
