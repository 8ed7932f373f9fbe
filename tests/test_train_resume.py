"""A run killed with SIGKILL in the middle of an epoch resumes from its last checkpoint and ends
with exactly the weights of an uninterrupted run (CPU, deterministic mode, same seed)."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest
import torch
from procs import archspec_cmd, env, run_cli
from train_util import LENET_DROPOUT, SHORT_RECIPE, weights, write

pytestmark = pytest.mark.slow  # trains and kills real runs


def _poll_progress(path):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)["progress"]
    except Exception:  # not written yet
        return None


def test_sigkill_mid_epoch_then_resume_is_exact(tmp_path):
    spec = write(tmp_path / "net.yaml", LENET_DROPOUT)
    recipe = write(tmp_path / "r.yaml", SHORT_RECIPE.format(epochs=3, every=4))  # 22 steps an epoch
    full = run_cli("train", str(spec), "--recipe", str(recipe), "--out", "full", "-q", cwd=tmp_path)
    assert full.returncode == 0, full.stderr

    cmd = archspec_cmd("train", str(spec), "--recipe", str(recipe), "--out", "killed", "-q")
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline, seen = time.monotonic() + 180, None
    while time.monotonic() < deadline and proc.poll() is None:
        seen = _poll_progress(tmp_path / "killed" / "last.pt")
        if seen and seen["epoch"] == 1 and seen["step"] >= 8:  # inside the second epoch
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    assert proc.wait(60) == -signal.SIGKILL, proc.stderr.read()
    at_kill = _poll_progress(tmp_path / "killed" / "last.pt")
    assert at_kill["epoch"] == 1 and 0 < at_kill["step"] < 22  # the checkpoint it resumes from is mid-epoch

    resumed = run_cli("train", str(spec), "--out", "killed", "--resume", "-q", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed killed at epoch 2, step {at_kill['step']}" in resumed.stdout

    a, b = weights(tmp_path / "full"), weights(tmp_path / "killed")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)  # bit-exact

    def rows(d):
        return [{k: v for k, v in json.loads(line).items() if k not in ("seconds", "images_per_s")}
                for line in (tmp_path / d / "metrics.jsonl").read_text().splitlines()]

    assert rows("killed") == rows("full")  # one row per epoch, none repeated, same numbers
    assert len(rows("full")) == 3
