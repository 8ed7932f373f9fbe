"""The torch backend: specs as torch.fx GraphModules, and weights in and out of them.

Importing this package imports torch; the rest of archspec reaches it lazily.
"""

from archspec.torch_backend.build import Call, LoweringError, build
from archspec.torch_backend.network import Network

__all__ = ["Call", "LoweringError", "Network", "build"]
