"""The `reference:` key: its forms, its checks (torch-free), `extends`, the JSON Schema, and the
built-ins that declare one."""

from __future__ import annotations

from pathlib import Path

import pytest
from procs import heavy_imports

import archspec
from archspec.errors import SpecError
from archspec.loader import builtin_names
from archspec.reference import REFUSED_KWARGS, split_model

HEAD = "archspec: 1\nname: t\ninput: {shape: [3, 8, 8]}\nlayers: [relu]\n"


def error(text: str, tmp_path: Path | None = None) -> str:
    with pytest.raises(SpecError) as e:
        archspec.loads(text) if tmp_path is None else archspec.load(_write(tmp_path, "spec.yaml", text))
    assert len(e.value.diagnostics) == 1, e.value.report()
    d = e.value.diagnostics[0]
    return f"{d.pos.line}:{d.pos.col}: {d.message}" + (f" | {d.hint}" if d.hint else "")


def _write(folder: Path, name: str, text: str) -> Path:
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def test_string_and_mapping_forms():
    m = archspec.loads(HEAD + "reference: torchvision.mobilenet_v2\n")
    assert m.reference is not None and (m.reference.model, m.reference.kwargs) == ("torchvision.mobilenet_v2", {})
    assert (m.reference.library, m.reference.builder) == ("torchvision", "mobilenet_v2")
    m = archspec.loads(HEAD + "reference: {model: timm.resnet50.a1_in1k, kwargs: {num_classes: 10, drop_rate: 0.5,"
                       " act: null, sizes: [1, 2], cfg: {a: [x]}}}\n")
    assert m.reference is not None and m.reference.builder == "resnet50.a1_in1k"
    assert m.reference.kwargs == {"num_classes": 10, "drop_rate": 0.5, "act": None, "sizes": [1, 2],
                                  "cfg": {"a": ["x"]}}
    assert type(m.reference.kwargs["cfg"]) is dict and type(m.reference.kwargs["sizes"]) is list  # plain, no SDict
    assert archspec.loads(HEAD).reference is None


@pytest.mark.parametrize(("line", "expected"), [
    ("reference: os.system", "5:12: reference.model: the library must be one of torchvision, timm"),
    ("reference: torchvision.models.resnet50", "5:12: reference.model: 'models.resnet50' is no torchvision "
                                               "constructor name"),
    ("reference: torchvision.__import__", "5:12: reference.model: '__import__' is no torchvision constructor name"),
    ("reference: timm.a;b", "5:12: reference.model: 'a;b' is no timm constructor name"),
    ("reference: {model: torchvision.resnet50, kwargs: {weights: DEFAULT}}",
     "5:50: reference.kwargs: 'weights' cannot be given: a reference is built randomly initialised"),
    ("reference: {model: timm.resnet50, kwargs: {pretrained: true}}", "5:43: reference.kwargs: 'pretrained'"),
    ("reference: {model: timm.resnet50, kwargs: {when: 2020-01-01}}",
     "5:43: reference.kwargs: 'when': a date is no plain YAML value"),
    ("reference: {model: torchvision.resnet50, kwarg: {}}", "5:49: unknown key 'reference.kwarg' | did you mean"),
    ("reference: {kwargs: {}}", "5:12: missing required key 'reference.model'"),
    ("reference: 3", "5:12: reference: write torchvision.<name>, timm.<name> or {model"),
])
def test_bad_references_are_reported_at_their_line(line: str, expected: str):
    assert error(HEAD + line + "\n").startswith(expected)


def test_refused_kwargs_are_what_would_fetch_or_read_weights():
    assert {"weights", "pretrained", "checkpoint_path", "pretrained_cfg"} <= REFUSED_KWARGS
    assert split_model("torchvision.DenseNet") == ("torchvision", "DenseNet")
    with pytest.raises(ValueError):
        split_model("torchvision.")


def test_inherited_through_extends_and_merged_key_by_key(tmp_path: Path):
    _write(tmp_path, "base.yaml", HEAD + "reference: {model: torchvision.vgg11, kwargs: {init_weights: true, "
                                         "dropout: 0.5}}\n")
    child = "archspec: 1\nextends: base.yaml\nname: c\n"
    m = archspec.load(_write(tmp_path, "same.yaml", child))
    assert m.reference is not None and m.reference.model == "torchvision.vgg11"
    m = archspec.load(_write(tmp_path, "member.yaml", child + "reference: torchvision.vgg13_bn\n"))
    assert m.reference is not None and m.reference.model == "torchvision.vgg13_bn"
    assert m.reference.kwargs == {"init_weights": True, "dropout": 0.5}
    m = archspec.load(_write(tmp_path, "kw.yaml", child + "reference: {kwargs: {dropout: 0.2, num_classes: 10}}\n"))
    assert m.reference is not None and m.reference.model == "torchvision.vgg11"
    assert m.reference.kwargs == {"init_weights": True, "dropout": 0.2, "num_classes": 10}
    assert archspec.load(_write(tmp_path, "none.yaml", child + "reference: null\n")).reference is None
    # an error in the child's part is reported at the child's line
    got = error(child + "reference: {kwargs: {weights: x}}\n", tmp_path)
    assert got.startswith("4:21: reference.kwargs: 'weights'")


def test_json_schema_accepts_the_forms_and_refuses_other_libraries():
    jsonschema = pytest.importorskip("jsonschema")
    from archspec.schema import json_schema

    v = jsonschema.Draft202012Validator(json_schema())
    spec = {"archspec": 1, "name": "x", "input": {"shape": [3, 8, 8]}, "layers": ["relu"]}
    good = ["torchvision.resnet50", {"model": "timm.resnet50", "kwargs": {"num_classes": 3}}, None]
    assert all(v.is_valid({**spec, "reference": r}) for r in good)
    bad = ["os.system", {"model": "torchvision.resnet50", "kwarg": {}}, {"model": "builtins.eval"}, 3]
    assert not any(v.is_valid({**spec, "reference": r}) for r in bad)


def test_builtins_declare_their_references():
    refs = {n: archspec.load(n).reference for n in builtin_names()}
    declared = {n: (r.model, r.kwargs) for n, r in refs.items() if r is not None}
    assert declared["resnet50"] == ("torchvision.resnet50", {})
    assert declared["googlenet"] == ("torchvision.googlenet", {"aux_logits": True, "init_weights": True})
    assert declared["densenet264"] == ("torchvision.DenseNet", {"growth_rate": 32, "block_config": [6, 12, 64, 48],
                                                                "num_init_features": 64})
    assert declared["inception_resnet_v2"] == ("timm.inception_resnet_v2", {})
    assert "lenet5" not in declared and "alexnet2012" not in declared


def test_check_and_summary_of_a_spec_with_a_reference_import_no_torch():
    assert heavy_imports(["check", "resnet18"], ["summary", "googlenet"]) == set()
