"""Batch normalisation and local response normalisation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, PositiveFloat, PositiveInt

from archspec.ops.base import Arrays, Case, Op, Params, Saved, Shape, need_image, register

if TYPE_CHECKING:
    import numpy as np

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


class BatchNormParams(Params):
    eps: PositiveFloat = 1e-5
    momentum: float = Field(0.1, ge=0, le=1)
    affine: bool = True


@register
class BatchNorm(Op[BatchNormParams]):
    """Batch norm: y = (x - mean) / sqrt(var + eps) * gamma + beta, per channel.

    gamma/beta are `weight`/`bias` (trainable); running_mean/var are buffers.
    """

    name = "bn"
    saves = Saved(input=True)
    family = "norm"
    foldable_norm = True
    backward_reads_output = False
    Params = BatchNormParams
    cases = (Case("image"), Case("eps_momentum", {"eps": 1e-3, "momentum": 0.2}),
             Case("no_affine", {"affine": False}), Case("flat", inputs=((6,),)))

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """BatchNormalization in inference form (running statistics); momentum is ONNX's 1 - p."""
        p, c = self.params_of(node), node.shape[0]
        gamma, beta = ((b.param(node, "weight"), b.param(node, "bias")) if p.affine else
                       (b.const(node, "weight", [1.0] * c), b.const(node, "bias", [0.0] * c)))
        stats = [b.param(node, "running_mean"), b.param(node, "running_var")]
        b.op("BatchNormalization", [b.x(node), gamma, beta, *stats], node, epsilon=p.eps, momentum=1 - p.momentum)

    def init(self, node: NodeView, rng: np.random.Generator) -> Arrays:
        """gamma 1, beta 0, running mean 0, running variance 1."""
        import numpy as np

        c = node.shape[0]
        ones, zeros = np.ones(c, np.float32), np.zeros(c, np.float32)
        affine = {"weight": ones, "bias": zeros} if self.params_of(node).affine else {}
        return affine | {"running_mean": zeros.copy(), "running_var": ones.copy()}

    def weights(self, p: BatchNormParams, ins: list[Shape], out: Shape) -> dict[str, Shape]:
        c = (ins[0][0],)
        return {"weight": c, "bias": c} if p.affine else {}

    def buffers(self, p: BatchNormParams, ins: list[Shape], out: Shape) -> dict[str, Shape]:
        c = (ins[0][0],)
        return {"running_mean": c, "running_var": c}

    def torch(self, node: NodeView) -> TorchLowering:
        from torch import nn

        p = self.params_of(node)
        cls = nn.BatchNorm2d if len(node.shape) == 3 else nn.BatchNorm1d
        return cls(node.shape[0], eps=p.eps, momentum=p.momentum, affine=p.affine)

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        """Inference form: the running statistics."""
        import numpy as np

        shape = (1, -1) + (1,) * (ins[0].ndim - 2)
        y = (ins[0] - w["running_mean"].reshape(shape)) / np.sqrt(
            w["running_var"].reshape(shape) + self.params_of(node).eps)
        return y * w["weight"].reshape(shape) + w["bias"].reshape(shape) if "weight" in w else y


class LRNParams(Params):
    size: PositiveInt = 5
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 1.0


@register
class LocalResponseNorm(Op[LRNParams]):
    """Local response norm (AlexNet 2012): y_c = x_c / (k + alpha/size * sum_{c' near c} x_c'^2)^beta."""

    name = "lrn"
    saves = Saved(input=True, own=13)  # the squares' padded window, its pow input, the divisor
    family = "norm"
    Params = LRNParams
    cases = (Case("odd", {"size": 3, "alpha": 0.001, "k": 2.0}, ((6, 3, 4),)),
             Case("even", {"size": 4, "alpha": 0.01}, ((6, 3, 4),)),
             Case("wider_than_channels", {"size": 5, "alpha": 0.1}, ((3, 3, 3),)))

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """PyTorch sums channels [c - size//2, c + (size-1)//2]; ONNX LRN the window mirrored, the
        same for an odd size. An even size is lowered as x / (k + Conv(x^2, band))^beta with a
        banded 1x1 kernel band[o, i] = alpha/size on PyTorch's window."""
        p = self.params_of(node)
        if p.size % 2:
            b.op("LRN", [b.x(node)], node, size=p.size, alpha=p.alpha, beta=p.beta, bias=p.k)
            return
        import numpy as np

        c, x = node.shape[0], b.x(node)
        band = np.zeros((c, c, 1, 1), np.float32)
        for o in range(c):
            band[o, max(0, o - p.size // 2): o + (p.size - 1) // 2 + 1] = p.alpha / p.size
        s = b.op("Conv", [b.op("Mul", [x, x], node, "square"), b.const(node, "band", band)], node, "window")
        d = b.op("Pow", [b.op("Add", [s, b.const(node, "k", p.k)], node, "denom"), b.const(node, "beta", p.beta)],
                 node, "pow")
        b.op("Div", [x, d], node)

    def shape(self, p: LRNParams, ins: list[Shape]) -> Shape:
        need_image(ins, "lrn")
        return ins[0]

    def summary(self, p: LRNParams) -> str:
        return f"size {p.size}"

    def torch(self, node: NodeView) -> TorchLowering:
        from torch import nn

        p = self.params_of(node)
        return nn.LocalResponseNorm(p.size, p.alpha, p.beta, p.k)

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        """PyTorch's window: channels [c - size//2, c + (size-1)//2], clipped."""
        import numpy as np

        p, x = self.params_of(node), ins[0]
        sq = np.zeros_like(x)
        for o in range(x.shape[1]):
            sq[:, o] = (x[:, max(0, o - p.size // 2): o + (p.size - 1) // 2 + 1] ** 2).sum(axis=1)
        return x / (p.k + p.alpha / p.size * sq) ** p.beta
