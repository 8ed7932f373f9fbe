"""IR-to-IR passes (one per file, see base.py) and the deploy pipeline the ONNX backend runs."""

from __future__ import annotations

from archspec.passes import drop_noops, drop_train_only, fold_bn, fold_scale, remove_dropout
from archspec.passes.base import Pass, PassResult, Pipeline, PipelineResult, Step, Weights

__all__ = ["Pass", "PassResult", "Pipeline", "PipelineResult", "Step", "Weights", "deploy"]


def deploy(fold: bool = True) -> Pipeline:
    """The inference graph: train-only outputs dropped, dropout and other no-ops removed, BN folded
    (when `fold`), then constant scales (after a BN's fold, a scale of conv + BN meets the conv)."""
    return Pipeline((drop_train_only.drop_train_only, remove_dropout.remove_dropout, drop_noops.drop_noops,
                     *((fold_bn.fold_bn,) if fold else ()), fold_scale.fold_scale))
