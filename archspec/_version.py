"""archspec's version, in a module of its own so that the backends can record it without importing
the package's front door (archspec/__init__.py)."""

__version__ = "0.1.0"
