"""INT8 models (`compile --quantize`), their torch-free calibration data, and OpenVINO as a second
runtime (`run`/`bench --runtime openvino`)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import onnx
import pytest

import archspec
from archspec.cli import main
from archspec.runtime import dataset, int8_rewrites, quantize
from archspec.spec import Preprocess
from tests.procs import heavy_imports, run_cli

# OpenVINO runs only in archspec processes of its own (tests.procs.run_cli), never in the test
# process: beside torch, onnxruntime and the rest of a whole test session, its native code (2026.4)
# has corrupted the process heap, a segfault minutes later in unrelated tests.
HAS_OV = importlib.util.find_spec("openvino") is not None
needs_ov = pytest.mark.skipif(not HAS_OV, reason="openvino is not installed (pip install 'archspec[openvino]')")
needs_nncf = pytest.mark.skipif(not HAS_OV or importlib.util.find_spec("nncf") is None,
                                reason="openvino or nncf is not installed (pip install 'archspec[openvino]')")


SEVEN_BITS = ", 7-bit range (no VNNI on the CPU that scored it)"


def cli(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


# --- the torch-free readers give what the training loaders give ------------------------------------

@pytest.mark.parametrize("shape", [(1, 32, 32), (3, 32, 32), (1, 28, 28), (3, 7, 5)])
def test_digits_read_without_torch_equal_the_training_loaders(shape: tuple[int, int, int]):
    from archspec.train.data import digits

    want = digits(shape)
    got = dataset.digits(shape, Preprocess())
    assert got.x.shape == tuple(want.x.shape) and got.x.dtype == np.float32
    np.testing.assert_allclose(got.x, want.x.numpy(), rtol=0, atol=1e-6)  # upsampling exact, shrinking Pillow's
    assert np.array_equal(got.y, want.y.numpy()) and got.classes == want.classes


def test_npz_read_without_torch_equals_the_training_loader_and_is_normalised(tmp_path: Path):
    from archspec.train.data import npz
    from archspec.train.recipe import load_recipe

    rng = np.random.default_rng(0)
    path = tmp_path / "d.npz"
    np.savez(path, x=rng.integers(0, 256, (6, 20, 20, 3), dtype=np.uint8), y=np.arange(6) % 3)
    want = npz(path, (3, 32, 32), 1 / 255, load_recipe(None, "lenet5"), "train").x.numpy()
    pre = Preprocess(mean=[0.5], std=[0.25])
    got = dataset.open_labelled(str(path), (3, 32, 32), pre)
    np.testing.assert_allclose(got.x, (want - 0.5) / 0.25, rtol=0, atol=1e-5)
    assert got.classes == ["0", "1", "2"] and list(got.y) == [0, 1, 2, 0, 1, 2]


def test_an_image_folder_with_train_and_val_is_that_split(tmp_path: Path):
    from PIL import Image

    for part, n in (("train", 3), ("val", 2)):
        for c in ("cat", "dog"):
            (tmp_path / part / c).mkdir(parents=True)
            for i in range(n):
                Image.fromarray(np.full((10, 12, 3), 40 * i, np.uint8)).save(tmp_path / part / c / f"{i}.png")
    train, held = dataset.train_and_held_out(str(tmp_path), (3, 8, 8), Preprocess())
    assert (len(train.y), len(held.y)) == (6, 4) and list(held.y) == [0, 0, 1, 1]
    assert train.classes == ["cat", "dog"] and held.x.shape == (4, 3, 8, 8)
    np.testing.assert_allclose(held.x[1], 40 / 255, atol=1e-6)


def test_an_image_folder_reads_only_the_images_it_calibrates_and_scores_on(tmp_path: Path, monkeypatch, capsys):
    """ImageNet's 50,000 validation images at 224x224 are 30 GB of float32: calibrating on such a
    folder reads the --calibration-samples and --eval-samples it uses, not the whole folder."""
    from PIL import Image

    from archspec.runtime import preprocess

    for c in range(10):
        (tmp_path / "data" / str(c)).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(np.full((8, 8), 20 * i + c, np.uint8)).save(tmp_path / "data" / str(c) / f"{i}.png")
    read = []
    real = preprocess.load_image
    monkeypatch.setattr(preprocess, "load_image", lambda f, *a: read.append(f) or real(f, *a))
    argv = ["compile", "lenet5", "--quantize", "int8", "--calibrate", str(tmp_path / "data"), "--min-agreement", "0",
            "--calibration-samples", "5", "--eval-samples", "4", "-o", str(tmp_path / "q.onnx")]
    assert main(argv) == 0
    assert "held-out: 4 samples of" in capsys.readouterr().out
    assert len(read) == 5 + 4 and len(set(read)) == 9  # of 60, each read once
    # a broken image among those chosen is reported before any quantising; one not chosen is never read
    chosen = sorted(set(read))[0]
    chosen.write_bytes(b"broken")
    assert main(argv) == 1 and f"{chosen}: not an image Pillow can read" in capsys.readouterr().err


def test_the_held_out_split_is_the_training_one():
    from archspec.train import data

    assert data.split is dataset.split  # one definition: calibrated on train, scored on val, as trained
    tr, va = dataset.split(1797, 0.2, 0)
    assert (len(tr), len(va)) == (1438, 359) and not set(tr) & set(va)


# --- compile --quantize --------------------------------------------------------------------------

def test_quantize_arguments_that_do_not_go_together_are_usage_errors(capsys, tmp_path: Path):
    out = str(tmp_path / "m.onnx")
    for argv, says in [(["--quantize", "int8"], "needs calibration data"),
                       (["--calibrate", "digits"], "--calibrate is for --quantize"),
                       (["--quantize", "dynamic", "--fp16"], "does not go with --fp16"),
                       (["--quantize", "int8", "--calibrate", "digits", "--min-agreement", "2"], "from 0 to 1"),
                       (["--quantize", "dynamic", "--target", "openvino"], "--target openvino is for --quantize int8"),
                       (["--target", "openvino"], "--target openvino is for --quantize int8")]:
        rc, _, err = cli(capsys, "compile", "lenet5", "-o", out, *argv)
        assert rc == 2 and says in err, (argv, err)
    assert not Path(out).exists()


def test_an_int8_model_below_the_agreement_threshold_is_not_written(capsys, tmp_path: Path, monkeypatch):
    out = tmp_path / "m.onnx"
    out.write_bytes(b"the old file")
    monkeypatch.setattr(quantize, "compare", lambda *a: quantize.Score(359, 0.9, 0.8, 0.95))
    rc, _, err = cli(capsys, "compile", "lenet5", "--quantize", "int8", "--calibrate", "digits",
                     "--calibration-samples", "16", "-o", str(out))
    assert rc == 1 and "agrees with FP32 on 95.00% of 359 held-out samples, below --min-agreement 99.00%" in err
    assert out.read_bytes() == b"the old file" and [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_compile_quantize_loads_no_torch_and_carries_the_metadata(tmp_path: Path):
    out = tmp_path / "l8.onnx"
    argv = ["compile", "lenet5", "--quantize", "int8", "--calibrate", "digits", "--calibration-samples", "64",
            "-o", str(out)]
    assert "torch" not in heavy_imports(argv)
    m = onnx.load(str(out))
    ops = {n.op_type for n in m.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops
    scales = {i.name: i for i in m.graph.initializer}
    per_channel = [n for n in m.graph.node if n.op_type == "DequantizeLinear" and n.input[0] in scales
                   and scales[n.input[0]].data_type == onnx.TensorProto.INT8]
    assert per_channel and all(len(scales[n.input[1]].dims) == 1 for n in per_channel)  # one scale per channel
    meta = {p.key: p.value for p in m.metadata_props}
    fp32 = {p.key: p.value for p in archspec.load("lenet5").to_onnx().metadata_props}
    assert meta["preprocess"] == fp32["preprocess"] and meta["spec"] == "lenet5"
    assert json.loads(meta["quantization"]) == {
        "mode": "int8", "format": "QDQ", "activations": "uint8 per tensor", "target": "onnxruntime",
        "weights": "int8 per channel" + (SEVEN_BITS if quantize.reduce_range() else ""),
        "method": "minmax", "calibration": "digits", "calibration_samples": 64}


@needs_nncf
def test_int8_for_openvino_is_nncfs_qdq_scored_on_openvino_without_torch(tmp_path: Path):
    out = tmp_path / "l8.onnx"
    argv = ["compile", "lenet5", "--quantize", "int8", "--target", "openvino", "--calibrate", "digits",
            "--calibration-samples", "32", "--eval-samples", "64", "-o", str(out)]
    assert "torch" not in heavy_imports(argv)  # NNCF imports torch whenever it is installed, unless hidden
    m = onnx.load(str(out))
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= {n.op_type for n in m.graph.node}
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in m.graph.initializer}
    weights = [n for n in m.graph.node if n.op_type == "DequantizeLinear" and n.input[0] in inits
               and inits[n.input[0]].dtype == np.int8 and inits[n.input[0]].ndim == 4]
    assert weights and all(inits[n.input[1]].size == inits[n.input[0]].shape[0] for n in weights)  # per channel
    assert all(len(n.input) < 3 or not inits[n.input[2]].any() for n in weights)  # symmetric: zero points 0
    meta = json.loads({p.key: p.value for p in m.metadata_props}["quantization"])
    assert meta["target"] == "openvino" and meta["quantizer"].startswith("nncf ") and meta["calibration_samples"] == 32
    done = run_cli(*argv[:-2], "-o", str(tmp_path / "again.onnx"))
    assert done.returncode == 0 and "held-out: 64 samples of digits, on openvino" in done.stdout
    assert "int8 for openvino" in done.stdout
    assert "Statistics collection" not in done.stdout + done.stderr  # NNCF's progress bars (on stdout) are hidden


def test_a_missing_nncf_says_what_to_install(monkeypatch):
    import sys

    from archspec.runtime.errors import ProviderError
    from archspec.runtime.quantize_nncf import import_nncf

    monkeypatch.setitem(sys.modules, "nncf", None)  # import nncf now raises ImportError
    with pytest.raises(ProviderError, match=r"NNCF is not installed: `pip install 'archspec\[openvino\]'`"):
        import_nncf()


def test_onnxruntime_only_options_are_refused_for_openvino(tmp_path: Path):
    opts = quantize.Options("int8", "entropy", 0.0, 16, "openvino")
    model = archspec.load("lenet5")
    fp32 = model.save_onnx(tmp_path / "f.onnx")
    train, _ = dataset.train_and_held_out("digits", model.input_shape, model.spec.preprocess)
    with pytest.raises(quantize.QuantizeError, match="--calibration-method entropy is onnxruntime's"):
        quantize.quantize_file(Path(fp32), tmp_path / "q.onnx", opts, train, None)
    with pytest.raises(quantize.QuantizeError, match="--quantize dynamic is onnxruntime's"):
        quantize.quantize_file(Path(fp32), tmp_path / "q.onnx", quantize.Options("dynamic", target="openvino"),
                               None, None)
    assert not (tmp_path / "q.onnx").exists()


def test_weights_take_7_bits_on_an_x86_cpu_without_vnni(tmp_path: Path, monkeypatch):
    """Without VNNI, onnxruntime's U8S8 kernels saturate at 8-bit weights (LeNet-5 lost 1.1 points
    so on an AVX2-only CPU): the quantiser then uses 7 bits."""
    import platform

    avx2, vnni = tmp_path / "avx2", tmp_path / "vnni"
    avx2.write_text("flags\t\t: fpu sse2 avx2 fma\n")
    vnni.write_text("flags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n")
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    assert quantize.reduce_range(avx2) and not quantize.reduce_range(vnni)
    assert not quantize.reduce_range(tmp_path / "absent")  # not Linux: VNNI assumed
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")
    assert not quantize.reduce_range(avx2)


def random_norms(proto: onnx.ModelProto, seed: int = 0) -> onnx.ModelProto:
    """The model with every BatchNormalization's statistics and affine drawn at random (a freshly
    compiled one has the identity norm, which any rewrite reproduces)."""
    from onnx import numpy_helper

    rng = np.random.default_rng(seed)
    inits = {i.name: i for i in proto.graph.initializer}
    for n in proto.graph.node:
        if n.op_type == "BatchNormalization":
            for name, lo in zip(n.input[1:5], (0.5, -0.5, -0.5, 0.5), strict=True):
                a = numpy_helper.to_array(inits[name])
                inits[name].CopyFrom(numpy_helper.from_array(rng.uniform(lo, lo + 1, a.shape).astype(a.dtype), name))
    return proto


def test_unfolded_norms_and_pools_are_quantised_as_the_depthwise_convs_they_equal(tmp_path: Path):
    """DenseNet's pre-activation norms follow a concat, so no conv absorbs them: left as
    BatchNormalization they run in float between a DequantizeLinear and a QuantizeLinear; its
    transitions' average pools run as onnxruntime's slow QLinearAveragePool."""
    import onnxruntime as ort

    fp32, pre = tmp_path / "fp32.onnx", tmp_path / "pre.onnx"
    onnx.save(random_norms(archspec.load("densenet_bc100").to_onnx()), str(fp32))
    norms = sum(n.op_type == "BatchNormalization" for n in onnx.load(str(fp32)).graph.node)
    assert norms == 51  # the first norm of 48 layers, of 2 transitions, the final one (the rest fold)
    onnx.save(int8_rewrites.rewrite(onnx.load(str(fp32))), str(pre))
    ops = [n.op_type for n in onnx.load(str(pre)).graph.node]
    assert "BatchNormalization" not in ops and "AveragePool" not in ops
    assert ops.count("Conv") == 99 + norms + 2  # and the pools of the 2 transitions
    x = np.random.default_rng(1).standard_normal((2, 3, 32, 32)).astype(np.float32)
    want, got = (ort.InferenceSession(str(f), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]
                 for f in (fp32, pre))
    assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()
    train, held_out = dataset.train_and_held_out("digits", (3, 32, 32), Preprocess())
    int8 = tmp_path / "int8.onnx"
    score = quantize.quantize_file(fp32, int8, quantize.Options(calibration_samples=32, min_agreement=0.0),
                                   train, held_out.subset(np.arange(64)))
    g = onnx.load(str(int8)).graph
    made_by = {o: n.op_type for n in g.node for o in n.output}
    assert not {"BatchNormalization", "AveragePool"} & {n.op_type for n in g.node}
    assert all(made_by.get(n.input[0]) == "DequantizeLinear" for n in g.node if n.op_type == "Conv")
    assert score is not None and score.agreement >= 0.9  # random weights: INT8 still picks FP32's class


STEM = """archspec: 1
name: stem
input: {{name: image, shape: [3, {h}, {w}]}}
layers:
  - conv: {{out: 8, kernel: {k}, stride: 2, pad: {p}, name: stem}}
  - relu
  - conv: {{out: 8, kernel: 3, stride: 2, pad: 1, name: next}}  # 8 channels: left as it is
  - global_avgpool
  - flatten
  - linear: {{out: 4, name: fc}}
"""


@pytest.mark.parametrize("h, w, k, p", [(32, 32, 7, 3), (33, 31, 7, 3), (30, 29, 3, 1), (16, 16, 4, 0)])
def test_a_strided_stem_on_rgb_is_quantised_as_space_to_depth_and_a_conv_on_12_channels(
        h: int, w: int, k: int, p: int):
    """The integer conv gathers 3 bytes per tap on RGB, 12 after SpaceToDepth(2) (resnet50's stem:
    1.43 ms in INT8, 0.82 ms rewritten); the rewritten FP32 graph computes the same."""
    import onnxruntime as ort

    fp32 = archspec.loads(STEM.format(h=h, w=w, k=k, p=p)).to_onnx()
    rewritten = int8_rewrites.rewrite(fp32)
    ops = [n.op_type for n in rewritten.graph.node]
    assert ops[:4] == ["Pad", "SpaceToDepth", "Conv", "Relu"] and ops.count("Conv") == 2
    stem = next(i for i in rewritten.graph.initializer if i.name == "stem.space_to_depth.weight")
    assert list(stem.dims) == [8, 12, (k + 1) // 2, (k + 1) // 2]
    x = np.random.default_rng(0).standard_normal((2, 3, h, w)).astype(np.float32)
    cpu = ["CPUExecutionProvider"]
    want, got = (ort.InferenceSession(m.SerializeToString(), providers=cpu).run(None, {"image": x})[0]
                 for m in (fp32, rewritten))
    assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()


def test_a_stem_the_blocks_would_give_one_row_more_is_left_as_it_is():
    """31 padded rows, kernel 4, stride 2: 14 outputs, but 16 blocks less 2 plus 1 would be 15."""
    fp32 = archspec.loads(STEM.format(h=29, w=32, k=4, p=1)).to_onnx()
    assert [n.op_type for n in int8_rewrites.rewrite(fp32).graph.node][:2] == ["Conv", "Relu"]


POOLS = """archspec: 1
name: pools
input: {name: image, shape: [8, 9, 10]}
layers:
  - avgpool: {kernel: 3, stride: 1, pad: 1, name: counted}
  - avgpool: {kernel: 3, stride: 1, pad: 1, count_include_pad: false, name: uncounted}
  - avgpool: {kernel: 2, name: plain}
  - flatten
  - linear: {out: 4, name: fc}
"""


def test_average_pools_the_same_as_a_depthwise_conv_become_one():
    """Padding counted in the average, or none: a depthwise conv of weight 1/(kh kw); padding left
    out of the average divides by less at the borders: kept as a pool."""
    import onnxruntime as ort

    fp32 = archspec.loads(POOLS).to_onnx()
    rewritten = int8_rewrites.rewrite(fp32)
    assert [(n.name, n.op_type) for n in rewritten.graph.node][:3] == [
        ("counted", "Conv"), ("uncounted", "AveragePool"), ("plain", "Conv")]
    x = np.random.default_rng(0).standard_normal((2, 8, 9, 10)).astype(np.float32)
    cpu = ["CPUExecutionProvider"]
    want, got = (ort.InferenceSession(m.SerializeToString(), providers=cpu).run(None, {"image": x})[0]
                 for m in (fp32, rewritten))
    assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()


def test_the_quantised_stem_conv_reads_integers(tmp_path: Path):
    fp32, int8 = tmp_path / "fp32.onnx", tmp_path / "int8.onnx"
    onnx.save(archspec.loads(STEM.format(h=32, w=32, k=7, p=3)).to_onnx(), str(fp32))
    train, _ = dataset.train_and_held_out("digits", (3, 32, 32), Preprocess())
    quantize.quantize_file(fp32, int8, quantize.Options(calibration_samples=32, min_agreement=0.0), train, None)
    g = onnx.load(str(int8)).graph
    made_by = {o: n.op_type for n in g.node for o in n.output}
    convs = [n for n in g.node if n.op_type == "Conv"]
    assert len(convs) == 2 and all(made_by[n.input[0]] == "DequantizeLinear" for n in convs)
    assert "SpaceToDepth" in made_by.values()


@pytest.mark.slow  # trains LeNet-5 for 4 epochs (some 10 s)
def test_int8_lenet5_trained_on_the_digits_is_within_half_a_point_of_fp32(capsys, tmp_path: Path):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["train", "lenet5", "--out", str(tmp_path / "run"), "--epochs", "4", "-q"]) == 0
    finally:
        torch.set_num_threads(threads)
    best = max(json.loads(r)["val_acc"] for r in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines())
    weights = str(tmp_path / "run" / "best.safetensors")
    fp32, int8, dyn = (tmp_path / f"{n}.onnx" for n in ("fp32", "int8", "dynamic"))
    capsys.readouterr()
    assert main(["compile", "lenet5", "--weights", weights, "-o", str(fp32)]) == 0
    rc, out, _ = cli(capsys, "compile", "lenet5", "--weights", weights, "--quantize", "int8",
                     "--calibrate", "digits", "-o", str(int8))
    assert rc == 0 and int8.is_file()
    model = archspec.load("lenet5")
    _, held = dataset.train_and_held_out("digits", model.input_shape, model.spec.preprocess)
    score = quantize.compare(fp32.read_bytes(), int8.read_bytes(), held)
    assert score.samples == 359 and score.fp32_accuracy == pytest.approx(best, abs=1e-12)  # training's own split
    assert best > 0.9 and abs(score.delta_points) <= 0.5 and score.agreement >= 0.99
    assert f"top-1 int8    {100 * score.int8_accuracy:6.2f}%" in out
    assert f"agreement     {100 * score.agreement:6.2f}%" in out
    assert main(["compile", "lenet5", "--weights", weights, "--quantize", "dynamic", "--calibrate", "digits",
                 "-o", str(dyn)]) == 0
    assert abs(quantize.compare(fp32.read_bytes(), dyn.read_bytes(), held).delta_points) <= 0.5
    if HAS_OV and importlib.util.find_spec("nncf"):  # scored on OpenVINO, in a process of its own
        done = run_cli("compile", "lenet5", "--weights", weights, "--quantize", "int8", "--target", "openvino",
                       "--calibrate", "digits", "-o", str(tmp_path / "ov.onnx"))
        assert done.returncode == 0, done.stderr
        fp32_line, int8_line = (ln for ln in done.stdout.splitlines() if ln.strip().startswith("top-1"))
        assert f"{100 * best:6.2f}%" in fp32_line  # OpenVINO f32 scores FP32 as onnxruntime does
        assert abs(float(int8_line.split("(")[1].split()[0])) <= 0.5, done.stdout


# --- OpenVINO ------------------------------------------------------------------------------------

def run_json(*argv: str) -> dict:
    """`archspec ARGV --json` in a process of its own; its report."""
    done = run_cli(*argv, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@needs_ov
@pytest.mark.parametrize("spec", ["lenet5", "cifar_resnet20"])
def test_openvino_f32_output_is_within_1e_4_of_onnxruntime(spec: str, tmp_path: Path):
    shape = archspec.load(spec).input_shape
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(0).standard_normal((3, *shape)).astype(np.float32))
    report = run_json("run", spec, "--input", str(x), "--runtime", "openvino", "--threads", "1")
    assert report["runtime"] == "openvino" and len(report["predictions"]) == 3
    assert report["compared"]["precision"] == "f32" and report["compared"]["max_abs_diff"] <= 1e-4


@needs_ov
def test_run_on_openvino_reports_how_far_it_is_from_onnxruntime(tmp_path: Path):
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(1).standard_normal((2, 1, 32, 32)).astype(np.float32))
    report = run_json("run", "lenet5", "--input", str(x), "--runtime", "openvino")
    assert report["runtime"] == "openvino" and len(report["predictions"]) == 2
    assert report["compared"]["precision"] == "f32" and report["compared"]["max_abs_diff"] <= 1e-4
    assert report["compared"]["top1_agreement"] == 1.0
    assert [p["top"][0]["label"] for p in report["predictions"]] == [
        p["top"][0]["label"] for p in run_json("run", "lenet5", "--input", str(x))["predictions"]]


@needs_ov
def test_bench_times_fp32_and_int8_on_both_runtimes_side_by_side(tmp_path: Path):
    int8 = tmp_path / "int8.onnx"
    fp32 = tmp_path / "fp32.onnx"
    assert main(["compile", "lenet5", "-o", str(fp32)]) == 0
    assert main(["compile", "lenet5", "--quantize", "int8", "--calibrate", "digits", "--calibration-samples", "32",
                 "-o", str(int8)]) == 0
    report = run_json("bench", str(fp32), "--with", str(int8), "--runtime", "onnxruntime,openvino",
                      "--precision", "f32,bf16", "--iters", "3", "--warmup", "1", "--threads", "1")
    rows = [(r["model"], r["backend"], r["precision"]) for r in report["results"]]
    want = [(m, rt, p) for m in ("fp32", "int8") for rt, p in
            (("onnxruntime", "f32"), ("openvino", "f32"), ("openvino", "bf16"))]
    # OpenVINO reports the precision it chose: f32 where the CPU has no bf16
    assert [r[:2] for r in rows] == [w[:2] for w in want]
    assert all(r[2] == w[2] or (w[2], r[2]) == ("bf16", "f32") for r, w in zip(rows, want))
    first = report["results"][0]
    assert first["ratio"] == 1.0 and first["iters"] == 3


def test_precision_is_openvinos_and_a_missing_openvino_says_what_to_install(capsys, monkeypatch):
    import sys

    rc, _, err = cli(capsys, "run", "lenet5", "--input", "x.npy", "--precision", "bf16")
    assert rc == 2 and "--precision bf16 is OpenVINO's hint: add --runtime openvino" in err
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino now raises ImportError
    from archspec.runtime.errors import ProviderError
    from archspec.runtime.openvino import create_ov_session

    with pytest.raises(ProviderError, match=r"pip install 'archspec\[openvino\]'"):
        create_ov_session(b"")
