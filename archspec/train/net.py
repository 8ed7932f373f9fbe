"""The spec's torch module, and what training needs to know about its outputs."""

from __future__ import annotations

import math

import torch
from torch import nn

from archspec.model import Model


def build_model(model: Model, seed: int) -> nn.Module:
    """The spec's torch module (an fx GraphModule), initialised from `seed` (PyTorch's default init per op).

    In training mode a spec with train-only outputs returns {main: logits, aux1: ..., ...}."""
    return model.to_torch(seed=seed)


def main_output(model: Model) -> str:
    return model.graph.outputs[0].name


def num_classes(model: Model) -> int:
    """Classes of the main output: its last dim (a [N, K] logits tensor)."""
    shape = model.graph.nodes[model.graph.outputs[0].node].shape
    return math.prod(shape)


def aux_outputs(model: Model) -> list[str]:
    return [o.name for o in model.graph.outputs if o.train_only]


def split_outputs(out: torch.Tensor | dict[str, torch.Tensor], main: str
                  ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(main logits, {aux name: logits}) from a forward pass in either mode."""
    if isinstance(out, dict):
        return out[main], {k: v for k, v in out.items() if k != main}
    return out, {}
