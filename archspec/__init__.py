"""archspec: neural-network architectures as data, compiled to shapes, costs, ONNX and PyTorch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archspec._version import __version__

__all__ = ["Model", "SpecError", "__version__", "load", "loads"]
_LAZY = {"SpecError": "archspec.errors", "Model": "archspec.model", "load": "archspec.model",
         "loads": "archspec.model"}  # imported on first use, so that `archspec.cli` can set up first

if TYPE_CHECKING:
    from archspec.errors import SpecError
    from archspec.model import Model, load, loads
else:
    def __getattr__(name: str) -> object:
        if name not in _LAZY:
            raise AttributeError(f"module 'archspec' has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # found directly from now on
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
