"""Static INT8 for OpenVINO: NNCF (OpenVINO's own quantiser) on the ONNX file, written as QDQ ONNX.

onnxruntime's quantiser places QuantizeLinear/DequantizeLinear where onnxruntime's integer
kernels want them; OpenVINO wants them elsewhere. On densenet121 every dense layer's concat then
costs OpenVINO a requantisation (a Convert and a FakeQuantize over the whole concat: a third of
its INT8 time), and its INT8 model (0.37x of onnxruntime FP32's latency) runs slower than bf16
(0.28x). NNCF places them as OpenVINO's low-precision passes fuse them: 0.21x for densenet121,
0.14x for resnet50 (tools/bench_deploy.py, one thread). The file stays ONNX, so `archspec run`
and `bench` take it on either runtime; onnxruntime runs it right but slower (0.60x on
densenet121), which is why this is a separate target, not the default.

NNCF is part of the optional extra `archspec[openvino]`.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import os
import sys
from collections.abc import Iterator
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import Any

import numpy as np

from archspec.runtime.errors import ProviderError


def import_nncf() -> Any:
    """nncf, imported without torch and without telemetry.

    NNCF imports torch whenever it is installed (its tensor functions register a torch backend),
    which would cost `archspec compile` over a second and break its promise not to import torch;
    a missing torch is what NNCF handles, so torch is hidden while it imports. NNCF also sends
    usage telemetry unless it runs in its own CI (NNCF_CI, read once at import, nothing else reads it)."""
    if sys.modules.get("nncf") is not None:
        return sys.modules["nncf"]
    previous = os.environ.get("NNCF_CI")
    os.environ["NNCF_CI"] = "1"
    try:
        with _torch_hidden():
            import nncf
    except ImportError:
        raise ProviderError("NNCF is not installed: `pip install 'archspec[openvino]'` "
                            "(or quantise for onnxruntime: --target onnxruntime)") from None
    finally:
        if previous is None:
            del os.environ["NNCF_CI"]
        else:
            os.environ["NNCF_CI"] = previous
    return nncf


class _NoTorch(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds torch as a module without origin (NNCF's test for a framework that is not there)
    whose loading fails as a missing module's does."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        return ModuleSpec(name, self) if name == "torch" or name.startswith("torch.") else None

    def create_module(self, spec: ModuleSpec) -> None:
        raise ModuleNotFoundError(f"No module named '{spec.name}' (hidden while NNCF runs)", name=spec.name)

    def exec_module(self, module: Any) -> None:  # the import system calls create_module only on a
        # loader that has exec_module; create_module raises first, so this never runs
        raise ModuleNotFoundError(module.__name__)


@contextlib.contextmanager
def _torch_hidden() -> Iterator[None]:
    if "torch" in sys.modules:  # already paid for: NNCF may as well use it
        yield
        return
    finder = _NoTorch()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def quantize_for_openvino(src: Path, dst: Path, batches: list[np.ndarray], input_name: str) -> None:
    """NNCF's post-training quantisation of the ONNX model at `src` (performance preset: symmetric
    int8 weights per channel, per-tensor activations, as OpenVINO's CPU plugin runs fastest),
    calibrated on `batches`, saved to `dst`. With NNCF's full bias correction, not its default fast
    one: with the fast one cifar_resnet20 trained on the digits agreed with FP32 on 98.89% of the
    held-out images (below the default --min-agreement), with the full one on 99.72%, top-1
    unchanged either way."""
    import logging

    import onnx

    nncf = import_nncf()
    nncf.set_log_level(logging.ERROR)
    data = nncf.Dataset(batches, lambda x: {input_name: x})
    with _torch_hidden(), _quiet_stdout():  # hidden again: NNCF tells a torch model by importing torch
        q = nncf.quantize(onnx.load(str(src)), data, subset_size=len(batches),
                          preset=nncf.QuantizationPreset.PERFORMANCE, target_device=nncf.TargetDevice.CPU,
                          fast_bias_correction=False)
    onnx.save(q, str(dst))


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """NNCF draws progress bars on stdout; archspec prints its own report."""
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        yield


def nncf_package() -> str:
    from importlib import metadata

    try:
        return f"nncf {metadata.version('nncf')}"
    except metadata.PackageNotFoundError:
        return "nncf"
