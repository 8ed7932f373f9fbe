"""Weights out of and into the torch module, `archspec compile --weights` on them, `archspec verify`,
and the commands that must stay torch-free."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

import archspec  # noqa: E402
from archspec.cli import main  # noqa: E402
from archspec.loader import builtin_names  # noqa: E402
from archspec.torch_backend import Reference, load_state, save_state  # noqa: E402
from archspec.weights import WeightsError  # noqa: E402

EVERY_OP = str(Path(__file__).parent / "every_op.yaml")


def trained_like(spec: str, seed: int):
    """A module whose every weight and BN statistic is random (not the init's constants)."""
    net = archspec.load(spec).to_torch(seed=seed)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for k, v in net.state_dict().items():
            if v.is_floating_point():
                v.copy_(torch.rand(v.shape, generator=g) + 0.5 if k.endswith(("running_var", ".a"))
                        else v + 0.05 * torch.randn(v.shape, generator=g))
    return net.eval()


@pytest.mark.parametrize(("spec", "suffix"), [(EVERY_OP, ".safetensors"), (EVERY_OP, ".npz"), ("resnet18", ".pt")])
def test_saved_weights_compile_to_the_same_function(tmp_path, spec, suffix):
    model = archspec.load(spec)
    net = trained_like(spec, seed=7)
    wfile = save_state(net, tmp_path / f"w{suffix}")
    onnx_file = tmp_path / "m.onnx"
    assert main(["compile", spec, "--weights", str(wfile), "-o", str(onnx_file)]) == 0
    x = torch.randn(2, *model.input_shape, generator=torch.Generator().manual_seed(8))
    sess = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        want = net(x)
        want = (want["logits"] if isinstance(want, dict) else want).numpy()
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()


def test_load_state_round_trip_and_errors(tmp_path):
    src = trained_like(EVERY_OP, seed=1)
    dst = archspec.load(EVERY_OP).to_torch(seed=2)
    load_state(dst, save_state(src, tmp_path / "w.safetensors"))
    assert all(torch.equal(v, dst.state_dict()[k]) for k, v in src.state_dict().items())

    state = {k: v.clone() for k, v in src.state_dict().items() if not k.endswith("num_batches_tracked")}
    load_state(dst, state)  # BN's step counters may be absent
    state["stem.weight"] = torch.zeros(8, 3, 3, 2)
    state["nope.weight"] = torch.zeros(1)
    del state["fc1.bias"]
    with pytest.raises(WeightsError) as e:
        load_state(dst, state)
    assert str(e.value).splitlines()[1:] == ["  missing 'fc1.bias' [10]",
                                             "  'stem.weight' has shape [8, 3, 3, 2], expected [8, 3, 3, 3]",
                                             "  unexpected 'nope.weight'"]


def test_reference_renames():
    """torchvision's DenseNets read old-style checkpoint keys; every other key passes unchanged."""
    dense = Reference("torchvision", "densenet121")
    assert dense.rename("features.denseblock2.denselayer10.norm.2.running_var") == \
        "features.denseblock2.denselayer10.norm2.running_var"
    assert dense.rename("features.denseblock2.denselayer10.conv1.weight") == \
        "features.denseblock2.denselayer10.conv1.weight"
    assert dense.rename("features.transition1.norm.weight") == "features.transition1.norm.weight"
    assert Reference("torchvision", "DenseNet").renames == dense.renames != ()
    refs = {n: archspec.load(n).reference for n in builtin_names()}
    renamed = sorted(n for n, r in refs.items() if r is not None and Reference.of(r).renames)
    assert renamed == ["densenet121", "densenet161", "densenet169", "densenet201", "densenet264"]


def test_verify_cli(tmp_path, capsys):
    assert main(["verify", EVERY_OP]) == 0
    out = capsys.readouterr().out
    assert [line.split()[:2] for line in out.splitlines()[1:-1]] == [
        ["deploy", "logits"], ["deploy", "probs"], ["train", "logits"], ["train", "probs"], ["train", "aux"]]
    assert out.splitlines()[-1].startswith("ok")

    wfile = save_state(trained_like(EVERY_OP, seed=3), tmp_path / "w.safetensors")
    assert main(["verify", EVERY_OP, "--weights", str(wfile), "--mode", "deploy"]) == 0
    assert main(["verify", EVERY_OP, "--tolerance", "1e-12"]) == 4  # float32 cannot agree that well
    assert "FAIL" in capsys.readouterr().out

    assert main(["verify", "lenet5", "--weights", str(wfile)]) == 1
    assert "weights do not fit the module" in capsys.readouterr().err


