"""The mobile CNN built-ins (MobileNetV2/V3, MNASNet, EfficientNet): what the generic zoo tests do not
see. Their params, MACs, state_dict layouts and outputs against torchvision are checked with every
built-in (tests/test_torch_builtins.py, tests/test_onnx_specs.py, tests/test_zoo.py)."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_cases import run, scale_diff

import archspec

HARDSWISH = """
archspec: 1
name: hs
input: {shape: [4, 5, 6]}
layers: [conv: {out: 4, kernel: 1}, hardswish]
"""


@pytest.mark.parametrize(("opset", "ops"), [(13, ["Conv", "HardSigmoid", "Mul"]), (14, ["Conv", "HardSwish"]),
                                            (17, ["Conv", "HardSwish"])])
def test_hardswish_is_one_onnx_node_where_the_opset_has_it(opset: int, ops: list[str]):
    """ONNX HardSwish (opset 14) is one node, as torch's exporters emit it; opset 13 spells it out.
    Both equal torch's nn.Hardswish."""
    torch = pytest.importorskip("torch")
    model = archspec.loads(HARDSWISH)
    net = model.to_torch(seed=0).eval()
    proto = model.to_onnx(opset=opset, weights={k: v.numpy() for k, v in net.state_dict().items()})
    assert [n.op_type for n in proto.graph.node] == ops
    x = np.random.default_rng(0).uniform(-5, 5, (2, 4, 5, 6)).astype(np.float32)  # every piece of it
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    [got] = run(proto, x).values()
    assert scale_diff(got, want) < 1e-6


# nodes of torch.onnx.export(dynamo=True) of torchvision's model at batch 1 (tools/bench_mobile.py)
DYNAMO_NODES = {"efficientnet_b0": 239, "mobilenet_v3_large": 140}


@pytest.mark.parametrize("name", sorted(DYNAMO_NODES))
def test_onnx_has_no_more_nodes_than_dynamo(name: str):
    proto = archspec.load(name).to_onnx(batch=1)
    assert len(proto.graph.node) <= DYNAMO_NODES[name]


@pytest.mark.parametrize("name", ["efficientnet_b0", "efficientnet_v2_s"])
def test_stochastic_depth_rates_are_torchvisions(name: str):
    """Each residual block's drop rate is torchvision's (sd * block index / blocks, over the whole
    net), in its place; the deploy graph has none of them."""
    tv = pytest.importorskip("torchvision.models")
    ref = getattr(tv, name)()
    want = {f"{k}.stochastic_depth": m.stochastic_depth.p for k, m in ref.named_modules()
            if hasattr(m, "stochastic_depth") and m.use_res_connect}
    graph = archspec.load(name).graph
    got = {n.name: n.params.p for n in graph.nodes.values() if n.op == "stochastic_depth"}
    assert got == pytest.approx(want, abs=1e-12) and len(got) == (9 if name == "efficientnet_b0" else 35)
    from archspec.passes import deploy

    assert not any(n.op == "stochastic_depth" for n in deploy(fold=False).run(graph, {}).graph.nodes.values())


def test_efficientnet_train_mode_equals_torchvision():
    """Train mode: stochastic depth, dropout and batch statistics on in both; the same seed gives the
    same drop draws because the blocks run in torchvision's order (and another seed, other draws)."""
    torch = pytest.importorskip("torch")
    tv = pytest.importorskip("torchvision.models")
    model = archspec.load("efficientnet_b0", input_shape=(3, 64, 64))  # global pooling: any size
    torch.manual_seed(0)
    ref = tv.efficientnet_b0().train()
    net = model.to_torch(seed=0).train()
    net.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(4, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    outs = []
    for seed, m in ((4, net), (4, ref), (5, net)):
        torch.manual_seed(seed)
        outs.append(m(x).detach())
    scale = outs[1].abs().max().item()
    assert scale > 1e-3 and (outs[0] - outs[1]).abs().max().item() <= 1e-5 * scale
    assert (outs[2] - outs[0]).abs().max().item() > 1e-2 * scale
