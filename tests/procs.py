"""Running archspec as users do, in a fresh interpreter: the CLI in a subprocess, and which heavy
libraries a command loads. Shared by the tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "torchvision", "onnx", "onnxruntime", "PIL")  # what the quick commands must not load


def env(threads: int = 1) -> dict[str, str]:
    """This checkout's archspec first on the path; `threads` OpenMP threads (shared cores stay free)."""
    e = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    e["OMP_NUM_THREADS"] = str(threads)
    return e


def archspec_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "archspec", *args]


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    """`archspec ARGS` to completion; its exit status, stdout and stderr."""
    return subprocess.run(archspec_cmd(*args), cwd=cwd, env=env(), capture_output=True, text=True,
                          timeout=timeout, check=False)


def heavy_imports(*argvs: Sequence[str], modules: Sequence[str] = ()) -> set[str]:
    """Import `modules`, then run each archspec command (each must succeed), in one fresh
    interpreter; the libraries of HEAVY it has loaded then."""
    code = (f"import importlib, json, sys\nfrom archspec.cli import main\n"
            f"for m in {list(modules)!r}:\n    importlib.import_module(m)\n"
            f"for argv in {[list(a) for a in argvs]!r}:\n    assert main(argv) == 0, argv\n"
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    p = subprocess.run([sys.executable, "-c", code], env=env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    return set(json.loads(p.stdout.strip().splitlines()[-1]))
