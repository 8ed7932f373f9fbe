"""Weights in and out of a torch module: files by path, and reference models' state_dicts.

Files go through archspec.weights (.npz, .safetensors, torch checkpoints), so a file written
here compiles with `archspec compile --weights FILE`; .pt/.pth are written with torch.save.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from archspec.torch_backend.references import REFERENCES, Reference
from archspec.weights import IGNORED_SUFFIXES, TORCH_SUFFIXES, WeightsError, load_weights, save_weights

StateLike = Mapping[str, Any] | str | Path


def state_arrays(module: nn.Module) -> dict[str, np.ndarray]:
    """The module's state_dict as float32 numpy arrays (what the ONNX compiler takes)."""
    return {k: v.detach().cpu().float().numpy() if v.is_floating_point() else v.detach().cpu().numpy()
            for k, v in module.state_dict().items()}


def save_state(module: nn.Module, path: str | Path) -> Path:
    """Write the state_dict atomically: .safetensors or .npz (readable without torch), or .pt/.pth."""
    path = Path(path)
    if path.suffix in TORCH_SUFFIXES:
        from archspec.io import atomic_path

        with atomic_path(path) as tmp:
            torch.save({k: v.detach().cpu() for k, v in module.state_dict().items()}, tmp)
        return path
    return save_weights(path, state_arrays(module))


def load_state(module: nn.Module, source: StateLike) -> nn.Module:
    """Load a state_dict (a mapping of tensors or arrays, or a weights file) into `module`.

    Keys must match exactly (BN's num_batches_tracked may be absent); every missing, unexpected
    or mis-shaped key is named in one WeightsError."""
    state = load_weights(source) if isinstance(source, str | Path) else source
    own = module.state_dict()
    problems = _mismatches(own, state)
    if problems:
        shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
        raise WeightsError("weights do not fit the module:\n  " + "\n  ".join(shown))
    tensors = {k: torch.as_tensor(np.asarray(v)) if not isinstance(v, torch.Tensor) else v for k, v in state.items()}
    module.load_state_dict({**own, **tensors})
    return module


def _mismatches(own: Mapping[str, torch.Tensor], state: Mapping[str, Any]) -> list[str]:
    out = [f"missing '{k}' {list(v.shape)}" for k, v in own.items()
           if k not in state and not k.endswith(IGNORED_SUFFIXES)]
    out += [f"'{k}' has shape {list(np.shape(state[k]))}, expected {list(v.shape)}"
            for k, v in own.items() if k in state and tuple(np.shape(state[k])) != tuple(v.shape)]
    out += [f"unexpected '{k}'" for k in state if k not in own]
    return out


def reference(spec: str) -> Reference:
    if spec not in REFERENCES:
        raise KeyError(f"no reference model for '{spec}' (known: {', '.join(sorted(REFERENCES))})")
    return REFERENCES[spec]


def import_reference(module: nn.Module, spec: str, source: nn.Module | StateLike) -> nn.Module:
    """Load a reference model's weights (the model, its state_dict, or a checkpoint file) into the
    archspec module of built-in `spec`, renaming keys by the spec's row in REFERENCES."""
    ref = reference(spec)
    if isinstance(source, nn.Module):
        source = source.state_dict()
    elif isinstance(source, str | Path):
        source = load_weights(source)
    return load_state(module, {ref.rename(k): v for k, v in source.items()})
