"""Real files the crafted inputs start from, made once per campaign in a fresh interpreter (so the
supervisor forks its workers before any thread pool exists): a LeNet-5 run folder after one epoch,
its ONNX model and its weights as .npz."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CODE = """
import sys, numpy as np
from archspec.cli import main
from archspec.torch_backend import state_arrays
import archspec
out = sys.argv[1]
assert main(["train", "lenet5", "--out", out + "/run", "--epochs", "1", "-q", "--threads", "1"]) == 0
assert main(["compile", "lenet5", "-o", out + "/lenet5.onnx"]) == 0
np.savez(out + "/lenet5.npz", **state_arrays(archspec.load("lenet5").to_torch(seed=0)))
"""


def make(folder: Path) -> Path:
    """The templates in `folder` (made unless there); also sets $ARCHSPEC_FUZZ_TEMPLATES."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "lenet5.npz").is_file():
        root = Path(__file__).resolve().parents[2]
        env = dict(os.environ, PYTHONPATH=f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", OMP_NUM_THREADS="1")
        subprocess.run(
            [sys.executable, "-c", CODE, str(folder)], check=True, env=env, cwd=folder, capture_output=True, timeout=600
        )
    os.environ["ARCHSPEC_FUZZ_TEMPLATES"] = str(folder)
    return folder
