"""Dataset archives (.npz with x and y) read by one checked loader, archspec.npz: training data
(`train --data`, a recipe's data) and calibration data (`compile --calibrate`). A broken or hostile
archive is an error naming it, never a traceback: a truncated file ended both in BadZipFile."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from archspec.cli import main
from archspec.limits import LIMITS
from archspec.npz import NpzError, load_labelled

GOOD = {"x": np.zeros((20, 1, 8, 8), np.float32), "y": np.arange(20) % 10}


def broken(tmp_path: Path, kind: str) -> Path:
    """An archive that is wrong in one way, `kind`."""
    path = tmp_path / f"{kind}.npz"
    arrays = dict(GOOD)
    if kind == "truncated":
        np.savez(tmp_path / "whole.npz", **GOOD)
        path.write_bytes((tmp_path / "whole.npz").read_bytes()[:300])
        return path
    if kind == "not_a_zip":
        path.write_bytes(b"x,y\n1,2\n")
        return path
    arrays |= {"no_y": {"y": None}, "empty": {"x": GOOD["x"][:0], "y": GOOD["y"][:0]},
               "nan": {"x": np.full((20, 1, 8, 8), np.nan, np.float32)},
               "negative_label": {"y": GOOD["y"] - 1}, "float_labels": {"y": GOOD["y"].astype(np.float32)},
               "lengths": {"y": GOOD["y"][:5]}, "strings": {"x": np.array(["a"] * 20)},
               "classes_2d": {"classes": np.zeros((2, 5))}}[kind]
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


MESSAGES = {"truncated": "not a readable .npz file (BadZipFile", "not_a_zip": "not a readable .npz file",
            "no_y": "lacks array y (has: x)", "empty": "holds no images", "nan": "hold NaN or infinite values",
            "negative_label": "labels must be 0 or more, found -1",
            "float_labels": "y N integer labels; got x [20, 1, 8, 8] float32, y [20] float32",
            "lengths": "got x [20, 1, 8, 8] float32, y [5] int64", "strings": "x must be N images",
            "classes_2d": "classes must be a list of names, got an array of shape [2, 5]"}


@pytest.mark.parametrize("kind", sorted(MESSAGES))
def test_broken_archives_are_errors_naming_them(tmp_path: Path, kind: str):
    path = broken(tmp_path, kind)
    with pytest.raises(NpzError) as e:
        load_labelled(path)
    assert MESSAGES[kind] in str(e.value) and str(path) in str(e.value)


@pytest.mark.parametrize("kind", ["truncated", "nan", "no_y"])
def test_calibration_and_training_report_them_without_a_traceback(tmp_path: Path, kind: str, capsys):
    path = broken(tmp_path, kind)
    assert main(["compile", "lenet5", "--quantize", "int8", "--calibrate", str(path),
                 "-o", str(tmp_path / "q.onnx")]) == 1
    err = capsys.readouterr().err
    assert "error:" in err and MESSAGES[kind] in err and "Traceback" not in err
    assert not (tmp_path / "q.onnx").exists()
    assert main(["train", "lenet5", "--data", str(path), "--epochs", "1", "--out", str(tmp_path / "run"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "error: --data:" in err and MESSAGES[kind] in err and "Traceback" not in err


def test_a_dataset_zip_bomb_is_refused_before_inflating(tmp_path: Path, monkeypatch):
    """A member whose header declares more than the limit: refused from the zip directory."""
    monkeypatch.setattr(LIMITS, "array_bytes", 16 << 20)
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("x.npy", "w", force_zip64=True) as f:
            header = np.lib.format.header_data_from_array_1_0(np.zeros((0, 1, 8, 8), np.float32))
            header["shape"] = (LIMITS.array_bytes // 256 + 64, 1, 8, 8)
            np.lib.format.write_array_header_1_0(f, header)
            for _ in range(LIMITS.array_bytes // (1 << 22) + 2):
                f.write(bytes(1 << 22))
        with z.open("y.npy", "w") as f:
            np.lib.format.write_array(f, np.zeros(4, np.int64))
    assert path.stat().st_size < 1 << 20
    with pytest.raises(NpzError, match=r"'x.npy' inflates to [0-9,]+ bytes \(limit array_bytes=16,777,216"):
        load_labelled(path)


def test_layouts_are_turned_to_nchw(tmp_path: Path):
    np.savez(tmp_path / "hwc.npz", x=np.arange(20 * 8 * 8 * 3, dtype=np.uint8).reshape(20, 8, 8, 3), y=GOOD["y"],
             classes=np.array([f"c{i}" for i in range(10)]))
    np.savez(tmp_path / "hw.npz", x=np.zeros((20, 8, 8), np.float32), y=GOOD["y"])
    x, y, classes = load_labelled(tmp_path / "hwc.npz")
    assert x.shape == (20, 3, 8, 8) and x[1, 2, 3, 4] == (1 * 192 + 3 * 24 + 4 * 3 + 2) % 256
    assert classes == [f"c{i}" for i in range(10)] and y.tolist() == GOOD["y"].tolist()
    assert load_labelled(tmp_path / "hw.npz")[0].shape == (20, 1, 8, 8)


def test_a_corrupt_compressed_member_is_an_error(tmp_path: Path):
    """A deflated member whose stream is corrupt: zlib's error, reported (it was a traceback)."""
    path = tmp_path / "c.npz"
    np.savez_compressed(path, x=np.random.default_rng(0).random((20, 1, 8, 8)).astype(np.float32), y=GOOD["y"])
    with zipfile.ZipFile(path) as z:
        start = z.getinfo("x.npy").header_offset
    data = bytearray(path.read_bytes())
    name, extra = (int.from_bytes(data[start + k:start + k + 2], "little") for k in (26, 28))
    stream = start + 30 + name + extra  # the member's deflate stream: its first block header
    data[stream:stream + 8] = b"\xff" * 8  # block type 3, which deflate reserves
    path.write_bytes(bytes(data))
    with pytest.raises(NpzError, match=r"not a readable \.npz file \(error: Error -3 .*invalid block type"):
        load_labelled(path)


def test_calibration_images_must_have_the_models_channels(tmp_path: Path, capsys):
    np.savez(tmp_path / "rgb.npz", x=np.zeros((20, 3, 8, 8), np.float32), y=GOOD["y"])
    assert main(["compile", "lenet5", "--quantize", "int8", "--calibrate", str(tmp_path / "rgb.npz"),
                 "-o", str(tmp_path / "q.onnx")]) == 1
    err = capsys.readouterr().err
    assert "has 3-channel images but the model takes 1 (input [1, 32, 32])" in err and "Traceback" not in err
