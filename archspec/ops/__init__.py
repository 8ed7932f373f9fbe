"""The op registry: importing this package imports every op module in it (each registers its ops),
so a new op is one new file. Modules whose name starts with `_` are helpers, not op modules."""

import importlib
import pkgutil

from archspec.ops.base import REGISTRY, Op, OpError, Params, Shape

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):  # sorted: a stable registry order
    if not _info.name.startswith("_") and _info.name != "base":
        importlib.import_module(f"{__name__}.{_info.name}")

__all__ = ["REGISTRY", "Op", "OpError", "Params", "Shape"]
