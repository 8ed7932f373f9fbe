"""archspec: neural-network architectures as data, compiled to shapes, costs, ONNX and PyTorch."""

from archspec.errors import SpecError
from archspec.model import Model, load, loads

__version__ = "0.1.0"
__all__ = ["Model", "SpecError", "__version__", "load", "loads"]
