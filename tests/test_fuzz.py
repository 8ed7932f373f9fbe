"""Property tests over random specs (tools/fuzzing): well-formed specs from the grammar have
consistent totals, compile to models the full ONNX checker accepts and run alike on onnxruntime
and torch; mutated built-ins fail only with a SpecError. The bounded campaign of tools/fuzz.py
is `slow`: CI runs it, `-m "not slow"` leaves it out."""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from fuzzing import mutate, wellformed  # noqa: E402
from fuzzing.numerics import TOLERANCE, check_spec  # noqa: E402

import archspec  # noqa: E402
from archspec.errors import SpecError  # noqa: E402

randoms = st.randoms(use_true_random=False)


def bounded(n: int) -> settings:
    return settings(max_examples=n, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@bounded(60)
@given(randoms)
def test_summary_totals_are_the_sum_of_the_nodes(r: random.Random):
    model = archspec.loads(wellformed.spec_text(r))
    nodes = [n for n in model.graph.nodes.values() if not n.train_only]
    assert model.params == sum(n.params_count for n in nodes) > 0
    assert model.macs == sum(n.macs for n in nodes)
    assert model.buffers == sum(n.buffers_count for n in nodes)


@bounded(15)
@given(randoms)
def test_random_specs_pass_the_full_onnx_checker(r: random.Random):
    import onnx

    model = archspec.loads(wellformed.spec_text(r))
    proto = model.to_onnx()
    onnx.checker.check_model(proto, full_check=True)
    assert len(proto.graph.initializer) > 0


@bounded(5)
@given(randoms)
def test_onnxruntime_equals_torch_on_random_specs(r: random.Random):
    """Deploy and train mode, within TOLERANCE (1e-4) of each output's largest |value|."""
    assert TOLERANCE == 1e-4
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "net.yaml"
        path.write_text(wellformed.spec_text(r))
        assert check_spec(path) == ""


@bounded(40)
@given(randoms)
def test_mutated_built_ins_raise_only_spec_errors(r: random.Random):
    case = mutate.case(r)
    if case.argv[0] == "train":  # a recipe: the campaign trains it
        return
    with tempfile.TemporaryDirectory() as d:
        for rel, data in case.files.items():
            (Path(d) / rel).parent.mkdir(parents=True, exist_ok=True)
            (Path(d) / rel).write_bytes(data)
        try:
            model = archspec.load(Path(d) / "spec.yaml")
        except SpecError as e:
            assert e.diagnostics and "Traceback" not in e.report()
        else:
            assert model.params >= 0


@pytest.mark.slow
def test_a_bounded_campaign_has_no_failures(tmp_path: Path):
    sys.path.insert(0, str(ROOT / "tools"))
    import fuzz

    rc = fuzz.main(
        [
            "--cases",
            "300",
            "--seed",
            "0",
            "--jobs",
            "2",
            "-q",
            "--keep",
            str(tmp_path / "failures"),
            "--out",
            str(tmp_path / "report.json"),
        ]
    )
    failures = sorted(p.name for p in (tmp_path / "failures").glob("*"))
    assert rc == 0 and not failures, failures


def test_the_classifier_names_each_outcome(tmp_path: Path):
    from fuzzing.runner import classify

    (tmp_path / "s.yaml").write_text("a: 1\nbb: 2\n")
    err = "s.yaml:{}: error: x\n1 error\n"
    assert classify(0, "", "", tmp_path) == ("ok", "")
    assert classify(1, "", err.format("2:6"), tmp_path)[0] == "user_error"  # column = line's end + 1
    assert classify(1, "", err.format("2:7"), tmp_path)[0] == "position"
    assert classify(1, "", err.format("3:1"), tmp_path)[0] == "position"
    assert classify(3, "", "archspec: internal error: KeyError: 'a'", tmp_path)[0] == "traceback"
    assert classify(1, "", "archspec: error: out of memory (use a smaller batch)", tmp_path)[0] == "blowup"
    assert classify(3, "FAILED: outputs differ past the tolerance", "", tmp_path)[0] == "mismatch"
    assert classify(-11, "", "", tmp_path)[0] == "traceback"
