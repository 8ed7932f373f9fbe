"""The torch backend on a spec that uses every op (tests/every_op.yaml): shapes, names, outputs per
mode, gradients, initialisation, copying, export."""

from __future__ import annotations

import copy
import math
import pickle
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import archspec  # noqa: E402
from archspec.ops import REGISTRY  # noqa: E402
from archspec.ops.base import state_key  # noqa: E402
from archspec.torch_backend import LoweringError, Network  # noqa: E402
from archspec.torch_backend.build import IR_NODE  # noqa: E402

EVERY_OP = Path(__file__).parent / "every_op.yaml"


@pytest.fixture(scope="module")
def model():
    return archspec.load(EVERY_OP)


@pytest.fixture
def net(model) -> Network:
    return model.to_torch(seed=0)


def x_for(model, batch: int = 3):
    return torch.randn(batch, *model.input_shape, generator=torch.Generator().manual_seed(1))


def test_runtime_shapes_are_the_ir_shapes(model, net):
    """Every fx node's output has its IR node's shape: asymmetric pads, ceil mode, dilation, groups."""
    shapes: dict[str, tuple[int, ...]] = {}

    class Record(torch.fx.Interpreter):
        def run_node(self, n):
            out = super().run_node(n)
            if IR_NODE in n.meta:
                shapes[n.meta[IR_NODE]] = tuple(out.shape)
            return out

    net.train()
    Record(net).run(x_for(model, 2))
    assert shapes == {n.name: (2, *n.shape) for n in model.graph.nodes.values()}


def test_state_dict_keys_are_ir_paths(model, net):
    want = {state_key(n.name, k): s for n in model.graph.nodes.values() for k, s in (n.weights | n.buffers).items()}
    got = {k: tuple(v.shape) for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert got == want
    assert {k for k, _ in net.named_parameters()} == {state_key(n.name, k) for n in model.graph.nodes.values()
                                                      for k in n.weights}
    from_weights = sum(math.prod(s) for n in model.graph.nodes.values() for s in n.weights.values())
    assert sum(p.numel() for p in net.parameters()) == model.train_params == from_weights


def test_outputs_by_mode(model, net):
    x = x_for(model)
    train = net.train()(x)
    assert list(train) == ["logits", "probs", "aux"] and net.train_only_outputs == ["aux"]
    ev = net.eval()(x)
    assert list(ev) == ["logits", "probs"]
    assert "aux" in net.code and "aux" not in net.eval_code
    assert torch.allclose(ev["probs"], torch.softmax(ev["logits"], 1))
    assert torch.allclose(net.all_outputs(x)["logits"], ev["logits"])


def test_single_output_is_a_tensor_in_both_modes():
    net = archspec.load("lenet5").to_torch(seed=0)
    x = torch.randn(2, 1, 32, 32)
    assert net.train()(x).shape == net.eval()(x).shape == (2, 10)
    assert net.eval_code is None


def test_gradient_step_reaches_every_parameter(model, net):
    net.train()
    out = net(x_for(model))
    loss = sum(v.square().mean() for v in out.values())
    loss.backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    assert net.get_parameter("act.a").grad.shape == (1,)
    before = {k: v.detach().clone() for k, v in net.named_parameters()}
    torch.optim.SGD(net.parameters(), lr=0.1).step()
    assert all(not torch.equal(before[k], v) for k, v in net.named_parameters())


def test_elu_a_is_trainable_and_exact(net):
    elu = net.get_submodule("act")
    x = torch.linspace(-30, 30, 601)
    assert torch.allclose(elu(x), torch.nn.functional.elu(x, alpha=0.8), atol=1e-6)
    x = torch.tensor([-2.0, 50.0, 100.0], requires_grad=True)  # no inf * 0 in the unused branch
    elu(x).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_default_init_is_pytorchs_from_the_seed():
    """lenet5 under seed 3 equals the same torch.nn layers made in order under manual_seed(3);
    the caller's random state is left alone; seed=None draws from the global generator."""
    nn = torch.nn
    torch.manual_seed(3)
    layers = [nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5), nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)]
    hand = [t for m in layers for t in (m.weight, m.bias)]
    torch.manual_seed(99)
    state = torch.random.get_rng_state()
    model = archspec.load("lenet5")
    ours = list(model.to_torch(seed=3).parameters())
    assert torch.equal(torch.random.get_rng_state(), state)
    assert len(ours) == len(hand) and all(torch.equal(a, b) for a, b in zip(ours, hand))
    torch.manual_seed(3)
    assert all(torch.equal(a, b) for a, b in zip(model.to_torch().parameters(), hand))
    assert not torch.equal(next(model.to_torch(seed=4).parameters()), hand[0])


def test_deepcopy_and_pickle_keep_modes_and_weights(model, net):
    x = x_for(model)
    want = net.eval()(x)["logits"]
    for other in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert isinstance(other, Network) and other.train_only_outputs == ["aux"]
        assert torch.equal(other.eval()(x)["logits"], want)
        assert list(other.train()(x)) == ["logits", "probs", "aux"]
        other.get_parameter("stem.weight").data.zero_()  # a copy, not shared
    assert net.get_parameter("stem.weight").abs().sum() > 0


def test_export_channels_last_and_autocast(model, net):
    x = x_for(model)
    want = net.eval()(x)["logits"]
    exported = torch.export.export(net, (x,)).module()
    assert torch.allclose(exported(x)["logits"], want, atol=1e-6)
    cl = copy.deepcopy(net).to(memory_format=torch.channels_last)
    assert torch.allclose(cl(x.to(memory_format=torch.channels_last))["logits"], want, atol=1e-5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = net(x)["logits"]
    assert low.dtype == torch.bfloat16
    assert (low.float() - want).abs().max() <= 0.05 * want.abs().max()


def test_missing_lowering_is_named(model, monkeypatch):
    monkeypatch.delattr(type(REGISTRY["tanh"]), "torch")
    with pytest.raises(LoweringError, match=r"^add3\.b: op 'tanh' has no torch lowering"):
        model.to_torch()


def test_relu_and_residual_add_run_in_place_only_where_safe(monkeypatch):
    """In place where nothing else reads the tensor (torchvision's ReLU(inplace=True) and
    `out += identity`); a tensor with a second reader keeps an out-of-place op; the gradients
    are those of the all-out-of-place module."""
    m = archspec.loads("archspec: 1\nname: t\ninput: {shape: [4, 6, 6]}\nlayers:\n"
                       "  - conv: {out: 4, kernel: 3, pad: 1, name: a}\n  - bn: {name: b}\n  - relu\n"
                       "  - residual:\n      body: [conv: {out: 4, kernel: 3, pad: 1, name: c}, bn: {name: d}]\n"
                       "      after: relu\n"
                       "  - graph:\n    - {name: e, relu: null, from: in}\n    - {name: f, add: {}, from: [in, e]}\n")
    net = m.to_torch(seed=0)
    lines = [line.strip() for line in net.code.splitlines()]
    assert "relu2 = torch.relu_(b);  b = None" in lines  # b has one reader
    # the residual is item 3: its add and `after` relu are 3.2 and 3.3 (nn.Sequential numbering)
    assert "_3_add2 = archspec_ops_merge_add_into(relu2, d);  relu2 = d = None" in lines
    assert "_3_relu3 = torch.relu_(_3_add2);  _3_add2 = None" in lines
    assert "e = torch.nn.functional.relu(_3_relu3)" in lines  # 3.3 is read by f too
    assert "f = _3_relu3 + e;  _3_relu3 = e = None" in lines  # e comes from a relu, not a BN

    monkeypatch.setattr(sys.modules["archspec.torch_backend.build"], "_in_place", lambda graph, lowered: None)
    ref = m.to_torch(seed=0)
    assert "relu_" not in ref.code
    grads = []
    for module in (net, ref):
        x = torch.randn(2, 4, 6, 6, generator=torch.Generator().manual_seed(1), requires_grad=True)
        module.train()
        module(x).sum().backward()
        grads.append([x.grad, *(p.grad for p in module.parameters())])
    for g, h in zip(*grads):
        torch.testing.assert_close(g, h)
