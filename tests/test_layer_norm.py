"""layer_norm against torch: nn.LayerNorm on the last axis, torchvision's LayerNorm2d on channels,
on torch and on onnxruntime at the default opset (LayerNormalization) and at opset 13 (its formula)."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_cases import run, scale_diff

import archspec
from archspec.errors import SpecError

torch = pytest.importorskip("torch")
convnext = pytest.importorskip("torchvision.models.convnext")

SPEC = """
archspec: 1
name: ln
input: {{shape: [8, 5, 6]}}
layers: [layer_norm: {{axis: {axis}, eps: {eps}, affine: {affine}}}]
"""


@pytest.mark.parametrize("axis", ["last", "channels"])
@pytest.mark.parametrize("affine", [True, False])
def test_equals_torch_and_onnxruntime(axis: str, affine: bool):
    model = archspec.loads(SPEC.format(axis=axis, eps=1e-6, affine=str(affine).lower()))
    c = 8 if axis == "channels" else 6
    assert model.params == (2 * c if affine else 0)
    ref = (convnext.LayerNorm2d(c, eps=1e-6, elementwise_affine=affine) if axis == "channels"
           else torch.nn.LayerNorm(c, eps=1e-6, elementwise_affine=affine))
    with torch.no_grad():
        for q in ref.parameters():
            q.copy_(torch.randn_like(q))
    net = model.to_torch(seed=0).eval()
    net.load_state_dict({f"0.{k}": v for k, v in ref.state_dict().items()}, strict=True)
    x = torch.randn(2, 8, 5, 6, generator=torch.Generator().manual_seed(1)) * 3 + 1
    with torch.no_grad():
        want = ref(x).numpy()
        assert scale_diff(net(x).numpy(), want) < 1e-5
    w = {k: v.numpy() for k, v in net.state_dict().items()}
    for opset in (13, 17):
        proto = model.to_onnx(weights=w, opset=opset)
        ops = {n.op_type for n in proto.graph.node}
        assert ("LayerNormalization" in ops) == (opset >= 17)
        assert scale_diff(next(iter(run(proto, x.numpy()).values())), want) < 1e-5, opset


def test_default_eps_is_torchs():
    spec = SPEC.format(axis="last", eps=1e-5, affine="true").replace(", eps: 1e-05", "")
    node = archspec.loads(spec).graph.nodes["0"]
    assert node.params.eps == 1e-5 and node.weights == {"weight": (6,), "bias": (6,)}


def test_channels_needs_an_image():
    bad = "archspec: 1\nname: ln\ninput: {shape: [8]}\nlayers: [layer_norm: {axis: channels}]\n"
    with pytest.raises(SpecError, match=r"needs a \[N,C,H,W\] input, got \[N,8\]"):
        archspec.loads(bad)
    assert np.isfinite(archspec.loads(bad.replace("channels", "last")).params)
