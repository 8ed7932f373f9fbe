"""Class token: a learned token prepended to a sequence (ViT's `class_token`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archspec.ops.base import Arrays, Case, NoParams, Op, OpError, Shape, fmt, register

if TYPE_CHECKING:
    import numpy as np
    import torch as T

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


def prepend_token(token: T.Tensor, x: T.Tensor) -> T.Tensor:
    """[token, x] along the tokens, as torchvision's VisionTransformer (`class_token.expand`, cat)."""
    import torch

    return torch.cat([token.expand(x.shape[0], -1, -1), x], dim=1)


def need_tokens(ins: list[Shape], what: str) -> tuple[int, int]:
    """(T, D) of a [N,T,D] token sequence; OpError otherwise."""
    if len(ins[0]) != 2:
        raise OpError(f"{what} needs a [N,T,D] token sequence, got {fmt(ins[0])}",
                      "make tokens of an image by a patch conv, reshape [D, -1] and permute [0, 2, 1]")
    t, d = ins[0]
    return t, d


@register
class ClassToken(Op[NoParams]):
    """Class token: y = [c, x] along the token axis, c (1,1,D) learned, initialised to zeros as
    torchvision's. [N,T,D] -> [N,T+1,D]. Its parameter has no local name: keyed by the node's path
    (a bare parameter, torchvision's `class_token` at the model's root; see layer_scale)."""

    name = "class_token"
    Params = NoParams
    backward_reads_output = False
    cases = (Case("tokens", {}, ((5, 4),)),)

    def shape(self, p: NoParams, ins: list[Shape]) -> Shape:
        t, d = need_tokens(ins, "class_token")
        return (t + 1, d)

    def weights(self, p: NoParams, ins: list[Shape], out: Shape) -> dict[str, Shape]:
        return {"": (1, 1, ins[0][1])}

    def init(self, node: NodeView, rng: np.random.Generator) -> Arrays:
        import numpy as np

        return {"": np.zeros(node.weights[""], np.float32)}

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """Broadcast the token to the batch, [N, 1, D], then Concat. Where(true, token, x[:, :1])
        broadcasts without touching x's values, and ONNX's shape inference keeps N through it (an
        Expand to a computed shape would lose it without data propagation)."""
        import numpy as np

        token, x = b.param(node, ""), b.x(node)
        one = b.const(node, "one", [1], "int64")
        first = b.op("Slice", [x, b.const(node, "zero", [0], "int64"), one, one], node, "first")
        always = b.const(node, "always", np.ones((1, 1, 1), bool), np.bool_)
        b.op("Concat", [b.op("Where", [always, token, first], node, "expanded"), x], node, axis=1)

    def torch(self, node: NodeView) -> TorchLowering:
        import torch

        from archspec.lowering import Weighted

        return Weighted(prepend_token, torch.zeros(node.weights[""]))

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        x = ins[0]
        return np.concatenate([np.broadcast_to(w[""], (x.shape[0], 1, x.shape[2])), x], axis=1)
