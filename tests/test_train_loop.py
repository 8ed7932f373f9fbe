"""The loop's parts: losses of train-only outputs and label smoothing, mixed precision on the CPU,
device errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from train_util import write

import archspec
from archspec.errors import SpecError
from archspec.train import distributed as D
from archspec.train.loop import Trainer, train
from archspec.train.recipe import load_recipe

AUX_SPEC = """\
archspec: 1
name: aux
input: {name: image, shape: [3, 16, 16]}
output: logits
layers:
  - conv: {out: 4, kernel: 3, name: c1}
  - relu
  - global_avgpool
  - flatten
  - linear: {out: 5, name: fc}
outputs:
  - {name: aux1, from: c1, train_only: true, layers: [global_avgpool, flatten, linear: {out: 5}]}
"""
HEAD = "recipe: 1\nname: r\nbatch_size: 8\ndata: {train: d.npz}\n"


@pytest.fixture
def npz_dir(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.integers(0, 256, (40, 3, 16, 16), np.uint8), y=np.arange(40) % 5)
    return tmp_path


def test_train_only_outputs_and_label_smoothing_in_the_loss(npz_dir):
    model = archspec.loads(AUX_SPEC)
    recipe = load_recipe(write(npz_dir / "r.yaml", HEAD + "loss_weights: {aux1: 0.5}\nlabel_smoothing: 0.1\n"))
    t = Trainer(model, recipe, npz_dir / "run", D.World(), torch.device("cpu"), None)
    x, y = torch.randn(8, 3, 16, 16), torch.arange(8) % 5
    out = t.net.train()(x)
    assert set(out) == {"logits", "aux1"}
    loss, logits = t.loss(out, y)
    want = (F.cross_entropy(out["logits"], y, label_smoothing=0.1)
            + 0.5 * F.cross_entropy(out["aux1"], y, label_smoothing=0.1))
    assert torch.allclose(loss, want) and logits is out["logits"]
    assert not torch.allclose(loss, F.cross_entropy(out["logits"], y) + 0.5 * F.cross_entropy(out["aux1"], y))


def test_loss_weights_must_name_train_only_outputs(npz_dir):
    bad = load_recipe(write(npz_dir / "bad.yaml", HEAD + "loss_weights:\n  aux3: 1.0\n"))
    with pytest.raises(SpecError) as e:
        Trainer(archspec.loads(AUX_SPEC), bad, npz_dir / "run", D.World(), torch.device("cpu"), None)
    d = e.value.diagnostics[0]
    assert d.message == "loss_weights names aux3, not train-only outputs of 'aux' (aux1)"
    assert d.pos.line == 6  # at aux3


def test_amp_on_cpu_trains_in_bfloat16(npz_dir):
    recipe = load_recipe(write(npz_dir / "r.yaml", HEAD + "amp: true\nepochs: 2\noptimizer: {lr: 0.05}\n"))
    model = archspec.loads(AUX_SPEC)
    seen = []
    t = Trainer(model, recipe, npz_dir / "run", D.World(), torch.device("cpu"), None)
    t.net.get_submodule("fc").register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    with t.autocast():
        t.net.train()(torch.randn(2, 3, 16, 16))
    assert seen == [torch.bfloat16]
    result = train(model, recipe, npz_dir / "run", log=None, progress_bar=False)
    rows = [json.loads(line) for line in (npz_dir / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [4, 8] and np.isfinite(rows[-1]["train_loss"])
    assert result["best_epoch"] in (1, 2)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_cuda_without_cuda_is_a_clear_error(npz_dir):
    recipe = load_recipe(write(npz_dir / "r.yaml", HEAD + "device: cuda\n"))
    with pytest.raises(SpecError, match="device cuda was asked for, but torch sees no CUDA device"):
        train(archspec.loads(AUX_SPEC), recipe, npz_dir / "run", log=None)
    assert not (npz_dir / "run").exists()


def test_input_override_is_kept_by_resume(tmp_path, capsys):
    from archspec.cli import main
    from archspec.train.rundir import resumed

    run = tmp_path / "run"
    before = torch.get_num_threads()
    try:
        assert main(["train", "lenet5", "--input", "1x28x28", "--epochs", "1", "--batch-size", "256",
                     "--out", str(run), "--threads", "1", "-q"]) == 0
    finally:
        torch.set_num_threads(before)
    recipe, shape, _ = resumed(run)
    assert shape == (1, 28, 28) and recipe.epochs == 1 and recipe.batch_size == 256
    assert json.loads((run / "run.json").read_text())["input"] == [1, 28, 28]
    assert main(["train", "lenet5", "--out", str(run), "--resume", "--input", "1x32x32"]) == 2
    assert "drop --recipe and --input" in capsys.readouterr().err
    assert main(["train", "lenet5", "--out", str(run), "--resume", "--epochs", "1", "-q"]) == 0  # nothing left to do
    assert "best val acc" in capsys.readouterr().out


def test_a_torchrun_child_exits_at_once_and_other_trains_do_not(monkeypatch):
    """gloo's threads, torn down with the interpreter, aborted a finished rank (SIGABRT) in 1 run of
    about 7: a process torchrun started skips that teardown, as the quick commands do."""
    from archspec.cli import exits_at_once

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert not exits_at_once("train") and exits_at_once("compile")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert exits_at_once("train") and not exits_at_once("verify")
    monkeypatch.setenv("WORLD_SIZE", "not a number")  # read by train alone, never parsed here
    assert exits_at_once("compile")
