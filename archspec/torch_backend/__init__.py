"""The torch backend: specs as torch.fx GraphModules, and weights in and out of them.

Importing this package imports torch; the rest of archspec reaches it lazily.
"""

from archspec.lowering import Call
from archspec.torch_backend.build import LoweringError, build
from archspec.torch_backend.network import Network
from archspec.torch_backend.references import Reference, ReferenceUnavailable, randomise_norms
from archspec.torch_backend.weights import import_reference, load_state, save_state, state_arrays

__all__ = ["Call", "LoweringError", "Network", "Reference", "ReferenceUnavailable", "build", "import_reference",
           "load_state", "randomise_norms", "save_state", "state_arrays"]
