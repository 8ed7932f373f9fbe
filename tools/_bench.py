"""What the benchmark tools share: a whole process as a callable for archspec's one timing harness."""

from __future__ import annotations

import compileall
import os
import resource
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def byte_compile() -> None:
    """Compile archspec's modules to bytecode, as `pip install` leaves a package (and left torch):
    an editable install under PYTHONDONTWRITEBYTECODE would compile every module again in every
    timed process."""
    compileall.compile_dir(ROOT / "archspec", quiet=1)


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


@dataclass
class Process:
    """`cmd` run to completion at each call, with this checkout's archspec first on PYTHONPATH, so
    `archspec.runtime.time_calls` / `time_interleaved` time whole processes. Each call appends the
    process's stdout to `outputs` and its CPU seconds (user + sys) to `cpu`; time with warmup=0 and
    they pair with the latencies. A failed process ends the tool with its stderr. archspec is
    byte-compiled first.
    """

    cmd: list[str]
    outputs: list[str] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        byte_compile()

    def __call__(self) -> None:
        env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        cpu0 = _children_cpu()
        p = subprocess.run(self.cmd, env=env, capture_output=True, text=True)
        self.cpu.append(_children_cpu() - cpu0)
        if p.returncode:
            sys.exit(f"{' '.join(self.cmd)[:200]} failed:\n{p.stderr[-3000:]}")
        self.outputs.append(p.stdout)
