"""Hostile and broken input (docs/security.md): each case ends in a clear error at the right place,
quickly, without a traceback, and writes nothing it was not asked to write."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from procs import archspec_cmd, env, run_cli

import archspec
from archspec.errors import SpecError
from archspec.io import TMP_SUFFIX, atomic_path, clean_temporaries, safe_filename

HEAD = "archspec: 1\nname: {name}\ninput: {{shape: [3, 8, 8]}}\n"


def spec(tmp_path: Path, body: str, name: str = "t", file: str = "t.yaml") -> Path:
    path = tmp_path / file
    path.write_text(HEAD.format(name=name) + body)
    return path


def check_fails(path: Path, message: str, line: int | None = None, seconds: float = 10) -> str:
    """`archspec check PATH` exits 1 within `seconds` with `message` (at `line`), no traceback."""
    t = time.perf_counter()
    r = run_cli("check", str(path), timeout=seconds + 30)
    took = time.perf_counter() - t
    assert r.returncode == 1, r.stderr[-2000:]
    assert message in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]
    if line is not None:
        assert f"{path}:{line}:" in r.stderr, r.stderr[-2000:]
    assert took < seconds, f"took {took:.1f} s"
    return r.stderr


# ---- spec files: YAML and expressions -----------------------------------------------------------

def test_billion_laughs_is_refused_quickly(tmp_path: Path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    path = tmp_path / "lol.yaml"
    path.write_text(HEAD.format(name="lol") + "\n".join(lines) + "\nlayers: [relu]\n")
    check_fails(path, "the YAML expands to more than 200,000 nodes", seconds=5)


def test_deep_nesting_is_refused(tmp_path: Path):
    check_fails(spec(tmp_path, "layers: " + "[" * 3000 + "]" * 3000 + "\n"), "nest deeper than 100", line=4)


def test_a_spec_file_past_the_size_limit_is_refused(tmp_path: Path):
    path = spec(tmp_path, "layers: [relu]\n" + "#" * (5 << 20) + "\n")
    check_fails(path, "is larger than 4,194,304 bytes (limit spec_bytes")


def test_a_raised_limit_admits_what_it_bounds(tmp_path: Path):
    path = spec(tmp_path, "layers: [relu]\n" + "#" * (5 << 20) + "\n")
    assert run_cli("check", str(path), "--limit", "spec_bytes=8000000").returncode == 0
    r = run_cli("check", str(path), "--limit", "spec_byte=1")
    assert r.returncode == 2 and "--limit takes NAME=VALUE with NAME one of" in r.stderr


@pytest.mark.parametrize(("expr", "message"), [
    ("${9**9**9}", "exponent 387420489 is too large"),
    ("${((2**60)**60)**60}", "is past 128 bits (limit expr_int_bits)"),
    ("${len('a' * 10**9)}", "a string or list of 1,000,000,000 items is past 100,000 (limit expr_length)"),
    ("${len([0] * 10**8)}", "a string or list of 100,000,000 items is past 100,000"),
    ("${" + "+".join(["1"] * 500) + "}", "nests deeper than 50 (limit expr_depth"),
    ("${" + "1+" * 3000 + "1}", "characters is longer than 2,000 (limit expr_chars"),
])
def test_expression_bombs_are_errors_at_their_line(tmp_path: Path, expr: str, message: str):
    path = spec(tmp_path, f"layers:\n  - conv: {{out: \"{expr}\", kernel: 1}}\n")
    check_fails(path, message, line=5, seconds=5)


def test_an_include_diamond_is_read_once_per_file(tmp_path: Path):
    """Each level includes the next level's two files, both of which include the same next pair:
    2^30 paths to the bottom, 60 files."""
    for i in range(30):
        for side in "ab":
            inc = f"include: [l{i + 1}a.yaml, l{i + 1}b.yaml]\n" if i < 29 else ""
            (tmp_path / f"l{i}{side}.yaml").write_text(f"{inc}blocks:\n  b{i}{side}: {{seq: [relu]}}\n")
    path = tmp_path / "top.yaml"
    path.write_text(HEAD.format(name="top") + "include: [l0a.yaml, l0b.yaml]\nlayers: [b29b]\n")
    t = time.perf_counter()
    model = archspec.load(path)
    assert time.perf_counter() - t < 5 and [n.op for n in model.graph.nodes.values()] == ["input", "relu"]
    assert len(model.source.files) == 61


def test_a_syntax_error_at_the_end_of_the_file_points_inside_it(tmp_path: Path):
    path = tmp_path / "eof.yaml"
    path.write_text(HEAD.format(name="eof") + "layers: [relu,\n")
    stderr = check_fails(path, "YAML syntax")
    line = int(stderr.split(f"{path}:")[1].split(":")[0])
    assert 1 <= line <= 4


def test_non_finite_params_are_errors(tmp_path: Path):
    path = spec(tmp_path, "layers:\n  - leaky_relu: .nan\n  - scale: \"${float('inf')}\"\n")
    err = check_fails(path, "slope: input should be a finite number, got nan", line=5)
    assert f"{path}:6:" in err and "value: input should be a finite number, got inf" in err


def test_nul_and_control_characters_never_reach_the_terminal(tmp_path: Path):
    path = spec(tmp_path, "layers: [relu]\n", name='"evil\\e]0;owned\\a\\u202e"')
    r = run_cli("summary", str(path))
    assert r.returncode == 0 and "\x1b" not in r.stdout and "\x07" not in r.stdout and "\u202e" not in r.stdout
    assert "evil\\x1b]0;owned\\x07\\u202e" in r.stdout
    with pytest.raises(SpecError, match="NUL"):
        archspec.load("a\x00b.yaml")


# ---- outputs --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "expected"), [
    ("../x", "x.onnx"), ("/etc/passwd", "etc_passwd.onnx"), ("", "model.onnx"), ("..", "model.onnx"),
    ("a/../../b", "a_._._b.onnx"), ("resnet50", "resnet50.onnx"), ("\x1b[2J", "2J.onnx"),
])
def test_the_default_output_name_stays_in_the_working_folder(name: str, expected: str):
    out = safe_filename(name, ".onnx")
    assert "/" not in out and not out.startswith(".") and out == expected


def test_a_spec_named_with_a_path_compiles_into_the_working_folder(tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    path = spec(tmp_path, "layers: [relu]\n", name='"../../escaped"')
    r = run_cli("compile", str(path), cwd=work)
    assert r.returncode == 0, r.stderr
    assert [p.name for p in work.iterdir()] == ["escaped.onnx"]
    assert not (tmp_path / "escaped.onnx").exists() and not (tmp_path.parent / "escaped.onnx").exists()


def test_a_symlinked_output_is_refused_and_left_alone(tmp_path: Path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    link = tmp_path / "out.onnx"
    link.symlink_to(target)
    r = run_cli("compile", "lenet5", "-o", str(link))
    assert r.returncode == 1 and "is a symbolic link" in r.stderr and "Traceback" not in r.stderr
    assert link.is_symlink() and target.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.onnx", "precious.txt"]


def test_an_output_that_is_a_folder_is_refused(tmp_path: Path):
    r = run_cli("compile", "lenet5", "-o", str(tmp_path))
    assert r.returncode == 1 and "is a folder" in r.stderr and list(tmp_path.iterdir()) == []


def test_a_pipe_output_is_written_through_not_replaced(tmp_path: Path):
    fifo = tmp_path / "pipe.onnx"
    os.mkfifo(fifo)
    got = bytearray()

    def read() -> None:
        with open(fifo, "rb") as f:
            got.extend(f.read())

    reader = threading.Thread(target=read)
    reader.start()
    r = run_cli("compile", "lenet5", "-o", str(fifo))
    reader.join(30)
    assert r.returncode == 0, r.stderr
    assert fifo.is_fifo() and bytes(got) == archspec.load("lenet5").onnx_bytes()


@pytest.mark.slow
def test_a_killed_compile_leaves_a_temporary_that_the_next_compile_removes(tmp_path: Path):
    out = tmp_path / "r.onnx"
    p = subprocess.Popen(archspec_cmd("compile", "densenet161", "-o", str(out)), env=env(),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.glob(f"*{TMP_SUFFIX}")):
        time.sleep(0.005)
    p.send_signal(signal.SIGKILL)
    p.wait()
    left = list(tmp_path.glob(f"*{TMP_SUFFIX}"))
    assert left and not out.exists()  # killed midway: its temporary is there, the output is not
    assert run_cli("compile", "lenet5", "-o", str(tmp_path / "other.onnx")).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.onnx"]


def test_clean_temporaries_spares_a_live_writer(tmp_path: Path):
    with atomic_path(tmp_path / "a.bin") as tmp:
        tmp.write_bytes(b"x")
        clean_temporaries(tmp_path)  # another writer starting now
        assert tmp.exists()
    assert (tmp_path / "a.bin").read_bytes() == b"x"


# ---- resources --------------------------------------------------------------------------------------

BIG = ("layers:\n  - conv: {out: 10000000, kernel: 31, pad: 15}\n  - global_avgpool\n  - flatten\n"
       "  - linear: {out: 10}\n")


@pytest.mark.slow
@pytest.mark.parametrize("command", [["compile"], ["verify"], ["bench"], ["run", "--input", "{npy}"]])
def test_a_net_too_large_for_memory_is_refused_before_allocating(tmp_path: Path, command: list[str]):
    path = spec(tmp_path, BIG)
    npy = tmp_path / "x.npy"
    np.save(npy, np.zeros((3, 8, 8), np.float32))
    argv = [command[0], str(path), *(a.replace("{npy}", str(npy)) for a in command[1:])]
    r = run_cli(*argv, "-o", str(tmp_path / "x.onnx")) if command == ["compile"] else run_cli(*argv)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "GiB of memory, more than the budget" in r.stderr and "--limit memory_mib=N" in r.stderr
    assert not (tmp_path / "x.onnx").exists()


# ---- weights files -------------------------------------------------------------------------------

def test_weights_files_are_checked_as_data(tmp_path: Path):
    from archspec.weights import WeightsError, load_weights

    cases = {
        "strings.npz": {"a": np.array(["x", "y"])},
        "dates.npz": {"a": np.array(["2020-01-01"], dtype="datetime64[D]")},
        "struct.npz": {"a": np.zeros(2, dtype=[("x", "f4"), ("y", "i4")])},
        "nan.npz": {"a": np.array([1.0, np.nan], np.float32)},
    }
    messages = {"strings.npz": "holds <U1 values", "dates.npz": "holds datetime64[D] values",
                "struct.npz": "values; weights are numbers", "nan.npz": "holds NaN or infinite values"}
    for name, arrays in cases.items():
        np.savez(tmp_path / name, **arrays)
        with pytest.raises(WeightsError, match=messages[name].replace("[", r"\[").replace("]", r"\]")):
            load_weights(tmp_path / name)
    np.savez(tmp_path / "big_endian.npz", a=np.arange(3, dtype=">f4"))
    a = load_weights(tmp_path / "big_endian.npz")["a"]
    assert a.dtype.isnative and a.tolist() == [0.0, 1.0, 2.0]


def test_an_npz_zip_bomb_is_refused_before_inflating(tmp_path: Path, monkeypatch):
    import zipfile

    from archspec.limits import LIMITS
    from archspec.weights import WeightsError, load_weights

    monkeypatch.setattr(LIMITS, "array_bytes", 64 << 20)  # the default 4 GiB works alike, slower to write

    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, z.open("a.npy", "w", force_zip64=True) as f:
        header = np.lib.format.header_data_from_array_1_0(np.zeros(0, np.float32))
        header["shape"] = (LIMITS.array_bytes // 4 + 1024,)
        np.lib.format.write_array_header_1_0(f, header)
        chunk = bytes(1 << 24)
        for _ in range(LIMITS.array_bytes // len(chunk) + 1):
            f.write(chunk)
    assert path.stat().st_size < 1 << 20
    with pytest.raises(WeightsError, match=r"inflates to [0-9,]+ bytes \(limit array_bytes=67,108,864"):
        load_weights(path)


@pytest.mark.slow
def test_a_pickled_code_checkpoint_is_refused(tmp_path: Path):
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    torch = pytest.importorskip("torch")
    path = tmp_path / "evil.pt"
    torch.save({"model": Evil()}, path, pickle_module=pickle)
    r = run_cli("compile", "lenet5", "--weights", str(path), "-o", str(tmp_path / "x.onnx"))
    assert r.returncode == 1 and "Traceback" not in r.stderr and not (tmp_path / "pwned").exists()
    assert not (tmp_path / "x.onnx").exists()


@pytest.mark.slow
def test_bench_never_follows_a_spec_path_from_a_model_file(tmp_path: Path):
    """A model's metadata names its spec; --compare loads only a built-in of that name."""
    outside = tmp_path / "outside.yaml"
    outside.write_text(HEAD.format(name="outside") + "layers: [relu]\n")
    model = archspec.loads(HEAD.format(name=f'"{outside}"') + "layers: [relu]\n")
    model.save_onnx(tmp_path / "m.onnx")
    r = run_cli("bench", str(tmp_path / "m.onnx"), "--compare", "torch", "--iters", "1")
    assert r.returncode == 1 and "is not a built-in" in r.stderr and "Traceback" not in r.stderr


def test_an_internal_error_says_it_is_a_bug_and_exits_3(monkeypatch, capsys):
    from archspec import cli

    def broken(args):
        raise KeyError("boom")

    monkeypatch.setattr("archspec.cli.check.run", broken)
    assert cli.main(["check", "lenet5"]) == 3
    err = capsys.readouterr().err
    assert "internal error: KeyError" in err and "bug in archspec" in err and "Traceback" not in err
    assert cli.main(["check", "lenet5", "--debug"]) == 3
    assert "Traceback" in capsys.readouterr().err


def test_spec_errors_keep_their_code_and_format():
    with pytest.raises(SpecError):
        archspec.loads(HEAD.format(name="x") + "layers: [rleu]\n")


# ---- files given to run and bench ----------------------------------------------------------------

def _onnx_file(tmp_path: Path, name: str, make) -> Path:
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 8, 8])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    model = make(helper, TensorProto, graph) or helper.make_model(graph)
    path = tmp_path / name
    onnx.save(model, path)
    return path


def _no_input(helper, tp, graph):
    del graph.input[:]


def _sequence_input(helper, tp, graph):
    graph.input[0].CopyFrom(helper.make_tensor_sequence_value_info("x", tp.FLOAT, None))


def _huge_input(helper, tp, graph):
    graph.input[0].CopyFrom(helper.make_tensor_value_info("x", tp.FLOAT, ["N", 3, 1 << 20, 1 << 20]))


def _outside_data(helper, tp, graph):
    from onnx import numpy_helper

    t = numpy_helper.from_array(np.zeros(4, np.float32), "w")
    t.ClearField("raw_data")
    t.data_location = tp.EXTERNAL
    t.external_data.add(key="location", value="../../../../etc/shadow")
    graph.initializer.append(t)


@pytest.mark.slow
@pytest.mark.parametrize(("make", "message"), [
    (_no_input, "the model has no input"),
    (_sequence_input, "is a sequence_type, not a tensor"),
    (_huge_input, "past the limit of 4,294,967,296 bytes a sample"),
    (_outside_data, "names its data in '../../../../etc/shadow', which is not a file beside the model"),
])
def test_crafted_onnx_files_are_refused(tmp_path: Path, make, message: str):
    path = _onnx_file(tmp_path, "m.onnx", make)
    np.save(tmp_path / "x.npy", np.zeros((3, 8, 8), np.float32))
    for argv in (["run", str(path), "--input", str(tmp_path / "x.npy")], ["bench", str(path)]):
        r = run_cli(*argv)
        assert r.returncode == 1 and message in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]


@pytest.mark.slow
def test_a_truncated_onnx_file_is_a_clear_error(tmp_path: Path):
    data = archspec.load("lenet5").onnx_bytes()
    (tmp_path / "cut.onnx").write_bytes(data[: len(data) // 2])
    r = run_cli("bench", str(tmp_path / "cut.onnx"))
    assert r.returncode == 1 and "not a readable ONNX model" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
@pytest.mark.parametrize("side", [10000, 20000])  # past Pillow's warning limit; past its error limit
def test_a_decompression_bomb_png_is_refused(tmp_path: Path, side: int):
    """A PNG that declares side x side pixels (1.2 GB decoded at 20000) is refused before decoding."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)) \
        + chunk(b"IDAT", zlib.compress(bytes(side * 3 + 1) * 8)) + chunk(b"IEND", b"")
    (tmp_path / "bomb.png").write_bytes(png)
    r = run_cli("run", "lenet5", "--input", str(tmp_path / "bomb.png"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "refused" in r.stderr and f"{side * side} pixels" in r.stderr and "decompression bomb" in r.stderr


@pytest.mark.slow
def test_npy_arrays_are_checked_before_reading(tmp_path: Path):
    header = {"descr": "<f4", "fortran_order": False, "shape": (1 << 40,)}
    with open(tmp_path / "huge.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
    np.save(tmp_path / "nan.npy", np.full((1, 32, 32), np.nan, np.float32))
    for name, message in [("huge.npy", "is past the limit 4,294,967,296"),
                          ("nan.npy", "the array holds NaN or infinite values")]:
        r = run_cli("run", "lenet5", "--input", str(tmp_path / name))
        assert r.returncode == 1 and message in r.stderr and "Traceback" not in r.stderr, r.stderr


@pytest.mark.parametrize(("body", "message"), [
    ("layers:\n  - repeat: 1000000000\n    body: [relu]\n", "repeat count 1,000,000,000 is past the limit 10,000"),
    ("layers:\n  - dense: {repeat: 1000000000, layer: [relu]}\n", "repeat count 1,000,000,000 is past the limit"),
    ("layers:\n  - repeat: 5000\n    body:\n      - repeat: 5000\n        body: [relu]\n",
     "repeats expand to more than 100,000 iterations"),
    ("layers:\n  - repeat: 5000\n    body:\n      - repeat: 5000\n        body:\n          - if: false\n"
     "            then: [relu]\n", "repeats expand to more than 100,000 iterations"),
    ("layers:\n  - repeat: 10000\n    body: [{conv: {out: \"${-1 - i}\", kernel: 1}}]\n", "50 errors: stopping here"),
])
def test_repeat_bombs_end_quickly(tmp_path: Path, body: str, message: str):
    check_fails(spec(tmp_path, body), message, seconds=10)


def test_the_node_limit_is_raised_by_flag(tmp_path: Path):
    path = spec(tmp_path, "layers:\n  - repeat: 30\n    body: [relu, relu, relu, relu, relu, relu, relu, relu]\n")
    r = run_cli("check", str(path), "--limit", "nodes=100")
    assert r.returncode == 1 and "expands to more than 100 nodes (limit nodes)" in r.stderr
    assert run_cli("check", str(path)).returncode == 0


def test_a_reader_that_stops_early_is_no_error():
    """`archspec summary resnet50 --json | head -2`: the closed pipe ends the command quietly."""
    p = subprocess.Popen(archspec_cmd("summary", "resnet50", "--json"), env=env(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    assert p.stdout is not None and p.stderr is not None
    p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(60) == 0 and err == ""


def test_a_pipe_named_as_a_spec_is_refused_without_waiting(tmp_path: Path):
    """Opening a pipe for reading waits for a writer: the loader looks before it opens."""
    from archspec.loader import read_text

    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    with pytest.raises(SpecError, match="not a regular file"):
        read_text(fifo)
