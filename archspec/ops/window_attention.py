"""Shifted-window multi-head self-attention on a channels-last [H, W, C] map (Swin v1,
torchvision's ShiftedWindowAttention)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, NonNegativeInt, PositiveInt, field_validator

from archspec.ops.base import Arrays, Case, Op, OpError, Params, Saved, Shape, fmt, register
from archspec.ops.linear import last_axis

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

    from archspec.lowering import NodeView, OnnxBuilder, TorchLowering

WINDOWS = [0, 1, 3, 2, 4, 5]  # [N, h/wh, wh, w/ww, ww, C] <-> [N, h/wh, w/ww, wh, ww, C]
MASKED = -100.0  # torchvision's additive mask between tokens of different regions of a shifted window


class WindowAttentionParams(Params):
    heads: PositiveInt
    window: list[PositiveInt] = [7, 7]  # [wh, ww]
    shift: list[NonNegativeInt] = [0, 0]  # cyclic shift [sh, sw]; torchvision's odd blocks: window // 2
    dropout: float = Field(0.0, ge=0, lt=1)  # on the output (training only)
    attention_dropout: float = Field(0.0, ge=0, lt=1)  # on the attention weights (training only)

    @field_validator("window", "shift")
    @classmethod
    def _pair(cls, v: list[int]) -> list[int]:
        if len(v) != 2:
            raise ValueError("give two sizes, [h, w]")
        return v


class Geometry:
    """The window arithmetic of one input size, as torchvision's shifted_window_attention does it:
    pad H and W up to window multiples; no shift along an axis the window covers whole."""

    def __init__(self, p: WindowAttentionParams, x: Shape):
        self.h, self.w, self.c = x
        self.wh, self.ww = p.window
        self.hp = self.h + (self.wh - self.h % self.wh) % self.wh
        self.wp = self.w + (self.ww - self.w % self.ww) % self.ww
        self.shift = (0 if self.wh >= self.hp else p.shift[0], 0 if self.ww >= self.wp else p.shift[1])
        self.heads, self.d = p.heads, self.c // p.heads
        self.tokens = self.wh * self.ww  # per window
        self.windows = (self.hp // self.wh) * (self.wp // self.ww)

    @property
    def shifted(self) -> bool:
        return sum(self.shift) > 0

    def partitioned(self) -> list[int]:
        return [-1, self.hp // self.wh, self.wh, self.wp // self.ww, self.ww, self.c]


def position_index(window: list[int]) -> np.ndarray:
    """torchvision's relative_position_index: for each token pair of a window, the row of the bias
    table holding their (dy, dx) offset. Flat, (wh*ww)^2."""
    import numpy as np

    wh, ww = window
    coords = np.stack(np.meshgrid(np.arange(wh), np.arange(ww), indexing="ij")).reshape(2, -1)
    rel = (coords[:, :, None] - coords[:, None, :]).transpose(1, 2, 0)
    return ((rel[..., 0] + wh - 1) * (2 * ww - 1) + rel[..., 1] + ww - 1).reshape(-1)


def shift_mask(g: Geometry) -> np.ndarray:
    """The additive mask (windows, T, T) of a shifted layout: tokens of different regions of the
    rolled map do not attend to each other (torchvision's construction, slice for slice)."""
    import numpy as np

    region = np.zeros((g.hp, g.wp))
    (sh, sw), count = g.shift, 0
    for h0, h1 in ((0, -g.wh), (-g.wh, -sh), (-sh, None)):
        for w0, w1 in ((0, -g.ww), (-g.ww, -sw), (-sw, None)):
            region[h0:h1, w0:w1] = count
            count += 1
    r = region.reshape(g.hp // g.wh, g.wh, g.wp // g.ww, g.ww).transpose(0, 2, 1, 3).reshape(g.windows, -1)
    return np.where(r[:, None, :] - r[:, :, None] != 0, MASKED, 0.0)


@register
class WindowAttention(Op[WindowAttentionParams]):
    """Swin's (shifted) window attention on a channels-last [N,H,W,C] map, torchvision's
    ShiftedWindowAttention: pad H, W with zeros to multiples of `window`; roll by -`shift` (no
    shift along an axis where the window covers the padded size); split into windows of wh*ww
    tokens; per window, multi-head attention softmax(q k^T / sqrt(C/heads) + B) v, B the
    relative position bias looked up in `relative_position_bias_table` ((2wh-1)(2ww-1), heads) by
    the buffer `relative_position_index`, plus -100 between tokens of different regions of a
    shifted window; project; merge windows, roll back, crop. Weights qkv.weight (3C, C),
    qkv.bias, proj.weight (C, C), proj.bias. Tied to the input size it is expanded at."""

    name = "window_attention"
    saves = Saved(input=True)
    family = "attention"
    Params = WindowAttentionParams
    cases = (Case("plain", {"heads": 2, "window": [3, 3]}, ((6, 6, 4),)),
             Case("shifted", {"heads": 2, "window": [3, 3], "shift": [1, 1]}, ((6, 6, 4),)),
             Case("shift_pad", {"heads": 2, "window": [3, 2], "shift": [1, 1]}, ((7, 5, 4),)),
             Case("shift_one_axis", {"heads": 1, "window": [2, 4], "shift": [1, 2]}, ((4, 4, 3),)),
             Case("covered", {"heads": 3, "window": [7, 7], "shift": [3, 3]}, ((4, 5, 6),)))

    def tied_to_input_size(self, node: NodeView) -> bool:
        return True

    def shape(self, p: WindowAttentionParams, ins: list[Shape]) -> Shape:
        x = ins[0]
        if len(x) != 3:
            raise OpError(f"window_attention needs a channels-last [N,H,W,C] input, got {fmt(x)}",
                          "permute: {dims: [0, 2, 3, 1]} after the patch conv")
        if x[2] % p.heads:
            raise OpError(f"window_attention: {x[2]} channels do not split into {p.heads} heads",
                          "heads must divide C")
        if any(s >= w for s, w in zip(p.shift, p.window)):
            raise OpError(f"window_attention shift {p.shift} must be below the window {p.window}",
                          "torchvision shifts by window // 2")
        return x

    def weights(self, p: WindowAttentionParams, ins: list[Shape], out: Shape) -> dict[str, Shape]:
        c, (wh, ww) = ins[0][2], p.window
        return {"qkv.weight": (3 * c, c), "qkv.bias": (3 * c,), "proj.weight": (c, c), "proj.bias": (c,),
                "relative_position_bias_table": ((2 * wh - 1) * (2 * ww - 1), p.heads)}

    def buffers(self, p: WindowAttentionParams, ins: list[Shape], out: Shape) -> dict[str, Shape]:
        return {"relative_position_index": ((p.window[0] * p.window[1]) ** 2,)}

    def macs(self, p: WindowAttentionParams, ins: list[Shape], out: Shape) -> int:
        """qkv and proj at every (padded) position, and the two attention products q k^T and attn v
        (T x T x C/heads per head and window each); softmax and the bias add are not counted."""
        g = Geometry(p, ins[0])
        positions = g.hp * g.wp
        return positions * 4 * g.c * g.c + 2 * positions * g.tokens * g.c

    def init(self, node: NodeView, rng: np.random.Generator) -> Arrays:
        """The linears PyTorch's default, the table trunc_normal(std 0.02) as torchvision; the
        index as torchvision computes it (stored as float32, as every buffer here)."""
        import numpy as np

        from archspec.weights import fan_in_uniform

        w = node.weights
        out: Arrays = {}
        for lin in ("qkv", "proj"):
            drawn = fan_in_uniform({"weight": w[f"{lin}.weight"], "bias": w[f"{lin}.bias"]}, rng)
            out |= {f"{lin}.{k}": v for k, v in drawn.items()}
        table = np.clip(rng.normal(0.0, 0.02, w["relative_position_bias_table"]), -2, 2)
        index = position_index(self.params_of(node).window)
        return out | {"relative_position_bias_table": table.astype(np.float32),
                      "relative_position_index": index.astype(np.float32)}

    def saved(self, p: WindowAttentionParams, shape: Shape = ()) -> Saved:
        """What torchvision's shifted_window_attention keeps (measured by tests/test_summary.py),
        in units of the padded map besides the input: the padded input, q, k, v and the attention
        output (5), and the softmaxed weights, H wh ww / C per value; with the output's dropout its
        mask (1), with the weights' dropout their mask and the dropped weights (2 H wh ww / C)."""
        if not shape:
            return self.saves
        g = Geometry(p, shape)
        weights = g.heads * g.tokens / g.c
        units = 5 + weights + (1 if p.dropout else 0) + (2 * weights if p.attention_dropout else 0)
        return Saved(input=True, own=4 * (units * g.hp * g.wp / (g.h * g.w) - 1))

    def summary(self, p: WindowAttentionParams) -> str:
        return self._summary(p, p.shift)

    def summary_at(self, p: WindowAttentionParams, shape: Shape) -> str:
        """The shift it does at this size (none along an axis its window covers)."""
        return self._summary(p, list(Geometry(p, shape).shift))

    @staticmethod
    def _summary(p: WindowAttentionParams, shift: list[int]) -> str:
        rolled = f", shift {shift[0]}x{shift[1]}" if sum(shift) else ""
        return f"{p.heads} heads, {p.window[0]}x{p.window[1]}{rolled}"

    def torch(self, node: NodeView) -> TorchLowering:
        """torchvision's own module: its state_dict names and forward are the reference's."""
        from torchvision.models.swin_transformer import ShiftedWindowAttention

        p = self.params_of(node)
        module: nn.Module = ShiftedWindowAttention(node.shape[2], list(p.window), list(p.shift), p.heads,
                                                   attention_dropout=p.attention_dropout, dropout=p.dropout)
        return module

    def reference(self, node: NodeView, ins: list[np.ndarray], w: Arrays) -> np.ndarray:
        import numpy as np

        g = Geometry(self.params_of(node), ins[0].shape[1:])
        x = np.pad(ins[0], ((0, 0), (0, g.hp - g.h), (0, g.wp - g.w), (0, 0)))
        x = np.roll(x, (-g.shift[0], -g.shift[1]), (1, 2))
        x = x.reshape(g.partitioned()).transpose(WINDOWS).reshape(-1, g.tokens, g.c)
        qkv = (x @ w["qkv.weight"].T + w["qkv.bias"]).reshape(-1, g.tokens, 3, g.heads, g.d).transpose(2, 0, 3, 1, 4)
        attn = (qkv[0] * g.d ** -0.5) @ qkv[1].swapaxes(-1, -2) + _bias(w, g)
        if g.shifted:
            attn = (attn.reshape(-1, g.windows, g.heads, g.tokens, g.tokens) + shift_mask(g)[:, None]
                    ).reshape(attn.shape)
        attn = np.exp(attn - attn.max(-1, keepdims=True))
        y = (attn / attn.sum(-1, keepdims=True)) @ qkv[2]
        y = y.transpose(0, 2, 1, 3).reshape(-1, g.tokens, g.c) @ w["proj.weight"].T + w["proj.bias"]
        hw = [-1, g.hp // g.wh, g.wp // g.ww, g.wh, g.ww, g.c]
        y = y.reshape(hw).transpose(WINDOWS).reshape(-1, g.hp, g.wp, g.c)
        return np.asarray(np.roll(y, g.shift, (1, 2))[:, :g.h, :g.w])

    def onnx(self, node: NodeView, b: OnnxBuilder) -> None:
        """Pad, roll (Slice + Concat), Reshape/Transpose into [N, windows, T, C], MatMul qkv, Gather
        of the bias table by the index, a constant mask when shifted, Softmax, MatMul, and back.
        The batch stays axis 0 of every helper (Reshape's 0 copies it), so shape inference keeps N."""
        g = Geometry(self.params_of(node), b.in_shape(node))
        x = b.x(node)
        if (g.hp, g.wp) != (g.h, g.w):
            pad = b.const(node, "pads", [0, 0, 0, 0, 0, g.hp - g.h, g.wp - g.w, 0], "int64")
            x = b.op("Pad", [x, pad], node, "pad")
        x = _roll(node, b, x, (-g.shift[0], -g.shift[1]), (g.hp, g.wp), "roll")
        x = _reshape(node, b, x, [0, *g.partitioned()[1:]], "split")
        x = b.op("Transpose", [x], node, "windows_t", perm=WINDOWS)
        x = _reshape(node, b, x, [0, g.windows, g.tokens, g.c], "windows")
        qkv = _reshape(node, b, _linear(node, b, x, "qkv"), [0, g.windows, g.tokens, 3, g.heads, g.d], "qkv_split")
        qkv = b.op("Transpose", [qkv], node, "qkv_t", perm=[3, 0, 1, 4, 2, 5])  # [3, N, windows, heads, T, d]
        q, k, v = (b.op("Gather", [qkv, b.const(node, f"{n}_at", i, "int64")], node, n, axis=0)
                   for i, n in enumerate("qkv"))
        q = b.op("Mul", [q, b.const(node, "scale", g.d ** -0.5)], node, "q_scaled")
        kt = b.op("Transpose", [k], node, "k_t", perm=[0, 1, 2, 4, 3])
        attn = b.op("MatMul", [q, kt], node, "logits")
        attn = b.op("Add", [attn, _onnx_bias(node, b, g)], node, "biased")
        if g.shifted:
            attn = b.op("Add", [attn, b.const(node, "mask", shift_mask(g)[:, None])], node, "masked")
        attn = b.op("Softmax", [attn], node, "softmax", axis=-1)
        y = b.op("Transpose", [b.op("MatMul", [attn, v], node, "mixed")], node, "mixed_t", perm=[0, 1, 3, 2, 4])
        y = _linear(node, b, _reshape(node, b, y, [0, g.windows, g.tokens, g.c], "heads_merged"), "proj")
        y = _reshape(node, b, y, [0, g.hp // g.wh, g.wp // g.ww, g.wh, g.ww, g.c], "unsplit")
        y = b.op("Transpose", [y], node, "unsplit_t", perm=WINDOWS)
        padded = (g.hp, g.wp) != (g.h, g.w)  # the last of merge, unroll, crop writes the node's value
        y = _reshape(node, b, y, [0, g.hp, g.wp, g.c], None if not (padded or g.shifted) else "merged")
        y = _roll(node, b, y, g.shift, (g.hp, g.wp), "unroll", final=not padded)
        if padded:
            ends = b.const(node, "crop_ends", [g.h, g.w], "int64")
            b.op("Slice", [y, b.const(node, "crop_starts", [0, 0], "int64"), ends,
                           b.const(node, "crop_axes", [1, 2], "int64")], node)


def _bias(w: Arrays, g: Geometry) -> np.ndarray:
    """The relative position bias (heads, T, T) from the table and the index."""
    import numpy as np

    rows = w["relative_position_bias_table"][w["relative_position_index"].astype(int)]
    return np.asarray(rows).reshape(g.tokens, g.tokens, g.heads).transpose(2, 0, 1)


def _onnx_bias(node: NodeView, b: OnnxBuilder, g: Geometry) -> str:
    index = b.op("Cast", [b.param(node, "relative_position_index")], node, "index", to=7)  # INT64
    rows = b.op("Gather", [b.param(node, "relative_position_bias_table"), index], node, "bias_rows", axis=0)
    rows = _reshape(node, b, rows, [g.tokens, g.tokens, g.heads], "bias_grid")
    return b.op("Transpose", [rows], node, "bias", perm=[2, 0, 1])


def _reshape(node: NodeView, b: OnnxBuilder, x: str, shape: list[int], tag: str | None) -> str:
    """Reshape to a constant shape; tag None: the node's final op."""
    return b.op("Reshape", [x, b.const(node, f"{tag or 'out'}_shape", shape, "int64")], node, tag)


def _linear(node: NodeView, b: OnnxBuilder, x: str, lin: str) -> str:
    return last_axis(b, node, x, b.param(node, f"{lin}.weight"), b.param(node, f"{lin}.bias"), lin, f"{lin}_")


def _roll(node: NodeView, b: OnnxBuilder, x: str, shifts: tuple[int, int], sizes: tuple[int, int],
          tag: str, final: bool = False) -> str:
    """torch.roll on axes 1 and 2 of [N,H,W,C]: each a Concat of the two Slices it swaps. `final`:
    the last Concat is the node's final op."""
    cuts = [(axis, -s % size, size) for axis, (s, size) in enumerate(zip(shifts, sizes), start=1) if s % size]
    for axis, cut, size in cuts:
        parts = []
        for part, (lo, hi) in (("tail", (cut, size)), ("head", (0, cut))):
            t = f"{tag}{axis}_{part}"
            parts.append(b.op("Slice", [x, b.const(node, f"{t}_start", [lo], "int64"),
                                        b.const(node, f"{t}_end", [hi], "int64"),
                                        b.const(node, f"{t}_axis", [axis], "int64")], node, t))
        last = final and axis == cuts[-1][0]
        x = b.op("Concat", parts, node, None if last else f"{tag}{axis}", axis=axis)
    return x
