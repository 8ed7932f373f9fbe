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

from archspec.reference import ReferenceSpec
from archspec.torch_backend.references import Reference
from archspec.weights import TORCH_SUFFIXES, WeightsError, check_fit, load_weights, save_weights

StateLike = Mapping[str, Any] | str | Path


def state_arrays(module: nn.Module) -> dict[str, np.ndarray]:
    """The module's state_dict as float32 numpy arrays (what the ONNX compiler takes)."""
    return {k: v.detach().cpu().float().numpy() if v.is_floating_point() else v.detach().cpu().numpy()
            for k, v in module.state_dict().items()}


def save_state(module: nn.Module, path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    """Write the state_dict atomically: .safetensors or .npz (readable without torch), or .pt/.pth.
    `metadata` (text) goes into a .safetensors header."""
    path = Path(path)
    if path.suffix in TORCH_SUFFIXES:
        if metadata:
            raise WeightsError(f"'{path}': only .safetensors files hold metadata")
        return save_torch(path, {k: v.detach().cpu() for k, v in module.state_dict().items()})
    return save_weights(path, state_arrays(module), metadata)


def save_torch(path: str | Path, obj: Any) -> Path:
    """torch.save `obj` atomically (archspec.io.atomic_path)."""
    from archspec.io import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return path


def load_state(module: nn.Module, source: StateLike) -> nn.Module:
    """Load a state_dict (a mapping of tensors or arrays, or a weights file) into `module`.

    Keys must match exactly (BN's num_batches_tracked may be absent); every missing, unexpected
    or mis-shaped key is named in one WeightsError."""
    state = load_weights(source) if isinstance(source, str | Path) else source
    own = module.state_dict()
    check_fit({k: tuple(v.shape) for k, v in own.items()}, state, own, "the module")
    tensors = {k: torch.as_tensor(np.asarray(v)) if not isinstance(v, torch.Tensor) else v
               for k, v in state.items() if k in own}  # (a stray BN counter is bookkeeping, not a weight)
    module.load_state_dict({**own, **tensors})
    return module


def import_reference(module: nn.Module, reference: Reference | ReferenceSpec,
                     source: nn.Module | StateLike) -> nn.Module:
    """Load a reference model's weights (the model, its state_dict, or a checkpoint file) into the
    archspec module, strictly, renaming keys as the reference's checkpoints need and resizing what
    the reference's own code resizes for another input size (ViT's position embeddings; references.py).
    `reference` is a spec's: `archspec.load(spec).reference`."""
    if isinstance(reference, ReferenceSpec):
        reference = Reference.of(reference)
    if not isinstance(reference, Reference):
        raise TypeError(f"import_reference takes a spec's reference (archspec.load(spec).reference), "
                        f"not {type(reference).__name__}")
    if isinstance(source, nn.Module):
        source = source.state_dict()
    elif isinstance(source, str | Path):
        source = load_weights(source)
    own = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    return load_state(module, reference.adapt({reference.rename(k): v for k, v in source.items()}, own))
