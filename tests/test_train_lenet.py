"""LeNet-5 with the built-in recipe on the built-in digits: accuracy, and the same accuracy after
compiling the trained weights to ONNX and running them on onnxruntime."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import archspec
from archspec.cli import main
from archspec.train import deploy
from archspec.train.data import load_data
from archspec.train.recipe import load_recipe

pytestmark = pytest.mark.slow  # trains LeNet-5 on the digits


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # a net this small is fastest on one thread, and shared cores stay free
    yield
    torch.set_num_threads(before)


def test_lenet5_digits_then_onnx(tmp_path, one_thread):
    run = tmp_path / "run"
    assert main(["train", "lenet5", "--out", str(run), "-q"]) == 0
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    recipe = load_recipe(None, "lenet5")
    assert [r["epoch"] for r in rows] == list(range(1, recipe.epochs + 1))
    best = max(r["val_acc"] for r in rows)
    assert best >= 0.97
    assert rows[-1]["train_loss"] < rows[0]["train_loss"] / 10

    onnx_path = tmp_path / "lenet5.onnx"
    assert main(["compile", "lenet5", "--weights", str(run / "best.pt"), "-o", str(onnx_path)]) == 0
    model = archspec.load("lenet5")
    data = load_data(model, recipe)
    pred, truth = deploy.onnx_predictions(onnx_path, data, threads=1)
    tpred, ttruth = deploy.torch_predictions(model, run / "best.safetensors", data)
    assert len(truth) == 359  # 20% of 1,797 digits held out
    assert np.array_equal(truth, ttruth)
    assert (pred == truth).mean() == pytest.approx(best, abs=1e-12)  # the best epoch's weights
    assert np.array_equal(pred, tpred)
