"""INT8 models through onnxruntime's quantisation tools, scored against their FP32 model first.

`static`: QDQ format (QuantizeLinear/DequantizeLinear pairs around each quantised op, which
onnxruntime and OpenVINO both fuse into integer kernels), weights int8 per output channel,
activations uint8 per tensor with ranges calibrated on the training part of a dataset. uint8
activations with int8 weights (U8S8) are the pair onnxruntime's x86 kernels run fastest with
(VNNI): on archspec's resnet50 0.34x of FP32's latency here, one thread (tools/bench_deploy.py). Without
VNNI their 16-bit sums saturate: weights then use 7 bits (`reduce_range`). Before quantising,
archspec.runtime.int8_rewrites replaces what those kernels run badly (an unfolded BatchNormalization,
a strided conv on RGB) by exact equivalents they run well.
`dynamic`: int8 weights, activation ranges computed at run time; no calibration needed.
Target `openvino` (static only): NNCF quantises instead, placing the pairs as OpenVINO fuses
them, and the model is scored on OpenVINO (archspec.runtime.quantize_nncf).

Both models are scored on the held-out part (top-1 accuracy of each, and how often they agree);
the INT8 model is written, atomically, only when its agreement with FP32 reaches the threshold.
Nothing here imports torch.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from archspec.io import atomic_path
from archspec.runtime.dataset import Labelled
from archspec.runtime.errors import RunError

META_QUANTIZATION = "quantization"  # metadata key: JSON of how the model was quantised
DEFAULT_MIN_AGREEMENT = 0.99
MODES = ("int8", "dynamic")
METHODS = ("minmax", "entropy", "percentile")
TARGETS = ("onnxruntime", "openvino")  # the runtime an int8 model's QDQ placement is made for


class QuantizeError(RunError):
    """The INT8 model was not written (too little agreement, unusable data)."""


@dataclass
class Score:
    """FP32 and INT8 on one held-out set."""

    samples: int
    fp32_accuracy: float
    int8_accuracy: float
    agreement: float  # share of samples whose top-1 class is the same for both

    @property
    def delta_points(self) -> float:
        return 100 * (self.int8_accuracy - self.fp32_accuracy)

    def lines(self, mode: str, held_out: str, runtime: str = "onnxruntime") -> list[str]:
        return [f"held-out: {self.samples} samples of {held_out}, on {runtime}",
                f"  {'top-1 fp32':<13} {100 * self.fp32_accuracy:6.2f}%",
                f"  {'top-1 ' + mode:<13} {100 * self.int8_accuracy:6.2f}%  ({self.delta_points:+.2f} points)",
                f"  {'agreement':<13} {100 * self.agreement:6.2f}%"]


@dataclass
class Options:
    mode: str = "int8"
    method: str = "minmax"
    min_agreement: float = DEFAULT_MIN_AGREEMENT
    calibration_samples: int = 256
    target: str = "onnxruntime"  # openvino: NNCF places the QDQ pairs (archspec.runtime.quantize_nncf)


def pick(data: Labelled, n: int, seed: int = 0) -> Labelled:
    """At most `n` samples, a seeded random choice (an ImageFolder is sorted by class)."""
    if len(data.y) <= n:
        return data
    return data.subset(np.sort(np.random.default_rng(seed).permutation(len(data.y))[:n]))


def quantize_file(fp32: Path, out: str | Path, opts: Options, calibration: Labelled | None,
                  held_out: Labelled | None) -> Score | None:
    """Quantise the model file `fp32`, score it on `held_out` (when given) and write it to `out`;
    QuantizeError, and `out` untouched, when agreement falls below `opts.min_agreement`."""
    import onnx

    if opts.mode == "int8" and calibration is None:
        raise QuantizeError("--quantize int8 needs calibration data: --calibrate DATA")
    if opts.target == "openvino" and opts.mode != "int8":
        raise QuantizeError(f"--quantize {opts.mode} is onnxruntime's: for OpenVINO use --quantize int8")
    if opts.target == "openvino" and opts.method != "minmax":
        raise QuantizeError(f"--calibration-method {opts.method} is onnxruntime's: NNCF (--target openvino) "
                            "sets the ranges its own way (min-max of its statistics)")
    with tempfile.TemporaryDirectory(prefix="archspec-quant-") as tmpdir:
        q = Path(tmpdir) / "int8.onnx"
        if opts.target == "openvino":
            _quantize_for_openvino(fp32, q, opts, calibration)
        else:
            pre = Path(tmpdir) / "pre.onnx"
            _pre_process(fp32, pre)
            _rewrite(pre)  # patterns onnxruntime's integer kernels run badly, as equivalents they run well
            _quantize(pre, q, opts, calibration)
        proto = onnx.load(str(q))
        _carry_metadata(onnx.load(str(fp32), load_external_data=False), proto, opts, calibration)
        data = proto.SerializeToString()
        score = None if held_out is None else compare(fp32.read_bytes(), data, held_out, opts.target)
        if score is not None and score.agreement < opts.min_agreement:
            raise QuantizeError(f"not written: the {opts.mode} model agrees with FP32 on {100 * score.agreement:.2f}% "
                                f"of {score.samples} held-out samples, below --min-agreement "
                                f"{100 * opts.min_agreement:.2f}% (top-1 fp32 {100 * score.fp32_accuracy:.2f}%, "
                                f"{opts.mode} {100 * score.int8_accuracy:.2f}%); try --calibration-method "
                                "percentile or more --calibration-samples")
        with atomic_path(out) as tmp:
            tmp.write_bytes(data)
    return score


def _pre_process(src: Path, dst: Path) -> None:
    """onnxruntime's recommended first step: shape inference (quantisation needs every tensor's
    type) and its graph optimisations, so that quantised ops are the fused ones that run."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    try:
        # skip_symbolic_shape: onnxruntime.tools (its symbolic shape inference) imports torch when
        # installed; onnx's own shape inference gives every shape of an archspec graph (batch N aside)
        quant_pre_process(str(src), str(dst), skip_symbolic_shape=True)
    except Exception as e:  # its symbolic shape inference fails on some graphs: quantise the model as it is
        import shutil
        import sys

        print(f"note: onnxruntime's pre-processing failed ({type(e).__name__}); quantising the model as compiled",
              file=sys.stderr)
        shutil.copyfile(src, dst)


def _rewrite(path: Path) -> None:
    """archspec.runtime.int8_rewrites on the model file at `path`, in place."""
    import onnx

    from archspec.runtime.int8_rewrites import rewrite

    onnx.save(rewrite(onnx.load(str(path))), str(path))


def _quantize(src: Path, dst: Path, opts: Options, calibration: Labelled | None) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_dynamic, quantize_static

    if opts.mode == "dynamic":
        quantize_dynamic(str(src), str(dst), per_channel=True, weight_type=QuantType.QInt8)
        return
    assert calibration is not None
    method = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
              "percentile": CalibrationMethod.Percentile}[opts.method]
    reader = Reader(_input_name(src), _batch_of(src), pick(calibration, opts.calibration_samples).x)
    with _quiet_root_log():
        quantize_static(str(src), str(dst), reader, quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, calibrate_method=method,
                        reduce_range=reduce_range())


def _quantize_for_openvino(src: Path, dst: Path, opts: Options, calibration: Labelled | None) -> None:
    from archspec.runtime.quantize_nncf import quantize_for_openvino

    assert calibration is not None
    x = pick(calibration, opts.calibration_samples).x
    quantize_for_openvino(src, dst, list(batches(_batch_of(src), x, 1)), _input_name(src))


def reduce_range(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether to quantise weights to 7 bits: on an x86 CPU without VNNI (AVX512-VNNI, AVX-VNNI)
    onnxruntime's U8S8 kernels multiply with VPMADDUBSW, whose 16-bit pair sums saturate at full
    8-bit weights (onnxruntime's quantization docs); LeNet-5 on the digits lost 1.1 points so on an
    AVX2-only EPYC, none with 7-bit weights. The INT8 file is scored on this machine: one built here
    for a CPU with VNNI keeps the full range only when this CPU has it too."""
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        return "vnni" not in cpuinfo.read_text()
    except OSError:  # not Linux: assume a CPU of the last years (VNNI)
        return False


@contextlib.contextmanager
def _quiet_root_log() -> Iterator[None]:
    """onnxruntime's quantiser warns on the root logger for every 1-d weight it cannot quantise per
    channel (the biases it leaves in float, any other 1-d initializer): it quantises those per
    tensor, as it should; one line each would bury the report."""
    import logging

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def _input_name(path: Path) -> str:
    import onnx

    g = onnx.load(str(path), load_external_data=False).graph
    inits = {i.name for i in g.initializer}
    return str(next(i.name for i in g.input if i.name not in inits))


def _batch_of(path: Path) -> int | None:
    import onnx

    g = onnx.load(str(path), load_external_data=False).graph
    d = g.input[0].type.tensor_type.shape.dim[0]
    return int(d.dim_value) if d.HasField("dim_value") else None


def batches(batch: int | None, x: np.ndarray, default: int) -> Iterator[np.ndarray]:
    """`x` in batches of the model's fixed `batch` (a last partial one dropped), else of `default`."""
    b = batch or default
    return (x[i:i + b] for i in range(0, len(x), b) if batch is None or i + b <= len(x))


class Reader:
    """onnxruntime's CalibrationDataReader: the samples in batches (of the model's fixed batch;
    else of 32)."""

    def __init__(self, name: str, batch: int | None, x: np.ndarray):
        self._batches = batches(batch, x, 32)
        self.name = name

    def get_next(self) -> dict[str, np.ndarray] | None:
        x = next(self._batches, None)
        return None if x is None else {self.name: x}


def _carry_metadata(fp32: Any, proto: Any, opts: Options, calibration: Labelled | None) -> None:
    """The FP32 model's metadata (spec, preprocessing, labels), plus how it was quantised."""
    how: dict[str, Any] = {"mode": opts.mode, "format": "QDQ" if opts.mode == "int8" else "dynamic",
                           "target": opts.target, "weights": "int8 per channel"}
    if opts.mode == "int8" and calibration is not None:
        how |= {"activations": "uint8 per tensor", "method": opts.method, "calibration": calibration.name,
                "calibration_samples": min(len(calibration.y), opts.calibration_samples)}
    if opts.target == "openvino":
        from archspec.runtime.quantize_nncf import nncf_package

        how |= {"quantizer": nncf_package(), "weights": "int8 per channel, symmetric",
                "activations": "int8 or uint8 per tensor, symmetric"}
    elif opts.mode == "int8" and reduce_range():
        how["weights"] = "int8 per channel, 7-bit range (no VNNI on the CPU that scored it)"
    del proto.metadata_props[:]
    for p in fp32.metadata_props:
        proto.metadata_props.add(key=p.key, value=p.value)
    proto.metadata_props.add(key=META_QUANTIZATION, value=json.dumps(how, sort_keys=True, separators=(",", ":")))


def predictions(model: bytes, x: np.ndarray, threads: int | None = None, runtime: str = "onnxruntime") -> np.ndarray:
    """Top-1 classes of `x` by `model` on `runtime` (f32) on the CPU."""
    from archspec.runtime.infer import run_batches
    from archspec.runtime.load import OnnxModel
    from archspec.runtime.openvino import open_session
    from archspec.spec import Preprocess

    m = OnnxModel("model", Preprocess(), None, encoded=model)
    session, _ = open_session(model, runtime, "cpu", threads)
    scores = run_batches(session, m, x.astype(m.input_dtype, copy=False))
    return np.asarray(scores.reshape(len(x), -1).argmax(1))


def compare(fp32: bytes, int8: bytes, data: Labelled, runtime: str = "onnxruntime") -> Score:
    """Both models' top-1 accuracy on `data` on `runtime`, and their agreement."""
    p32, p8 = predictions(fp32, data.x, runtime=runtime), predictions(int8, data.x, runtime=runtime)
    return Score(len(data.y), float((p32 == data.y).mean()), float((p8 == data.y).mean()), float((p32 == p8).mean()))
