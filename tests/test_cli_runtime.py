"""What `run`, `bench` and `demo` tell users: random weights, ImageNet names, the compiled size, the
kept run folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from runtime_models import save, tiny_model

import archspec
from archspec.cli import main
from archspec.labels import named

pytest.importorskip("onnxruntime")
PRE = {"resize": 10, "crop": 8}


def cli(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_run_warns_when_the_file_holds_random_weights(capsys, tmp_path: Path):
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((1, 1, 32, 32), np.float32))
    lenet = archspec.load("lenet5")
    random = lenet.save_onnx(tmp_path / "random.onnx", seed=3)
    rc, out, err = cli(capsys, "run", str(random), "--input", str(x))
    assert rc == 0 and out.startswith(str(x))
    assert err == (f"warning: {random} holds random weights (seed 3): its predictions mean nothing; compile it "
                   "with `archspec compile --weights FILE` for trained ones\n")
    from archspec.weights import init_weights, save_weights

    save_weights(tmp_path / "w.npz", init_weights(lenet.graph, 5))
    trained = lenet.save_onnx(tmp_path / "trained.onnx", weights=tmp_path / "w.npz")
    rc, _, err = cli(capsys, "run", str(trained), "--input", str(x))
    assert rc == 0 and err == ""


def test_run_of_an_imagenet_builtin_prints_class_names(capsys, tmp_path: Path):
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32))
    rc, out, _ = cli(capsys, "run", "resnet18", "--input", str(x), "--top-k", "3", "--json")
    top = json.loads(out)["predictions"][0]["top"]
    assert rc == 0 and len(top) == 3
    imagenet = named("imagenet")
    assert [t["label"] for t in top] == [imagenet[t["index"]] for t in top]
    assert all(not t["label"].isdigit() for t in top)


def test_bench_of_a_dynamic_size_file_uses_the_size_it_was_compiled_at(capsys, tmp_path: Path):
    meta = {"input": json.dumps({"name": "image", "shape": [3, 16, 12]}), "weights": "seed 0"}
    dynamic = save(tiny_model(PRE, hw=("H", "W"), meta=meta), tmp_path / "dyn.onnx")
    rc, out, _ = cli(capsys, "bench", str(dynamic), "--iters", "2", "--warmup", "0", "--json")
    assert rc == 0 and json.loads(out)["input"] == [3, 16, 12]
    rc, out, _ = cli(capsys, "bench", str(dynamic), "--iters", "2", "--warmup", "0", "--input", "3x8x8", "--json")
    assert rc == 0 and json.loads(out)["input"] == [3, 8, 8]
    bare = save(tiny_model(PRE, hw=("H", "W")), tmp_path / "bare.onnx")  # no size recorded: ask for one
    rc, _, err = cli(capsys, "bench", str(bare), "--iters", "2")
    assert rc == 1 and "has symbolic sizes: give --input CxHxW" in err


@pytest.mark.slow
def test_demo_keeps_its_run_folder_when_asked(tmp_path: Path):
    pytest.importorskip("torch")
    from procs import run_cli

    keep = tmp_path / "demo"
    r = run_cli("demo", "--epochs", "1", "--keep", str(keep))
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.splitlines()[-1] == f"kept the run in {keep}"
    assert {p.name for p in keep.iterdir()} == {"run", "lenet5.onnx"}
    assert {"best.safetensors", "metrics.jsonl"} <= {p.name for p in (keep / "run").iterdir()}
    assert len(archspec.runtime.load.from_file(keep / "lenet5.onnx").labels) == 10
