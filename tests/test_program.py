"""The Program, the front end's one product for backends: what it carries, and what depends on the
input size, found once and only when --dynamic-hw asks."""

from __future__ import annotations

import dataclasses

import pytest

import archspec
import archspec.frontend
from archspec.onnx_backend import CompileError, to_onnx

ODD = """
archspec: 1
name: odd
description: two branches that agree at 7x7 only
input: {name: x, shape: [3, 7, 7]}
graph:
  - {name: a, conv: {out: 4, kernel: 3, stride: 2, pad: 1}, from: x}
  - {name: b, conv: {out: 4, kernel: 4}, from: x}
  - {name: s, add: {}, from: [a, b]}
"""


def test_what_a_program_carries(resnet18):
    p = resnet18.program
    assert p is resnet18.program and dataclasses.is_dataclass(p)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.spec_hash = ""
    assert (p.name, p.input, p.input_shape, p.spec_hash) == ("resnet18", "image", (3, 224, 224), resnet18.spec_hash)
    assert p.graph is resnet18.graph and p.description == resnet18.spec.description
    assert p.labels == tuple(resnet18.spec.labels) and len(p.labels) == 1000 and p.labels[0] == "tench"
    assert p.preprocess == {"resize": 256, "crop": 224, "scale": 1 / 255, "channels": "rgb",
                            "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    assert set(p.sources) == set(resnet18.graph.nodes) and p.sources["fc"].startswith("builtin:lib/resnet.yaml:")
    assert archspec.load("lenet5").program.labels == tuple(str(i) for i in range(10))


def test_the_size_dependence_is_found_once_and_only_when_asked(monkeypatch):
    calls = []
    expand = archspec.frontend.expand
    monkeypatch.setattr(archspec.frontend, "expand", lambda *a: calls.append(a[1]) or expand(*a))
    model = archspec.load("resnet18")
    model.to_onnx()
    assert calls == []
    dep = model.program.size_dependence()
    assert model.program.size_dependence() is dep and calls == [(3, 448, 448)]
    assert dep.size == (3, 448, 448) and not dep.error and not dep.sized_weights
    assert dep.varying["image"] == (False, True, True) and dep.varying["fc"] == (False,)
    lenet = archspec.load("lenet5").program.size_dependence()
    assert lenet.sized_weights == {"f5"}  # the linear after the flatten


def test_dynamic_hw_errors_come_from_the_program():
    program = archspec.loads(ODD).program
    assert program.size_dependence().error == "cannot add [N,4,7,7] and [N,4,11,11]"
    with pytest.raises(CompileError, match=r"^--dynamic-hw: odd does not accept a 14x14 input: cannot add"):
        to_onnx(program, dynamic_hw=True)
    proto = to_onnx(program)  # the backend takes the Program alone
    assert proto.doc_string == "two branches that agree at 7x7 only" and proto.graph.name == "odd"
