"""The built-in zoo against the published figures (shared/reference.md) and against the
reference implementations' state_dict layouts, which the torch backend's weight import relies on."""

from __future__ import annotations

import importlib.util
import re
from functools import cache
from pathlib import Path

import pytest

import archspec
from archspec.expand import validate_spec
from archspec.loader import BUILTIN_DIR, builtin_names, find_spec, read
from archspec.ops.base import state_key
from archspec.reference import ReferenceSpec
from tests.meta_build import build_on_meta

ROOT = Path(__file__).resolve().parents[1]

# Built-ins without torchvision weights metadata (the others: `torchvision_figures` below).
# name: exact params; MACs: an int is the exact count, a str the published GMACs, which the spec's
# count must give when rounded to as many digits (within 0.1% for 4 significant digits; 0.0406
# for CIFAR ResNet-20 is 40,551,040 MACs rounded to 3, 0.12% away); input shape.
FIGURES: dict[str, tuple[int, int | str, tuple[int, ...]]] = {
    "lenet5": (61_706, 416_520, (1, 32, 32)),
    "alexnet2012": (60_965_224, 724_406_816, (3, 227, 227)),
    "cifar_resnet20": (269_722, "0.0406", (3, 32, 32)),
    "cifar_resnet32": (464_154, "0.0689", (3, 32, 32)),
    "cifar_resnet44": (658_586, "0.0972", (3, 32, 32)),
    "cifar_resnet56": (853_018, "0.1255", (3, 32, 32)),
    "cifar_resnet110": (1_727_962, "0.2529", (3, 32, 32)),
    "cifar_plain20": (269_722, "0.0406", (3, 32, 32)),  # "same layers without shortcuts"
    "cifar_plain56": (853_018, "0.1255", (3, 32, 32)),
    "inception_resnet_v2": (55_843_464, "13.156", (3, 299, 299)),  # timm: no such metadata
    "densenet264": (33_337_704, "5.752", (3, 224, 224)),  # torchvision.DenseNet: no weights
    "densenet_bc100": (769_162, "0.288", (3, 32, 32)),
}
# train graphs with more params than the eval graph (exact; both sources' built-ins)
TRAIN_PARAMS = {"googlenet": 13_004_888,  # with both aux heads: + 3,188,968 + 3,191,016
                "inception_v3": 27_161_264}  # with AuxLogits: + 3,326,696
# torchvision's weights that hold the train-only aux head: their `num_params` is our train_params
META_COUNTS_AUX = {"inception_v3"}
# MACs counted exactly once (torchvision's metadata prints 3 decimals): kept as a finer check
EXACT_MACS = {"alexnet": 714_188_480, "googlenet": 1_498_376_192}
# kwargs that leave the eval graph's params and MACs as torchvision's weights were measured with
NEUTRAL_KWARGS = {"aux_logits", "init_weights", "transform_input"}


@cache
def model(name: str) -> archspec.Model:
    return archspec.load(name)


@cache
def declared(name: str) -> ReferenceSpec | None:
    """The built-in's `reference:` key, read without expanding the spec."""
    return validate_spec(read(find_spec(name))).reference


def torchvision_referenced(name: str) -> bool:
    """A torchvision constructor with architecture-neutral kwargs: its weights' metadata apply."""
    spec = declared(name)
    return spec is not None and spec.library == "torchvision" and set(spec.kwargs) <= NEUTRAL_KWARGS


# built-ins whose figures come from torchvision's weights metadata
METADATA = [n for n in builtin_names() if torchvision_referenced(n) and n not in FIGURES]


def torchvision_figures(name: str):
    """torchvision's weights entry for a built-in's reference: the DEFAULT one, or else the one
    measured at the spec's input size (torchvision's `_ops` are at the transforms' crop size), and
    its crop size; None when the constructor has no registered weights."""
    tvm = pytest.importorskip("torchvision.models")
    spec = declared(name)
    assert spec is not None
    try:
        enum = tvm.get_model_weights(spec.builder)
    except ValueError:  # not a registered builder (a model class such as DenseNet)
        return None
    default = enum.DEFAULT
    entries = list(enum)
    size = model(name).input_shape[1:]
    crop = lambda w: w.transforms.keywords["crop_size"]  # noqa: E731
    at_size = [w for w in [default, *entries] if (crop(w), crop(w)) == size]
    chosen = at_size[0] if at_size else default
    return chosen, crop(chosen)


def test_every_builtin_has_figures():
    """From one source or the other: FIGURES, or torchvision's metadata for its reference."""
    assert sorted([*FIGURES, *METADATA]) == builtin_names()


def test_figures_are_only_for_builtins_without_metadata():
    """A built-in whose torchvision reference has weights metadata takes its figures from there."""
    with_metadata = [n for n in FIGURES if torchvision_referenced(n) and torchvision_figures(n) is not None]
    assert with_metadata == []


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_published_figures(name: str):
    params, macs, shape = FIGURES[name]
    m = model(name)
    assert m.input_shape == shape
    assert m.params == params
    if isinstance(macs, int):
        assert m.macs == macs
    else:
        assert f"{m.macs / 1e9:.{len(macs.split('.')[1])}f}" == macs
    assert m.train_params == TRAIN_PARAMS.get(name, params)


@pytest.mark.parametrize("name", METADATA)
def test_figures_equal_torchvision_metadata(name: str):
    """Params exactly torchvision's `num_params`; MACs its `_ops` (GMACs) within the digits it
    prints (half a unit of the last one); the input is the size they were measured at."""
    found = torchvision_figures(name)
    assert found is not None, f"{name}: torchvision has no weights for {declared(name)}: give its figures in FIGURES"
    weights, crop = found
    m, meta = model(name), weights.meta
    assert m.input_shape[1:] == (crop, crop), f"{weights} was measured at {crop}x{crop}"
    assert (m.train_params if name in META_COUNTS_AUX else m.params) == meta["num_params"]
    ops = meta["_ops"]
    digits = len(repr(ops).partition(".")[2])
    assert abs(m.macs / 1e9 - ops) <= 0.5 * 10 ** -digits + 1e-12, (m.macs, ops)
    assert m.macs == EXACT_MACS.get(name, m.macs)
    assert m.train_params == TRAIN_PARAMS.get(name, m.params)


def test_googlenet_aux_heads_are_train_only():
    g = model("googlenet").graph
    assert [(o.name, o.train_only) for o in g.outputs] == [("logits", False), ("aux1", True), ("aux2", True)]
    aux = {o.name: o.node for o in g.outputs}
    assert aux["aux1"] == "aux1.fc2" and aux["aux2"] == "aux2.fc2"
    assert g.nodes["aux1.0"].shape == (512, 4, 4) and g.nodes["aux2.0"].shape == (528, 4, 4)
    assert sum(n.params_count for n in g.nodes.values() if n.name.startswith("aux1.")) == 3_188_968
    assert sum(n.params_count for n in g.nodes.values() if n.name.startswith("aux2.")) == 3_191_016


def test_cifar_plain_is_resnet_without_adds():
    res, plain = model("cifar_resnet20").graph, model("cifar_plain20").graph
    assert sum(n.op == "add" for n in res.nodes.values()) == 9
    assert sum(n.op == "channel_pad" for n in res.nodes.values()) == 2
    assert not any(n.op in ("add", "channel_pad") for n in plain.nodes.values())
    weights = lambda g: {(n.name, tuple(n.weights.items())) for n in g.nodes.values() if n.weights}  # noqa: E731
    assert weights(res) == weights(plain)


def test_inception_resnet_v2_scales_and_last_block():
    g = model("inception_resnet_v2").graph
    scales = [n.params.value for n in g.nodes.values() if n.op == "scale"]
    assert scales == [0.17] * 10 + [0.1] * 20 + [0.2] * 9 + [1.0]
    last_add = [n for n in g.nodes.values() if n.op == "add"][-1]
    assert last_add.name.startswith("block8.")
    assert g.nodes["conv2d_7b.conv"].inputs == [last_add.name]  # no ReLU after the last Block8


# ---- state_dict layouts --------------------------------------------------------------------

def reference(name: str):
    """The built-in's reference as the torch backend builds it."""
    backend = pytest.importorskip("archspec.torch_backend")
    spec = declared(name)
    assert spec is not None
    pytest.importorskip(spec.library)
    return backend.Reference.of(spec)


def _reference_state(build, name: str = "") -> dict[str, tuple[int, ...]]:
    """Built on the meta device: random init without memory or time."""
    module = build_on_meta(build, name)
    return {k: tuple(v.shape) for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")}


def _spec_state(g, train: bool = True) -> dict[str, tuple[int, ...]]:
    return {state_key(n.name, local): shape for n in g.nodes.values() if train or not n.train_only
            for local, shape in (n.weights | n.buffers).items()}


REFERENCED = [n for n in builtin_names() if declared(n) is not None]


@pytest.mark.parametrize("name", REFERENCED)
def test_state_dict_layout_matches_reference(name: str):
    """Every weight and buffer key of the spec is the reference's, with the same shape, and back."""
    ref = {reference(name).rename(k): v for k, v in _reference_state(reference(name).build, name).items()}
    ours = _spec_state(model(name).graph)
    assert sorted(set(ours) - set(ref)) == [] and sorted(set(ref) - set(ours)) == []
    assert ours == ref


def test_googlenet_eval_graph_matches_reference_without_aux():
    tv = pytest.importorskip("torchvision.models")
    ref = _reference_state(lambda: tv.googlenet(aux_logits=False, init_weights=False))
    assert _spec_state(model("googlenet").graph, train=False) == ref


# ---- the specs' sources --------------------------------------------------------------------

def _zoo_doc():
    spec = importlib.util.spec_from_file_location("zoo_doc", ROOT / "tools" / "zoo_doc.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", builtin_names())
def test_spec_header_names_paper_and_reference(name: str):
    head = _zoo_doc().header(BUILTIN_DIR / f"{name}.yaml")
    assert re.fullmatch(r"[A-Z][\w. -]+ \d{4}, \".+\".*", head["paper"]), head["paper"]
    assert len(head["reference"]) > 10


def test_families_share_blocks():
    """Members of a family differ from each other only in config lines."""
    for member in ("resnet18", "resnet152", "cifar_resnet110", "cifar_plain56", "densenet121", "densenet264"):
        text = (BUILTIN_DIR / f"{member}.yaml").read_text()
        body = [line for line in text.splitlines() if line and not line.startswith("#")]
        assert body[:2] == ["archspec: 1", f"extends: lib/{body[1].split('lib/')[1]}"], member
        body = [line for line in body if not line.startswith("reference: ")]  # its own constructor
        assert len(body) == 5 and body[3].startswith("description: ") and body[4].startswith("args: {"), member


def test_zoo_doc_is_current():
    """docs/zoo.md is generated from the specs: regenerate it with `python tools/zoo_doc.py`."""
    doc = _zoo_doc()
    assert (ROOT / "docs" / "zoo.md").read_text(encoding="utf-8") == doc.render(), \
        "docs/zoo.md is stale: run `python tools/zoo_doc.py`"
