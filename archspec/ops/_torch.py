"""torch.nn modules that op lowerings return where torch.nn has no exact match.

Torch-only, and imported by the lowerings (`Op.torch`) alone, when they run: a module class
needs torch to be defined, and `import archspec.ops` must not import torch (check, summary and
compile never do). One shared module rather than a class per op file: a class defined inside a
lowering would be a new class at each call, so neither picklable nor comparable. Functions
(`shifted_relu`, `channel_pad`, `add_into`) need no torch to be defined and live in their op's file.

Modules that own weights subclass the torch.nn module they extend, so their parameter names and
default initialisation are PyTorch's own.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

Pair = tuple[int, int]
Pads = tuple[int, int, int, int]


def _lrtb(pad: Pads) -> Pads:
    """(top, left, bottom, right) as F.pad's (left, right, top, bottom)."""
    t, left, b, r = pad
    return (left, r, t, b)


class PadConv2d(nn.Conv2d):
    """A Conv2d with asymmetric zero padding (top, left, bottom, right), applied explicitly."""

    def __init__(self, cin: int, cout: int, kernel_size: Pair, stride: Pair, *, pad: Pads, **kw: Any):
        super().__init__(cin, cout, kernel_size, stride, 0, **kw)
        self.pad = _lrtb(pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, self.pad))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, pad(l,r,t,b)={self.pad}"  # type: ignore[no-untyped-call]


class PadMaxPool2d(nn.MaxPool2d):
    """MaxPool2d with asymmetric padding; the padding is -inf, so it never wins a window."""

    def __init__(self, kernel_size: Pair, stride: Pair, *, ceil_mode: bool, pad: Pads):
        super().__init__(kernel_size, stride, 0, ceil_mode=ceil_mode)
        self.pad = _lrtb(pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y: torch.Tensor = super().forward(F.pad(x, self.pad, value=float("-inf")))
        return y


class PadAvgPool2d(nn.AvgPool2d):
    """AvgPool2d with asymmetric padding. Without count_include_pad, the window sum is divided by
    the count of real (unpadded) values: avg(pad(x)) / avg(pad(1))."""

    def __init__(self, kernel_size: Pair, stride: Pair, *, ceil_mode: bool, pad: Pads, count_include_pad: bool):
        super().__init__(kernel_size, stride, 0, ceil_mode, count_include_pad=True)
        self.pad, self.exclude_pad = _lrtb(pad), not count_include_pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = super().forward(F.pad(x, self.pad))
        if self.exclude_pad:
            ones = x.new_ones((1, 1, *x.shape[2:]))
            y = y / super().forward(F.pad(ones, self.pad))
        return y


class ELU(nn.Module):
    """ELU with a learned scalar: y = x if x > 0 else a * (exp(x) - 1).

    Written as relu(x) + a * expm1(min(x, 0)) so the unused branch never overflows in backward.
    """

    def __init__(self, a: float = 1.0):
        super().__init__()
        self.a = nn.Parameter(torch.full((1,), float(a)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x) + self.a * torch.expm1(torch.clamp(x, max=0))

    def extra_repr(self) -> str:
        return "a=(1,), trainable"


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth without importing torchvision: in training, zero the whole
    sample (mode row) or the whole batch (mode batch) with probability p and scale the rest by
    1/(1-p); the identity in eval. The same draw as torchvision's (one bernoulli_ of that size)."""

    def __init__(self, p: float, mode: str):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(keep)
        if keep > 0.0:
            noise.div_(keep)
        return x * noise

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"


class LayerNorm2d(nn.LayerNorm):
    """torchvision's LayerNorm2d (ConvNeXt): a LayerNorm over the channels of an NCHW tensor, at
    each position; nn.LayerNorm's params (weight, bias of shape (C,)) and initialisation."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ChannelLinear(nn.Linear):
    """nn.Linear on the channel axis of an NCHW tensor, at each position: ConvNeXt's
    Permute -> Linear -> Permute, with nn.Linear's params and initialisation."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x.permute(0, 2, 3, 1), self.weight, self.bias).permute(0, 3, 1, 2)


class SelfAttention(nn.MultiheadAttention):
    """nn.MultiheadAttention (batch_first) as self-attention of one input: torchvision's ViT
    EncoderBlock call `self_attention(x, x, x, need_weights=False)`, its params and init."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        y: torch.Tensor = super().forward(x, x, x, need_weights=False)[0]
        return y
