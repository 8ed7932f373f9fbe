"""The runtime: preprocessing, top-k, sessions and providers, the timing harness, `archspec run` and
`archspec bench`. Small hand-made ONNX models test the runtime alone; compiled built-ins test it
against the torch backend on the same weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from procs import heavy_imports
from runtime_models import TINY_MACS, save, tiny_model

import archspec
from archspec.cli import main
from archspec.runtime import ProviderError, time_calls, time_interleaved
from archspec.runtime.bench import BenchResult, Stats
from archspec.runtime.load import from_file
from archspec.runtime.macs import onnx_macs
from archspec.runtime.preprocess import load_image, load_inputs
from archspec.runtime.session import create_session, cuda_missing
from archspec.runtime.topk import softmax, top_k
from archspec.spec import Preprocess

IMAGENET = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
TINY_PRE = {"resize": 10, "crop": 8, **IMAGENET}
LABELS = ["ant", "bee", "cat", "dog", "eel"]


def png(path: Path, h: int, w: int, seed: int = 0) -> Path:
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return save(tiny_model(TINY_PRE, LABELS), tmp_path / "tiny.onnx")


def cli(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


# --- the timing harness -------------------------------------------------------------------------

def test_time_calls_warms_up_then_times_exactly_iters():
    calls = []
    stats = time_calls(lambda: calls.append(1), warmup=3, iters=7, progress=False)
    assert len(calls) == 10 and len(stats.latencies) == 7
    assert min(stats.latencies) > 0 and stats.p50 <= stats.p90 <= stats.p99 <= max(stats.latencies)


def test_time_interleaved_rotates_the_order_of_each_round():
    seq = []
    res = time_interleaved({"a": lambda: seq.append("a"), "b": lambda: seq.append("b")},
                           warmup=1, iters=4, progress=False)
    assert "".join(seq) == "ab" + "ab" "ba" "ab" "ba"
    assert [len(s.latencies) for s in res.values()] == [4, 4]
    seq.clear()
    time_interleaved({c: (lambda c=c: seq.append(c)) for c in "abc"}, warmup=0, iters=4, progress=False,
                     before=lambda: seq.append("-"))
    assert "".join(seq) == "-a-b-c" "-b-c-a" "-c-a-b" "-a-b-c"  # none twice in a row; `before` before each


def test_time_interleaved_does_not_time_before(monkeypatch):
    import archspec.runtime.bench as bench

    now = [0.0]  # a fake clock: a call takes 10 ms, `before` a second
    monkeypatch.setattr(bench.time, "perf_counter", lambda: now[0])

    def tick(dt):
        return lambda: now.__setitem__(0, now[0] + dt)

    stats = time_interleaved({"a": tick(0.01), "b": tick(0.01)}, warmup=0, iters=3, progress=False, before=tick(1.0))
    assert [s.latencies for s in stats.values()] == [[pytest.approx(0.01)] * 3] * 2


def test_time_calls_by_seconds_runs_until_that_much_time_is_timed(monkeypatch):
    import archspec.runtime.bench as bench

    now = [0.0]  # a fake clock: each call takes exactly 10 ms, so the count is exact
    monkeypatch.setattr(bench.time, "perf_counter", lambda: now[0])
    stats = time_calls(lambda: now.__setitem__(0, now[0] + 0.01), warmup=0, iters=None, seconds=0.05,
                       progress=False)
    assert len(stats.latencies) == 5 and sum(stats.latencies) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="exactly one of iters and seconds"):
        time_calls(lambda: None, iters=3, seconds=1.0)


def test_bench_result_derives_throughput_and_gflops_from_the_median():
    r = BenchResult("onnxruntime", "cpu", 4, macs=1_000_000, load_s=0.1, stats=Stats([0.01, 0.02, 0.04]))
    assert r.throughput == pytest.approx(4 / 0.02) and r.gflops == pytest.approx(2e6 * 4 / 0.02 / 1e9)
    d = r.to_dict()
    assert d["p50_ms"] == pytest.approx(20.0) and d["iters"] == 3 and d["min_ms"] == pytest.approx(10.0)


# --- preprocessing and top-k ----------------------------------------------------------------------

def test_image_preprocessing_equals_torchvision_eval_transform(tmp_path: Path):
    from torchvision import transforms as T

    path = png(tmp_path / "x.png", 37, 50)
    ours = load_image(path, Preprocess(resize=20, crop=16, **IMAGENET), (3, 16, 16))
    ref = T.Compose([T.Resize(20), T.CenterCrop(16), T.ToTensor(), T.Normalize(**IMAGENET)])(Image.open(path))
    assert ours.shape == (3, 16, 16) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref.numpy(), atol=1e-5)


def test_gray_and_bgr_channels(tmp_path: Path):
    from torchvision import transforms as T

    path = png(tmp_path / "x.png", 9, 9)
    gray = load_image(path, Preprocess(channels="gray", scale=1.0), (1, 9, 9))
    np.testing.assert_array_equal(gray, np.asarray(Image.open(path).convert("L"), np.float32)[None])
    rgb = T.ToTensor()(Image.open(path)).numpy()
    bgr = load_image(path, Preprocess(channels="bgr", mean=[0.1, 0.2, 0.3], std=[1, 2, 4]), (3, 9, 9))
    mean, std = np.array([0.1, 0.2, 0.3])[:, None, None], np.array([1, 2, 4])[:, None, None]
    np.testing.assert_allclose(bgr, (rgb[::-1] - mean) / std, atol=1e-6)


def test_an_image_without_resize_or_crop_is_resized_to_the_input(tmp_path: Path):
    a = load_image(png(tmp_path / "x.png", 28, 28), Preprocess(channels="gray"), (1, 32, 32))
    assert a.shape == (1, 32, 32) and a.min() >= 0 and a.max() <= 1


def test_npy_files_are_one_sample_or_a_batch(tmp_path: Path):
    np.save(tmp_path / "one.npy", np.ones((3, 8, 8)))
    np.save(tmp_path / "two.npy", np.zeros((2, 3, 8, 8), np.float16))
    b = load_inputs([str(tmp_path / "one.npy"), str(tmp_path / "two.npy")], Preprocess(), (3, 8, 8),
                    np.dtype("float32"))
    assert b.names == [str(tmp_path / "one.npy"), f"{tmp_path / 'two.npy'}[0]", f"{tmp_path / 'two.npy'}[1]"]
    assert b.array.shape == (3, 3, 8, 8) and b.array.dtype == np.float32 and b.array[:, 0, 0, 0].tolist() == [1, 0, 0]


def test_top_k_gives_softmax_probabilities_labels_and_ranks():
    scores = np.array([[1.0, 3.0, 2.0], [0.0, 0.0, 5.0]], np.float32)
    preds = top_k(scores, 2, ["a", "b", "c"])
    e = np.exp([1.0, 3.0, 2.0])
    assert [(t["rank"], t["index"], t["label"]) for t in preds[0]] == [(1, 1, "b"), (2, 2, "c")]
    assert preds[0][0]["probability"] == pytest.approx(e[1] / e.sum(), rel=1e-12)
    assert preds[1][0]["label"] == "c" and preds[1][1]["index"] == 0  # ties keep the lower index first
    assert top_k(np.array([[0.2, 0.8]]), 1, probabilities=True)[0][0] == {
        "rank": 1, "index": 1, "label": "1", "probability": pytest.approx(0.8)}
    np.testing.assert_allclose(softmax(np.array([[1000.0, 1000.0]])), [[0.5, 0.5]])


# --- the model file, sessions and providers -------------------------------------------------------

def test_onnx_file_metadata_shape_and_macs(tiny: Path):
    m = from_file(tiny)
    assert (m.name, m.labels, m.preprocess.resize, m.input_dims) == ("tiny", LABELS, 10, (None, 3, 8, 8))
    assert m.macs((3, 8, 8)) == onnx_macs(m.proto, (3, 8, 8)) == TINY_MACS
    assert not m.outputs_probabilities


def test_cuda_missing_says_what_to_install():
    why = cuda_missing(["CPUExecutionProvider"], "onnxruntime 1.32.0")
    assert "onnxruntime-gpu" in why and "archspec[gpu]" in why and "--provider cpu" in why
    assert cuda_missing(["CUDAExecutionProvider", "CPUExecutionProvider"], "onnxruntime-gpu 1.32.0") is None


def test_a_cuda_session_that_falls_back_to_the_cpu_is_refused(monkeypatch: pytest.MonkeyPatch, tiny: Path):
    import onnxruntime as ort

    class FellBack(ort.InferenceSession):  # what onnxruntime-gpu does when no GPU is visible
        def __init__(self, model, sess_options=None, providers=None):
            super().__init__(model, sess_options, providers=["CPUExecutionProvider"])

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(ort, "InferenceSession", FellBack)
    with pytest.raises(ProviderError, match="could not start"):
        create_session(tiny.read_bytes(), "cuda")
    session, load_s = create_session(tiny.read_bytes(), "cpu", threads=1)
    assert session.get_providers() == ["CPUExecutionProvider"] and load_s > 0


def test_the_io_bound_call_used_on_cuda_computes_the_model(tiny: Path):
    from archspec.runtime.ort_bench import bound_call

    model = from_file(tiny)
    session, _ = create_session(model.data, "cpu")
    x = np.random.default_rng(5).standard_normal((2, 3, 8, 8)).astype(np.float32)
    call = bound_call(session, model, x, "cpu")  # the CUDA path, on the CPU device
    np.testing.assert_allclose(call().numpy(), tiny_reference(x), atol=1e-5)
    np.testing.assert_array_equal(call().numpy(), call().numpy())


# --- archspec run -------------------------------------------------------------------------------------

def tiny_reference(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """The tiny model in numpy: conv 3x3 pad 1, relu, mean over H and W, linear."""
    from numpy.lib.stride_tricks import sliding_window_view

    rng = np.random.default_rng(seed)
    w, b, fw, fb = (rng.standard_normal(s).astype(np.float32) for s in [(4, 3, 3, 3), (4,), (5, 4), (5,)])
    win = sliding_window_view(np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))), (3, 3), axis=(2, 3))  # N,C,H,W,3,3
    conv = np.einsum("nchwij,ocij->nohw", win, w) + b[:, None, None]
    return np.maximum(conv, 0).mean(axis=(2, 3)) @ fw.T + fb


def test_run_prints_the_top_k_of_an_image_as_the_model_computes_it(capsys, tmp_path: Path, tiny: Path):
    img = png(tmp_path / "x.png", 12, 15)
    rc, out, _ = cli(capsys, "run", str(tiny), "--input", str(img), "--top-k", "3", "--json")
    assert rc == 0
    rec = json.loads(out)["predictions"]
    x = load_image(img, Preprocess(**TINY_PRE), (3, 8, 8))[None]
    expect = top_k(tiny_reference(x), 3, LABELS)[0]
    assert [t["label"] for t in rec[0]["top"]] == [t["label"] for t in expect]
    np.testing.assert_allclose([t["probability"] for t in rec[0]["top"]],
                               [t["probability"] for t in expect], atol=1e-5)
    rc, out, _ = cli(capsys, "run", str(tiny), "--input", str(img), "--top-k", "2")
    assert rc == 0 and out.splitlines()[0] == str(img) and f"1. {expect[0]['label']}" in out


def test_a_fixed_batch_model_runs_any_number_of_inputs_in_chunks(capsys, tmp_path: Path):
    fixed = save(tiny_model(TINY_PRE, LABELS, batch=2), tmp_path / "fixed.onnx")
    np.save(tmp_path / "three.npy", np.random.default_rng(3).standard_normal((3, 3, 8, 8)).astype(np.float32))
    rc, out, _ = cli(capsys, "run", str(fixed), "--input", str(tmp_path / "three.npy"), "--top-k", "5", "--json")
    assert rc == 0
    probs = [[t["probability"] for t in sorted(p["top"], key=lambda t: t["index"])]
             for p in json.loads(out)["predictions"]]
    np.testing.assert_allclose(probs, softmax(tiny_reference(np.load(tmp_path / "three.npy"))), atol=1e-5)


def test_a_model_ending_in_softmax_is_not_softmaxed_again(capsys, tmp_path: Path):
    sm = save(tiny_model(TINY_PRE, softmax=True), tmp_path / "sm.onnx")
    np.save(tmp_path / "x.npy", np.ones((3, 8, 8), np.float32))
    rc, out, _ = cli(capsys, "run", str(sm), "--input", str(tmp_path / "x.npy"), "--top-k", "5", "--json")
    assert rc == 0
    top = json.loads(out)["predictions"][0]["top"]
    expect = softmax(tiny_reference(np.ones((1, 3, 8, 8), np.float32)))[0]
    np.testing.assert_allclose(sorted(t["probability"] for t in top), sorted(expect), atol=1e-5)


@pytest.mark.parametrize(("make", "argv", "message", "code"), [
    (None, ["run", "{tiny}", "--input", "{tmp}/missing.png"], "missing.png: no such file", 1),
    (None, ["run", "{tmp}/missing.onnx", "--input", "{img}"], "missing.onnx: no such file", 1),
    ("bad.npy", ["run", "{tiny}", "--input", "{tmp}/bad.npy"],
     "bad.npy: array of shape (3, 9, 8) and type float64 does not fit the model input: give one sample 3x8x8", 1),
    ("text.png", ["run", "{tiny}", "--input", "{tmp}/text.png"], "text.png: not an image Pillow can read", 1),
    ("junk.onnx", ["run", "{tmp}/junk.onnx", "--input", "{img}"], "junk.onnx: not a readable ONNX model", 1),
    (None, ["run", "{tiny}", "--input", "{img}", "--top-k", "0"], "argument --top-k: a count must be from 1", 2),
    (None, ["bench", "{tiny}", "--batch", "1,x"], "--batch takes sizes separated by commas", 2),
    (None, ["run", "{tiny}", "--input", "{img}", "--weights", "{tmp}/w.npz"], "--weights is for a spec", 2),
    (None, ["run", "lenet5", "--input", "{img}", "--weights", "{tmp}/w.npz"], "no weights file", 1),
])
def test_bad_inputs_give_a_clear_message_and_exit_1_or_2_for_usage(capsys, tmp_path: Path, tiny: Path, make, argv,
                                                                   message, code):
    """A bad file exits 1, as on every command; a bad option exits 2."""
    if make == "bad.npy":
        np.save(tmp_path / make, np.zeros((3, 9, 8)))
    elif make:
        (tmp_path / make).write_text("not this kind of file")
    subs = {"{tiny}": str(tiny), "{tmp}": str(tmp_path), "{img}": str(png(tmp_path / "x.png", 8, 8))}
    for k, v in subs.items():
        argv = [a.replace(k, v) for a in argv]
    rc, out, err = cli(capsys, *argv)
    assert rc == code and out == "" and message in err
    assert err.startswith("archspec: error: ") or err.startswith("usage: archspec")
    assert "Traceback" not in err


# --- archspec bench -----------------------------------------------------------------------------------

def test_bench_on_cpu_reports_sane_figures_for_batch_1_and_2(capsys, tiny: Path):
    rc, out, _ = cli(capsys, "bench", str(tiny), "--batch", "1,2", "--warmup", "2", "--iters", "15",
                     "--threads", "1", "--json")
    report = json.loads(out)
    assert rc == 0 and report["macs"] == TINY_MACS and report["input"] == [3, 8, 8] and report["threads"] == 1
    assert [(r["backend"], r["device"], r["batch"], r["iters"]) for r in report["results"]] == [
        ("onnxruntime", "cpu", 1, 15), ("onnxruntime", "cpu", 2, 15)]
    for r in report["results"]:
        assert r["load_s"] > 0 and 0 < r["min_ms"] <= r["p50_ms"] <= r["p90_ms"] <= r["p99_ms"]
        assert r["images_per_s"] == pytest.approx(r["batch"] / (r["p50_ms"] / 1e3), rel=1e-9)
        assert r["gflops"] == pytest.approx(2 * TINY_MACS * r["images_per_s"] / 1e9, rel=1e-9)
    rc, out, _ = cli(capsys, "bench", str(tiny), "--iters", "3")
    lines = out.splitlines()
    assert rc == 0 and lines[0].startswith("tiny: input 3x8x8, 6,932 MACs per image") and "cpu" in lines[0]
    assert lines[1].split() == ["backend", "batch", "load", "s", "p50", "ms", "p90", "ms", "p99", "ms",
                                "images/s", "GFLOP/s", "iters"]
    assert lines[3].split()[:2] == ["onnxruntime", "1"] and lines[3].split()[-1] == "3"


def test_bench_asked_for_cuda_without_it_says_what_to_install(capsys, tiny: Path):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has the CUDA provider")
    rc, out, err = cli(capsys, "bench", str(tiny), "--provider", "cuda")
    assert rc == 1 and out == "" and "Traceback" not in err
    assert err.startswith("archspec: error: CUDA was asked for, but the installed onnxruntime")
    assert "pip install 'archspec[gpu]'" in err and "onnxruntime-gpu" in err and "--provider cpu" in err


def test_bench_of_a_fixed_batch_model_refuses_other_batches(capsys, tmp_path: Path):
    fixed = save(tiny_model(TINY_PRE, batch=2), tmp_path / "fixed.onnx")
    rc, _, err = cli(capsys, "bench", str(fixed), "--batch", "1")
    assert rc == 1 and "compiled for batch 2 only: use --batch 2" in err


def test_importing_the_runtime_and_its_commands_loads_no_heavy_library():
    assert heavy_imports(modules=["archspec.runtime", "archspec.cli.run", "archspec.cli.bench"]) == set()


# --- compiled built-ins against the torch backend on the same weights ---------------------------------

@pytest.mark.parametrize(("spec", "size"), [("resnet18", (300, 260)), ("lenet5", (28, 28))])
def test_run_on_a_compiled_builtin_gives_the_torch_modules_top1(tmp_path: Path, spec: str, size: tuple[int, int]):
    import torch
    from torchvision import transforms as T

    from archspec.runtime.infer import predict
    from archspec.runtime.load import from_spec
    from archspec.runtime.torch_bench import torch_module
    from archspec.runtime.weights import spec_weights

    model = archspec.load(spec)
    weights = spec_weights(model, seed=1)
    img = png(tmp_path / "x.png", *size, seed=2)
    ours = predict(from_spec(model, weights=weights), [str(img)], k=3)[0]["top"]
    pre = model.spec.preprocess
    steps = [T.Grayscale()] if pre.channels == "gray" else []
    steps += [T.Resize(pre.resize), T.CenterCrop(pre.crop)] if pre.resize else [T.Resize(model.input_shape[1:])]
    steps += [T.ToTensor(), T.Lambda(lambda t: t * 255 * pre.scale), T.Normalize(pre.mean, pre.std)]
    x = T.Compose(steps)(Image.open(img).convert("RGB"))[None]
    with torch.inference_mode():
        probs = torch.softmax(torch_module(model, weights)(x).double(), 1)[0].numpy()
    assert ours[0]["index"] == int(probs.argmax())
    np.testing.assert_allclose([t["probability"] for t in ours], np.sort(probs)[::-1][:3], rtol=1e-4)
    if model.spec.labels:
        assert ours[0]["label"] == model.spec.labels[ours[0]["index"]]


def test_bench_compare_torch_times_both_backends_on_lenet5(capsys):
    rc, out, _ = cli(capsys, "bench", "lenet5", "--batch", "1,2", "--warmup", "1", "--iters", "5",
                     "--compare", "torch-eager", "--json")
    report = json.loads(out)
    assert rc == 0 and report["macs"] == 416_520 and report["compile_s"] > 0
    assert [(r["backend"], r["batch"]) for r in report["results"]] == [
        ("onnxruntime", 1), ("onnxruntime", 2), ("torch-eager", 1), ("torch-eager", 2)]
    assert all(r["p50_ms"] > 0 and r["iters"] == 5 for r in report["results"])


def test_macs_counted_in_a_compiled_graph_equal_the_specs(resnet18):
    from archspec.runtime.load import from_spec

    assert onnx_macs(from_spec(resnet18).proto, (3, 224, 224)) == resnet18.macs == 1_814_073_344


def test_run_a_spec_with_a_weights_file_on_npy_input_equals_torch(capsys, tmp_path: Path):
    import torch

    from archspec.runtime.torch_bench import torch_module
    from archspec.runtime.weights import spec_weights
    from archspec.weights import save_weights

    model = archspec.load("lenet5")
    weights = spec_weights(model, seed=3)
    save_weights(tmp_path / "w.npz", weights)
    x = np.random.default_rng(4).standard_normal((2, 1, 32, 32)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    rc, out, err = cli(capsys, "run", "lenet5", "--weights", str(tmp_path / "w.npz"), "--input",
                       str(tmp_path / "x.npy"), "--top-k", "10", "--json")
    assert rc == 0 and "random weights" not in err
    got = [[t["probability"] for t in sorted(p["top"], key=lambda t: t["index"])]
           for p in json.loads(out)["predictions"]]
    with torch.inference_mode():
        expect = torch.softmax(torch_module(model, weights)(torch.from_numpy(x)).double(), 1).numpy()
    np.testing.assert_allclose(got, expect, rtol=1e-4)


def test_compare_torch_on_an_onnx_file_takes_its_weights_unless_bn_is_folded(capsys, tmp_path: Path, resnet18):
    resnet18.save_onnx(tmp_path / "folded.onnx")
    rc, out, err = cli(capsys, "bench", str(tmp_path / "folded.onnx"), "--compare", "torch-eager")
    assert rc == 1 and out == "" and "lacks 80 of the torch module's weights (e.g. bn1.weight; BN folded?)" in err
    resnet18.save_onnx(tmp_path / "train.onnx", mode="train")
    rc, out, _ = cli(capsys, "bench", str(tmp_path / "train.onnx"), "--compare", "torch-eager", "--warmup", "0",
                     "--iters", "1", "--json")
    assert rc == 0 and [r["backend"] for r in json.loads(out)["results"]] == ["onnxruntime", "torch-eager"]


def test_compare_torch_runs_at_the_input_size_asked(capsys, tmp_path: Path, resnet18):
    path = resnet18.save_onnx(tmp_path / "any_size.onnx", dynamic_hw=True, mode="train")
    rc, out, _ = cli(capsys, "bench", str(path), "--input", "3x64x96", "--compare", "torch-eager", "--warmup", "0",
                     "--iters", "1", "--json")
    report = json.loads(out)
    assert rc == 0 and report["input"] == [3, 64, 96]
    macs = archspec.load("resnet18", (3, 64, 96)).macs  # each backend's GFLOP/s counts them: 2 * MACs / p50
    assert [r["backend"] for r in report["results"]] == ["onnxruntime", "torch-eager"]
    for r in report["results"]:
        assert r["gflops"] * r["p50_ms"] * 1e6 / 2 == pytest.approx(macs, rel=1e-9)


def test_an_fp16_model_takes_float16_input_and_benches(capsys, tmp_path: Path):
    from archspec.runtime.infer import predict
    from archspec.runtime.load import open_model

    x = np.random.default_rng(6).standard_normal((1, 32, 32)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    half, full = open_model("lenet5", fp16=True), open_model("lenet5")
    assert half.input_dtype == np.float16 and full.input_dtype == np.float32
    p16, p32 = (predict(m, [str(tmp_path / "x.npy")], k=10)[0]["top"] for m in (half, full))
    np.testing.assert_allclose([t["probability"] for t in sorted(p16, key=lambda t: t["index"])],
                               [t["probability"] for t in sorted(p32, key=lambda t: t["index"])], atol=2e-3)
    rc, out, _ = cli(capsys, "bench", "lenet5", "--fp16", "--warmup", "0", "--iters", "2", "--json")
    assert rc == 0 and json.loads(out)["results"][0]["iters"] == 2
