"""The every-op spec (tests/every_op.yaml) as one integration test: each node's ONNX value equals the
ops' numpy references (`Op.reference`, itself checked against torch on the nodes with tricky
edges), and every opset from 13 to the newest onnxruntime runs. Each op on its own, case by case,
is tests/test_ops.py."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx_cases import evaluate, every_op, node_values, ort_max_opset, realistic, run, scale_diff

import archspec
from archspec.loader import builtin_names

OPSETS = range(13, ort_max_opset() + 1)


@pytest.fixture(scope="module")
def case():
    model = every_op()
    w = realistic(model)
    x = np.random.default_rng(0).standard_normal((2, *model.input_shape)).astype(np.float32) * 2
    return model, w, x, evaluate(model.graph, w, x)


def test_every_op_spec_names_its_layers():
    """Nodes named by position (`13`) are only those the combinators make (res's scale, add, concat).
    (Each registered op is tested on its own from the registry, tests/test_ops.py: a new op need
    not join this spec.)"""
    nodes = every_op().graph.nodes.values()
    assert {n.name for n in nodes if n.name.rsplit(".", 1)[-1].isdigit()} == {"res.mix.3", "res.4", "res.5"}


def test_each_node_matches_the_numpy_reference(case):
    """Train mode keeps every node (BN, Dropout); each IR node's value from onnxruntime."""
    model, w, x, ref = case
    got = node_values(model.to_onnx(mode="train", weights=w), list(model.graph.nodes), x)
    assert set(got) == set(model.graph.nodes) - {model.graph.input}
    assert all(got[k].shape == ref[k].shape for k in got)
    bad = {k: scale_diff(v, ref[k]) for k, v in got.items() if v.shape != ref[k].shape or scale_diff(v, ref[k]) > 1e-5}
    assert not bad


@pytest.mark.parametrize("fold", [True, False])
def test_deploy_output_matches_the_reference(case, fold):
    model, w, x, ref = case
    out = run(model.to_onnx(weights=w, fold_bn=fold), x)
    assert list(out) == ["logits", "probs"]  # the train-only head is gone
    for o in model.graph.outputs[:2]:
        assert scale_diff(out[o.name], ref[o.node]) < 1e-5


def test_numpy_reference_agrees_with_torch(case):
    """Pools in ceil mode (one with an asymmetric pad), adaptive pools, odd and even LRN, softplus
    with and without beta/threshold, ELU with a trainable and a fixed a, channel pads, convs with
    groups, an asymmetric kernel and dilation."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    model, w, _, ref = case
    t = lambda name: torch.from_numpy(ref[model.graph.nodes[name].inputs[0]])  # noqa: E731
    param = lambda key: torch.from_numpy(w[key].astype(np.float64))  # noqa: E731
    checks = {
        "pool1": F.max_pool2d(F.pad(t("pool1"), (1, 0, 1, 0), value=-np.inf), 3, 2, ceil_mode=True),
        "pool3": F.avg_pool2d(t("pool3"), 3, 2, 1, ceil_mode=True),
        "aux.grid43": F.adaptive_avg_pool2d(t("aux.grid43"), (4, 3)),
        "aux.grid22": F.adaptive_avg_pool2d(t("aux.grid22"), (2, 2)),
        "lrn": F.local_response_norm(t("lrn"), 3, 0.001, 0.75, 2.0),
        "lrn_even": F.local_response_norm(t("lrn_even"), 4, 0.01, 0.75, 1.0),
        "res.mix.1.act": F.softplus(t("res.mix.1.act"), 2.0, 5.0),
        "add3.c": F.softplus(t("add3.c")),
        "act": F.elu(t("act"), float(w["act.a"][0])),
        "head_act": F.elu(t("head_act"), 1.5),
        "res.shortcut.pad": F.pad(t("res.shortcut.pad")[:, :, ::2, ::2], (0, 0, 0, 0, 14, 14)),
        "res.mix.2.pad": F.pad(t("res.mix.2.pad"), (0, 0, 0, 0, 2, 2)),
        "add3.a": F.conv2d(t("add3.a"), param("add3.a.weight")),
        "res.mix.1.conv": F.conv2d(t("res.mix.1.conv"), param("res.mix.1.conv.weight"), param("res.mix.1.conv.bias"),
                                padding=(0, 1), groups=2),
        "head": F.conv2d(t("head"), param("head.weight"), param("head.bias"), padding=2, dilation=2),
    }
    assert model.graph.nodes["pool1"].params.ceil_mode and model.graph.nodes["lrn_even"].params.size == 4
    for name, want in checks.items():
        assert np.allclose(ref[name], want.numpy(), rtol=1e-9, atol=1e-12), name


@pytest.mark.slow
@pytest.mark.parametrize("opset", OPSETS)
def test_every_opset_compiles_checks_and_runs(opset):
    """The all-ops spec in both modes, and ResNet / GoogLeNet where built in, at each opset."""
    cases = [(every_op(), "deploy"), (every_op(), "train")]
    cases += [(archspec.load(n), "deploy") for n in ("resnet18", "googlenet") if n in builtin_names()]
    for model, mode in cases:
        proto = model.to_onnx(opset=opset, mode=mode)
        assert proto.opset_import[0].version == opset
        onnx.checker.check_model(proto, full_check=True)
        x = np.random.default_rng(1).standard_normal((2, *model.input_shape)).astype(np.float32)
        got = run(proto, x)
        want = run(model.to_onnx(mode=mode), x)
        assert all(scale_diff(got[k], want[k]) < 1e-5 for k in want), (model.name, mode)
