"""IR-to-IR passes (one per file, see base.py) and the deploy pipeline the ONNX backend runs."""

from __future__ import annotations

from archspec.passes import drop_train_only, fold_bn, remove_dropout
from archspec.passes.base import Pass, PassResult, Pipeline, PipelineResult, Step, Weights

__all__ = ["Pass", "PassResult", "Pipeline", "PipelineResult", "Step", "Weights", "deploy"]


def deploy(fold: bool = True) -> Pipeline:
    """The inference graph: train-only outputs dropped, dropout removed, BN folded (when `fold`)."""
    return Pipeline((drop_train_only.drop_train_only, remove_dropout.remove_dropout,
                     *((fold_bn.fold_bn,) if fold else ())))
