"""Training data: the built-in digits, .npz and ImageFolder sources, spec mismatches, sample order
across processes, per-sample augmentation seeds, and the curves plot."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from train_util import write

import archspec
from archspec.cli import main
from archspec.errors import SpecError
from archspec.train.data import EpochBatches, load_data
from archspec.train.recipe import load_recipe

FIVE_CLASSES = """\
archspec: 1
name: five
input: {name: image, shape: [3, 16, 16]}
layers:
  - conv: {out: 4, kernel: 3}
  - global_avgpool
  - flatten
  - linear: {out: 5}
"""


def test_digits_for_lenet5_and_a_colour_spec():
    lenet, cifar = archspec.load("lenet5"), archspec.load("cifar_resnet20")
    d = load_data(lenet, load_recipe(None, "lenet5"))
    x, y = d.train.images.x, d.train.images.y
    assert x.shape == (1797, 1, 32, 32) and float(x.min()) == 0.0 and float(x.max()) <= 1.0
    assert len(d.train) == 1438 and len(d.val) == 359 and d.steps_per_epoch == 1438 // 32
    assert set(d.train.indices).isdisjoint(d.val.indices) and sorted(y.unique().tolist()) == list(range(10))
    assert np.array_equal(d.val.indices, load_data(lenet, load_recipe(None, "lenet5")).val.indices)
    c = load_data(cifar, load_recipe(None, "cifar")).train.images.x
    assert c.shape == (1797, 3, 32, 32) and torch.equal(c[:, 0], c[:, 2])  # grey in all three channels
    # normalised by the spec's preprocess: lenet5's mean 0.5, std 0.5 maps [0, 1] to [-1, 1]
    sample, _ = d.val[(0, 0)]
    assert torch.allclose(sample, (x[d.val.indices[0]] - 0.5) / 0.5)


def test_channel_mismatch_is_a_clear_error_before_training(tmp_path, capsys):
    npz = tmp_path / "rgb.npz"
    np.savez(npz, x=np.zeros((40, 32, 32, 3), np.uint8), y=np.arange(40) % 10)
    run = tmp_path / "run"
    assert main(["train", "lenet5", "--data", str(npz), "--out", str(run)]) == 1
    err = capsys.readouterr().err
    assert f"error: --data: dataset '{npz}' has 3-channel images but spec 'lenet5' takes 1 (input [1, 32, 32])" in err
    assert "lenet5.yaml:" in err and "the spec's input" in err and "Traceback" not in err
    assert not run.exists()  # nothing written


def test_class_mismatch_points_at_the_recipe(tmp_path):
    recipe = load_recipe(write(tmp_path / "r.yaml", "recipe: 1\nname: r\ndata:\n  train: digits\n"))
    with pytest.raises(SpecError) as e:
        load_data(archspec.loads(FIVE_CLASSES), recipe)
    d = e.value.diagnostics[0]
    assert d.message == "dataset 'digits' has 10 classes but spec 'five' outputs 5"
    assert d.pos.line == 4 and d.pos.file.endswith("r.yaml")


def test_npz_layouts_and_scale(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (30, 16, 16, 3), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(30) % 5)
    recipe = load_recipe(write(tmp_path / "r.yaml", "recipe: 1\nname: r\nbatch_size: 8\nnormalize: none\n"
                               "data: {train: d.npz, val_fraction: 0.5}\n"))
    d = load_data(archspec.loads(FIVE_CLASSES), recipe)
    assert d.classes == ["0", "1", "2", "3", "4"]
    i = int(d.train.indices[0])
    got, label = d.train[(0, 0)]
    assert label == i % 5 and torch.allclose(got, torch.from_numpy(x[i]).permute(2, 0, 1).float() / 255)


def test_image_folder(tmp_path):
    from PIL import Image

    for k, cls in enumerate(["cat", "dog", "eel", "fox", "gnu"]):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for j in range(3):
            Image.new("RGB", (24, 20), (50 * k, 10 * j, 200)).save(tmp_path / "imgs" / cls / f"{j}.png")
    recipe = load_recipe(write(tmp_path / "r.yaml", "recipe: 1\nname: r\nbatch_size: 4\nnormalize: none\n"
                               "data: {train: imgs, val_fraction: 0.2}\n"))
    d = load_data(archspec.loads(FIVE_CLASSES), recipe)
    assert d.classes == ["cat", "dog", "eel", "fox", "gnu"] and len(d.train) + len(d.val) == 15
    x, y = d.train[(0, 0)]
    assert x.shape == (3, 16, 16) and torch.allclose(x[2], torch.full((16, 16), 200 / 255))
    assert torch.allclose(x[0], torch.full((16, 16), 50 * y / 255))  # the red of its class folder


def test_image_folder_reads_images_as_archspec_run_does(tmp_path):
    """Scale, bgr order, resize and crop of the spec's preprocess, then mean/std: the pixels of
    `archspec run`'s preprocessing, so a trained model sees at deployment what it trained on."""
    from PIL import Image

    from archspec.runtime.preprocess import load_image

    rng = np.random.default_rng(0)
    for cls in ["a", "b", "c", "d", "e"]:
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(tmp_path / "imgs" / cls / "0.png")
    spec = FIVE_CLASSES.replace("layers:", "preprocess: {scale: 0.01, channels: bgr, resize: 20, crop: 18, "
                                "mean: [0.1, 0.2, 0.3], std: [0.5, 1.0, 2.0]}\nlayers:")
    model = archspec.loads(spec)
    recipe = load_recipe(write(tmp_path / "r.yaml", "recipe: 1\nname: r\nbatch_size: 2\n"
                               "data: {train: imgs, val_fraction: 0.6}\n"))
    d = load_data(model, recipe)
    assert len(d.val) == 3
    for i in range(len(d.val)):  # not augmented
        x, y = d.val[(0, i)]
        path = tmp_path / "imgs" / d.classes[y] / "0.png"
        want = load_image(path, model.spec.preprocess, model.input_shape)
        assert x.shape == (3, 16, 16)
        np.testing.assert_allclose(x.numpy(), want, rtol=1e-5, atol=1e-5)


def test_ranks_together_see_the_single_process_batches():
    one = list(EpochBatches(n=103, batch=8, epoch=3, seed=7))
    assert len(one) == 12 and all(len(b) == 8 for b in one)  # the partial 13th batch is dropped
    ranks = [list(EpochBatches(103, 8, 3, 7, rank=r, world=2)) for r in range(2)]
    for b, b0, b1 in zip(one, *ranks, strict=True):
        assert sorted(b) == sorted(b0 + b1) and len(b0) == len(b1) == 4
    assert list(EpochBatches(103, 8, 3, 7, start=5)) == one[5:]  # a resumed epoch goes on where it stopped
    assert one != list(EpochBatches(103, 8, 4, 7))  # a new order each epoch


def test_augmentation_is_seeded_per_sample():
    recipe = load_recipe(None, "lenet5")
    d = load_data(archspec.load("lenet5"), recipe)
    before = torch.get_rng_state()
    a = d.train[(2, 5)][0]
    torch.rand(10)  # whatever else draws from the global generator
    assert torch.equal(d.train[(2, 5)][0], a)
    assert not torch.equal(d.train[(3, 5)][0], a)  # another epoch, another crop
    torch.set_rng_state(before)
    d.train[(2, 6)]
    assert torch.equal(torch.get_rng_state(), before)  # the global generator is left as it was


def test_plot_runs(tmp_path, capsys):
    for name, shift in (("a", 0.0), ("b", 0.1)):
        (tmp_path / name).mkdir()
        rows = [{"epoch": e, "train_loss": 1 / e + shift, "val_loss": 1.2 / e, "train_acc": 0.5 + e / 10,
                 "val_acc": 0.45 + e / 10} for e in range(1, 5)]
        (tmp_path / name / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "curves.png"
    assert main(["plot", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(out), "--title", "t"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    assert main(["plot", str(tmp_path / "missing"), "-o", str(tmp_path / "x.png")]) == 1
    assert "no metrics.jsonl in" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_plot_log_error_axis_and_one_legend_of_run_names(tmp_path):
    from archspec.train.plot import figure, run_names

    for name, errs in (("x/lenet5", (0.5, 0.004, 0.0)), ("y/lenet5", (0.6, 0.02, 0.008))):
        (tmp_path / name).mkdir(parents=True)
        rows = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1 / e, "train_acc": 1 - err, "val_acc": 1 - err}
                for e, err in enumerate(errs, 1)]
        (tmp_path / name / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    runs = [tmp_path / "x/lenet5", tmp_path / "y/lenet5/metrics.jsonl"]
    assert run_names(runs) == ["x/lenet5", "y/lenet5"]  # the same folder name: the one above kept
    assert run_names([tmp_path / "x/lenet5"]) == ["lenet5"]
    fig = figure(runs, log=True)
    loss_ax, err_ax = fig.axes
    assert (loss_ax.get_yscale(), err_ax.get_yscale()) == ("log", "log")
    floor = 0.4 / 2  # half the smallest error above zero (0.4%)
    assert err_ax.get_ylim() == pytest.approx((0.8 * floor, 100))
    x_train = err_ax.lines[0].get_ydata()
    assert list(x_train) == pytest.approx([50.0, 0.4, floor])  # the 0% epoch drawn at the floor
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["x/lenet5", "y/lenet5", "train", "val"]
    assert figure(runs).axes[1].get_yscale() == "linear"
    out = tmp_path / "log.png"
    assert main(["plot", *map(str, runs), "--log", "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"



def test_loader_workers_do_not_change_the_batches():
    import itertools
    from dataclasses import replace

    d = load_data(archspec.load("lenet5"), load_recipe(None, "lenet5"))
    assert d.workers == 0
    alone = list(itertools.islice(d.train_loader(1, 3, 0, 1, False), 3))
    pooled = list(itertools.islice(replace(d, workers=2).train_loader(1, 3, 0, 1, False), 3))
    for (x0, y0), (x1, y1) in zip(alone, pooled, strict=True):
        assert torch.equal(x0, x1) and torch.equal(y0, y1)
