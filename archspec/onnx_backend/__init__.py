"""The ONNX backend: archspec IR -> onnx.ModelProto (each op lowers itself through `Op.onnx`)."""

from archspec.onnx_backend.compile import DEFAULT_OPSET, MIN_OPSET, Options, save_onnx, to_onnx
from archspec.onnx_backend.emit import CompileError

__all__ = ["DEFAULT_OPSET", "MIN_OPSET", "CompileError", "Options", "save_onnx", "to_onnx"]
