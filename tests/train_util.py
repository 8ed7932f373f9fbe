"""Shared by the training tests: small recipes and specs, and the weights a run saved."""

from __future__ import annotations

from pathlib import Path

import torch

# LeNet-5 with dropout, so that exact resume also needs the torch RNG restored.
LENET_DROPOUT = """\
archspec: 1
name: lenet_dropout
input: {name: image, shape: [1, 32, 32]}
preprocess: {scale: 0.0625, mean: [0.5], std: [0.5], channels: gray}
output: logits
layers:
  - conv: {out: 6, kernel: 5}
  - relu
  - maxpool: {kernel: 2}
  - conv: {out: 16, kernel: 5}
  - relu
  - maxpool: {kernel: 2}
  - flatten
  - linear: {out: 84}
  - relu
  - dropout: 0.3
  - linear: {out: 10}
"""

SHORT_RECIPE = """\
recipe: 1
name: short
augment: {{random_crop: {{padding: 2}}, rotation: 5}}
batch_size: 64
epochs: {epochs}
optimizer: {{type: sgd, lr: 0.05, momentum: 0.9, nesterov: true, weight_decay: 0.0005}}
schedule: {{type: cosine, warmup_epochs: 0.5}}
deterministic: true
checkpoint: {{every_steps: {every}}}
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def weights(run_dir: Path, name: str = "last.pt") -> dict[str, torch.Tensor]:
    return torch.load(run_dir / name, map_location="cpu", weights_only=True)["model"]
