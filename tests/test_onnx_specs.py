"""Every built-in spec, in both modes: the ONNX checker, ONNX shape inference against archspec's
shapes, onnxruntime at batch 1 and 3, and deploy == train (BN folding and dropout removal exact)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx_cases import inferred_shapes, realistic, session, specs, zoo_input

import archspec
from archspec.passes import deploy
from archspec.passes.rewire import uses

pytestmark = pytest.mark.slow  # every built-in through the checker and shape inference

MODES = ("deploy", "train")


@pytest.fixture(scope="module", params=specs())
def compiled(request):
    """The spec, its realistic weights, both modes' models, and their outputs at batch 1 and 3."""
    model = archspec.load(request.param, input_shape=zoo_input(request.param))
    w = realistic(model)
    x = np.random.default_rng(0).standard_normal((3, *model.input_shape)).astype(np.float32)
    protos, outs = {}, {}
    for mode in MODES:
        protos[mode] = model.to_onnx(mode=mode, weights=w)
        s = session(protos[mode])
        names = [o.name for o in s.get_outputs()]
        outs[mode] = {b: dict(zip(names, s.run(None, {s.get_inputs()[0].name: x[:b]}))) for b in (1, 3)}
    return model, w, protos, outs


@pytest.mark.parametrize("mode", MODES)
def test_checker_and_shape_inference(compiled, mode):
    model, w, protos, _ = compiled
    onnx.checker.check_model(protos[mode], full_check=True)
    graph = model.graph if mode == "train" else deploy().run(model.graph, w).graph
    want = {n.name: ("N", *n.shape) for n in graph.nodes.values() if n.op != "input"}
    got = {k: v for k, v in inferred_shapes(protos[mode]).items() if k in model.graph.nodes}
    assert got == want  # every IR node of the mode's graph, by name, has exactly archspec's shape


@pytest.mark.parametrize("mode", MODES)
def test_runs_at_batch_1_and_3(compiled, mode):
    model, _, _, outs = compiled
    outputs = [o for o in model.graph.outputs if mode == "train" or not o.train_only]
    for batch in (1, 3):
        got = outs[mode][batch]
        assert {k: v.shape for k, v in got.items()} == {
            o.name: (batch, *model.graph.nodes[o.node].shape) for o in outputs}
        assert all(np.isfinite(v).all() for v in got.values())
    main = model.graph.outputs[0].name
    assert np.allclose(outs[mode][1][main], outs[mode][3][main][:1], rtol=1e-4, atol=1e-5)


def test_deploy_equals_train(compiled):
    """The same weights with non-trivial BN statistics: deploy (BN folded, dropout gone) gives the
    train-mode graph's inference output."""
    model, _, protos, outs = compiled
    main = model.graph.outputs[0].name
    deploy, train = outs["deploy"][3][main], outs["train"][3][main]
    assert np.abs(deploy - train).max() <= 1e-4 * np.abs(train).max()
    readers = uses(model.graph)
    kept = sum(n.op == "bn" and not n.train_only and not (
        model.graph.nodes[n.inputs[0]].op == "conv" and readers[n.inputs[0]] == 1) for n in model.graph.nodes.values())
    deploy_ops = [n.op_type for n in protos["deploy"].graph.node]
    assert deploy_ops.count("BatchNormalization") == kept
    assert "Dropout" not in deploy_ops
