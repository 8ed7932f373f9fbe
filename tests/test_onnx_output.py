"""What a compiled file is: deterministic bytes, atomic writes, external data, names, metadata,
options (batch, dynamic H/W, fp16, opset), and the deploy passes one by one."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx_cases import every_op, realistic, run, scale_diff, session

import archspec
from archspec.loader import BUILTIN_DIR
from archspec.onnx_backend import CompileError, passes
from archspec.onnx_backend.emit import Compiled
from archspec.onnx_backend.passes import drop_train_only, fold_bn, remove_dropout
from archspec.weights import init_weights


def test_same_spec_and_seed_give_the_same_bytes(tmp_path, resnet18):
    a, b, c = tmp_path / "a.onnx", tmp_path / "b.onnx", tmp_path / "c.onnx"
    resnet18.save_onnx(a, seed=3)
    archspec.load("resnet18").save_onnx(b, seed=3)
    resnet18.save_onnx(c, seed=4)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    # archspec's own encoder writes protobuf's canonical encoding: onnx parses and re-encodes it unchanged
    assert a.read_bytes() == resnet18.to_onnx(seed=3).SerializeToString()
    for mode in ("deploy", "train"):
        data = every_op().save_onnx(tmp_path / f"all-{mode}.onnx", mode=mode, fp16=mode == "train").read_bytes()
        assert onnx.load_from_string(data).SerializeToString() == data


def test_a_failed_write_leaves_no_file_and_keeps_an_old_one(tmp_path, resnet18, monkeypatch):
    def fail_midway(model, f, external=None):
        f.write(b"\x08\x07" * 1000)
        raise OSError("disk full")

    monkeypatch.setattr(Compiled, "write", fail_midway)
    new = tmp_path / "new.onnx"
    with pytest.raises(OSError, match="disk full"):
        resnet18.save_onnx(new)
    old = tmp_path / "old.onnx"
    old.write_bytes(b"previous model")
    with pytest.raises(OSError):
        resnet18.save_onnx(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.onnx"]  # no temporary left behind
    assert old.read_bytes() == b"previous model"


def test_a_failed_background_flush_fails_the_write(tmp_path, resnet18, monkeypatch):
    """A disk error seen by the flush that runs behind the writer (every 16 MB) is raised, and the
    file is removed, not renamed into place."""
    import errno
    import os

    def fail(fd):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "fdatasync", fail)
    with pytest.raises(OSError, match="I/O error"):
        resnet18.save_onnx(tmp_path / "r18.onnx")
    assert list(tmp_path.iterdir()) == []


def test_a_weight_that_fails_to_draw_leaves_no_file(tmp_path, resnet18, monkeypatch):
    """Weights are drawn while the file is written: an error drawing a late one (layer4, after 20
    MB of the file) reaches the caller, and the half-written file is removed."""
    import archspec.weights

    draw = archspec.weights.fan_in_uniform

    def fail_late(weights, rng):
        if weights["weight"] == (512, 512, 3, 3):
            raise MemoryError("out of memory drawing layer4")
        return draw(weights, rng)

    monkeypatch.setattr(archspec.weights, "fan_in_uniform", fail_late)
    with pytest.raises(MemoryError, match="layer4"):
        resnet18.save_onnx(tmp_path / "r18.onnx")
    assert list(tmp_path.iterdir()) == []


def test_external_data_above_the_threshold(tmp_path, resnet18):
    path = tmp_path / "r18.onnx"
    resnet18.save_onnx(path, external_threshold=1_000_000)
    data = tmp_path / "r18.onnx.data"
    assert path.stat().st_size < 100_000 < 44_000_000 < data.stat().st_size
    onnx.checker.check_model(str(path), full_check=True)
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    s = session(onnx.load(str(path)))  # loads the data file beside it
    assert scale_diff(s.run(None, {"image": x})[0], run(resnet18.to_onnx(), x)["logits"]) == 0
    inline = tmp_path / "inline.onnx"
    resnet18.save_onnx(inline)
    assert not (tmp_path / "inline.onnx.data").exists()


def test_names_are_ir_paths(resnet18):
    proto = resnet18.to_onnx(mode="train")
    inits = {t.name for t in proto.graph.initializer}
    assert inits == {f"{n.name}.{k}" for n in resnet18.graph.nodes.values() for k in (*n.weights, *n.buffers)}
    assert {n.name for n in proto.graph.node} == set(resnet18.graph.nodes) - {"image"}
    assert [i.name for i in proto.graph.input] == ["image"] and [o.name for o in proto.graph.output] == ["logits"]
    deploy = resnet18.to_onnx()  # fresh BNs fold to zero biases, which are left out
    assert {t.name for t in deploy.graph.initializer} == {f"{n.name}.weight" for n in resnet18.graph.nodes.values()
                                                          if n.op in ("conv", "linear")} | {"fc.bias"}
    assert len(deploy.graph.node) == 49  # 20 conv + 17 relu + 8 add + maxpool, avgpool, flatten, fc


def test_metadata(resnet18, tmp_path):
    proto = resnet18.to_onnx()
    meta = {p.key: p.value for p in proto.metadata_props}
    assert list(meta) == sorted(meta)
    assert meta["spec"] == "resnet18" and meta["archspec_version"] == archspec.__version__
    assert meta["spec_hash"] == resnet18.spec_hash and len(meta["spec_hash"]) == 64
    assert json.loads(meta["preprocess"]) == {"resize": 256, "crop": 224, "scale": 1 / 255, "channels": "rgb",
                                              "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    assert json.loads(meta["input"]) == {"name": "image", "shape": [3, 224, 224]}
    assert meta["mode"] == "deploy" and meta["weights"] == "seed 0"
    labels = json.loads(meta["labels"])  # `labels: imagenet`: the 1000 names, in class order
    assert len(labels) == 1000 and labels[:2] == ["tench", "goldfish"] and labels[999] == "toilet tissue"
    sources = json.loads(meta["sources"])
    lines = (BUILTIN_DIR / "lib/resnet.yaml").read_text().splitlines()
    basic = next(i for i, line in enumerate(lines, 1) if line.strip() == "basic:")
    conv1 = next(i for i, line in enumerate(lines, 1) if i > basic and "name: conv1}" in line)
    fc = next(i for i, line in enumerate(lines, 1) if "name: fc}" in line)
    assert sources["layer1.0.conv1"] == f"builtin:lib/resnet.yaml:{conv1}"
    assert sources["fc"] == f"builtin:lib/resnet.yaml:{fc}"
    assert set(sources) == {n.name for n in proto.graph.node} | {"image"}  # every node of the deploy graph
    lenet = json.loads({p.key: p.value for p in archspec.load("lenet5").to_onnx().metadata_props}["labels"])
    assert lenet == [str(i) for i in range(10)]


def test_fixed_batch_and_symbolic_batch(resnet18):
    def dims(v):
        return [d.dim_value or d.dim_param for d in v.type.tensor_type.shape.dim]

    fixed = resnet18.to_onnx(batch=2)
    assert dims(fixed.graph.input[0]) == [2, 3, 224, 224] and dims(fixed.graph.output[0]) == [2, 1000]
    assert dims(resnet18.to_onnx().graph.input[0]) == ["N", 3, 224, 224]
    x = np.zeros((2, 3, 224, 224), np.float32)
    assert run(fixed, x)["logits"].shape == (2, 1000)


def test_dynamic_hw_runs_at_other_sizes(resnet18):
    proto = resnet18.to_onnx(dynamic_hw=True)
    assert [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == ["N", 3, "H", "W"]
    onnx.checker.check_model(proto, full_check=True)
    for hw in ((224, 224), (160, 192)):
        assert run(proto, np.ones((1, 3, *hw), np.float32))["logits"].shape == (1, 1000)
    with pytest.raises(CompileError, match=r"f5.*depend on the input size"):
        archspec.load("lenet5").to_onnx(dynamic_hw=True)


def test_fp16(resnet18):
    proto = resnet18.to_onnx(fp16=True)
    onnx.checker.check_model(proto, full_check=True)
    assert {t.data_type for t in proto.graph.initializer} == {onnx.TensorProto.FLOAT16}
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT16
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224))
    half = run(proto, x.astype(np.float16))["logits"]
    assert half.dtype == np.float16
    assert scale_diff(half.astype(np.float32), run(resnet18.to_onnx(), x.astype(np.float32))["logits"]) < 0.02


def test_bad_options(resnet18):
    for kw, msg in [({"opset": 12}, "opset 12"), ({"opset": 99}, "opset 99"), ({"batch": 0}, "batch"),
                    ({"mode": "eval"}, "mode")]:
        with pytest.raises(CompileError, match=msg):
            resnet18.to_onnx(**kw)


def test_passes_one_by_one():
    model = every_op()
    g, w = model.graph, realistic(model)
    g1, w1, changed = drop_train_only.run(g, w)
    assert changed and [o.name for o in g1.outputs] == ["logits", "probs"] and not g1.lint()
    assert not any(n.startswith("aux.") for n in g1.nodes) and "aux.fc.weight" not in w1
    g2, w2, changed = remove_dropout.run(g1, w1)
    assert changed and "19" not in g2.nodes and g2.nodes["fc2"].inputs == ["18"] and not g2.lint()
    g3, w3, changed = fold_bn.run(g2, w2)
    assert changed and not g3.lint()
    # folded: stem_bn (into a conv with bias), res.bn (no affine, into a conv without); kept: fc_bn (after linear)
    assert {n for n in g2.nodes if n not in g3.nodes} == {"stem_bn", "res.bn"}
    assert g3.nodes["res.conv"].params.bias and g3.nodes["res.conv"].weights["bias"] == (16,)
    assert "fc_bn" in g3.nodes and g3.nodes["res.2"].inputs == ["res.conv"] and g3.nodes["act"].inputs == ["stem"]
    assert fold_bn.run(g3, w3)[2] is False and remove_dropout.run(g3, w3)[2] is False
    assert g.nodes["res.conv"].params.bias is False and "stem_bn" in g.nodes  # inputs untouched
    # the folded conv equals conv then BN on a random input
    x = np.random.default_rng(2).standard_normal((2, *model.input_shape)).astype(np.float32)
    ref = run(model.to_onnx(mode="train", weights=w), x)["probs"]
    assert scale_diff(run(model.to_onnx(weights=w), x)["probs"], ref) < 1e-5


def test_folding_deferred_weights_equals_folding_arrays():
    """The compile's own draws are folded in place as they come (Deferred); given arrays are copied.
    With non-trivial BN statistics both give the same bits."""
    from concurrent.futures import Future

    from archspec.parallel import Deferred, resolve

    def deferred(a):
        done = Future()
        done.set_result(a.copy())
        return Deferred(done, a.shape, a.dtype)

    model = every_op()
    g, w = passes.apply(remove_dropout, *passes.apply(drop_train_only, model.graph, realistic(model)))
    lazy = {k: deferred(v) if v.ndim == 4 else v for k, v in w.items()}
    g1, w1, _ = fold_bn.run(g, w)
    g2, w2, _ = fold_bn.run(g, lazy)
    assert list(g1.nodes) == list(g2.nodes) and w1.keys() == w2.keys()
    assert any(isinstance(v, Deferred) for v in w2.values())
    for k, v in w1.items():
        assert np.array_equal(resolve(w2[k]), v), k


def test_bn_is_not_folded_into_a_conv_read_elsewhere():
    spec = """
archspec: 1
name: shared
input: {name: x, shape: [2, 8, 8]}
graph:
  - {name: c, conv: {out: 4, kernel: 3, pad: 1}, from: x}
  - {name: n, bn: {}, from: c}
  - {name: s, add: {}, from: [c, n]}
"""
    model = archspec.loads(spec)
    g, _ = passes.deploy(model.graph, init_weights(model.graph))
    assert "n" in g.nodes and g.nodes["c"] is model.graph.nodes["c"]
    assert [n.op_type for n in model.to_onnx().graph.node] == ["Conv", "BatchNormalization", "Add"]
