"""Checkpoints: never left corrupted by a kill during a save; pickled code refused, never run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import torch
from procs import env

from archspec.cli import main
from archspec.errors import SpecError
from archspec.io import clean_temporaries
from archspec.train import checkpoint as ckpt

# Writes a first checkpoint, then a second one that stops half-written (as if the disk were slow)
# until the test kills the process.
SLOW_SAVE = """
import io, sys, time, torch
from archspec.train import checkpoint as ckpt
ckpt.save(sys.argv[1], {"value": torch.zeros(100_000)})
real_save = torch.save
def half_then_hang(obj, f):
    buf = io.BytesIO()
    real_save(obj, buf)
    with open(f, "wb") as out:
        out.write(buf.getvalue()[: len(buf.getvalue()) // 2])
        out.flush()
        os.fsync(out.fileno())
    print("half written", flush=True)
    time.sleep(120)
import os
torch.save = half_then_hang
ckpt.save(sys.argv[1], {"value": torch.ones(100_000)})
"""


def test_kill_during_save_leaves_the_old_checkpoint(tmp_path):
    path = tmp_path / "last.pt"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SAVE, str(path)], env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "half written", proc.stderr.read()
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "last.pt"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".last.pt.")  # the half-written temporary
    assert torch.equal(ckpt.load(path)["value"], torch.zeros(100_000))  # the old file, whole
    clean_temporaries(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


class Payload:
    """Unpickling this runs a shell command: what a malicious checkpoint would carry."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickled_code_is_refused_and_not_run(tmp_path, capsys):
    marker = tmp_path / "pwned"
    run = tmp_path / "run"
    run.mkdir()
    torch.save({"format": ckpt.FORMAT, "version": ckpt.VERSION, "model": {"w": torch.ones(2)},
                "extra": Payload(marker)}, run / "last.pt")
    with pytest.raises(SpecError) as e:
        ckpt.load(run / "last.pt")
    msg = str(e.value)
    assert "refused" in msg and "pickled Python code" in msg and "system" in msg
    assert "weights_only=True" in e.value.diagnostics[0].hint
    assert main(["train", "lenet5", "--out", str(run), "--resume"]) == 1
    assert "refused: the file holds pickled Python code" in capsys.readouterr().err
    assert not marker.exists()


def test_truncated_and_foreign_files_are_clear_errors(tmp_path):
    good = tmp_path / "good.pt"
    ckpt.save(good, {"model": {"w": torch.ones(3)}})
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[:100])
    with pytest.raises(SpecError, match="not a readable torch checkpoint"):
        ckpt.load(cut)
    with pytest.raises(SpecError, match="not an archspec training checkpoint"):
        ckpt.load_run(good)
    assert torch.equal(ckpt.load(good)["model"]["w"], torch.ones(3))


def test_rng_state_round_trip():
    import random

    import numpy as np

    state = ckpt.rng_state()
    a = (torch.rand(3), np.random.rand(3), random.random())
    ckpt.set_rng_state(state)
    b = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]
