"""Layer normalisation over the last axis (nn.LayerNorm) or over the channels of an NCHW tensor
(torchvision's LayerNorm2d, ConvNeXt's norm)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import PositiveFloat

from archspec.ops.base import Arrays, Case, Op, OpError, Params, Saved, Shape, fmt, num, register

if TYPE_CHECKING:
    import numpy as np

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering

TO_LAST, FROM_LAST = [0, 2, 3, 1], [0, 3, 1, 2]  # NCHW <-> NHWC


class LayerNormParams(Params):
    axis: Literal["last", "channels"] = "last"
    eps: PositiveFloat = 1e-5
    affine: bool = True


@register
class LayerNorm(Op[LayerNormParams]):
    """Layer norm: y = (x - mean) / sqrt(var + eps) * weight + bias, the mean and (biased) variance
    taken over the last axis (`axis: last`, nn.LayerNorm) or over the channels at each position of a
    [N,C,H,W] tensor (`axis: channels`, torchvision's LayerNorm2d). weight, bias: (C,)."""

    name = "layer_norm"
    saves = Saved(input=True)
    family = "norm"
    backward_reads_output = False
    Params = LayerNormParams
    cases = (Case("last", {}, ((3, 4, 5),)), Case("channels", {"axis": "channels"}, ((6, 3, 4),)),
             Case("flat", {"eps": 1e-3}, ((7,),)), Case("no_affine", {"axis": "channels", "affine": False}))

    def shape(self, p: LayerNormParams, ins: list[Shape]) -> Shape:
        if p.axis == "channels" and len(ins[0]) != 3:
            raise OpError(f"layer_norm axis: channels needs a [N,C,H,W] input, got {fmt(ins[0])}",
                          "axis: last normalises the last axis of any tensor")
        return ins[0]

    def weights(self, p: LayerNormParams, ins: list[Shape], out: Shape) -> dict[str, Shape]:
        c = (ins[0][0] if p.axis == "channels" else ins[0][-1],)
        return {"weight": c, "bias": c} if p.affine else {}

    def init(self, node: NodeView, rng: np.random.Generator) -> Arrays:
        """weight 1, bias 0 (nn.LayerNorm's)."""
        import numpy as np

        if not self.params_of(node).affine:
            return {}
        c = node.weights["weight"]
        return {"weight": np.ones(c, np.float32), "bias": np.zeros(c, np.float32)}

    def saved(self, p: LayerNormParams, shape: Shape = ()) -> Saved:
        """Its input, and a float mean and 1/std per normalised row of C values: 8 / C bytes per value."""
        if not shape:
            return self.saves
        return Saved(input=True, own=8 / (shape[0] if p.axis == "channels" else shape[-1]))

    def summary(self, p: LayerNormParams) -> str:
        return p.axis + ("" if p.eps == 1e-5 else f", eps {num(p.eps)}")

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """Over channels: Transpose to NHWC, normalise the last axis, Transpose back, as LayerNorm2d
        does. The last axis: LayerNormalization from opset 17, else its formula in opset-13 ops."""
        p = self.params_of(node)
        channels = p.axis == "channels"
        x = b.op("Transpose", [b.x(node)], node, "to_nhwc", perm=TO_LAST) if channels else b.x(node)
        y = self._last_axis(node, b, x, "norm" if channels else None)
        if channels:
            b.op("Transpose", [y], node, perm=FROM_LAST)

    def _last_axis(self, node: NodeView, b: OnnxBuilder, x: str, tag: str | None) -> str:
        """The norm over the last axis, its final op tagged `tag` (None: the node's final op)."""
        p = self.params_of(node)
        scale = [b.param(node, "weight"), b.param(node, "bias")] if p.affine else []
        if b.opset >= 17:
            if not scale:
                scale = [b.const(node, "weight", [1.0] * b.in_shape(node)[0 if p.axis == "channels" else -1])]
            return b.op("LayerNormalization", [x, *scale], node, tag, axis=-1, epsilon=p.eps)
        mean = b.op("ReduceMean", [x], node, "mean", axes=[-1], keepdims=1)
        d = b.op("Sub", [x, mean], node, "centred")
        var = b.op("ReduceMean", [b.op("Mul", [d, d], node, "square")], node, "var", axes=[-1], keepdims=1)
        std = b.op("Sqrt", [b.op("Add", [var, b.const(node, "eps", p.eps)], node, "var_eps")], node, "std")
        if not scale:
            return b.op("Div", [d, std], node, tag)
        y = b.op("Mul", [b.op("Div", [d, std], node, "normed"), scale[0]], node, "scaled")
        return b.op("Add", [y, scale[1]], node, tag)

    def torch(self, node: NodeView) -> TorchLowering:
        from torch import nn

        from archspec.ops._torch import LayerNorm2d

        p = self.params_of(node)
        cls = LayerNorm2d if p.axis == "channels" else nn.LayerNorm
        c = node.shape[0] if p.axis == "channels" else node.shape[-1]
        return cls(c, eps=p.eps, elementwise_affine=p.affine)

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        p = self.params_of(node)
        x = np.moveaxis(ins[0], 1, -1) if p.axis == "channels" else ins[0]
        y = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + p.eps)
        if p.affine:
            y = y * w["weight"] + w["bias"]
        return np.moveaxis(y, -1, 1) if p.axis == "channels" else y
