"""`archspec summary`: --json shapes, floats as written, the activation-memory estimate against torch,
depth below a wrapper scope."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from procs import run_cli

import archspec
from archspec.memory import estimate
from archspec.summary import Table

EVERY_OP = Path(__file__).parent / "every_op.yaml"
MIB = 2**20

COMPUTED_FLOATS = """
archspec: 1
name: floats
input: {shape: [3, 8, 8]}
blocks:
  b:
    args: {p: float}
    seq: [dropout: "${p * 3}", scale: "${p + 0.2}"]
layers: [conv: {out: 4, kernel: 3}, b: {p: 0.1}, flatten, linear: {out: 2}]
"""


def test_json_shapes_are_lists_with_a_null_batch() -> None:
    r = run_cli("summary", "resnet18", "--json", "--input", "3x128x160", "--batch", "8")
    assert r.returncode == 0, r.stderr
    t = json.loads(r.stdout)
    assert t["input"] == {"name": "image", "shape": [None, 3, 128, 160]}
    rows = {row["path"]: row for row in t["rows"]}
    assert rows["conv1"]["shape"] == [None, 64, 64, 80]
    assert rows["fc"]["shape"] == [None, 1000]
    assert rows["conv1"]["act"] == 8 * 64 * 64 * 80 * 4  # float32 output at batch 8
    assert t["memory"]["batch"] == 8 and t["memory"]["input"] == 8 * 3 * 128 * 160 * 4


def test_floats_print_as_written() -> None:
    m = archspec.loads(COMPUTED_FLOATS)
    assert m.graph.nodes["1.0"].params.p == 0.1 * 3 != 0.3  # the value itself stays what was computed
    text = m.summary()
    assert "dropout p=0.3 " in text and "scale x0.3 " in text
    assert "0000000" not in text


def test_memory_totals_resnet50_hand_checked() -> None:
    t = Table.of(archspec.load("resnet50").graph, depth=1, batch=1)
    rows = {r.path: r for r in t.rows}
    assert rows["conv1"].act == 64 * 112 * 112 * 4 == rows["conv1"].saved  # bn1 keeps its input
    assert rows["bn1"].saved == 0 and rows["2"].saved == 64 * 112 * 112 * 4  # relu in place, keeps its output
    assert rows["maxpool"].saved == 64 * 56 * 56 * (4 + 8)  # layer1.0 keeps its input, maxpool its int64 indices
    m = t.memory
    assert sum(r.saved for r in t.rows) == 85_311_392  # what autograd keeps, over every row
    # forward: three stem-sized tensors live at once
    assert (m["forward"], m["forward_backward"]) == (3 * 64 * 112 * 112 * 4, 94_334_976)
    assert "activations:      9.2 MiB forward, 90.0 MiB forward+backward (batch 1" in t.render()


def _torch_peak(fn) -> int:
    """The peak of bytes held by torch's CPU allocator while `fn` runs, from the profiler's memory
    events (every allocation and free, in time order), counting from what was held at the start."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted((e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"),
                    key=lambda e: e.start_ns())
    held = peak = 0
    for e in events:
        held += e.nbytes()
        peak = max(peak, held)
    return peak


@pytest.mark.parametrize("spec, batch", [("resnet50", 2), ("vit_b_16", 2), ("swin_t", 2)])
def test_memory_estimate_within_20_percent_of_torch(spec: str, batch: int) -> None:
    """Training: a step's peak, with .grad allocated by an earlier step (weights and their gradients
    are not activations); inference: a no-grad forward. The input exists before either. The
    transformers check what attention, layer norm and a dropout of p = 0 keep."""
    import torch

    torch.manual_seed(0)
    m = archspec.load(spec)
    net = m.to_torch().train()
    x, y = torch.randn(batch, 3, 224, 224), torch.randint(0, 1000, (batch,))

    def step() -> None:
        torch.nn.functional.cross_entropy(net(x), y).backward()

    def infer() -> None:
        with torch.no_grad():
            net(x)

    step()
    train = _torch_peak(step)
    net.eval()
    forward = _torch_peak(infer)
    est = estimate(m.graph, batch)
    assert est.forward_backward == pytest.approx(train, rel=0.2), (est.forward_backward / MIB, train / MIB)
    assert est.forward == pytest.approx(forward, rel=0.2), (est.forward / MIB, forward / MIB)


def test_saved_trait_matches_what_torch_keeps() -> None:
    """Each op of the every-op spec, lowered alone: the bytes autograd keeps (saved_tensors_hooks,
    by storage, weights and per-channel statistics left out) against Op.saved. Where the lowering pads
    explicitly (an asymmetric pad), torch keeps the padded input instead: those agree within 60%; LRN's
    own tensors are stated for an odd window (an even one pads a channel more): within 5%."""
    import torch

    from archspec.torch_backend.build import lower

    batch = 64  # per-sample tensors then hold >= 64 values, per-channel statistics fewer
    g = archspec.load(EVERY_OP).graph
    checked = set()
    for n in g.nodes.values():
        if n.op == "input" or n.train_only:
            continue
        low = lower(n)
        ins = [torch.randn(batch, *g.nodes[i].shape, requires_grad=True) for i in n.inputs]
        kept, y = _kept_bytes(low, ins, batch)
        s = n.impl.saved(n.params)
        want = (sum(t.numel() * 4 for t in ins) if s.input else 0) + (y.numel() * 4 if s.output else 0)
        want += y.numel() * s.own
        padded = type(low).__name__.startswith("Pad")
        assert kept == pytest.approx(want, rel=0.6 if padded else 0.05 if n.op == "lrn" else 0), n.name
        checked.add(n.op)
    assert len(checked) >= 20  # every op but the train-only head's


SAVED_CASES = [  # (op, params, per-sample shape): ViT-B's and Swin-T's, padding, dropouts
    ("dropout", {"p": 0.0}, (197, 768)),  # ViT's default: torch keeps no mask
    ("dropout", {"p": 0.1}, (197, 768)),
    ("layer_norm", {}, (197, 768)),  # a mean and 1/std per row: 8 / 768 bytes per value
    ("layer_norm", {"axis": "channels"}, (48, 10, 12)),
    ("attention", {"heads": 12}, (197, 768)),
    ("attention", {"heads": 4, "dropout": 0.1}, (50, 64)),
    ("attention", {"heads": 2, "dropout": 0.1}, (100, 128)),
    ("window_attention", {"heads": 3, "window": [7, 7], "shift": [3, 3]}, (28, 28, 96)),
    ("window_attention", {"heads": 4, "window": [8, 8]}, (12, 12, 64)),
    ("window_attention", {"heads": 3, "window": [7, 7], "dropout": 0.1}, (14, 14, 96)),
    ("window_attention", {"heads": 4, "window": [8, 8], "shift": [4, 4], "dropout": 0.1,
                          "attention_dropout": 0.1}, (16, 16, 64)),
]


@pytest.mark.parametrize("op, params, shape", SAVED_CASES, ids=lambda v: str(v).replace(" ", ""))
def test_saved_by_shape_and_dropout_matches_what_torch_keeps(op: str, params: dict, shape: tuple[int, ...]) -> None:
    """What autograd keeps of torch's attention grows with the tokens (weights T x T per head in
    the math path) and with dropout on; a dropout of p = 0 keeps nothing: Op.saved(p, shape)
    against it, within 3%."""
    import torch
    from torchvision.models.swin_transformer import ShiftedWindowAttention

    from archspec.ops._torch import LayerNorm2d, SelfAttention
    from archspec.ops.base import REGISTRY

    impl = REGISTRY[op]
    p = impl.Params(**params)
    if op == "dropout":
        module = torch.nn.Dropout(p.p)
    elif op == "layer_norm":
        module = (LayerNorm2d if p.axis == "channels" else torch.nn.LayerNorm)(shape[0 if p.axis == "channels" else -1])
    elif op == "attention":
        module = SelfAttention(shape[1], p.heads, dropout=p.dropout, batch_first=True)
    else:
        module = ShiftedWindowAttention(shape[2], p.window, p.shift, p.heads, attention_dropout=p.attention_dropout,
                                        dropout=p.dropout)
    batch = 4
    x = torch.randn(batch, *shape, requires_grad=True) * 1  # an activation, not a leaf
    kept, _ = _kept_bytes(module, [x], batch)
    s = impl.saved(p, shape)  # the output has the input's shape
    assert kept == pytest.approx(x.numel() * (4 * s.input + s.own), rel=0.03)


def test_densenet_depth_1_shows_its_blocks() -> None:
    t = Table.of(archspec.load("densenet121").graph, depth=1)
    paths = [r.path for r in t.rows]
    blocks = [p for p in paths if "block" in p or "transition" in p]
    assert blocks == ["features.denseblock1", "features.transition1", "features.denseblock2",
                      "features.transition2", "features.denseblock3", "features.transition3",
                      "features.denseblock4"]
    assert len(paths) == 16 and max(r.params for r in t.rows) == 2_837_760  # denseblock3
    assert math.isclose(sum(r.params for r in t.rows), 7_978_856)


def _kept_bytes(low, ins: list, batch: int) -> tuple[int, object]:
    """Bytes autograd keeps when the lowering `low` runs on `ins` (by storage, the module's weights and
    tensors under `batch` values left out); and its output."""
    import torch

    kept: dict[int, int] = {}
    module = isinstance(low, torch.nn.Module)
    weights = {w.untyped_storage().data_ptr() for w in low.parameters()} if module else set()

    def pack(t: torch.Tensor) -> torch.Tensor:
        if t.numel() >= batch and t.untyped_storage().data_ptr() not in weights:
            kept[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        if isinstance(low, torch.nn.Module):
            y = low.train()(*ins)
        elif low.packed:
            y = low.fn(ins, *low.args, **low.kwargs)
        elif low.fold and len(ins) > 2:
            y = ins[0]
            for x in ins[1:]:
                y = low.fn(y, x)
        else:
            y = low.fn(*ins, *low.args, **low.kwargs)
    return sum(kept.values()), y
