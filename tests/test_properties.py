"""Property tests: random well-formed stacks of conv/pool layers get PyTorch's shapes.

The reference is PyTorch's documented output-size formula, written here independently
of archspec (no torch import): floor((H + p0 + p1 - d*(k-1) - 1) / s) + 1, and for
ceil_mode pooling the ceil of that, less one when the last window starts in the padding.
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

import archspec
from archspec.ops.base import fmt


def torch_size(size: int, k: int, s: int, p: int, d: int = 1, ceil: bool = False) -> int:
    x = (size + 2 * p - d * (k - 1) - 1) / s + 1
    out = math.ceil(x) if ceil else math.floor(x)
    if ceil and (out - 1) * s >= size + p:
        out -= 1
    return out


layer = st.one_of(
    st.tuples(st.just("conv"), st.integers(1, 7), st.integers(1, 3), st.integers(0, 3), st.integers(1, 3),
              st.integers(1, 32)),
    st.tuples(st.just("maxpool"), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2), st.booleans()),
    st.tuples(st.just("avgpool"), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2), st.booleans()),
)


@settings(max_examples=150, deadline=None)
@given(size=st.integers(8, 96), layers=st.lists(layer, min_size=1, max_size=6))
def test_random_stacks_match_torch_arithmetic(size: int, layers: list[tuple], tmp_path_factory) -> None:
    lines, h, c, valid = [], size, 3, True
    for spec in layers:
        if spec[0] == "conv":
            _, k, s, p, d, out = spec
            lines.append(f"  - conv: {{out: {out}, kernel: {k}, stride: {s}, pad: {p}, dilation: {d}}}")
            h, c = torch_size(h, k, s, p, d), out
        else:
            kind, k, s, p, ceil = spec
            p = min(p, k // 2)  # PyTorch requires pad <= kernel / 2
            lines.append(f"  - {kind}: {{kernel: {k}, stride: {s}, pad: {p}, ceil_mode: {str(ceil).lower()}}}")
            h = torch_size(h, k, s, p, ceil=ceil)
        valid = valid and h > 0
    path = tmp_path_factory.mktemp("p") / "s.yaml"
    path.write_text(f"archspec: 1\nname: p\ninput: {{shape: [3, {size}, {size}]}}\nlayers:\n" + "\n".join(lines))
    try:
        m = archspec.load(path)
    except archspec.SpecError as e:  # both sides must agree that the stack does not fit
        assert not valid, e.report()
        assert "is not positive" in e.report()
        return
    assert valid
    assert fmt(m.graph.nodes[m.graph.outputs[0].node].shape) == fmt((c, h, h))
