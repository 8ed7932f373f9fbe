"""`archspec compile`: output, --check, exit codes, atomicity, and no torch import."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
from onnx_cases import every_op, session
from procs import heavy_imports, run_cli

import archspec
from archspec.cli import main
from archspec.weights import init_weights, save_weights


def test_compile_prints_totals_and_path_and_checks(tmp_path, capsys):
    out = tmp_path / "lenet.onnx"
    assert main(["compile", "lenet5", "-o", str(out), "--check"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0] == "lenet5: 61,706 params, 0 buffers, 416,520 MACs (0.000 G), deploy graph"
    assert text[1].startswith(f"wrote {out} (") and text[1].endswith("MiB, opset 17)")
    assert text[2:4] == ["check: onnx.checker (full_check): ok", "check: shape inference: ok, 11 values typed"]
    assert text[4].startswith("check: onnxruntime CPU: ok, logits [1, 10] in ")
    s = session(onnx.load(str(out)))
    assert s.run(None, {"image": np.zeros((4, 1, 32, 32), np.float32)})[0].shape == (4, 10)


def test_the_example_in_docs_is_what_compile_prints(tmp_path, capsys, monkeypatch):
    page = (Path(__file__).parent.parent / "docs" / "onnx.md").read_text()
    example = re.search(r"```\n\$ archspec (compile .*?)\n(.*?)```", page, re.S)
    monkeypatch.chdir(tmp_path)
    assert main(example[1].split()) == 0
    assert capsys.readouterr().out == example[2]


def test_the_program_writes_what_the_api_compiles(tmp_path):
    """`python -m archspec compile` (which ends without the interpreter's teardown) prints all its
    output and leaves the whole file."""
    out = tmp_path / "r18.onnx"
    r = run_cli("compile", "resnet18", "--input", "3x64x64", "-o", str(out))
    assert r.returncode == 0 and r.stdout.splitlines()[1].startswith(f"wrote {out} (")
    assert out.read_bytes() == archspec.load("resnet18", (3, 64, 64)).to_onnx().SerializeToString()


def test_options_reach_the_model(tmp_path, capsys):
    out = tmp_path / "r.onnx"
    args = ["compile", "resnet18", "-o", str(out), "--opset", "13", "--batch", "2", "--mode", "train",
            "--no-fold-bn", "--seed", "7", "--input", "3x64x64"]
    assert main(args) == 0
    m = onnx.load(str(out))
    assert m.opset_import[0].version == 13
    assert [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim] == [2, 3, 64, 64]
    assert sum(n.op_type == "BatchNormalization" for n in m.graph.node) == 20
    assert {p.key: p.value for p in m.metadata_props}["weights"] == "seed 7"
    assert "train graph" in capsys.readouterr().out


def test_errors_exit_codes_and_no_file(tmp_path, capsys):
    out = tmp_path / "x.onnx"
    assert main(["compile", "lenet5", "-o", str(out), "--opset", "12"]) == 2
    assert "opset 12 is not supported" in capsys.readouterr().err
    assert main(["compile", "lenet5", "-o", str(out), "--dynamic-hw"]) == 2
    assert "depend on the input size" in capsys.readouterr().err
    w = init_weights(every_op().graph)
    bad = save_weights(tmp_path / "w.npz", w)
    assert main(["compile", "lenet5", "-o", str(out), "--weights", str(bad)]) == 1
    assert "missing 'c1.weight' [6, 1, 5, 5]" in capsys.readouterr().err
    spec = tmp_path / "broken.yaml"
    spec.write_text("archspec: 1\nname: b\ninput: {shape: [3, 8, 8]}\nlayers: [linear: {out: 3}]\n")
    assert main(["compile", str(spec), "-o", str(out)]) == 1
    assert "broken.yaml:4" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.yaml", "w.npz"]


def test_compile_loads_no_heavy_library(tmp_path):
    """Without --check, compile needs neither onnx nor torch; --check adds onnx and onnxruntime."""
    small = ["resnet18", "--input", "3x64x64", "-o", str(tmp_path / "r.onnx")]
    assert heavy_imports(["compile", *small], ["compile", *small, "--opset", "18"]) == set()
    assert heavy_imports(["compile", *small, "--check"]) == {"onnx", "onnxruntime"}
