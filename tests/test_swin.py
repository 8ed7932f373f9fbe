"""Swin's ops against torchvision's own functions, and swin_t at a size torchvision's 224 never
meets: odd maps (patch_merge pads), maps padded to window multiples under a shift, and maps the
window covers whole (no shift). The zoo tests run the built-ins at their reduced input."""

from __future__ import annotations

import pytest
from onnx_cases import scale_diff

import archspec
from archspec.errors import SpecError

torch = pytest.importorskip("torch")
tv_swin = pytest.importorskip("torchvision.models.swin_transformer")

ATTN = """
archspec: 1
name: attn
input: {{shape: [{h}, {w}, {c}]}}
layers: [window_attention: {{heads: {heads}, window: {window}, shift: {shift}}}]
"""


def _attn(h: int, w: int, c: int, heads: int, window: list[int], shift: list[int]) -> archspec.Model:
    return archspec.loads(ATTN.format(h=h, w=w, c=c, heads=heads, window=window, shift=shift))


@pytest.mark.parametrize("h,w,window,shift", [
    (14, 14, [7, 7], [3, 3]),  # two windows a side, shifted
    (10, 9, [7, 7], [3, 3]),   # padded to 14x14, shifted
    (6, 12, [7, 7], [3, 3]),   # H covered whole by the window: no shift on H, shift on W
    (8, 8, [4, 2], [2, 1]),    # rectangular windows
    (5, 5, [7, 7], [0, 0]),    # one padded window
])
def test_reference_equals_torchvision(h: int, w: int, window: list[int], shift: list[int]):
    """The op's numpy reference (which test_ops holds torch and onnxruntime to) is torchvision's
    shifted_window_attention, on a bias table large enough to matter."""
    model = _attn(h, w, 8, 2, window, shift)
    node = model.graph.nodes["0"]
    ref = tv_swin.ShiftedWindowAttention(8, window, shift, 2)
    with torch.no_grad():
        for q in ref.parameters():
            q.copy_(torch.randn_like(q))
    x = torch.randn(2, h, w, 8, generator=torch.Generator().manual_seed(0))
    weights = {k: v.double().numpy() for k, v in ref.state_dict().items()}
    got = node.impl.reference(node, [x.double().numpy()], weights)
    with torch.no_grad():
        want = ref.double()(x.double()).numpy()
    assert got.shape == (2, h, w, 8)
    assert scale_diff(got, want) < 1e-12


def test_state_dict_and_counts():
    """torchvision's names and shapes; MACs: qkv + proj at the 14x14 padded positions, and
    q k^T + attn v over the 4 windows of 49 tokens."""
    node = _attn(10, 9, 8, 2, [7, 7], [3, 3]).graph.nodes["0"]
    ref = tv_swin.ShiftedWindowAttention(8, [7, 7], [3, 3], 2)
    assert {**node.weights, **node.buffers} == {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    assert node.macs == 14 * 14 * 4 * 8 * 8 + 2 * 14 * 14 * 49 * 8
    net = _attn(10, 9, 8, 2, [7, 7], [3, 3]).to_torch(seed=0)
    net.load_state_dict({f"0.{k}": v for k, v in ref.state_dict().items()}, strict=True)


@pytest.mark.parametrize("h,w", [(4, 6), (5, 7)])
def test_patch_merge_equals_torchvision(h: int, w: int):
    model = archspec.loads(f"archspec: 1\nname: pm\ninput: {{shape: [{h}, {w}, 3]}}\nlayers: [patch_merge]")
    assert model.graph.nodes["0"].shape == ((h + 1) // 2, (w + 1) // 2, 12)
    x = torch.randn(2, h, w, 3)
    with torch.no_grad():
        assert torch.equal(model.to_torch(seed=0)(x), tv_swin._patch_merging_pad(x))


@pytest.mark.parametrize("layer,message", [
    ("window_attention: {heads: 3}", "do not split into 3 heads"),
    ("window_attention: {heads: 2, window: [4, 4], shift: [4, 0]}", "must be below the window"),
    ("window_attention: {heads: 2, window: [4]}", "two sizes"),
])
def test_errors(layer: str, message: str):
    with pytest.raises(SpecError, match=message):
        archspec.loads(f"archspec: 1\nname: bad\ninput: {{shape: [8, 8, 8]}}\nlayers: [{layer}]")


def test_attention_needs_channels_last_map():
    with pytest.raises(SpecError, match="channels-last"):
        archspec.loads("archspec: 1\nname: bad\ninput: {shape: [8]}\nlayers: [window_attention: {heads: 2}]")


@pytest.mark.slow
def test_swin_t_at_100_equals_torchvision():
    """At 100x100 the stages are 25, 13, 7 and 4 a side: 25 and 13 padded to window multiples
    and shifted, 13 and 7 odd for patch_merge, 7 and 4 covered by one window (no shift)."""
    model = archspec.load("swin_t", input_shape=(3, 100, 100))
    g = model.graph
    assert [g.nodes[f"features.{s}.1.attn"].shape for s in (1, 3, 5, 7)] == \
        [(25, 25, 96), (13, 13, 192), (7, 7, 384), (4, 4, 768)]
    ref = tv_swin.swin_t().eval()
    from archspec.torch_backend import import_reference, randomise_norms

    randomise_norms(ref, seed=1)
    net = import_reference(model.to_torch(seed=0).eval(), model.reference, ref)
    x = torch.randn(2, 3, 100, 100, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ours, theirs = net(x), ref(x)
    assert theirs.std() > 1e-2
    assert (ours - theirs).abs().max().item() <= 1e-5 * theirs.abs().max().item()


def test_summary_shows_the_shift_done_at_each_size():
    """torchvision drops the shift along an axis the window covers whole (swin_t's last stage at
    7x7): the summary row says what runs, not what the spec wrote."""
    from archspec.summary import Table

    rows = {r.path: r.op for r in Table.of(archspec.load("swin_t").graph).rows}
    assert rows["features.5.1.attn"] == "window_attention 12 heads, 7x7, shift 3x3"
    assert rows["features.7.1.attn"] == "window_attention 24 heads, 7x7"  # the spec says shift [3, 3]
    one_axis = _attn(6, 12, 8, 2, [7, 7], [3, 3])
    assert Table.of(one_axis.graph).rows[-1].op == "window_attention 2 heads, 7x7, shift 0x3"
