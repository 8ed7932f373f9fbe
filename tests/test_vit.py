"""Token tensors ([N,T,D] sequences) end to end, the ViT ops beyond their test_ops cases (the fused
ONNX Attention, MACs), and the ViT built-ins' size handling (token count, position-embedding
interpolation on import). Figures and torchvision equality: test_zoo.py, test_torch_builtins.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
from procs import run_cli

import archspec

SEQ = """archspec: 1
name: seq
input: {name: tokens, shape: [6, 8]}
layers:
  - class_token: {name: class_token}
  - position_embedding: {name: pos_embedding}
  - residual:
      body:
        - layer_norm
        - attention: {heads: 2, fused: FUSED}
  - layer_norm
  - linear: {out: 16, axis: last}
  - gelu
  - select: 0
  - linear: {out: 3}
"""


def seq(fused: bool = False) -> archspec.Model:
    return archspec.loads(SEQ.replace("FUSED", str(fused).lower()))


def test_a_sequence_spec_has_token_shapes_params_and_macs():
    m = seq()
    g = m.graph
    assert m.input_shape == (6, 8)
    assert g.nodes["class_token"].shape == (7, 8) and g.nodes["class_token"].weights == {"": (1, 1, 8)}
    assert g.nodes["pos_embedding"].weights == {"": (1, 7, 8)}
    att = next(n for n in g.nodes.values() if n.op == "attention")
    assert att.weights == {"in_proj_weight": (24, 8), "in_proj_bias": (24,), "out_proj.weight": (8, 8),
                           "out_proj.bias": (8,)}
    assert att.macs == 4 * 7 * 8 * 8 + 2 * 7 * 7 * 8  # projections, then q k^T and weights x v
    assert m.graph.nodes[m.graph.outputs[0].node].shape == (3,)
    # 8 + 56 + (16 + 288) + 16 + 144 + 51
    assert m.params == 579


@pytest.mark.parametrize(("fused", "opset"), [(False, 13), (False, 17), (True, 23)])
def test_onnxruntime_equals_torch_on_a_sequence(fused: bool, opset: int):
    torch = pytest.importorskip("torch")
    from onnx_cases import run

    from archspec.torch_backend.weights import state_arrays

    m = seq(fused)
    net = m.to_torch(seed=0).eval()
    with torch.no_grad():  # the zero-initialised class token would hide its place
        net.state_dict()["class_token"].normal_()
    proto = m.to_onnx(opset=opset, weights=state_arrays(net))
    assert any(n.op_type == "Attention" for n in proto.graph.node) == fused
    x = np.random.default_rng(0).standard_normal((3, 6, 8)).astype(np.float32)
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    got = next(iter(run(proto, x).values()))
    assert got.shape == (3, 3)
    assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()


def test_fused_attention_below_opset_23_is_a_clear_error(tmp_path):
    spec = tmp_path / "f.yaml"
    spec.write_text(SEQ.replace("FUSED", "true"))
    r = run_cli("compile", str(spec), "-o", str(tmp_path / "f.onnx"))
    assert r.returncode == 2, r.stderr
    assert "f.yaml:10:11: node '2.1': attention fused: true needs ONNX opset 23" in r.stderr
    assert "--opset 23" in r.stderr and "Traceback" not in r.stderr


def test_cli_summary_graph_and_run_on_a_sequence(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(SEQ.replace("FUSED", "false"))
    r = run_cli("summary", str(spec))
    assert r.returncode == 0, r.stderr
    assert "input tokens [N,6,8]" in r.stdout and "[N,7,8]" in r.stdout and "2 heads" in r.stdout
    assert "attention" in r.stdout.split("convention:")[1]  # the MACs convention names it
    r = run_cli("graph", str(spec), "-o", str(tmp_path / "s.dot"))
    assert r.returncode == 0, r.stderr
    assert "[N,7,8]" in (tmp_path / "s.dot").read_text()
    np.save(tmp_path / "x.npy", np.random.default_rng(0).standard_normal((6, 8)).astype(np.float32))
    r = run_cli("run", str(spec), "--input", str(tmp_path / "x.npy"), "--json", "--top-k", "2")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)["predictions"][0]
    assert [t["rank"] for t in out["top"]] == [1, 2] and 0 <= out["top"][0]["index"] < 3


def test_a_token_op_on_an_image_is_a_clear_error():
    with pytest.raises(archspec.SpecError, match=r"attention needs a \[N,T,D\] token sequence, got \[N,3,4,4\]"):
        archspec.loads("archspec: 1\nname: t\ninput: {shape: [3, 4, 4]}\nlayers:\n  - attention: 1\n")
    with pytest.raises(archspec.SpecError, match="3 heads do not divide the 8 features"):
        archspec.loads("archspec: 1\nname: t\ninput: {shape: [4, 8]}\nlayers:\n  - attention: 3\n")


def test_vit_input_size_sets_the_token_count():
    m = archspec.load("vit_b_16", input_shape=(3, 384, 384))
    assert m.graph.nodes["encoder.pos_embedding"].weights == {"": (1, 577, 768)}  # 24 * 24 + 1
    assert m.params == 86_567_656 + (577 - 197) * 768 == 86_859_496  # torchvision's SWAG_E2E weights at 384
    assert round(m.macs / 1e9, 3) == 55.484  # their _ops
    assert archspec.load("vit_h_14").params * 4 > 2**31  # past protobuf: layout tests only (TOO_BIG)


def test_a_vit_input_that_the_patches_do_not_tile_is_an_error_at_the_librarys_require():
    """The patch conv would floor 230 to 14 patches; torchvision refuses such an input."""
    with pytest.raises(archspec.SpecError) as e:
        archspec.load("vit_b_16", input_shape=(3, 230, 224))
    want = "require failed: the input's height and width (230x224) must be multiples of the patch size, 16"
    assert want in str(e.value)
    assert "lib/vit.yaml:39:14" in str(e.value)
    assert archspec.load("vit_b_16", input_shape=(3, 240, 240)).graph.nodes["class_token"].shape == (226, 768)
    r = run_cli("summary", "vit_b_32", "--input", "3x100x100")
    assert r.returncode == 1 and "Traceback" not in r.stderr and "patch size, 32" in r.stderr


@pytest.mark.slow
def test_import_interpolates_position_embeddings_as_torchvision():
    torch = pytest.importorskip("torch")
    tvm = pytest.importorskip("torchvision.models")
    from torchvision.models.vision_transformer import interpolate_embeddings

    from archspec.torch_backend import import_reference
    from archspec.torch_backend.references import ReferenceUnavailable

    ref = tvm.vit_b_32(image_size=64)  # a 2x2 grid of patches
    m = archspec.load("vit_b_32", input_shape=(3, 96, 96))  # to 3x3
    net = import_reference(m.to_torch(), m.reference, ref)
    want = interpolate_embeddings(96, 32, ref.state_dict())["encoder.pos_embedding"]
    assert want.shape == (1, 10, 768) and torch.equal(net.state_dict()["encoder.pos_embedding"], want)
    wide = archspec.load("vit_b_32", input_shape=(3, 64, 96))
    with pytest.raises(ReferenceUnavailable, match=r"\(1, 5, 768\) cannot be interpolated to \(1, 7, 768\)"):
        import_reference(wide.to_torch(), wide.reference, ref)
