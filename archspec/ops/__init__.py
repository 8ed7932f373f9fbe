"""The op registry: importing this package registers every op."""

from archspec.ops import activation, adaptive, conv, dropout, linear, merge, norm, pool  # noqa: F401 - registration
from archspec.ops.base import REGISTRY, Op, OpError, Params, Shape

__all__ = ["REGISTRY", "Op", "OpError", "Params", "Shape"]
