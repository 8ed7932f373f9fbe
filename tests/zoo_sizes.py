"""The input size at which the tests that compile and run every built-in run it.

Policy (a zoo of ~90 built-ins; the whole suite well under 30 min on 2 cores): the equality
tests (tests/test_torch_builtins.py: torch == torchvision/timm and onnxruntime == torch;
tests/test_onnx_specs.py: checker, shape inference, batch 1 and 3, deploy == train) run a
built-in above TEST_MACS at a reduced input, where its architecture allows it (global or
adaptive pooling before the head): the weights and output shapes must be those of the full
size, so every weight is still used and compared; only the spatial extent shrinks. The reduced
side keeps the full side's residue modulo 32, so each stride-2 stage sees the same odd/even
sizes (299 -> 107 keeps inception_resnet_v2's padding and ceil-mode arithmetic); every conv
must still use every kernel tap on real input (at 3x3 a 1x7 conv with pad 3 never uses its
outer taps); and it is the side nearest to bringing the MACs to TEST_MACS (at least 64; a side
too small for the net's valid convs and pools, or for its taps, gives way to the next one up).
Nets whose head depends on the size (alexnet2012's flatten -> fc6, lenet5) stay at full size,
as do those at or below TEST_MACS. Figures (params, MACs, `summary`) are checked at the full
size in tests/test_zoo.py, never here.

Measured on the 2-core machine before the policy, 23 built-ins (`pytest --durations=40`):
tests/test_torch_builtins.py 35 s, tests/test_onnx_specs.py 45 s (24 s and 30 s with it). The costliest were MAC-bound
(inception_resnet_v2, 13.2 GMACs: 8.3 s of onnxruntime in its setup; resnet152, 11.5 GMACs:
3.2 s) or params-bound (alexnet, 61 M params: 2.6 s of setup and 1.2 s per checker run, at any
input size). The new families bring nets of 15 to 375 GMACs (vgg, efficientnet_b7 at 600,
regnet_y_128gf at 384), which this policy runs at about 1 GMAC each; their params-bound part
(building, serialising and checking hundreds of MB of weights) does not shrink with the input
and is what remains to watch.
"""

from __future__ import annotations

import math
from functools import cache

import archspec
from archspec.errors import SpecError
from archspec.ops.base import pads, pair

TEST_MACS = 1_000_000_000  # above this, the equality tests run at a reduced input (about this many MACs)
STRIDE = 32  # the deepest downsampling of the zoo's CNNs: sides change by multiples of it
MIN_SIDE = 64


@cache
def equality_model(name: str) -> archspec.Model:
    """The built-in at the size its equality tests run at (see the module docstring)."""
    full = archspec.load(name)
    side = token_side(full)
    if side is not None:
        return archspec.load(name, input_shape=(full.input_shape[0], side, side))
    if full.macs <= TEST_MACS or len(full.input_shape) != 3:
        return full
    c, h, w = full.input_shape
    want = math.sqrt(TEST_MACS / full.macs)
    for side_h, side_w in _sides(h, w, want):
        try:
            small = archspec.load(name, input_shape=(c, side_h, side_w))
        except SpecError:  # too small for a valid conv or pool: try the next size
            continue
        if not _same_weights_and_outputs(full, small):
            return full  # the head depends on the input size: the full size it is
        if _every_tap_used(small):
            return small
    return full


def token_side(full: archspec.Model) -> int | None:
    """A transformer with learned position embeddings (ViT): their size follows the token count,
    so no reduced input keeps the full size's weights. Its tests run at a 2x2 grid of patches (vit_b_16
    at 32x32: 5 tokens), every weight but the embedding's length as at full size, the reference built
    at that size (`reference_kwargs`). None for other nets."""
    g = full.graph
    if full.macs <= TEST_MACS or not any(n.op == "position_embedding" for n in g.nodes.values()):
        return None
    patch = next(n.params.stride for n in g.nodes.values() if n.op == "conv")
    return 2 * pair(patch)[0]


def reference_kwargs(model: archspec.Model) -> dict[str, int]:
    """The reference's constructor kwargs for the size `model` runs at: torchvision's ViT takes
    image_size (the position embeddings' length follows it); none for the others."""
    full = archspec.load(model.name)
    if token_side(full) is None or model.input_shape == full.input_shape:
        return {}
    return {"image_size": model.input_shape[1]}


def _sides(h: int, w: int, scale: float) -> list[tuple[int, int]]:
    """Sides below (h, w), keeping their residues modulo STRIDE, from about `scale` times up."""
    def first(side: int) -> int:  # the side nearest `scale` times, at least MIN_SIDE
        reduced = side - STRIDE * round((side - side * scale) / STRIDE)
        return reduced if reduced >= MIN_SIDE else reduced + STRIDE * math.ceil((MIN_SIDE - reduced) / STRIDE)

    h0, w0 = first(h), first(w)
    steps = range((h - h0) // STRIDE)
    return [(h0 + STRIDE * k, w0 + STRIDE * k) for k in steps if w0 + STRIDE * k < w]


def _every_tap_used(m: archspec.Model) -> bool:
    """Every conv's every kernel tap meets the input (not only padding) at some output position,
    so that each weight is exercised: at 3x3, a 1x7 conv (pad 3) never uses its outer taps."""
    g = m.graph
    for n in g.nodes.values():
        if n.op != "conv":
            continue
        p = n.params
        top, left, _, _ = pads(p.pad)  # type: ignore[attr-defined]
        size = g.nodes[n.inputs[0]].shape[1:]
        for i, (k, st, d, before) in enumerate(zip(pair(p.kernel), pair(p.stride), pair(p.dilation),  # type: ignore[attr-defined]
                                                    (top, left))):
            outs = range(n.shape[1 + i])
            if not all(any(0 <= o * st - before + t * d < size[i] for o in outs) for t in range(k)):
                return False
    return True


def _same_weights_and_outputs(full: archspec.Model, small: archspec.Model) -> bool:
    weights = lambda m: {n.name: (n.weights, n.buffers) for n in m.graph.nodes.values()}  # noqa: E731
    outputs = lambda m: [(o.name, m.graph.nodes[o.node].shape) for o in m.graph.outputs]  # noqa: E731
    return weights(full) == weights(small) and outputs(full) == outputs(small)
