"""Weights: PyTorch's default initialisation from a seed, files read without torch, torch
checkpoints, and errors that name the key."""

from __future__ import annotations

import math

import numpy as np
import pytest
from onnx_cases import every_op, run, scale_diff

import archspec
from archspec.parallel import Deferred, resolve
from archspec.weights import DEFER_BYTES, WeightsError, check_weights, init_weights, load_weights, save_weights


def test_init_follows_pytorch_defaults(resnet18):
    w = init_weights(resnet18.graph, seed=0)
    conv = w["layer1.0.conv1.weight"]  # fan_in 64 * 3 * 3
    bound = 1 / math.sqrt(64 * 9)
    assert conv.dtype == np.float32 and conv.shape == (64, 64, 3, 3)
    assert np.abs(conv).max() <= bound and np.abs(conv).max() > 0.99 * bound
    assert abs(conv.std() - bound / math.sqrt(3)) < 0.02 * bound and abs(conv.mean()) < 0.02 * bound
    fc_bound = 1 / math.sqrt(512)
    assert np.abs(w["fc.bias"]).max() <= fc_bound and np.abs(w["fc.bias"]).max() > 0.9 * fc_bound
    assert (w["bn1.weight"] == 1).all() and (w["bn1.bias"] == 0).all()
    assert (w["bn1.running_mean"] == 0).all() and (w["bn1.running_var"] == 1).all()
    assert set(w) == {f"{n.name}.{k}" for n in resnet18.graph.nodes.values() for k in (*n.weights, *n.buffers)}
    ops = every_op()
    assert init_weights(ops.graph)["act.a"].tolist() == [pytest.approx(0.8)]  # elu's a starts at params.a


def test_deferred_draws_give_the_same_values(resnet18):
    eager, lazy = init_weights(resnet18.graph, 5), init_weights(resnet18.graph, 5, defer=True)
    assert list(lazy) == list(eager)
    big = {k for k, v in eager.items() if v.nbytes >= DEFER_BYTES}  # (a node's arrays together, here)
    assert big and {k for k, v in lazy.items() if isinstance(v, Deferred)} >= big
    for k, v in lazy.items():
        assert (v.shape, v.dtype) == (eager[k].shape, eager[k].dtype) and np.array_equal(resolve(v), eager[k])
    d = lazy["layer4.1.conv2.weight"]
    doubled = d.then(lambda a: a * 2)
    with pytest.raises(RuntimeError, match="handed on"):
        d.result()  # its one consumer has it
    assert np.array_equal(doubled.result(), 2 * eager["layer4.1.conv2.weight"])


def test_init_is_distributed_as_torchs(resnet18):
    """archspec's numpy init and torch's own layer init draw from the same distribution."""
    import torch

    torch.manual_seed(0)
    conv, lin = torch.nn.Conv2d(64, 64, 3), torch.nn.Linear(512, 1000)
    ours = init_weights(resnet18.graph, seed=0)
    for key, t in (("layer1.0.conv1.weight", conv.weight), ("fc.weight", lin.weight), ("fc.bias", lin.bias)):
        a, b = ours[key], t.detach().numpy()
        assert a.shape == b.shape, key
        assert abs(np.abs(a).max() - np.abs(b).max()) < 0.01 * np.abs(b).max(), key  # same bound
        assert abs(a.std() - b.std()) < 0.03 * b.std(), key  # same spread: uniform on that bound


def test_init_is_seeded_and_per_node(resnet18):
    a, b = init_weights(resnet18.graph, 1), init_weights(resnet18.graph, 1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["conv1.weight"], init_weights(resnet18.graph, 2)["conv1.weight"])
    r34 = init_weights(archspec.load("resnet34").graph, 1)  # same path, same seed: same values
    assert np.array_equal(a["layer1.0.conv1.weight"], r34["layer1.0.conv1.weight"])


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_save_and_load_without_torch(tmp_path, resnet18, suffix):
    w = init_weights(resnet18.graph, 5)
    path = save_weights(tmp_path / f"w{suffix}", w)
    back = load_weights(path)
    assert set(back) == set(w) and all(np.array_equal(back[k], w[k]) for k in w)
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    from_file = run(resnet18.to_onnx(weights=path), x)["logits"]
    assert scale_diff(from_file, run(resnet18.to_onnx(seed=5), x)["logits"]) == 0


@pytest.mark.parametrize("wrap", [False, True])
def test_torch_checkpoint_runs_like_torchvision(tmp_path, resnet18, wrap):
    """torchvision's resnet18 state_dict (num_batches_tracked included) compiles to a model that
    computes what torchvision computes."""
    torch = pytest.importorskip("torch")
    tv = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    net = tv.models.resnet18().eval()
    for m in net.modules():  # non-trivial BN statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.bias.data.normal_(0, 0.1)
    sd = net.state_dict()
    path = tmp_path / "ckpt.pt"
    torch.save({"model": sd, "epoch": 3} if wrap else sd, path)
    x = np.random.default_rng(0).standard_normal((2, 3, 224, 224)).astype(np.float32)
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    assert scale_diff(run(resnet18.to_onnx(weights=path), x)["logits"], want) < 1e-4


def test_errors_name_the_keys(tmp_path, resnet18):
    w = init_weights(resnet18.graph)
    del w["fc.bias"]
    w["layer1.0.conv1.weight"] = np.zeros((64, 64, 1, 1), np.float32)
    w["fc2.weight"] = np.zeros(3, np.float32)
    w["bn1.num_batches_tracked"] = np.zeros((), np.int64)  # torch bookkeeping: ignored
    with pytest.raises(WeightsError) as e:
        check_weights(resnet18.graph, w, resnet18.graph.nodes.values())
    msg = str(e.value)
    assert "missing 'fc.bias' [1000]" in msg
    assert "'layer1.0.conv1.weight' has shape [64, 64, 1, 1], expected [64, 64, 3, 3]" in msg
    assert "unexpected 'fc2.weight'" in msg and "num_batches_tracked" not in msg
    with pytest.raises(WeightsError, match="no weights file"):
        load_weights(tmp_path / "absent.npz")
    (tmp_path / "w.txt").write_text("x")
    with pytest.raises(WeightsError, match="unknown weights format"):
        load_weights(tmp_path / "w.txt")
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(WeightsError, match="cannot read weights"):
        load_weights(tmp_path / "bad.safetensors")


def test_deploy_needs_no_train_only_weights():
    model = every_op()
    w = init_weights(model.graph)
    eval_only = {k: v for k, v in w.items() if not k.startswith("aux.")}
    x = np.random.default_rng(0).standard_normal((2, *model.input_shape)).astype(np.float32)
    got, want = run(model.to_onnx(weights=eval_only), x), run(model.to_onnx(weights=w), x)
    assert got.keys() == want.keys() and all(np.array_equal(got[k], want[k]) for k in want)
    with pytest.raises(WeightsError, match=r"missing 'aux\.fc\.weight'"):
        model.to_onnx(weights=eval_only, mode="train")
