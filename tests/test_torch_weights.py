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
    assert str(e.value).splitlines()[1:] == ["  'stem.weight' has shape [8, 3, 3, 2], expected [8, 3, 3, 3]",
                                             "  missing 'fc1.bias' [10]",  # shape mismatches first
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




RESNET18 = "archspec: 1\nextends: builtin:resnet18.yaml\nname: my_resnet18\n"
NO_LAST_RELU = RESNET18 + """blocks:
  basic:  # torchvision's BasicBlock without its last ReLU: the same weights, another function
    args: {width: int, stride: {type: int, default: 1}, project: {type: bool, default: false}}
    residual:
      body:
        - conv: {out: $width, kernel: 3, stride: $stride, pad: 1, bias: false, name: conv1}
        - bn: {name: bn1}
        - relu
        - conv: {out: $width, kernel: 3, pad: 1, bias: false, name: conv2}
        - bn: {name: bn2}
      shortcut:
        if: $project
        name: downsample
        then: [conv: {out: $width, kernel: 1, stride: $stride, bias: false}, bn]
"""
SMALL = ["--input", "3x32x32", "--batch", "1"]


def _verify_reference(tmp_path: Path, text: str, *extra: str) -> int:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return main(["verify", str(path), "--reference", *SMALL, *extra])


def test_verify_reference_equal(tmp_path, capsys):
    assert _verify_reference(tmp_path, RESNET18) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("my_resnet18: torch module vs torchvision.resnet18 (eval, BN statistics and affines "
                      "randomised), tolerance 1e-05 of the output's scale")
    assert out[1].split()[:3] == ["reference", "logits", "[1,"] and out[1].endswith("ok")
    assert out[2] == "ok: my_resnet18 computes what torchvision.resnet18 computes, on its weights"


def test_verify_reference_mismatch(tmp_path, capsys):
    """The same state_dict computing another function fails (exit 4), as does a state_dict that is
    not the reference's."""
    assert _verify_reference(tmp_path, NO_LAST_RELU) == 4
    out = capsys.readouterr().out.splitlines()
    assert out[1].endswith("FAIL") and out[2].startswith("FAILED: the spec's output differs from torchvision.resnet18")
    assert _verify_reference(tmp_path, RESNET18 + "reference: torchvision.resnet34\n") == 4
    out = capsys.readouterr().out
    assert "FAILED: torchvision.resnet34's weights do not load into my_resnet18 strictly" in out
    assert "unexpected 'layer1.2.conv1.weight'" in out


def test_verify_reference_norms_are_randomised():
    """BN statistics and affines drawn afresh, so a BN that is the identity at its init is not one."""
    tv = pytest.importorskip("torchvision")
    from archspec.torch_backend import randomise_norms

    net = tv.models.resnet18()
    randomise_norms(net, seed=0)
    bn = net.bn1
    for t, init in ((bn.running_mean, 0.0), (bn.running_var, 1.0), (bn.weight, 1.0), (bn.bias, 0.0)):
        assert (t - init).abs().min() > 0 and t.std() > 0.02
    ln = torch.nn.LayerNorm(8)
    randomise_norms(ln, seed=0)
    assert (ln.weight - 1).abs().max() > 0.1 and ln.bias.abs().max() > 0.01
    block = tv.models.convnext.CNBlock(8, layer_scale=1e-6, stochastic_depth_prob=0.0)
    randomise_norms(block, seed=0)  # a ConvNeXt block scaled by 1e-6 would vanish from a comparison
    assert block.layer_scale.min() >= 0.5 and block.layer_scale.std() > 0.05


@pytest.mark.parametrize(("text", "message"), [
    ("", "my_resnet18 declares no reference model: add e.g. `reference: torchvision.resnet50`"),
    ("reference: torchvision.resnet\n", "torchvision.models has no classification model 'resnet'"),
    ("reference: torchvision.get_weight\n", "torchvision.models has no classification model 'get_weight'"),
    ("reference: timm.no_such_net\n", "timm has no model 'no_such_net'"),
    ("reference: {model: torchvision.resnet18, kwargs: {nope: 1}}\n",
     "torchvision.resnet18(nope=1) failed: TypeError:"),
])
def test_verify_reference_errors(tmp_path, capsys, text: str, message: str):
    base = "archspec: 1\nname: my_resnet18\ninput: {shape: [3, 8, 8]}\nlayers: [relu]\n" if not text else RESNET18
    assert _verify_reference(tmp_path, base + text) == 1
    assert message in capsys.readouterr().err


def test_verify_reference_without_its_library(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "timm", None)  # `import timm` raises ImportError
    assert _verify_reference(tmp_path, RESNET18 + "reference: timm.resnet18\n") == 1
    assert "archspec: error: timm.resnet18: timm is not installed" in capsys.readouterr().err


def test_verify_reference_usage(capsys):
    assert main(["verify", "resnet18", "--reference", "--weights", "w.npz"]) == 2
    assert "takes neither --weights nor --mode" in capsys.readouterr().err
