"""The shipped `squeeze_excite` block (specs/lib/squeeze_excite.yaml) is torchvision's
SqueezeExcitation: same state_dict keys and shapes (loaded strictly), same output, on torch and on
onnxruntime, for each activation and gate choice."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_cases import run, scale_diff

import archspec
from archspec.errors import SpecError

torch = pytest.importorskip("torch")
tv_ops = pytest.importorskip("torchvision.ops")

TOL = 1e-5
ACTS = {"relu": torch.nn.ReLU, "silu": torch.nn.SiLU}
GATES = {"sigmoid": torch.nn.Sigmoid, "hardsigmoid": torch.nn.Hardsigmoid}


def se_spec(activation: str, gate: str, channels: int = 24, squeeze: int = 6) -> str:
    return f"""archspec: 1
name: se
include: [builtin:lib/squeeze_excite.yaml]
input: {{shape: [{channels}, 5, 7]}}
layers:
  - squeeze_excite: {{channels: "${{in_channels}}", squeeze: {squeeze}, activation: {activation}, gate: {gate}}}
"""


@pytest.mark.parametrize("activation", sorted(ACTS))
@pytest.mark.parametrize("gate", sorted(GATES))
def test_equals_torchvision(activation: str, gate: str):
    model = archspec.loads(se_spec(activation, gate))
    assert model.params == 2 * 24 * 6 + 6 + 24  # fc1 and fc2 with biases
    torch.manual_seed(0)
    ref = torch.nn.Sequential(tv_ops.SqueezeExcitation(24, 6, ACTS[activation], GATES[gate])).eval()
    with torch.no_grad():
        for p in ref.parameters():  # a gate far from 0.5 everywhere, so a wrong one shows
            p.copy_(torch.randn_like(p))
    net = model.to_torch(seed=0).eval()
    assert {k: v.shape for k, v in net.state_dict().items()} == {k: v.shape for k, v in ref.state_dict().items()}
    net.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(3, 24, 5, 7, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want, got = ref(x).numpy(), net(x).numpy()
    assert scale_diff(got, want) < TOL
    weights = {k: v.numpy() for k, v in ref.state_dict().items()}
    got_ort = next(iter(run(model.to_onnx(weights=weights), x.numpy()).values()))
    assert scale_diff(got_ort, want) < TOL


def test_names_follow_torchvision():
    model = archspec.loads(se_spec("silu", "hardsigmoid"))
    assert [(n.name, n.op) for n in model.graph.nodes.values()][1:] == [
        ("0.avgpool", "adaptive_avgpool"), ("0.fc1", "conv"), ("0.activation", "silu"), ("0.fc2", "conv"),
        ("0.scale_activation", "hardsigmoid"), ("0.scale", "mul")]


def test_unknown_choice_is_an_error_at_its_line():
    with pytest.raises(SpecError, match="unknown_activation"):
        archspec.loads(se_spec("gelu", "sigmoid"))
    with pytest.raises(SpecError, match="unknown_gate"):
        archspec.loads(se_spec("relu", "tanh"))


def test_gate_broadcasts_over_space():
    """The [N,C,1,1] gate multiplies every position: output = x * gate, checked in numpy."""
    model = archspec.loads(se_spec("relu", "sigmoid", channels=8, squeeze=2))
    net = model.to_torch(seed=3).eval()
    x = torch.randn(2, 8, 5, 7, generator=torch.Generator().manual_seed(4))
    sd = {k: v.double().numpy() for k, v in net.state_dict().items()}
    xd = x.double().numpy()
    s = xd.mean(axis=(2, 3))
    h = np.maximum(s @ sd["0.fc1.weight"][:, :, 0, 0].T + sd["0.fc1.bias"], 0)
    g = 1 / (1 + np.exp(-(h @ sd["0.fc2.weight"][:, :, 0, 0].T + sd["0.fc2.bias"])))
    with torch.no_grad():
        assert scale_diff(net(x).numpy(), xd * g[:, :, None, None]) < TOL
