"""Build a reference module on the meta device: its state_dict layout without memory or time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def _regnet_module_on_meta() -> Iterator[None]:
    """RegNet's BlockParams computes its widths with real tensors (`.tolist()`), which the meta
    device cannot give: only the RegNet module itself is built there."""
    import torch
    import torchvision.models.regnet as regnet

    real = regnet.RegNet

    def on_meta(*args: Any, **kw: Any) -> Any:
        with torch.device("meta"):
            return real(*args, **kw)

    regnet.RegNet = on_meta  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        regnet.RegNet = real  # type: ignore[misc]


def build_on_meta(build: Callable[[], Any], name: str) -> Any:
    """`build()` (a torchvision or timm constructor for the built-in `name`) on the meta device."""
    import torch

    if name.startswith("regnet_"):
        with _regnet_module_on_meta():
            return build()
    with torch.device("meta"):
        return build()
