"""One invalid spec per error class: the message, the line and the hint are asserted."""

from __future__ import annotations

from pathlib import Path

import pytest
from procs import run_cli

import archspec

HEAD = "archspec: 1\nname: bad\ninput: {name: image, shape: [3, 32, 32]}\n"  # lines 1-3

# (id, spec body from line 4, expected "line:col: error: message", expected hint or "")
CASES = [
    ("yaml_syntax", "layers:\n  - conv: {out: 8, kernel: 3\n  - relu\n",
     "6:9: error: YAML syntax: did not find expected ',' or '}'", ""),  # the end of the stream: the last line
    ("unknown_op", "layers:\n  - conv: {out: 8, kernel: 3}\n  - rleu\n",
     "6:5: error: 1: unknown op or block 'rleu'", "did you mean 'relu' or 'relu6'?"),
    ("unknown_key", "layers:\n  - conv: {out: 8, kernal: 3}\n",
     "5:20: error: 0: conv: unknown key 'kernal'", "did you mean 'kernel'?"),
    ("unknown_top_key", "layrs:\n  - relu\n",
     "4:1: error: unknown key 'layrs'", "did you mean 'layers'?"),
    ("wrong_type", "layers:\n  - conv: {out: eight, kernel: 3}\n",
     "5:17: error: 0: conv: out: input should be a valid integer", ""),
    ("bad_bool", "layers:\n  - conv: {out: 8, kernel: 3, bias: maybe}\n",
     "5:37: error: 0: conv: bias: input should be a valid boolean", ""),
    ("missing_arg", "blocks:\n  b:\n    args: {width: int}\n    seq: [conv: {out: $width, kernel: 1}]\n"
     "layers:\n  - b: {}\n", "9:5: error: block 'b' needs arg 'width' (int)", ""),
    ("unknown_arg", "blocks:\n  b:\n    args: {width: int}\n    seq: [conv: {out: $width, kernel: 1}]\n"
     "layers:\n  - b: {widht: 3, width: 3}\n", "9:9: error: block 'b' has no arg 'widht'",
     "did you mean 'width'?"),
    ("unknown_block", "blocks:\n  stage:\n    seq: [relu]\nlayers:\n  - stag\n",
     "8:5: error: 0: unknown op or block 'stag'", "did you mean 'stage'?"),
    ("undefined_name", "blocks:\n  b:\n    args: {width: int}\n    seq: [conv: {out: $widht, kernel: 1}]\n"
     "layers:\n  - b: {width: 3}\n", "7:23: error: 0.0: undefined name 'widht'; did you mean 'width'?", ""),
    ("undefined_from", "graph:\n  - {name: a, relu: null}\n  - {name: b, add: {}, from: [a, c]}\n",
     "6:30: error: b: 'from' names no entry: 'c'", "expected one of: a, b, image, in"),
    ("cycle", "graph:\n  - {name: a, relu: null, from: b}\n  - {name: b, relu: null, from: a}\n",
     "5:5: error: a: the graph has a cycle: a -> b -> a", ""),
    ("non_positive_size", "layers:\n  - conv: {out: 8, kernel: 5, stride: 4}\n  - conv: {out: 8, kernel: 11}\n",
     "6:5: error: 1: output size -3x-3 is not positive", "pad the input, use a smaller kernel"),
    ("add_mismatch", "layers:\n  - residual:\n      body: [conv: {out: 16, kernel: 3, pad: 1}]\n"
     "      shortcut: [conv: {out: 8, kernel: 1}]\n", "7:17: error: cannot add [N,16,32,32] and [N,8,32,32]",
     "the body ends with 16 channels; give the shortcut conv out: 16"),
    ("concat_mismatch", "layers:\n  - concat:\n    - [conv: {out: 8, kernel: 1}]\n"
     "    - [maxpool: {kernel: 2}]\n", "6:5: error: 0.2: cannot concat [N,8,32,32] and [N,3,16,16] on axis 1",
     "the branches must agree on every other axis"),
    ("linear_in_features", "layers:\n  - flatten\n  - linear: {in: 1024, out: 10}\n",
     "6:5: error: 1: linear declares in: 1024 but its input has 3072 features", "set in: 3072"),
    ("linear_not_flat", "layers:\n  - linear: {out: 10}\n",
     "5:5: error: 0: linear needs a flat [N,F] input, got [N,3,32,32]", "put a flatten"),
    ("negative_repeat", "layers:\n  - repeat: -2\n    body: relu\n",
     "5:13: error: repeat count must be >= 0, got -2", ""),
    ("duplicate_name", "layers:\n  - relu: {name: a}\n  - relu: {name: a}\n",
     "6:5: error: a: two nodes are named 'a'", ""),
    ("two_keys", "layers:\n  - {conv: {out: 8, kernel: 1}, relu: null}\n",
     "5:5: error: an item has exactly one op, block or combinator key; got: conv, relu", ""),
    ("unsafe_expression", "layers:\n  - conv: {out: \"${__import__('os').getpid()}\", kernel: 1}\n",
     "5:17: error: 0: only the functions", ""),
    ("unread_node", "graph:\n  - {name: a, relu: null}\n  - {name: dead, conv: {out: 4, kernel: 1}, from: image}\n"
     "  - {name: b, relu: null, from: a}\n", "6:5: error: dead: nothing reads this node's output",
     "read it with 'from' in a later node or an 'outputs' entry, or remove it"),
    ("version", "layers: [relu]\n", "", ""),  # replaced below: archspec: 2
]


def _spec(case_id: str, body: str) -> str:
    if case_id == "version":
        return HEAD.replace("archspec: 1", "archspec: 2") + body
    return HEAD + body


@pytest.mark.parametrize(("case_id", "body", "expected", "hint"), CASES, ids=[c[0] for c in CASES])
def test_error(case_id: str, body: str, expected: str, hint: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(_spec(case_id, body))
    with pytest.raises(archspec.SpecError) as e:
        archspec.load(path)
    report = e.value.report()
    if case_id == "version":
        expected, hint = "1:11: error: unsupported spec version", "this archspec reads `archspec: 1`"
    assert f"{path}:{expected}" in report, report
    if hint:
        assert f"hint: {hint}" in report, report
    if case_id == "yaml_syntax":
        assert f"note: {path}:5:11: while parsing a flow mapping" in report
    line, lines = int(expected.split(":")[0]), path.read_text().splitlines()
    if line <= len(lines):  # the excerpt quotes the offending line
        assert f" {line} | {lines[line - 1]}" in report


def test_include_outside_allowed_roots(tmp_path: Path) -> None:
    inner = tmp_path / "specs"
    inner.mkdir()
    (tmp_path / "lib.yaml").write_text("blocks:\n  b:\n    seq: [relu]\n")
    spec = inner / "s.yaml"
    spec.write_text(HEAD + "include: [../lib.yaml]\nlayers: [b]\n")
    with pytest.raises(archspec.SpecError) as e:
        archspec.load(spec)
    assert f"{spec}:4:11: error: '../lib.yaml' is outside the allowed roots" in e.value.report()
    assert archspec.load(spec, roots=[tmp_path]).graph.nodes["0.0"].op == "relu"  # allowed when asked


def test_independent_errors_are_all_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD + "layers:\n  - conv: {out: 8, kernal: 3}\n  - rleu\n  - maxpool: {kernel: 2, strid: 2}\n"
                    "  - linear: {out: -1}\n")
    with pytest.raises(archspec.SpecError) as e:
        archspec.load(path)
    lines = [d.pos.line for d in e.value.diagnostics]
    assert lines == [5, 6, 7, 8]


def test_error_inside_a_block_notes_the_call(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD + "blocks:\n  b:\n    seq: [conv: {out: 8, kernel: 64}]\nlayers:\n  - b: {name: x}\n")
    with pytest.raises(archspec.SpecError) as e:
        archspec.load(path)
    d = e.value.diagnostics[0]
    assert (d.path, d.pos.line) == ("x.0", 6)
    assert d.notes[0][0].line == 8 and "in block 'b' called here" in d.notes[0][1]


def test_cli_reports_errors_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD + "layers:\n  - rleu\n")
    r = run_cli("check", str(path))
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert f"{path}:5:5: error: 0: unknown op or block 'rleu'" in r.stderr
    assert r.stderr.rstrip().endswith("1 of 1 spec failed")


def test_cli_usage_errors_exit_2(tmp_path: Path) -> None:
    r = run_cli("summary", "lenet5", "--input", "3xA")
    assert r.returncode == 2 and "--input takes CxHxW" in r.stderr
    r = run_cli("frobnicate")
    assert r.returncode == 2
    r = run_cli("check", "resnet5")
    assert r.returncode == 1 and "no spec file or built-in spec named 'resnet5'" in r.stderr
    assert "did you mean 'resnet50', " in r.stderr  # the closest first


UNREAD = HEAD + ("graph:\n  - {name: a, conv: {out: 8, kernel: 3, pad: 1}}\n"
                 "  - {name: side, conv: {out: 4, kernel: 1}, from: image}\n  - {name: b, relu: null, from: a}\n")


@pytest.mark.parametrize("command", [["check"], ["summary"], ["compile", "--mode", "train"], ["verify"]])
def test_unread_node_is_an_error_in_every_command(command: list[str], tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(UNREAD)
    out = ["-o", str(tmp_path / "m.onnx")] if command[0] == "compile" else []
    r = run_cli(*command, str(path), *out)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert f"{path}:6:5: error: side: nothing reads this node's output" in r.stderr


@pytest.mark.parametrize("train_only", [False, True])
def test_a_node_read_by_an_output_is_read(train_only: bool, tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(UNREAD + f"outputs:\n  - {{name: aux, from: side, train_only: {str(train_only).lower()}}}\n")
    g = archspec.load(path).graph
    assert [(o.name, o.node, o.train_only) for o in g.outputs] == [("output", "b", False), ("aux", "side", train_only)]
