"""The torch backend: specs as torch.fx GraphModules, and weights in and out of them.

Importing this package imports torch; the rest of archspec reaches it lazily.
"""

from archspec.lowering import Call
from archspec.torch_backend.build import LoweringError, build
from archspec.torch_backend.network import Network
from archspec.torch_backend.references import REFERENCES, Reference
from archspec.torch_backend.weights import import_reference, load_state, reference, save_state, state_arrays

__all__ = ["REFERENCES", "Call", "LoweringError", "Network", "Reference", "build", "import_reference", "load_state",
           "reference", "save_state", "state_arrays"]
