"""Class scores to the top-k predictions, with softmax probabilities and labels."""

from __future__ import annotations

from typing import Any

import numpy as np

from archspec.runtime.errors import InputError


def softmax(x: np.ndarray) -> np.ndarray:
    """Along the last axis, in float64, shifted by the max so exp never overflows."""
    z: np.ndarray = np.exp(x.astype(np.float64) - x.max(axis=-1, keepdims=True))
    out: np.ndarray = z / z.sum(axis=-1, keepdims=True)
    return out


def top_k(scores: np.ndarray, k: int, labels: list[str] | None = None,
          probabilities: bool = False) -> list[list[dict[str, Any]]]:
    """For each row of `scores` (N, classes), the k best as {rank, index, label, probability}.

    `probabilities`: the scores already are probabilities (the model ends in a softmax).
    Ties keep the lower class index first.
    """
    if k < 1:
        raise InputError(f"--top-k must be at least 1, got {k}")
    scores = scores.reshape(len(scores), -1)
    probs = scores.astype(np.float64) if probabilities else softmax(scores)
    best = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return [[{"rank": r + 1, "index": int(i), "label": labels[i] if labels and i < len(labels) else str(i),
              "probability": float(p[i])} for r, i in enumerate(row)] for p, row in zip(probs, best)]
