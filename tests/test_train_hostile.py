"""Hostile and broken input on the training side (docs/security.md): damaged or crafted run
folders and checkpoints, runs killed before their first checkpoint, non-finite losses, recipe
values out of range, and the threads a resumed run uses. Each is a clear error (exit 1) naming the
file, never a traceback; one small run on the digits is trained once and copied for each case."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from train_util import write

import archspec
from archspec import cli
from archspec.errors import SpecError
from archspec.train import checkpoint as ckpt
from archspec.train.loop import train
from archspec.train.recipe import load_recipe

TINY_SPEC = """\
archspec: 1
name: tiny
input: {name: image, shape: [1, 8, 8]}
output: logits
layers:
  - flatten
  - linear: {out: 10}
"""
TINY_RECIPE = "recipe: 1\nname: tiny\nbatch_size: 256\nepochs: 1\noptimizer: {lr: 0.05}\ndata: {train: digits}\n"


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A finished one-epoch run folder (do not modify: copy it with `run_copy`)."""
    root = tmp_path_factory.mktemp("trained")
    spec, recipe = write(root / "tiny.yaml", TINY_SPEC), write(root / "r.yaml", TINY_RECIPE)
    assert cli.main(["train", str(spec), "--recipe", str(recipe), "--out", str(root / "run"), "-q"]) == 0
    return root


@pytest.fixture
def run(trained, tmp_path) -> Path:
    shutil.copytree(trained, tmp_path / "t")
    return tmp_path / "t" / "run"


def resume(run: Path, *extra: str) -> int:
    return cli.main(["train", str(run.parent / "tiny.yaml"), "--out", str(run), "--resume", "-q", *extra])


def restamp(path: Path, change) -> None:
    """Rewrite a checkpoint after `change(data)`, with a content hash that matches (a crafted file)."""
    data = torch.load(path, weights_only=True)
    change(data)
    ckpt.save_run(path, data)


# ---- metrics.jsonl ----------------------------------------------------------------------------

BAD_ROWS = {"not JSON": "{epoch: 1", "epoch a string": '{"epoch": "one", "train_loss": 1, "train_acc": 0.5, '
            '"val_loss": 1, "val_acc": 0.5}', "null": "null", "a list": "[1, 2]", "a string": '"row"',
            "no train_loss": '{"epoch": 1, "train_acc": 0.5, "val_loss": 1, "val_acc": 0.5}'}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
@pytest.mark.parametrize("command", ["resume", "plot"])
def test_damaged_metrics_line_is_an_error_at_its_line(run, case, command, capsys):
    with open(run / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write(BAD_ROWS[case] + "\n")
    if command == "resume":
        code = resume(run, "--epochs", "2")
    else:
        code = cli.main(["plot", str(run), "-o", str(run.parent / "c.png")])
    err = capsys.readouterr().err
    assert code == 1, err
    assert f"{run / 'metrics.jsonl'}:2: " in err and "Traceback" not in err


# ---- last.pt ----------------------------------------------------------------------------------


def test_flipped_byte_in_last_pt_is_an_error(run, capsys):
    data = torch.load(run / "last.pt", weights_only=True)
    data["model"]["1.weight"][0, 0] += 1.0  # as a flipped bit in a weight would: a valid file, other values
    ckpt.save(run / "last.pt", data)
    assert resume(run, "--epochs", "2") == 1
    assert "last.pt: damaged: its bytes do not match the sha256 in last.pt.sha256" in capsys.readouterr().err


def test_flipped_raw_byte_in_last_pt_is_an_error(run, capsys):
    raw = bytearray((run / "last.pt").read_bytes())
    raw[len(raw) // 2] ^= 0x10
    (run / "last.pt").write_bytes(bytes(raw))
    assert resume(run, "--epochs", "2") == 1
    assert "last.pt: damaged: its bytes do not match" in capsys.readouterr().err


def test_last_pt_without_its_hash_is_an_error(run, capsys):
    (run / "last.pt.sha256").unlink()
    assert resume(run, "--epochs", "2") == 1
    assert "no hash of it in last.pt.sha256" in capsys.readouterr().err


def test_kill_while_saving_leaves_a_checkpoint_whose_hash_is_listed(run, monkeypatch):
    old = ckpt.file_hash(run / "last.pt")
    real = ckpt.write_atomic
    monkeypatch.setattr(ckpt, "write_atomic", lambda *a: (real(*a), (_ for _ in ()).throw(KeyboardInterrupt())))
    with pytest.raises(KeyboardInterrupt):  # killed after listing the new hash, before the rename
        ckpt.save_run(run / "last.pt", torch.load(run / "last.pt", weights_only=True) | {"world": 1})
    assert ckpt.file_hash(run / "last.pt") == old and old in ckpt.listed_hashes(run / "last.pt")
    assert ckpt.load_run(run / "last.pt")["world"] == 1


CRAFTED = {
    "recipe wrong types": (lambda d: d["recipe"].update(epochs="many", optimizer=[1]), "its recipe is not valid"),
    "no optimizer": (lambda d: d.pop("optimizer"), "no 'optimizer'"),
    "no scaler": (lambda d: d.pop("scaler"), "no 'scaler'"),
    "progress a list": (lambda d: d.update(progress=[1]), "'progress' is a list"),
    "progress extra key": (lambda d: d["progress"].update(epochs=1), "progress has keys"),
    "progress string": (lambda d: d["progress"].update(epoch="1"), "'progress.epoch' is a str"),
    "model wrong shape": (lambda d: d["model"].update({"1.weight": torch.zeros(3)}), "does not fit this model"),
    "model missing key": (lambda d: d["model"].pop("1.bias"), "does not fit this model"),
    "optimizer no groups": (lambda d: d.update(optimizer={"state": {}, "param_groups": []}), "does not fit"),
    "rng broken": (lambda d: d["ranks"][0].update(rng={"torch": 1}), "does not fit"),
    "ranks short": (lambda d: d.update(ranks=[]), "ranks holds 0 process(es)"),
    "input not sizes": (lambda d: d["spec"].update(input=["a"]), "spec.input"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_last_pt_is_an_error_naming_it(run, case, capsys):
    change, message = CRAFTED[case]
    restamp(run / "last.pt", change)
    assert resume(run, "--epochs", "2") == 1
    err = capsys.readouterr().err
    assert "last.pt" in err and message in err and "Traceback" not in err, err


# ---- folders ----------------------------------------------------------------------------------


def test_run_killed_before_its_first_checkpoint_restarts(run, capsys):
    # what a kill after the first metrics line and before the first checkpoint leaves
    for name in ("last.pt", "last.pt.sha256", "best.pt", "best.pt.sha256", "best.safetensors"):
        (run / name).unlink()
    assert resume(run) == 1
    err = capsys.readouterr().err
    assert "stopped before its first checkpoint" in err and "without --resume" in err
    spec, recipe = run.parent / "tiny.yaml", run.parent / "r.yaml"
    assert cli.main(["train", str(spec), "--recipe", str(recipe), "--out", str(run), "-q"]) == 0
    rows = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1]  # the killed run's row was replaced, not kept
    assert resume(run, "--epochs", "2") == 0


def test_out_that_is_a_file_is_an_error(tmp_path, capsys):
    write(tmp_path / "tiny.yaml", TINY_SPEC)
    write(tmp_path / "run", "a file")
    assert cli.main(["train", str(tmp_path / "tiny.yaml"), "--recipe", str(write(tmp_path / "r.yaml", TINY_RECIPE)),
                     "--out", str(tmp_path / "run"), "-q"]) == 1
    assert "is not a folder" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in any folder")
def test_out_that_cannot_be_written_is_an_error(tmp_path, capsys):
    write(tmp_path / "tiny.yaml", TINY_SPEC)
    (tmp_path / "ro").mkdir(mode=0o500)
    assert cli.main(["train", str(tmp_path / "tiny.yaml"), "--recipe", str(write(tmp_path / "r.yaml", TINY_RECIPE)),
                     "--out", str(tmp_path / "ro" / "run"), "-q"]) == 1
    assert "cannot write the run folder" in capsys.readouterr().err


# ---- non-finite loss ----------------------------------------------------------------------------


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(run):
    model = archspec.load(str(run.parent / "tiny.yaml"))
    recipe = load_recipe(run.parent / "r.yaml")
    recipe = recipe.override(epochs=3, optimizer=recipe.optimizer.model_copy(update={"lr": 1e38}))
    before = (run / "last.pt").read_bytes()
    with pytest.raises(SpecError, match="training diverged: the loss is not finite by epoch 2"):
        train(model, recipe, run, resume=True, log=None, progress_bar=False)
    assert (run / "last.pt").read_bytes() == before
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 1


# ---- recipe values ------------------------------------------------------------------------------

OUT_OF_RANGE = {
    "betas": ("optimizer: {type: adamw, betas: [2, -1]}", "5:34", "optimizer.betas.0: input should be less than 1"),
    "seed huge": ("seed: 10000000000000000000", "5:7", "less than or equal to 9223372036854775807"),
    "seed negative": ("seed: -1", "5:7", "seed: input should be greater than or equal to 0"),
    "scale inverted": ("augment: {random_resized_crop: {scale: [0.9, 0.1]}}", "5:32", "scale is [min, max]"),
    "ratio inverted": ("augment: {random_resized_crop: {ratio: [2, 1]}}", "5:32", "ratio is [min, max]"),
    "zoom inverted": ("augment: {scale: [1.2, 0.8]}", "5:18", "range is [min, max]"),
    "padding": ("augment: {random_crop: {padding: 1000000}}", "5:34", "less than or equal to 1024"),
    "rotation": ("augment: {rotation: 1e308}", "5:21", "less than or equal to 180"),
    "epochs": ("epochs: 1000000000", "5:9", "epochs: input should be less than or equal to 100000"),
    "batch": ("batch_size: 1000000000", "5:13", "batch_size: input should be less than or equal to 1048576"),
}


@pytest.mark.parametrize("case", sorted(OUT_OF_RANGE))
def test_recipe_value_out_of_range_is_an_error_at_its_line(tmp_path, case):
    line, at, message = OUT_OF_RANGE[case]
    head = TINY_RECIPE.replace("epochs: 1\n", "") if case == "epochs" else TINY_RECIPE
    head = head.replace("batch_size: 256\n", "") if case == "batch" else head
    head = head.replace("optimizer: {lr: 0.05}\n", "") if case == "betas" else head
    lines = head.splitlines()
    path = write(tmp_path / "r.yaml", "\n".join([*lines[:4], line, *lines[4:]]) + "\n")
    with pytest.raises(SpecError) as e:
        load_recipe(path)
    assert f"r.yaml:{at}: error: recipe: " in str(e.value) and message in str(e.value), str(e.value)


# ---- threads ----------------------------------------------------------------------------------


def test_resume_keeps_the_threads_of_run_json(run, capsys, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    info = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**info, "threads": 3}))
    assert cli.main(["train", str(run.parent / "tiny.yaml"), "--out", str(run), "--resume", "--epochs", "2"]) == 0
    assert "3 threads (the run's, from run.json)" in capsys.readouterr().out
    assert resume(run, "--epochs", "3", "--threads", "1") == 0  # --threads still wins
