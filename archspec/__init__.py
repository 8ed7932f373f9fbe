"""archspec: neural-network architectures as data, compiled to shapes, costs, ONNX and PyTorch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Model", "SpecError", "__version__", "load", "loads"]

if TYPE_CHECKING:
    from archspec.errors import SpecError
    from archspec.model import Model, load, loads


def __getattr__(name: str) -> Any:
    """The API is imported on first use, so that `archspec.cli` can set itself up first."""
    if name == "SpecError":
        from archspec.errors import SpecError

        return SpecError
    if name in ("Model", "load", "loads"):
        from archspec import model

        return getattr(model, name)
    raise AttributeError(f"module 'archspec' has no attribute {name!r}")
