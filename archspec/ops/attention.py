"""Multi-head self-attention in torch nn.MultiheadAttention's layout (ViT's `self_attention`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import Field, PositiveInt

from archspec.ops.base import Arrays, Case, Op, OpError, Params, Saved, Shape, num, register
from archspec.ops.class_token import need_tokens
from archspec.ops.linear import last_axis

if TYPE_CHECKING:
    import numpy as np

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering

FUSED_OPSET = 23  # ONNX's Attention op


class AttentionParams(Params):
    heads: PositiveInt
    dropout: float = Field(0.0, ge=0, lt=1)  # on the attention weights, in training only
    fused: bool = False  # ONNX: one Attention op (opset 23+) instead of MatMul, Softmax, MatMul


@register
class Attention(Op[AttentionParams]):
    """Multi-head self-attention of a [N,T,D] sequence, as nn.MultiheadAttention(D, heads,
    batch_first=True) called on (x, x, x): q, k, v = split(x W^T + b), per head softmax(q k^T /
    sqrt(D/heads)) v, heads joined, then the out projection. Weights in_proj_weight (3D,D),
    in_proj_bias (3D,), out_proj.weight (D,D), out_proj.bias (D,). MACs: the four projections and
    the two matmuls q k^T and (weights) v; the softmax counts none. ONNX: MatMul, Softmax, MatMul,
    or with `fused: true` ONNX's Attention op (opset 23 and later)."""

    name = "attention"
    saves = Saved(input=True)
    family = "attention"
    backward_reads_output = False
    Params = AttentionParams
    shorthand = "heads"
    cases = (Case("one_head", {"heads": 1}, ((5, 4),)), Case("heads", {"heads": 2}, ((3, 6),)))
    # fused needs opset 23, beyond test_ops' default: tests/test_vit.py runs it

    def shape(self, p: AttentionParams, ins: list[Shape]) -> Shape:
        _, d = need_tokens(ins, "attention")
        if d % p.heads:
            raise OpError(f"attention: {p.heads} heads do not divide the {d} features",
                          "the embedding size must be a multiple of heads")
        return ins[0]

    def weights(self, p: AttentionParams, ins: list[Shape], out: Shape) -> dict[str, Shape]:
        d = ins[0][1]
        return {"in_proj_weight": (3 * d, d), "in_proj_bias": (3 * d,), "out_proj.weight": (d, d),
                "out_proj.bias": (d,)}

    def macs(self, p: AttentionParams, ins: list[Shape], out: Shape) -> int:
        """4 T D^2 for the projections, 2 T^2 D for q k^T and (weights) v."""
        t, d = ins[0]
        return 4 * t * d * d + 2 * t * t * d

    def saved(self, p: AttentionParams, shape: Shape = ()) -> Saved:
        """What torch 2.x keeps, in [T, D]-sized tensors besides the input (measured by
        tests/test_summary.py): without dropout scaled_dot_product_attention's CPU kernel keeps
        the projection q, k, v (3), the attention output (1) and a logsumexp per head and token
        (H/D), never the T x T weights; with dropout its math path keeps those weights too: q, k,
        v and their scaled and transposed copies (6) and 3 H T / D of weights, mask, dropped."""
        if not shape:
            return self.saves
        t, d = shape
        units = 6 + 3 * p.heads * t / d if p.dropout else 4 + p.heads / d
        return Saved(input=True, own=4 * units)

    def init(self, node: NodeView, rng: np.random.Generator) -> Arrays:
        """nn.MultiheadAttention's: in_proj_weight xavier_uniform, out_proj.weight nn.Linear's
        U(-1/sqrt(D), 1/sqrt(D)), biases 0."""
        import numpy as np

        from archspec.weights import uniform

        w = node.weights
        d = w["out_proj.weight"][0]
        return {"in_proj_weight": uniform(rng, w["in_proj_weight"], math.sqrt(6 / (4 * d))),
                "in_proj_bias": np.zeros(w["in_proj_bias"], np.float32),
                "out_proj.weight": uniform(rng, w["out_proj.weight"], 1 / math.sqrt(d)),
                "out_proj.bias": np.zeros(w["out_proj.bias"], np.float32)}

    def summary(self, p: AttentionParams) -> str:
        extra = (f", drop {num(p.dropout)}" if p.dropout else "") + (", fused" if p.fused else "")
        return f"{p.heads} heads{extra}"

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """The in projection (MatMul by the transposed weight, Add), then the attention, then the
        out projection. Dropout is training only and left out."""
        p = self.params_of(node)
        t, d = node.shape
        w_in, b_in = b.param(node, "in_proj_weight"), b.param(node, "in_proj_bias")
        w_out, b_out = b.param(node, "out_proj.weight"), b.param(node, "out_proj.bias")
        qkv = last_axis(b, node, b.x(node), w_in, b_in, "qkv", "qkv_")
        if p.fused:
            if b.opset < FUSED_OPSET:
                raise OpError(f"attention fused: true needs ONNX opset {FUSED_OPSET} or later (its "
                              f"Attention op), compiling at opset {b.opset}",
                              f"compile with --opset {FUSED_OPSET}, or drop fused")
            parts = [_slice(b, node, qkv, k, d) for k in range(3)]
            y = b.op("Attention", parts, node, "attention", q_num_heads=p.heads, kv_num_heads=p.heads)
        else:
            y = _attend(b, node, qkv, t, d, p.heads)
        last_axis(b, node, y, w_out, b_out, None, "out_")

    def torch(self, node: NodeView) -> TorchLowering:
        from archspec.ops._torch import SelfAttention

        p = self.params_of(node)
        return SelfAttention(node.shape[1], p.heads, dropout=p.dropout, batch_first=True)

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        x, h = ins[0], self.params_of(node).heads
        n, t, d = x.shape
        qkv = (x @ w["in_proj_weight"].T + w["in_proj_bias"]).reshape(n, t, 3, h, d // h)
        q, k, v = np.moveaxis(qkv, (2, 3), (0, 2))  # each (n, h, t, d/h)
        s = q @ np.swapaxes(k, -1, -2) / math.sqrt(d // h)
        a = np.exp(s - s.max(-1, keepdims=True))
        y = (a / a.sum(-1, keepdims=True)) @ v
        y = np.moveaxis(y, 1, 2).reshape(n, t, d)
        return np.asarray(y @ w["out_proj.weight"].T + w["out_proj.bias"])


def _slice(b: OnnxBuilder, node: NodeView, qkv: str, k: int, d: int) -> str:
    """q, k or v (k = 0, 1, 2) of the joined projection: its features k D to (k + 1) D."""
    return b.op("Slice", [qkv, b.const(node, f"start{k}", [k * d], "int64"),
                          b.const(node, f"end{k}", [(k + 1) * d], "int64"),
                          b.const(node, f"axis{k}", [-1], "int64")], node, "qkv"[k])


def _attend(b: OnnxBuilder, node: NodeView, qkv: str, t: int, d: int, heads: int) -> str:
    """softmax(q k^T / sqrt(dh)) v per head, of the [N,T,3D] projection, as [N,T,D]."""
    dh = d // heads
    split = b.op("Reshape", [qkv, b.const(node, "heads_shape", [0, t, 3, heads, dh], "int64")], node, "split")
    parts = b.op("Transpose", [split], node, "per_head", perm=[2, 0, 3, 1, 4])  # (3, N, H, T, dh)
    q, k, v = (b.op("Gather", [parts, b.const(node, f"index_{c}", i, "int64")], node, c, axis=0)
               for i, c in enumerate("qkv"))
    kt = b.op("Transpose", [k], node, "k_t", perm=[0, 1, 3, 2])
    scores = b.op("Mul", [b.op("MatMul", [q, kt], node, "qk"), b.const(node, "scale", 1 / math.sqrt(dh))],
                  node, "scores")
    y = b.op("MatMul", [b.op("Softmax", [scores], node, "weights", axis=-1), v], node, "av")
    joined = b.op("Transpose", [y], node, "join", perm=[0, 2, 1, 3])
    return b.op("Reshape", [joined, b.const(node, "joined_shape", [0, t, d], "int64")], node, "joined")
