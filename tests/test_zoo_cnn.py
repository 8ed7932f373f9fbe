"""The classic torchvision CNN families of the zoo (VGG, SqueezeNet, ResNeXt, Wide ResNet,
Inception v3, RegNet): what the generic zoo tests do not cover (their state_dict layouts are
checked against torchvision's modules built on the meta device, every member, in test_zoo.py).
Figures come from torchvision's weights metadata (test_zoo.py); equality on randomised weights
from tests/test_torch_builtins.py."""

from __future__ import annotations

from functools import cache

import pytest

import archspec
from archspec.loader import builtin_names

VGG = [f"vgg{d}{bn}" for d in (11, 13, 16, 19) for bn in ("", "_bn")]
RESNEXT = ["resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2"]
REGNET = [n for n in builtin_names() if n.startswith("regnet_")]
FAMILIES = [*VGG, "squeezenet1_0", "squeezenet1_1", *RESNEXT, "inception_v3", *REGNET]


@cache
def model(name: str) -> archspec.Model:
    return archspec.load(name)


def test_the_families_are_built_in():
    assert set(FAMILIES) <= set(builtin_names())
    assert len(REGNET) == 15  # every size torchvision.models lists: 7 RegNetX, 8 RegNetY


def test_inception_v3_aux_head_is_train_only():
    """torchvision's pretrained Inception v3 keeps its AuxLogits: its weights' num_params
    (27,161,264) is the train graph's; the deploy graph drops the head's 3,326,696."""
    m = model("inception_v3")
    assert [(o.name, o.train_only) for o in m.graph.outputs] == [("logits", False), ("AuxLogits", True)]
    assert m.params == 23_834_568 and m.train_params == 27_161_264
    assert m.graph.nodes["AuxLogits.0"].shape == (768, 5, 5)
    assert m.graph.nodes["AuxLogits.conv1.conv"].shape == (768, 1, 1)


def test_regnet_se_squeezes_a_quarter_of_the_block_input():
    """RegNetY's SE width is round(0.25 * the block's input width), not of its output width."""
    g = model("regnet_y_400mf").graph
    assert g.nodes["trunk_output.block2.block2-0.f.se.fc1"].shape[0] == 12  # 0.25 * 48
    assert g.nodes["trunk_output.block2.block2-1.f.se.fc1"].shape[0] == 26  # 0.25 * 104
    assert model("regnet_y_128gf").params * 4 > 2**31  # past protobuf: the test below, no build


def test_a_model_past_protobuf_is_a_clear_error_in_memory(monkeypatch):
    """Past 2 GiB of weights (regnet_y_128gf: 644,812,894 float32 params, 2.58 GB) a model cannot
    be one protobuf message: `archspec compile` writes the weights as external data
    (onnx_backend/save.py), and an in-memory ModelProto is a clear error instead of protobuf's
    'Wire format was corrupt'. Checked on LeNet-5 under a lowered limit: no test builds 2.6 GB."""
    from archspec.onnx_backend import emit
    from archspec.onnx_backend.save import EXTERNAL_DATA_THRESHOLD

    assert emit.PROTOBUF_LIMIT > EXTERNAL_DATA_THRESHOLD  # what save_onnx writes inline always fits
    small = archspec.load("lenet5")
    monkeypatch.setattr(emit, "PROTOBUF_LIMIT", small.params * 4 - 1)
    with pytest.raises(emit.CompileError, match=r"past protobuf's 2 GiB limit.*external data"):
        small.to_onnx()
