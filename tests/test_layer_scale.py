"""layer_scale's parameter is keyed by the node's path itself: a bare parameter of the enclosing
block's module (torchvision's CNBlock `features.1.0.layer_scale`), in the IR, the torch module's
state_dict and parameters, and the ONNX initializers."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_cases import run, scale_diff

import archspec

torch = pytest.importorskip("torch")

SPEC = """
archspec: 1
name: ls
input: {shape: [4, 3, 3]}
blocks:
  cnblock:
    residual:
      body:
        - seq: [conv: {out: 4, kernel: 3, pad: 1, groups: 4}]
          name: block
        - layer_scale: {init: 0.25, name: layer_scale}
layers:
  - seq: [cnblock, cnblock]
    name: features
"""


def test_the_key_is_the_node_path():
    model = archspec.loads(SPEC)
    node = model.graph.nodes["features.1.layer_scale"]
    assert node.weights == {"": (4, 1, 1)} and model.params == 2 * (4 * 9 + 4 + 4)
    net = model.to_torch(seed=0)
    assert list(net.state_dict()) == ["features.0.layer_scale", "features.0.block.0.weight", "features.0.block.0.bias",
                                      "features.1.layer_scale", "features.1.block.0.weight", "features.1.block.0.bias"]
    assert torch.equal(net.get_parameter("features.1.layer_scale"), torch.full((4, 1, 1), 0.25))
    proto = model.to_onnx(weights={k: v.numpy() for k, v in net.state_dict().items()})
    assert {i.name for i in proto.graph.initializer} >= {"features.0.layer_scale", "features.1.layer_scale"}


def test_it_trains_and_matches_onnx():
    model = archspec.loads(SPEC)
    net = model.to_torch(seed=0)
    x = torch.randn(2, 4, 3, 3, generator=torch.Generator().manual_seed(0))
    net(x).square().sum().backward()
    g = net.get_parameter("features.0.layer_scale").grad
    assert g is not None and g.shape == (4, 1, 1) and bool(g.abs().sum() > 0)
    with torch.no_grad():
        net.get_parameter("features.0.layer_scale").copy_(torch.randn(4, 1, 1))
        want = net(x).numpy()
    got = next(iter(run(model.to_onnx(weights={k: v.numpy() for k, v in net.state_dict().items()}),
                        x.numpy()).values()))
    assert scale_diff(got, want) < 1e-5 and np.isfinite(got).all()
