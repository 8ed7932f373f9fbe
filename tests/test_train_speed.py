"""Training speed by default: the threads and loader workers `archspec train` chooses for the
model and machine (archspec.train.speed), stated in the run header and run.json."""

from __future__ import annotations

import json

import pytest
import torch
from train_util import write

import archspec
from archspec.cli import main
from archspec.train import distributed as D
from archspec.train import speed
from archspec.train.loop import Trainer, run_settings
from archspec.train.recipe import load_recipe


def chosen(spec: str, batch: int, cores: int, shape: tuple[int, ...] | None = None, lazy: bool = False):
    return speed.choose(speed.op_macs(archspec.load(spec, shape)), batch, lazy, cores)


def test_op_macs_is_the_mean_of_the_conv_and_linear_layers():
    assert speed.op_macs(archspec.load("lenet5")) == 416_520 // 5  # 3 convs, 2 linears
    assert speed.op_macs(archspec.load("cifar_resnet20")) == 40_551_040 // 20  # 19 convs, 1 linear


def test_small_nets_get_one_thread_and_big_ones_the_cores():
    lenet = chosen("lenet5", 32, cores=2)
    assert (lenet.threads, lenet.workers) == (1, 0)  # 2.7 M MACs an op: torch's 2 threads ran 8x slower
    assert lenet.header() == ("1 thread (2.67 M MACs an op at batch 32, 2 idle cores), "
                              "0 loader workers (images in memory)")
    assert chosen("lenet5", 256, cores=16).threads == 1
    assert chosen("cifar_resnet20", 128, 2, (3, 16, 16)).threads == 1  # 65 M an op: 7x slower on busy cores
    assert chosen("cifar_resnet20", 128, 2).threads == 2  # 260 M an op
    assert chosen("cifar_resnet20", 128, 16).threads == 2
    assert chosen("resnet50", 32, 16).threads == 16
    assert chosen("resnet50", 1, 16).threads == 1


def test_workers_for_images_read_from_files():
    assert chosen("lenet5", 32, 2, lazy=True).workers == 1
    assert chosen("resnet50", 32, 2, lazy=True).workers == 1  # at least one, even with every core threaded
    assert chosen("lenet5", 32, 16, lazy=True).workers == speed.MAX_WORKERS
    kept = speed.choose(100, 32, True, 4, threads=(3, "--threads"), workers=(0, "the recipe's"))
    assert kept.header() == "3 threads (--threads), 0 loader workers (the recipe's)"


def test_busy_cores_are_not_counted(monkeypatch):
    monkeypatch.setattr(speed, "usable_cores", lambda: 16)
    for load, idle in ((0.2, 16), (3.6, 12), (15.7, 1), (40.0, 1)):
        monkeypatch.setattr(speed.os, "getloadavg", lambda load=load: (load, 0.0, 0.0))
        assert speed.process_cores(1) == idle
    monkeypatch.setattr(speed.os, "getloadavg", lambda: (3.6, 0.0, 0.0))
    assert speed.process_cores(4) == 3  # 12 idle cores among 4 processes


def test_given_threads():
    assert speed.given_threads(3, distributed=True) == (3, "--threads")


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setattr(speed, "usable_cores", lambda: 2)
    monkeypatch.setattr(speed, "idle_cores", lambda cores: cores)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    yield
    assert torch.get_num_threads() == before  # a run leaves the process's threads as they were


def _train(tmp_path, capsys, *extra: str) -> tuple[str, dict]:
    run = tmp_path / "run"
    assert main(["train", "lenet5", "--epochs", "1", "--batch-size", "256", "--out", str(run), "-q", *extra]) == 0
    return capsys.readouterr().out.splitlines()[0], json.loads((run / "run.json").read_text())


def test_the_run_header_says_what_was_chosen(tmp_path, capsys, two_cores):
    header, info = _train(tmp_path, capsys)
    assert header == ("lenet5 on cpu, 1 process: 1 thread (21.3 M MACs an op at batch 256, 2 idle cores), "
                      "0 loader workers (images in memory)")
    assert (info["threads"], info["workers"]) == (1, 0)


def test_threads_and_workers_given_are_kept(tmp_path, capsys, two_cores, monkeypatch):
    header, info = _train(tmp_path, capsys, "--threads", "2", "--workers", "1")
    assert header.endswith(": 2 threads (--threads), 1 loader worker (--workers)")
    assert (info["threads"], info["workers"]) == (2, 1)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert speed.given_threads(None, distributed=False) == (2, "OMP_NUM_THREADS")
    assert speed.given_threads(None, distributed=True) is None  # under torchrun it is torchrun's


def test_the_recipes_workers_are_kept(tmp_path, two_cores):
    recipe = load_recipe(write(tmp_path / "r.yaml", "recipe: 1\nname: r\ndata: {workers: 2}\n"))
    t = Trainer(archspec.load("lenet5"), recipe, tmp_path / "run", D.World(), torch.device("cpu"), None)
    s = run_settings(t, None, None)
    assert (s.threads, s.workers, s.why_workers) == (1, 2, "the recipe's")
