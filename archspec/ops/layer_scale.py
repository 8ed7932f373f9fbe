"""Layer scale: a learned per-channel factor on a residual body (ConvNeXt, CaiT)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archspec.ops.base import Arrays, Case, Op, OpError, Params, Saved, Shape, fmt, num, register

if TYPE_CHECKING:
    import numpy as np
    import torch as T

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


class LayerScaleParams(Params):
    init: float = 1e-6  # gamma's initial value (torchvision's ConvNeXt layer_scale)


def scale_by(gamma: T.Tensor, x: T.Tensor) -> T.Tensor:
    """gamma * x, in torchvision's CNBlock order (`self.layer_scale * self.block(input)`)."""
    return gamma * x


@register
class LayerScale(Op[LayerScaleParams]):
    """Layer scale: y = gamma * x, gamma learned per channel: shape (C,1,1) for a [N,C,H,W] input,
    (F,) for a flat one, initialised to `init`. Its parameter has no local name: its state_dict key
    and ONNX initializer are the node's path itself, a bare parameter of the enclosing block's
    module, as torchvision's CNBlock keeps `features.1.0.layer_scale`. Name the node accordingly
    (`layer_scale: {name: layer_scale}` in a block called `0`)."""

    name = "layer_scale"
    saves = Saved(input=True)  # gamma's gradient reads x
    backward_reads_output = False
    Params = LayerScaleParams
    shorthand = "init"
    cases = (Case("image", {"init": 0.5}), Case("flat", {"init": -2.0}, ((6,),)))

    def shape(self, p: LayerScaleParams, ins: list[Shape]) -> Shape:
        if len(ins[0]) not in (1, 3):
            raise OpError(f"layer_scale needs a [N,C,H,W] or [N,F] input, got {fmt(ins[0])}")
        return ins[0]

    def weights(self, p: LayerScaleParams, ins: list[Shape], out: Shape) -> dict[str, Shape]:
        return {"": _gamma_shape(ins[0])}

    def init(self, node: NodeView, rng: np.random.Generator) -> Arrays:
        import numpy as np

        return {"": np.full(node.weights[""], self.params_of(node).init, np.float32)}

    def summary(self, p: LayerScaleParams) -> str:
        return f"init {num(p.init)}"

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        b.op("Mul", [b.param(node, ""), b.x(node)], node)

    def torch(self, node: NodeView) -> TorchLowering:
        import torch

        from archspec.lowering import Weighted

        return Weighted(scale_by, torch.full(node.weights[""], self.params_of(node).init))

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        return np.asarray(w[""] * ins[0])


def _gamma_shape(x: Shape) -> Shape:
    return (x[0], 1, 1) if len(x) == 3 else (x[0],)
