"""Crafted non-spec inputs: weights files, ONNX files, images and arrays, checkpoints and run
folders, recipes and command-line options. Templates made once per campaign (a real run folder,
ONNX model and weights of LeNet-5: `templates.make`) are read from $ARCHSPEC_FUZZ_TEMPLATES."""

from __future__ import annotations

import io
import json
import os
import random
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from fuzzing import Case

HOSTILE = ["x", None, -1, 0, 10**30, 2**63, float("nan"), float("inf"), [], {}, [1, "a"], True, b"\x00"]


def templates() -> Path:
    return Path(os.environ["ARCHSPEC_FUZZ_TEMPLATES"])


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=True)
    return buf.getvalue()


def _npy_header(header: str) -> bytes:
    h = header.encode("latin1")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h


def _npz(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for k, v in members.items():
            z.writestr(k, v)
    return buf.getvalue()


def _arrays(r: random.Random) -> np.ndarray:
    return r.choice(
        [
            np.array(["a", "b"]),
            np.array([np.datetime64("2020-01-01")]),
            np.zeros(3, ">f4"),
            np.zeros(3, [("a", "<f4"), ("b", "<i4")]),
            np.array([1, None], dtype=object),
            np.zeros((6, 1, 5, 5), np.float16),
            np.full(6, np.nan, np.float32),
            np.zeros((0,), np.float32),
            np.zeros((6, 1, 5, 5), np.complex64),
            np.zeros((6, 1, 5, 5), np.int64),
            np.zeros(1, np.float32),
        ]
    )


def _safetensors(header: Any, data: bytes = b"") -> bytes:
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def weights_case(r: random.Random) -> Case:
    real = (templates() / "lenet5.npz").read_bytes()
    kind = r.choice(["npz", "npz", "safetensors", "pt", "truncated", "empty", "text"])
    if kind == "npz":
        sub = r.choice(["dtype", "header", "bomb", "intkey", "members", "nested", "stored"])
        if sub == "dtype":
            data = _npz({"c1.weight.npy": _npy(_arrays(r))})
        elif sub == "header":
            data = _npz(
                {
                    "c1.weight.npy": _npy_header(
                        r.choice(
                            [
                                "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }",
                                "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
                                "{'descr': 'O', 'fortran_order': False, 'shape': (1,), }",
                                "{'descr': '<f4', 'shape': (6, 1, 5, 5), }",
                                "x" * 60000,
                                "{'descr': '<f4', 'fortran_order': False, 'shape': (9**99,), }",
                            ]
                        )
                    )
                }
            )
        elif sub == "bomb":
            data = _npz(
                {
                    "c1.weight.npy": _npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1073741824,), }")
                    + bytes(1 << 24)
                }
            )
        elif sub == "intkey":
            data = _npz({"0.npy": _npy(np.zeros(3, np.float32)), " .npy": _npy(np.zeros(1, np.float32))})
        elif sub == "members":
            data = _npz({f"m{i}.npy": b"" for i in range(r.choice([10, 100001]))}, zipfile.ZIP_STORED)
        elif sub == "nested":
            data = _npz({"../../etc/x.npy": _npy(np.zeros(1, np.float32)), "a/b.npy": b"\x93NUMPY"})
        else:
            data = real[: r.randrange(len(real))]
        name = "w.npz"
    elif kind == "safetensors":
        hdr = r.choice(
            [
                {"c1.weight": {"dtype": "F32", "shape": [6, 1, 5, 5], "data_offsets": [0, 10**12]}},
                {"c1.weight": {"dtype": "F32", "shape": [2**40], "data_offsets": [0, 4]}},
                {"c1.weight": {"dtype": "STR", "shape": [1], "data_offsets": [0, 4]}},
                [1, 2],
                "x",
                {"c1.weight": {"dtype": "F32", "shape": [-1], "data_offsets": [4, 0]}},
                {"__metadata__": {"a": 1}},
                b"{" * 1000,
            ]
        )
        data = _safetensors(hdr, bytes(16)) if r.random() < 0.8 else struct.pack("<Q", 2**62) + b"{}"
        name = "w.safetensors"
    elif kind == "pt":
        data, name = _pt(r), "w.pt"
    else:
        data = {"truncated": real[:100], "empty": b"", "text": b"hello\n"}[kind]
        name = r.choice(["w.npz", "w.safetensors", "w.pt", "w.bin"])
    command = r.choice(["compile", "verify", "run"])
    argv = {
        "compile": ["compile", "lenet5", "--weights", name, "-o", "out.onnx"],
        "verify": ["verify", "lenet5", "--weights", name],
        "run": ["run", "lenet5", "--weights", name, "--input", "x.npy"],
    }[command]
    return Case(f"{kind} {command}", argv, {name: data, "x.npy": _npy(np.zeros((1, 32, 32), np.float32))})


def _pt(r: random.Random) -> bytes:
    import pickle

    import torch

    buf = io.BytesIO()
    obj = r.choice(
        [
            {"c1.weight": "x"},
            {1: torch.zeros(1)},
            [torch.zeros(1)],
            {"state_dict": {"c1.weight": torch.zeros(2, 2)}},
            {"model": 5},
            {"c1.weight": torch.zeros(6, 1, 5, 5, dtype=torch.bool)},
            None,
            {"c1.weight": torch.full((6, 1, 5, 5), float("nan"))},
            {"c1.weight": torch.zeros(6, 1, 5, 5).to_sparse()},
        ]
    )
    if r.random() < 0.2:
        return pickle.dumps(os.getcwd) + b"\x00"  # pickled code, outside torch's zip format
    torch.save(obj, buf)
    data = buf.getvalue()
    return data[: r.randrange(len(data))] if r.random() < 0.2 else data


def onnx_case(r: random.Random) -> Case:
    import onnx
    from onnx import TensorProto, helper

    real = (templates() / "lenet5.onnx").read_bytes()
    kind = r.choice(["truncated", "empty", "garbage", "graph", "graph", "graph", "flipped"])
    if kind in ("truncated", "empty", "garbage", "flipped"):
        data = {
            "truncated": real[: r.randrange(len(real))],
            "empty": b"",
            "garbage": os.urandom(r.randint(1, 4000)),
            "flipped": _flip(r, real),
        }[kind]
    else:
        m = onnx.load_from_string(real)
        g = m.graph
        sub = r.choice(["noinput", "noinit", "scalar", "sequence", "huge", "int", "twoin", "noout", "opset", "badnode"])
        if sub == "noinput":
            del g.input[:]
        elif sub == "noinit":
            del g.initializer[:]
        elif sub in ("scalar", "sequence", "huge", "int"):
            vi = {
                "scalar": lambda: helper.make_tensor_value_info("image", TensorProto.FLOAT, []),
                "sequence": lambda: helper.make_tensor_sequence_value_info("image", TensorProto.FLOAT, None),
                "huge": lambda: helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, 2**40, 2**40]),
                "int": lambda: helper.make_tensor_value_info("image", TensorProto.INT64, ["N", 1, 32, 32]),
            }[sub]()
            g.input[0].CopyFrom(vi)
        elif sub == "twoin":
            g.input.append(helper.make_tensor_value_info("extra", TensorProto.FLOAT, [1]))
        elif sub == "noout":
            del g.output[:]
        elif sub == "opset":
            m.opset_import[0].version = r.choice([1, 99, -5])
        else:
            g.node[0].op_type = r.choice(["NoSuchOp", "Loop", ""])
        data = m.SerializeToString()
    argv = r.choice([["run", "m.onnx", "--input", "x.npy"], ["bench", "m.onnx", "--iters", "2", "--warmup", "0"]])
    if r.random() < 0.3:  # the second runtime reads the same hostile files (skipped where it is absent)
        argv += ["--runtime", "openvino"]
    return Case(kind, argv, {"m.onnx": data, "x.npy": _npy(np.zeros((1, 32, 32), np.float32))})


def _flip(r: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(r.randint(1, 20)):
        b[r.randrange(len(b))] = r.randrange(256)
    return bytes(b)


def _png(w: int, h: int, body: bytes | None = None) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    idat = zlib.compress(body if body is not None else bytes(min(w * 3 + 1, 1 << 16)) * min(h, 8))  # a bomb's header
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


def input_case(r: random.Random) -> Case:
    kind = r.choice(["bomb", "png", "truncated", "npy", "npyheader", "text", "many"])
    if kind == "bomb":
        data, name = _png(r.choice([10000, 20000, 65535, 2**31 - 1]), r.choice([10000, 20000, 1])), "x.png"
    elif kind == "png":
        data, name = _png(r.randint(1, 64), r.randint(1, 64)), "x.png"
    elif kind == "truncated":
        full = _png(40, 40, os.urandom(41 * 40 * 3))
        data, name = full[: r.randrange(len(full))], r.choice(["x.png", "x.jpg"])
    elif kind == "npy":
        a = r.choice(
            [
                np.zeros((1, 32, 32), np.float32),
                np.zeros((1, 32, 32), ">f4"),
                np.zeros((5000, 1, 32, 32), np.float32),
                np.zeros((3, 32, 32), np.float32),
                np.zeros((32, 32), np.uint8),
                np.zeros(0, np.float32),
                np.array(["a"]),
                np.array([None], dtype=object),
                np.full((1, 32, 32), np.inf, np.float32),
                np.zeros((1, 1, 1, 1, 32, 32), np.float32),
                np.zeros((1, 32, 32), np.complex64),
                np.zeros((1, 32, 32), bool),
            ]
        )
        data, name = _npy(a), "x.npy"
    elif kind == "npyheader":
        data = _npy_header(
            r.choice(
                [
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1, 32, 32), }",
                    "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 32, 32), }",
                    "{" * 5000,
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 32, 32), }",
                ]
            )
        ) + bytes(100)
        name = "x.npy"
    elif kind == "text":
        data, name = r.choice([b"", b"hello", b"\x00" * 100]), r.choice(["x.npy", "x.png", "x.jpg", "x.txt", "x"])
    else:
        data, name = _npy(np.zeros((1, 32, 32), np.float32)), "x.npy"
    extra = ["--input", *([name] * r.choice([1, 2, 50]))] if kind == "many" else ["--input", name]
    model = r.choice(["lenet5", "lenet5", "m.onnx"])
    return Case(kind, ["run", model, *extra], {name: data, "m.onnx": (templates() / "lenet5.onnx").read_bytes()})


def _tree_paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _tree_paths(v, (*prefix, k))
    return out


def run_case(r: random.Random) -> Case:
    """A crafted copy of a real run folder given to `train --resume` or `plot`."""
    import torch

    src = templates() / "run"
    files = {p.name: p.read_bytes() for p in src.iterdir() if p.is_file()}
    kind = r.choice(["checkpoint", "checkpoint", "truncate", "metrics", "runjson", "missing"])
    if kind == "checkpoint":
        data = torch.load(io.BytesIO(files["last.pt"]), weights_only=True)
        for _ in range(r.randint(1, 2)):
            path = r.choice(_tree_paths(data))
            node = data
            for k in path[:-1]:
                node = node[k]
            if r.random() < 0.3:
                del node[path[-1]]
            else:
                node[path[-1]] = r.choice([*HOSTILE[:-1], torch.zeros(0), torch.full((3,), float("nan"))])
        buf = io.BytesIO()
        torch.save(data, buf)
        files["last.pt"] = buf.getvalue()
    elif kind == "truncate":
        name = r.choice(sorted(files))
        files[name] = files[name][: r.randrange(len(files[name]) + 1)]
    elif kind == "metrics":
        rows = [json.loads(x) for x in files.get("metrics.jsonl", b"").decode().splitlines() if x.strip()]
        row = dict(rows[0]) if rows else {}
        key = r.choice(sorted(row) or ["epoch"])
        row[key] = r.choice(["x", None, [], {}, -1, 1e308])
        junk = r.choice([json.dumps(row), "[1, 2]", "{", "null", '{"epoch": "NaN"}', "\x00", '"text"'])
        files["metrics.jsonl"] = (files.get("metrics.jsonl", b"").decode() + junk + "\n").encode()
    elif kind == "runjson":
        files["run.json"] = r.choice([b"{", b"[]", b"null", json.dumps({"spec": 5}).encode()])
    else:
        files.pop(r.choice(sorted(files)))
    files = {f"run/{k}": v for k, v in files.items()}
    argv = r.choice(
        [
            ["train", "lenet5", "--out", "run", "--resume", "-q", "--epochs", "1"],
            ["plot", "run", "-o", "c.png"],
            ["plot", "run", "run", "-o", "c.svg"],
        ]
    )
    return Case(f"{kind} {argv[0]}", argv, files)


def tiny_data() -> bytes:
    """40 random 32x32 digits: a training epoch in well under a second."""
    g = np.random.default_rng(0)
    return _npz({"x.npy": _npy(g.integers(0, 16, (40, 32, 32), dtype=np.uint8)), "y.npy": _npy(g.integers(0, 10, 40))})


def dataset_case(r: random.Random) -> Case:
    """A broken dataset: an .npz (x, y) or an ImageFolder, for `train --data` and for
    `compile --quantize int8 --calibrate`."""
    good = tiny_data()
    g = np.random.default_rng(r.randrange(1 << 30))
    kind = r.choice(["arrays", "arrays", "header", "bomb", "truncated", "flipped", "folder", "text"])
    if kind == "arrays":
        x = r.choice([_arrays(r), g.integers(0, 16, (40, 32, 32), dtype=np.uint8),
                      np.full((40, 1, 32, 32), np.nan, np.float32), np.zeros((40, 7, 32, 32), np.float32),
                      np.zeros((40, 2, 2), np.float32), np.zeros((0, 32, 32), np.uint8)])
        y = r.choice([_arrays(r), g.integers(0, 10, 40), g.integers(-5, 5, 40), np.zeros(3, np.int64),
                      np.full(40, 10**6), np.arange(40.0)])
        members = {"x.npy": _npy(x), "y.npy": _npy(y)}
        if r.random() < 0.3:
            members["classes.npy"] = _npy(r.choice([_arrays(r), np.zeros((2, 5)), np.array(["a", "b"])]))
        if r.random() < 0.2:
            del members[r.choice(["x.npy", "y.npy"])]
        files = {"d.npz": _npz(members)}
    elif kind == "header":
        shape = r.choice(["(1099511627776, 32, 32)", "(-1,)", "(40, 32, 32)", "(9**99,)"])
        header = _npy_header(f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}") + bytes(64)
        files = {"d.npz": _npz({"x.npy": header, "y.npy": _npy(np.zeros(40, np.int64))})}
    elif kind == "bomb":
        header = _npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1073741824, 1, 1), }")
        files = {"d.npz": _npz({"x.npy": header + bytes(1 << 24), "y.npy": _npy(np.zeros(4, np.int64))})}
    elif kind == "truncated":
        files = {"d.npz": good[: r.randrange(len(good))]}
    elif kind == "flipped":
        files = {"d.npz": _flip(r, good)}
    elif kind == "folder":
        body = r.choice([_png(8, 8), _png(8, 8)[:30], b"", b"GIF89a", _png(65535, 65535)])
        files = {"d/a/1.png": _png(8, 8), f"d/{r.choice(['a', 'b'])}/2.png": body}
        if r.random() < 0.3:
            files["d/c.png"] = _png(8, 8)  # a file where a class folder goes
    else:
        files = {"d.npz": r.choice([b"", b"x,y\n1,2\n", b"PK\x03\x04" + bytes(30)])}
    data = "d" if kind == "folder" else "d.npz"
    argv = r.choice([["train", "lenet5", "--data", data, "--epochs", "1", "--out", "run", "-q"],
                     ["compile", "lenet5", "--quantize", "int8", "--calibrate", data, "-o", "q.onnx"]])
    return Case(f"{kind} {argv[0]}", argv, files)


RECIPE_BAD = [
    "batch_size: 0",
    "batch_size: 1000000000",
    "epochs: 0",
    "epochs: -1",
    "seed: -1",
    "seed: 100000000000000000000000",
    "augment: {random_crop: {padding: 1000000000}}",
    "augment: {random_resized_crop: {size: 32, scale: [1.0, 0.1], ratio: [2.0, 0.5]}}",
    "augment: {rotation: .nan}",
    "augment: {rotation: -1e308}",
    "optimizer: {type: sgd, lr: -1}",
    "optimizer: {type: sgd, lr: .inf}",
    "schedule: {type: cosine, warmup_epochs: 1000000}",
    "data: {train: digits, val_fraction: 1.5}",
    "data: {train: digits, val_fraction: 0}",
    "data: {train: /dev/zero}",
    "data: {train: nope.npz}",
    "data: {train: bad.npz}",
    "device: tpu",
    "optimizer: {type: adamw, lr: 0.001, betas: [2, -1]}",
    "schedule: {type: step, step: 0}",
    'name: "\\0"',
]


def recipe_case(r: random.Random) -> Case:
    base = (Path(__file__).resolve().parents[2] / "archspec/recipes/lenet5.yaml").read_text()
    lines = [ln for ln in base.splitlines() if ln and not ln.startswith("#")]
    bad = r.choice(RECIPE_BAD)
    key = bad.split(":")[0]
    lines = [ln for ln in lines if not ln.startswith((key + ":", "data:", "epochs:"))] + [bad]
    lines += ["epochs: 1"] * (key != "epochs") + ["data: {train: tiny.npz, val_fraction: 0.2}"] * (key != "data")
    files = {
        "recipe.yaml": "\n".join(lines).encode(),
        "bad.npz": _npz({"x.npy": _npy(np.array(["a"]))}),
        "file": b"x",
        "tiny.npz": tiny_data(),
    }
    out = r.choice(["run", "run", "file", "recipe.yaml/run", "/proc/run"])
    return Case(key, ["train", "lenet5", "--recipe", "recipe.yaml", "--out", out, "-q"], files)


OPTIONS = [
    ["compile", "lenet5", "--seed", "-1", "-o", "o.onnx"],
    ["compile", "lenet5", "--seed", str(2**70), "-o", "o.onnx"],
    ["compile", "lenet5", "--batch", "0", "-o", "o.onnx"],
    ["compile", "lenet5", "--batch", str(10**12), "-o", "o.onnx"],
    ["compile", "lenet5", "--opset", "1", "-o", "o.onnx"],
    ["compile", "lenet5", "--opset", "999", "-o", "o.onnx"],
    ["compile", "lenet5", "--input", "1x100000x100000", "-o", "o.onnx"],
    ["compile", "lenet5", "-o", "."],
    ["compile", "lenet5", "-o", "file/o.onnx"],
    ["compile", "lenet5", "-o", "a\x00b.onnx"],
    ["compile", "lenet5\x00"],
    ["summary", "lenet5", "--depth", "-5"],
    ["summary", "lenet5", "--input", "0x0x0"],
    ["summary", "lenet5", "--input", "1x32"],
    ["summary", "lenet5", "--input", "x"],
    ["check", "lenet5", "--input", "99999999999999x99999999999999x9"],
    ["bench", "lenet5", "--seconds", "inf"],
    ["bench", "lenet5", "--seconds", "nan"],
    ["bench", "lenet5", "--seconds", "-1"],
    ["bench", "lenet5", "--iters", "0"],
    ["bench", "lenet5", "--iters", str(10**12)],
    ["bench", "lenet5", "--batch", "0"],
    ["bench", "lenet5", "--batch", "1,a"],
    ["bench", "lenet5", "--batch", str(10**9)],
    ["bench", "lenet5", "--warmup", "-1"],
    ["run", "lenet5", "--input", "x.npy", "--top-k", "-1"],
    ["run", "lenet5", "--input", "x.npy", "--top-k", str(10**9)],
    ["run", "lenet5", "--input", "x.npy", "--threads", "-1"],
    ["run", "lenet5", "--input", "x.npy", "--seed", str(2**80)],
    ["verify", "lenet5", "--batch", str(10**9)],
    ["verify", "lenet5", "--tolerance", "nan"],
    ["verify", "lenet5", "--seed", "-7"],
    ["train", "lenet5", "--epochs", "0"],
    ["train", "lenet5", "--batch-size", str(10**9), "--out", "r", "--epochs", "1"],
    ["train", "lenet5", "--seed", str(2**64), "--out", "r", "--epochs", "1", "-q"],
    ["train", "lenet5", "--nproc", "0"],
    ["train", "lenet5", "--threads", "100000", "--out", "r", "--epochs", "1", "-q"],
    ["train", "lenet5", "--data", "/dev/null", "--out", "r"],
    ["graph", "lenet5", "-o", "g.xyz"],
    ["graph", "lenet5", "-o", "g.svg", "--scope", "nope"],
    ["graph", "lenet5", "-o", "g.dot", "--depth", "-1"],
    ["plot", "nope", "-o", "c.png"],
    ["plot", ".", "-o", "c.png"],
    ["plot", "file", "-o", "c.xyz"],
    ["list", "--long"],
    ["check", "--limit", "nodes=-1", "lenet5"],
    ["check", "--limit", "nodes=1e999", "lenet5"],
    ["check", "--limit", "nodes=0", "lenet5"],
    ["check", "--limit", "bogus=1", "lenet5"],
    ["summary", "resnet50", "--limit", "memory_mib=1"],
    ["compile", "resnet50", "--limit", "memory_mib=1", "-o", "o.onnx"],
    ["check", "/dev/zero"],
    ["check", "/dev/urandom"],
    ["check", "."],
    ["check", "/etc/shadow"],
    ["schema", "-o", "/proc/x"],
    ["demo", "--epochs", "0"],
    ["demo", "--threads", "-1"],
    [],
]


def option_case(r: random.Random) -> Case:
    argv = list(r.choice(OPTIONS))
    return Case(" ".join(argv[:2])[:40], argv, {"x.npy": _npy(np.zeros((1, 32, 32), np.float32)), "file": b"x"})
