"""Each op on its own, from the registry, in the manner of tinygrad's helper_test_op: for every op and
every case of its table (`Op.cases`), a spec of that one node (`test_op[elu-fixed_a]`) is checked
shapes first, then forward (the torch lowering and onnxruntime against the op's float64 numpy
reference, within 1e-5 of the output's scale), then backward (torch.autograd.gradcheck in float64,
fast mode, through the torch lowering, inputs and parameters). A new op file is picked up with no
other edit."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx_cases import evaluate, inferred_shapes, realistic, run, scale_diff

import archspec
from archspec.ops import REGISTRY
from archspec.ops.base import Case, NoParams, Op, missing_hooks

torch = pytest.importorskip("torch")

TOL = 1e-5  # max |got - reference| / max |reference|: float32 against float64
CASES = [pytest.param(name, case, id=f"{name}-{case.id}")
         for name, op in sorted(REGISTRY.items()) for case in type(op).cases]


def one_node_spec(name: str, case: Case) -> str:
    """The op as node `op` of a graph-form spec. Input 0 is the spec's input; each further input is
    made from it by a 1x1 conv (a linear when flat) after an adaptive pool where its size differs, so
    the op's inputs are distinct tensors of the case's shapes."""
    if REGISTRY[name].graph_input:
        return f"archspec: 1\nname: t\ninput: {{name: op, shape: {list(case.params['shape'])}}}\nlayers: []\n"
    first, *rest = case.inputs
    entries, ins = [], ["in"]
    for k, shape in enumerate(rest, 1):
        src = "in"
        if len(shape) == 3 and shape[1:] != first[1:]:
            entries.append(f"  - {{name: pool{k}, adaptive_avgpool: {list(shape[1:])}, from: in}}")
            src = f"pool{k}"
        layer = f"conv: {{out: {shape[0]}, kernel: 1}}" if len(shape) == 3 else f"linear: {{out: {shape[0]}}}"
        entries.append(f"  - {{name: in{k}, {layer}, from: {src}}}")
        ins.append(f"in{k}")
    entries.append(f"  - {{name: op, {name}: {json.dumps(case.params)}, from: [{', '.join(ins)}]}}")
    return f"archspec: 1\nname: t\ninput: {{name: x, shape: {list(first)}}}\ngraph:\n" + "\n".join(entries) + "\n"


def test_every_op_has_every_hook():
    """shape, onnx, torch, reference and a non-empty cases table, for every registered op."""
    assert {name: missing_hooks(op) for name, op in REGISTRY.items() if missing_hooks(op)} == {}
    assert len(CASES) >= 2 * len(REGISTRY) - 5  # a few cases each, not one


def test_an_op_without_its_hooks_is_found():
    class Bare(Op[NoParams]):
        name = "bare"
        Params = NoParams

    assert missing_hooks(Bare()) == ["torch", "reference", "onnx", "cases"]


@pytest.mark.parametrize(("name", "case"), CASES)
def test_op(name: str, case: Case):
    model = archspec.loads(one_node_spec(name, case))
    node, g = model.graph.nodes["op"], model.graph
    assert node.op == name and [g.nodes[i].shape for i in node.inputs] == list(case.inputs)
    w = realistic(model)
    x = np.random.default_rng(0).standard_normal((2, *model.input_shape)).astype(np.float32) * 2
    ref = evaluate(g, w, x)[g.outputs[0].node]
    want = (2, *node.shape)

    from archspec.torch_backend import load_state

    net = load_state(model.to_torch(seed=0), w).eval()
    with torch.no_grad():
        got_torch = net(torch.from_numpy(x)).numpy()
    proto = model.to_onnx(mode="train", weights=w)  # every node kept, BN in inference form
    onnx.checker.check_model(proto, full_check=True)
    got_ort = next(iter(run(proto, x).values()))
    # shapes first: the IR's, the reference's, torch's, onnxruntime's and ONNX shape inference's
    assert ref.shape == got_torch.shape == got_ort.shape == want
    assert inferred_shapes(proto)[proto.graph.node[-1].name] == ("N", *node.shape)
    assert scale_diff(got_torch, ref) < TOL
    assert scale_diff(got_ort, ref) < TOL

    net = net.double()
    names, params = zip(*net.named_parameters()) if list(net.parameters()) else ((), ())
    xd = torch.from_numpy(x[:1].astype(np.float64)).requires_grad_()

    def f(xi: torch.Tensor, *ps: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(net, dict(zip(names, ps)), (xi,))

    leaves = [p.detach().clone().requires_grad_() for p in params]
    assert torch.autograd.gradcheck(f, (xd, *leaves), eps=1e-6, atol=1e-6, rtol=1e-4, fast_mode=True)
