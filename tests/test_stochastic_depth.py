"""stochastic_depth is torchvision.ops.StochasticDepth: the same draws in training (modes row and
batch), the identity in eval, removed by the deploy compile, kept (as an Identity) in train mode."""

from __future__ import annotations

import pytest

import archspec

torch = pytest.importorskip("torch")
tv_ops = pytest.importorskip("torchvision.ops")

SPEC = """
archspec: 1
name: drop_path
input: {{shape: [4, 3, 3]}}
layers:
  - residual:
      body:
        - conv: {{out: 4, kernel: 3, pad: 1, name: conv}}
        - stochastic_depth: {{p: {p}, mode: {mode}, name: sd}}
"""


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_train_mode_draws_as_torchvision(mode: str):
    net = archspec.loads(SPEC.format(p=0.4, mode=mode)).to_torch(seed=0).train()
    ref = tv_ops.StochasticDepth(0.4, mode).train()
    x = torch.randn(64, 4, 3, 3, generator=torch.Generator().manual_seed(1))
    body = net.conv(x).detach()
    torch.manual_seed(7)
    want = ref(body) + x
    torch.manual_seed(7)
    got = net(x).detach()
    assert torch.equal(got, want)
    kept = (got - x).flatten(1).abs().sum(1) > 0
    assert 0 < int(kept.sum()) < 64 if mode == "row" else int(kept.sum()) in (0, 64)
    net.eval()
    assert torch.equal(net(x).detach(), body + x)  # the identity in eval


def test_deploy_removes_it_train_keeps_it():
    model = archspec.loads(SPEC.format(p=0.1, mode="row"))
    deploy = model.to_onnx()
    train = model.to_onnx(mode="train")
    assert [n.op_type for n in deploy.graph.node] == ["Conv", "Add"]
    assert [(n.name, n.op_type) for n in train.graph.node][:2] == [("conv", "Conv"), ("sd", "Identity")]
    assert train.graph.node[2].op_type == "Add"


@pytest.mark.slow
def test_convnext_tiny_train_mode_equals_torchvision():
    """Every block's drop path draws in torchvision's order, at its p (0.1 * k / 17): the train-mode
    outputs are equal under one seed (at 64x64, to stay fast)."""
    from torchvision.models import convnext_tiny

    from archspec.torch_backend import import_reference

    model = archspec.load("convnext_tiny")
    net = model.to_torch(seed=0).train()
    ref = convnext_tiny().train()
    import_reference(net, model.reference, ref)
    ps = [m.p for m in net.modules() if type(m).__name__ == "StochasticDepth"]
    assert ps == [m.stochastic_depth.p for m in ref.modules() if type(m).__name__ == "CNBlock"]
    x = torch.randn(4, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(5)
    want = ref(x)
    torch.manual_seed(5)
    assert torch.equal(net(x), want)
