"""Every built-in spec as a torch module: equal to its torchvision/timm reference on the reference's
weights, and equal to onnxruntime running the compiled ONNX (deploy and train graphs).

One module-scoped case per spec builds the module once for all its tests. Its BN statistics and
affine params are randomised first (on the reference, before import), so that BN is no identity
and the ONNX deploy graph's BN folding is really exercised. The reference is the spec's own
`reference:` key. Built-ins above zoo_sizes.TEST_MACS run at a reduced input (zoo_sizes.py says
why and how); their figures are checked at the full size in tests/test_zoo.py.
"""

from __future__ import annotations

import pytest
import torch
from onnx_cases import ONNX_COVERED, TOO_BIG
from zoo_sizes import equality_model, reference_kwargs

import archspec
from archspec.cli.verify import compare
from archspec.loader import builtin_names
from archspec.torch_backend import Reference, import_reference, randomise_norms

pytestmark = pytest.mark.slow  # every built-in against torchvision/timm

BIG_MACS = 1_000_000_000  # above this, one sample per forward keeps the suite in budget


class Case:
    def __init__(self, name: str):
        torch.manual_seed(0)
        self.name = name
        self.model = equality_model(name)
        self.net = self.model.to_torch(seed=0).eval()
        self.ref = _reference(self.model).build().eval() if self.model.reference else None
        randomise_norms(self.ref if self.ref is not None else self.net, seed=1)
        if self.ref is not None:
            import_reference(self.net, self.model.reference, self.ref)
        batch = 1 if self.model.macs > BIG_MACS else 2
        self.x = torch.randn(batch, *self.model.input_shape, generator=torch.Generator().manual_seed(2))


def _reference(model: archspec.Model) -> Reference:
    """The spec's reference, built for the input size the test runs the spec at (zoo_sizes)."""
    ref = Reference.of(model.reference)  # type: ignore[arg-type]
    return Reference(ref.library, ref.builder, {**ref.kwargs, **reference_kwargs(model)})


@pytest.fixture(scope="module", params=[n for n in builtin_names() if n not in TOO_BIG])
def case(request) -> Case:
    return Case(request.param)


def test_equals_reference_on_its_weights(case: Case):
    if case.ref is None:  # one fixture for all tests keeps each spec's module built once
        pytest.skip(f"{case.name}: no torchvision/timm reference (its ONNX check still runs)")
    with torch.no_grad():
        ours, theirs = case.net(case.x), case.ref(case.x)
    assert ours.shape == theirs.shape == (case.x.shape[0], 1000)
    assert theirs.abs().max() > 1e-3 and theirs.std() > 1e-4  # a real signal, not a collapsed one
    assert (ours - theirs).abs().max().item() <= 1e-5


def test_onnxruntime_equals_torch_eval(case: Case):
    if case.name in ONNX_COVERED:
        pytest.skip(f"{case.name}: a sibling with the same blocks runs this (onnx_cases.ONNX_COVERED)")
    rows = compare(case.model, case.net, case.x, ["deploy", "train"])
    names = {m: [r["output"] for r in rows if r["mode"] == m] for m in ("deploy", "train")}
    assert names["deploy"] == [o.name for o in case.model.graph.outputs if not o.train_only]
    assert names["train"] == [o.name for o in case.model.graph.outputs]
    for r in rows:
        assert r["scale"] > 0 and r["abs"] <= 1e-4 * r["scale"], r


@pytest.mark.parametrize("case", ["googlenet"], indirect=True)
def test_googlenet_train_outputs_equal_torchvision(case: Case):
    """Train mode: BN on batch statistics and dropout on, in both; the same seed before each forward
    gives the same dropout masks because the aux heads run where torchvision runs them."""
    c = case
    saved = [{k: v.clone() for k, v in m.state_dict().items()} for m in (c.net, c.ref)]
    try:
        _check_googlenet_train(c)
    finally:  # the case is shared: leave it as found
        for m, state in zip((c.net, c.ref), saved):
            m.load_state_dict(state)
            m.eval()


def _check_googlenet_train(c: Case) -> None:
    c.net.train(), c.ref.train()
    x = torch.randn(2, *c.model.input_shape, generator=torch.Generator().manual_seed(3))
    torch.manual_seed(4)
    ours = c.net(x)
    torch.manual_seed(4)
    theirs = c.ref(x)
    assert list(ours) == ["logits", "aux1", "aux2"]
    for key, value in (("logits", theirs.logits), ("aux1", theirs.aux_logits1), ("aux2", theirs.aux_logits2)):
        assert (ours[key] - value).abs().max().item() <= 1e-5, key
    # and the running statistics moved alike
    ref_state = c.ref.state_dict()
    assert all(torch.equal(v, ref_state[k]) for k, v in c.net.state_dict().items() if "running" in k)
    c.net.eval()
    assert isinstance(c.net(x), torch.Tensor)


def test_alexnet_at_64x64_equals_torchvision():
    """torchvision's AlexNet runs at 64x64, where its AdaptiveAvgPool2d((6, 6)) pools a 1x1 map to a
    larger 6x6 grid (issue 15): the spec loads at that size and equals it, in torch and onnxruntime."""
    model = archspec.load("alexnet", input_shape=(3, 64, 64))
    assert model.graph.nodes["avgpool"].shape == (256, 6, 6) and model.graph.nodes["features.12"].shape == (256, 1, 1)
    torch.manual_seed(0)
    assert model.reference is not None
    ref = Reference.of(model.reference).build().eval()
    net = import_reference(model.to_torch(seed=0), model.reference, ref).eval()
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ours, theirs = net(x), ref(x)
    assert ours.shape == theirs.shape == (2, 1000) and theirs.abs().max() > 1e-3
    assert (ours - theirs).abs().max().item() <= 1e-5
    for r in compare(model, net, x, ["deploy"]):
        assert r["scale"] > 0 and r["abs"] <= 1e-4 * r["scale"], r


@pytest.mark.parametrize("case", ["inception_v3"], indirect=True)
def test_inception_v3_train_outputs_equal_torchvision(case: Case):
    """Train mode, as googlenet's: logits and AuxLogits equal torchvision's InceptionOutputs (a
    batch of 2: train-mode BN needs more than one value per channel on the aux head's 1x1 map)."""
    c = case
    saved = [{k: v.clone() for k, v in m.state_dict().items()} for m in (c.net, c.ref)]
    x = torch.randn(2, 3, 299, 299, generator=torch.Generator().manual_seed(3))
    try:
        c.net.train(), c.ref.train()
        torch.manual_seed(4)
        ours = c.net(x)
        torch.manual_seed(4)
        theirs = c.ref(x)
        assert list(ours) == ["logits", "AuxLogits"]
        for key, value in (("logits", theirs.logits), ("AuxLogits", theirs.aux_logits)):
            scale = value.abs().max().item()
            assert scale > 0 and (ours[key] - value).abs().max().item() <= 1e-5 * scale, key
    finally:  # the case is shared: leave it as found
        for m, state in zip((c.net, c.ref), saved):
            m.load_state_dict(state)
            m.eval()
