"""Batch normalisation and local response normalisation."""

from __future__ import annotations

from pydantic import Field, PositiveFloat, PositiveInt

from archspec.ops.base import Op, Params, Shape, need_image, register


class BatchNormParams(Params):
    eps: PositiveFloat = 1e-5
    momentum: float = Field(0.1, ge=0, le=1)
    affine: bool = True


@register
class BatchNorm(Op):
    """Batch norm: y = (x - mean) / sqrt(var + eps) * gamma + beta, per channel.

    gamma/beta are `weight`/`bias` (trainable); running_mean/var are buffers.
    """

    name = "bn"
    Params = BatchNormParams

    def weights(self, p: BatchNormParams, ins: list[Shape], out: Shape) -> dict[str, Shape]:
        c = (ins[0][0],)
        return {"weight": c, "bias": c} if p.affine else {}

    def buffers(self, p: BatchNormParams, ins: list[Shape], out: Shape) -> dict[str, Shape]:
        c = (ins[0][0],)
        return {"running_mean": c, "running_var": c}

    def torch(self, node):
        from torch import nn

        p = node.params
        cls = nn.BatchNorm2d if len(node.shape) == 3 else nn.BatchNorm1d
        return cls(node.shape[0], eps=p.eps, momentum=p.momentum, affine=p.affine)


class LRNParams(Params):
    size: PositiveInt = 5
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 1.0


@register
class LocalResponseNorm(Op):
    """Local response norm (AlexNet 2012): y_c = x_c / (k + alpha/size * sum_{c' near c} x_c'^2)^beta."""

    name = "lrn"
    Params = LRNParams

    def shape(self, p: LRNParams, ins: list[Shape]) -> Shape:
        need_image(ins, "lrn")
        return ins[0]

    def summary(self, p: LRNParams) -> str:
        return f"size {p.size}"

    def torch(self, node):
        from torch import nn

        p = node.params
        return nn.LocalResponseNorm(p.size, p.alpha, p.beta, p.k)
