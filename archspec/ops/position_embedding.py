"""Position embedding: a learned (1,T,D) tensor added to a token sequence (ViT's `encoder.pos_embedding`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import PositiveFloat

from archspec.ops.base import Arrays, Case, Op, Params, Shape, num, register
from archspec.ops.class_token import need_tokens

if TYPE_CHECKING:
    import numpy as np
    import torch as T

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering


class PositionEmbeddingParams(Params):
    std: PositiveFloat = 0.02  # initial values ~ N(0, std), torchvision's ViT Encoder


def add_embedding(pos: T.Tensor, x: T.Tensor) -> T.Tensor:
    """x + pos, torchvision's order (`input + self.pos_embedding`)."""
    return x + pos


@register
class PositionEmbedding(Op[PositionEmbeddingParams]):
    """Position embedding: y = x + e, e (1,T,D) learned, drawn from N(0, std) (torchvision's
    `normal_(std=0.02)`). Keyed by the node's path (a bare parameter: torchvision's
    `encoder.pos_embedding` is a node `pos_embedding` in scope `encoder`). Its size follows the
    token count, so it is tied to the input size; torchvision's weights of another image size are
    interpolated on import (archspec.reference)."""

    name = "position_embedding"
    Params = PositionEmbeddingParams
    backward_reads_output = False
    cases = (Case("tokens", {}, ((5, 4),)), Case("std", {"std": 1.0}, ((3, 6),)))

    def shape(self, p: PositionEmbeddingParams, ins: list[Shape]) -> Shape:
        need_tokens(ins, "position_embedding")
        return ins[0]

    def weights(self, p: PositionEmbeddingParams, ins: list[Shape], out: Shape) -> dict[str, Shape]:
        return {"": (1, *ins[0])}

    def init(self, node: NodeView, rng: np.random.Generator) -> Arrays:
        import numpy as np

        std = self.params_of(node).std
        return {"": (rng.standard_normal(node.weights[""]) * std).astype(np.float32)}

    def summary(self, p: PositionEmbeddingParams) -> str:
        return "" if p.std == 0.02 else f"std {num(p.std)}"

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        b.op("Add", [b.x(node), b.param(node, "")], node)

    def torch(self, node: NodeView) -> TorchLowering:
        import torch

        from archspec.lowering import Weighted

        return Weighted(add_embedding, torch.randn(node.weights[""]) * self.params_of(node).std)

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        return np.asarray(ins[0] + w[""])
