"""Running cases: forked workers that call `archspec.cli.main` in-process, each case under an
address-space limit and an alarm, a supervisor that replaces a worker that dies or hangs, and
the classification of every outcome."""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import multiprocessing as mp
import os
import pkgutil
import random
import re
import resource
import signal
import time
import traceback
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

FAILURES = ("traceback", "hang", "blowup", "position", "mismatch")
POSITION = re.compile(r"(?m)^(?:  note: )?(\S[^\n:]*?):(\d+):(\d+): ")


@dataclass
class Result:
    category: str
    index: int
    seed: int
    name: str = ""
    argv: list[str] = field(default_factory=list)
    outcome: str = "ok"  # ok, user_error, or one of FAILURES
    detail: str = ""
    seconds: float = 0.0
    folder: str = ""


class Hang(BaseException):
    """The alarm: a BaseException, so that archspec's `except Exception` cannot swallow it."""


def _alarm(signum: int, frame: Any) -> None:
    raise Hang


def classify(rc: int | None, out: str, err: str, folder: Path) -> tuple[str, str]:
    text = out + err
    if "Traceback (most recent call last)" in text or "internal error" in err or "bug in archspec" in err:
        return "traceback", _tail(err or out)
    if "out of memory" in text or "MemoryError" in text:
        return "blowup", _tail(err)
    if rc == 3 and "FAILED: outputs differ" in out:
        return "mismatch", _tail(out)
    bad = _bad_position(text, folder)
    if bad:
        return "position", bad
    if rc == 0:
        return "ok", ""
    if rc in (1, 2):
        return "user_error", _tail(err, 200)
    return "traceback", f"exit status {rc}: {_tail(err)}"


def _tail(text: str, n: int = 600) -> str:
    return text.strip()[-n:]


def _bad_position(text: str, folder: Path) -> str:
    """`file:line:col` past the file's end or a line's end + 1 (under "\\n" and under every
    Unicode line break: wrong under both)."""
    for m in POSITION.finditer(text):
        path, line, col = Path(m.group(1)), int(m.group(2)), int(m.group(3))
        path = path if path.is_absolute() else folder / path
        try:
            data = path.read_bytes().decode("utf-8", "replace") if path.is_file() else None
        except OSError:
            data = None
        if data is None:
            continue
        splits = (data.removesuffix("\n").split("\n"), data.splitlines() or [""])
        if all(_outside(lines, line, col) for lines in splits):
            return f"{m.group(0).strip()} is outside {path.name} ({len(data.splitlines())} lines)"
    return ""


def _outside(lines: list[str], line: int, col: int) -> bool:
    if line < 1 or line > max(len(lines), 1) or col < 1:
        return True
    return col > len(lines[line - 1]) + 1 if lines else col > 1


# ---- the worker -----------------------------------------------------------------------------


def _preload() -> None:
    """Imported once before forking, so that each case pays only its own work."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import numpy  # noqa: F401
    import onnx  # noqa: F401
    import onnxruntime  # noqa: F401
    import torch

    import archspec
    import archspec.cli
    import archspec.model
    import archspec.onnx_backend
    import archspec.torch_backend

    torch.set_num_threads(1)
    for m in pkgutil.walk_packages(archspec.__path__, "archspec."):  # the lazy imports of every command
        if not m.name.endswith("__main__"):
            importlib.import_module(m.name)
    for name in ("matplotlib.pyplot", "scipy.ndimage", "sklearn.datasets", "PIL.Image"):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _vm_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) << 10
    return 0


def _worker(conn: Connection, workdir: str, timeout: float, memory_mib: int) -> None:
    from fuzzing import categories

    limit = _vm_bytes() + (memory_mib << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGALRM, _alarm)
    gens, home = categories(), os.getcwd()
    while True:
        job = conn.recv()
        if job is None:
            return
        res = _one(gens, job, Path(workdir), timeout, memory_mib)
        conn.send(asdict(res))
        os.chdir(home)
        if res.outcome == "blowup":  # a MemoryError may have left a module half imported
            return


def _one(gens: dict, job: tuple[str, int, int], workdir: Path, timeout: float, memory_mib: int) -> Result:
    category, index, seed = job
    res = Result(category, index, seed)
    folder = workdir / f"{category}-{index}"
    folder.mkdir(parents=True, exist_ok=True)
    res.folder = str(folder)
    try:
        case = gens[category](random.Random(seed))
        res.name, res.argv = case.name, case.argv
        for rel, data in case.files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(data)
        (folder / "argv.json").write_text(json.dumps({"argv": case.argv, "name": case.name}))
    except Exception:
        res.outcome, res.detail = "traceback", "the generator failed: " + traceback.format_exc()[-600:]
        return res
    os.chdir(folder)
    t = time.perf_counter()  # archspec's time, not the generator's
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        if case.numerics:
            res.outcome, res.detail = _numerics(folder / case.argv[1])
        else:
            rc, out, err = _main(case.argv, memory_mib)
            res.outcome, res.detail = classify(rc, out, err, folder)
    except Hang:
        res.outcome, res.detail = "hang", f"over {timeout:g} s"
    except MemoryError:
        res.outcome, res.detail = "blowup", "MemoryError escaped"
    except BaseException as e:  # an exception escaping main
        res.outcome, res.detail = "traceback", "".join(traceback.format_exception(e))[-1200:]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        res.seconds = time.perf_counter() - t
    if res.seconds > timeout and res.outcome not in FAILURES:  # C code that the alarm could not stop
        res.outcome, res.detail = "hang", f"took {res.seconds:.1f} s ({res.outcome})"
    return res


def _main(argv: list[str], memory_mib: int) -> tuple[int, str, str]:
    """`archspec ARGV` in this process: exit status, stdout, stderr. The memory budget is told the
    half of the address-space limit that is left for the case; limits are reset afterwards."""
    import dataclasses

    from archspec import cli, limits

    saved = dataclasses.replace(limits.LIMITS)
    limits.LIMITS.memory_mib = memory_mib // 2
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = cli.main(list(argv))
            except SystemExit as e:  # argparse: --help or a usage error
                rc = e.code if isinstance(e.code, int) else 2
    finally:
        for f in dataclasses.fields(saved):
            setattr(limits.LIMITS, f.name, getattr(saved, f.name))
    return rc, out.getvalue(), err.getvalue()


def _numerics(path: Path) -> tuple[str, str]:
    """A well-formed spec: summary totals equal the nodes' sum, the ONNX model passes the full
    checker, onnxruntime equals torch (tolerance 1e-4 of the output's scale)."""
    from fuzzing.numerics import check_spec

    problem = check_spec(path)
    return ("mismatch", problem) if problem else ("ok", "")


# ---- the supervisor --------------------------------------------------------------------------


class Pool:
    """`jobs` forked workers; a worker that dies or passes the hard deadline is replaced."""

    def __init__(self, jobs: int, workdir: Path, timeout: float, memory_mib: int):
        _preload()
        self.ctx = mp.get_context("fork")
        self.args = (str(workdir), timeout, memory_mib)
        self.hard = timeout + 20  # the alarm fires first unless C code holds the interpreter
        self.workers = [self._start() for _ in range(jobs)]

    def _start(self) -> dict[str, Any]:
        parent, child = self.ctx.Pipe()
        p = self.ctx.Process(target=_worker, args=(child, *self.args), daemon=True)
        p.start()
        child.close()
        return {"proc": p, "conn": parent, "job": None, "since": 0.0}

    def run(self, jobs: list[tuple[str, int, int]], report: Any = None, seconds: float = float("inf")) -> list[Result]:
        """The results of `jobs`; no new job starts after `seconds`."""
        todo, results, end = list(reversed(jobs)), [], time.monotonic() + seconds
        while todo or any(w["job"] for w in self.workers):
            if time.monotonic() > end:
                todo = []
            for w in self.workers:
                if w["job"] is None and todo:
                    w["job"], w["since"] = todo.pop(), time.monotonic()
                    w["conn"].send(w["job"])
            busy = [w for w in self.workers if w["job"]]
            ready = wait([w["conn"] for w in busy] + [w["proc"].sentinel for w in busy], timeout=1.0)
            for i, w in enumerate(self.workers):
                if not w["job"]:
                    continue
                r = self._collect(w, ready)
                if r is not None:
                    results.append(r)
                    w["job"] = None
                    if report:
                        report(r)
                    if not w["proc"].is_alive():
                        self.workers[i] = self._start()
        return results

    def _collect(self, w: dict[str, Any], ready: list[Any]) -> Result | None:
        category, index, seed = w["job"]
        if w["conn"] in ready:
            try:
                r = Result(**w["conn"].recv())
            except (EOFError, OSError):
                pass
            else:
                if r.outcome == "blowup":  # the worker ends itself: wait, so that it is replaced
                    w["proc"].join(10)
                return r
        elapsed = time.monotonic() - w["since"]
        if w["proc"].is_alive() and elapsed < self.hard:
            return None
        if w["proc"].is_alive():
            w["proc"].kill()
            outcome, detail = "hang", f"killed after {elapsed:.0f} s (the alarm did not stop it)"
        else:
            code = w["proc"].exitcode
            outcome, detail = "blowup", f"the worker died (exit {code}{', a signal' if code and code < 0 else ''})"
        w["proc"].join(5)
        folder = Path(self.args[0]) / f"{category}-{index}"
        meta = folder / "argv.json"
        info = json.loads(meta.read_text()) if meta.is_file() else {}
        return Result(
            category, index, seed, info.get("name", ""), info.get("argv", []), outcome, detail, elapsed, str(folder)
        )

    def close(self) -> None:
        for w in self.workers:
            with contextlib.suppress(OSError, BrokenPipeError):
                w["conn"].send(None)
            w["proc"].join(5)
            if w["proc"].is_alive():
                w["proc"].kill()
