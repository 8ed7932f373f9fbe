"""One set of weights for both backends, so that onnxruntime and torch are timed on the same model.

The arrays are keyed by IR path + local name (`layer1.0.conv1.weight`): the torch state_dict
keys, which the ONNX compiler takes as its `weights`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from archspec.runtime.errors import InputError, RunError

if TYPE_CHECKING:
    import onnx

    from archspec.model import Model

Weights = dict[str, np.ndarray]


def spec_weights(model: Model, seed: int = 0) -> Weights:
    """A fresh torch module's weights and buffers (PyTorch's default initialisation from `seed`)."""
    from archspec.torch_backend import state_arrays

    return state_arrays(model.to_torch(seed=seed))


def read_weights(path: str | Path) -> Weights:
    """A weights file (.safetensors, .npz, torch checkpoint), its problems as user errors."""
    from archspec.weights import WeightsError, load_weights

    try:
        return load_weights(path)
    except WeightsError as e:
        raise InputError(str(e)) from None


def onnx_weights(proto: onnx.ModelProto, keys: list[str]) -> Weights:
    """The initializers of a compiled model named by `keys` (torch's state_dict keys).

    A deploy model with BN folded into its convs no longer holds the BN weights: then the error
    says to pass the spec instead (the runtime then compiles both backends from one set).
    """
    from onnx.numpy_helper import to_array

    inits = {i.name: i for i in proto.graph.initializer}
    missing = [k for k in keys if k not in inits and not k.endswith("num_batches_tracked")]
    if missing:
        raise RunError(f"--compare torch: the ONNX model lacks {len(missing)} of the torch module's weights "
                       f"(e.g. {missing[0]}; BN folded?): pass the spec instead of the .onnx file, or "
                       "compile it with --no-fold-bn")
    return {k: to_array(inits[k]) for k in keys if k in inits}
