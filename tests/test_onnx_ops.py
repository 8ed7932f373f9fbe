"""Every op of the registry lowers to ONNX and computes what PyTorch defines, checked node by node
against a numpy reference (itself checked against torch for the ops with tricky edges); every
opset from 13 to the newest onnxruntime runs."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from numpy_ref import OPS, evaluate
from onnx_cases import all_ops, node_values, ort_max_opset, realistic, run, scale_diff

import archspec
from archspec.loader import builtin_names
from archspec.ops import REGISTRY, Op

OPSETS = range(13, ort_max_opset() + 1)


@pytest.fixture(scope="module")
def case():
    model = all_ops()
    w = realistic(model)
    x = np.random.default_rng(0).standard_normal((2, *model.input_shape)).astype(np.float32) * 2
    return model, w, x, evaluate(model.graph, w, x)


def test_every_registry_op_has_a_lowering_and_is_exercised():
    lowered = {name for name, op in REGISTRY.items() if type(op).onnx is not Op.onnx or op.onnx_op}
    assert lowered == set(REGISTRY)
    assert {n.op for n in all_ops().graph.nodes.values()} - {"input"} == set(REGISTRY)
    assert set(OPS) == set(REGISTRY)


def test_each_node_matches_the_numpy_reference(case):
    """Train mode keeps every node (BN, Dropout); each IR node's value from onnxruntime."""
    model, w, x, ref = case
    got = node_values(model.to_onnx(mode="train", weights=w), list(model.graph.nodes), x)
    assert set(got) == set(model.graph.nodes) - {model.graph.input}
    bad = {k: scale_diff(v, ref[k]) for k, v in got.items() if v.shape != ref[k].shape or scale_diff(v, ref[k]) > 1e-5}
    assert not bad


@pytest.mark.parametrize("fold", [True, False])
def test_deploy_output_matches_the_reference(case, fold):
    model, w, x, ref = case
    out = run(model.to_onnx(weights=w, fold_bn=fold), x)
    assert list(out) == ["probs"]  # the train-only head is gone
    assert scale_diff(out["probs"], ref[model.graph.outputs[0].node]) < 1e-5


def test_numpy_reference_agrees_with_torch(case):
    """Pools in ceil mode, odd and even LRN, softplus with beta/threshold, ELU, channel pad."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    model, w, _, ref = case
    t = lambda name: torch.from_numpy(ref[model.graph.nodes[name].inputs[0]])  # noqa: E731
    p = {n: model.graph.nodes[n].params for n in model.graph.nodes if n != "x"}
    checks = {
        "pool1": F.max_pool2d(t("pool1"), 3, 2, 0, ceil_mode=True),
        "pool2": F.avg_pool2d(t("pool2"), 2, ceil_mode=True),
        "aux.0": F.adaptive_avg_pool2d(t("aux.0"), (3, 5)),
        "aux.1": F.adaptive_avg_pool2d(t("aux.1"), (2, 2)),
        "branches.avg.0": F.avg_pool2d(t("branches.avg.0"), 3, 1, 1, count_include_pad=False),
        "4": F.local_response_norm(t("4"), 5, 0.001, 0.75, 2.0),
        "lrn_even": F.local_response_norm(t("lrn_even"), 4, 0.01, 0.75, 1.0),
        "branches.soft.1": F.softplus(t("branches.soft.1"), 2.0, 5.0),
        "branches.avg.1": F.elu(t("branches.avg.1"), 0.5),
        "res1.2": F.elu(t("res1.2"), float(w["res1.2.a"][0])),
        "down.shortcut.0": F.pad(t("down.shortcut.0")[:, :, ::2, ::2], (0, 0, 0, 0, 4, 4)),
        "mix.a": F.conv2d(t("mix.a"), torch.from_numpy(w["mix.a.weight"].astype(np.float64))),
        "res1.0": F.conv2d(t("res1.0"), torch.from_numpy(w["res1.0.weight"].astype(np.float64)), padding=1,
                           groups=4),
    }
    assert p["pool1"].ceil_mode and p["lrn_even"].size == 4
    for name, want in checks.items():
        assert np.allclose(ref[name], want.numpy(), rtol=1e-9, atol=1e-12), name


@pytest.mark.parametrize("opset", OPSETS)
def test_every_opset_compiles_checks_and_runs(opset):
    """The all-ops spec in both modes, and ResNet / GoogLeNet where built in, at each opset."""
    cases = [(all_ops(), "deploy"), (all_ops(), "train")]
    cases += [(archspec.load(n), "deploy") for n in ("resnet18", "googlenet") if n in builtin_names()]
    for model, mode in cases:
        proto = model.to_onnx(opset=opset, mode=mode)
        assert proto.opset_import[0].version == opset
        onnx.checker.check_model(proto, full_check=True)
        x = np.random.default_rng(1).standard_normal((2, *model.input_shape)).astype(np.float32)
        got = run(proto, x)
        want = run(model.to_onnx(mode=mode), x)
        assert all(scale_diff(got[k], want[k]) < 1e-5 for k in want), (model.name, mode)
