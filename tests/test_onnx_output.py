"""What a compiled file is: deterministic bytes, atomic writes, external data, names, metadata,
options (batch, dynamic H/W, fp16, opset). The deploy passes have a test file each (test_pass_*)."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx_cases import every_op, run, scale_diff, session

import archspec
from archspec.loader import BUILTIN_DIR
from archspec.onnx_backend import CompileError
from archspec.onnx_backend.emit import Compiled


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
