"""Small modules and functions that op lowerings use where torch.nn has no exact match.

Modules that own weights subclass the torch.nn module they extend, so their
parameter names and default initialisation are PyTorch's own.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _lrtb(pad: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) as F.pad's (left, right, top, bottom)."""
    t, left, b, r = pad
    return (left, r, t, b)


class PadConv2d(nn.Conv2d):
    """A Conv2d with asymmetric zero padding (top, left, bottom, right), applied explicitly."""

    def __init__(self, *args, pad: tuple[int, int, int, int], **kw):
        super().__init__(*args, padding=0, **kw)
        self.pad = _lrtb(pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, self.pad))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, pad(l,r,t,b)={self.pad}"


class PadMaxPool2d(nn.MaxPool2d):
    """MaxPool2d with asymmetric padding; the padding is -inf, so it never wins a window."""

    def __init__(self, *args, pad: tuple[int, int, int, int], **kw):
        super().__init__(*args, padding=0, **kw)
        self.pad = _lrtb(pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, self.pad, value=float("-inf")))


class PadAvgPool2d(nn.AvgPool2d):
    """AvgPool2d with asymmetric padding. Without count_include_pad, the window sum is divided by
    the count of real (unpadded) values: avg(pad(x)) / avg(pad(1))."""

    def __init__(self, *args, pad: tuple[int, int, int, int], count_include_pad: bool, **kw):
        super().__init__(*args, padding=0, count_include_pad=True, **kw)
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


def shifted_relu(x: torch.Tensor, alpha: float) -> torch.Tensor:
    """y = max(x, 0) - alpha."""
    return F.relu(x) - alpha


def channel_pad(x: torch.Tensor, out: int, stride: int) -> torch.Tensor:
    """Option A shortcut: subsample by `stride`, then zero-pad channels to `out`, split evenly
    (the odd channel, if any, after)."""
    if stride > 1:
        x = x[:, :, ::stride, ::stride]
    extra = out - x.shape[1]
    return F.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2))


def add_into(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """b += a, in place: a residual add into the body's output (torchvision's `out += identity`)."""
    return b.add_(a)
