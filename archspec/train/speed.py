"""CPU threads and data-loader workers for a training run, chosen from the model and the machine.

torch's default (one thread per core) is the slow choice for a small net: each op is a parallel
region whose threads wait for each other at its end, and on cores that other processes share, a
descheduled thread stalls the region for a time slice. LeNet-5 at batch 32 trained at 110
images/s that way against 889 with one thread. A second thread pays only when each region has
enough work to hide that wait, so the rule is a formula of the work of one op in a step:

    op MACs = the model's MACs per sample / its conv and linear layers x the batch per process
    threads = clamp(op MACs // OP_MACS_PER_THREAD, 1, idle cores per process)

OP_MACS_PER_THREAD is calibrated by `python tools/bench_train.py` (docs/benchmarks.md) on the
2 shared cores of the development machine: cifar_resnet20 at 16x16 and batch 128 (65 M MACs an
op) ran 1.6x faster on two threads than on one while the other core was mostly free, and 7x
slower while other processes kept both busy; at batch 32 (16 M) two threads were 5 to 17x slower;
at 260 M an op (32x32) two threads were still 3x slower with a load average of 8. Erring low
costs at most the spare cores' share, erring high several times the step, so the cores counted
are the idle ones: the process's cores (affinity, cgroup quota) less the last minute's load
average, shared among the processes on the machine. No timed probe (a few noisy steps); the
load makes the choice depend on the moment, so a bit-exact resume gives --threads.

Workers: a worker process pays when making a batch costs more than the worker's start each
epoch (DataLoader starts its workers anew per epoch) and than the core it takes from the model.
Images read lazily from a folder (decoding a file per sample) get workers on the cores the
threads leave, at least one; images held in memory are read in the main process (LeNet-5 on the
digits, one thread: a worker made an epoch 1.8x slower at a load average of 3, its start each
epoch outweighing the augmentation it takes over; at a load of 7 it was 1.3x faster, having a
process's share of the CPU to itself; the less loaded case decides).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from archspec.model import Model

OP_MACS_PER_THREAD = 100_000_000  # forward MACs of one op in a step, per thread
MAX_WORKERS = 8


@dataclass(frozen=True)
class Settings:
    """What a run uses, and why (for the run header and run.json)."""

    threads: int
    workers: int
    why_threads: str
    why_workers: str

    def header(self) -> str:
        return (f"{self.threads} thread{'s' * (self.threads != 1)} ({self.why_threads}), "
                f"{self.workers} loader worker{'s' * (self.workers != 1)} ({self.why_workers})")


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity, capped by a cgroup CPU quota
    (containers), at least 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    try:
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def op_macs(model: Model) -> int:
    """The mean MACs per sample of the model's conv and linear layers (the ops that carry MACs)."""
    ops = [n.macs for n in model.graph.eval_nodes() if n.macs > 0]
    return sum(ops) // max(1, len(ops))


def rule_threads(op_macs: int, batch: int, cores: int) -> int:
    """The threads the rule gives a step of `batch` samples on `cores` cores (see the module doc)."""
    return max(1, min(cores, op_macs * batch // OP_MACS_PER_THREAD))


def rule_workers(lazy: bool, threads: int, cores: int) -> int:
    """Loader workers: none for data in memory; for data read per sample, the cores the threads
    leave (at least one, at most MAX_WORKERS)."""
    return max(1, min(MAX_WORKERS, cores - threads)) if lazy else 0


def choose(op_macs: int, batch: int, lazy: bool, cores: int,
           threads: tuple[int, str] | None = None, workers: tuple[int, str] | None = None) -> Settings:
    """Threads and workers for a process training `batch` samples a step on `cores` cores, its ops
    `op_macs` MACs a sample each on average; `threads` or `workers` given as (value, where it came
    from) are kept."""
    if threads is None:
        threads = (rule_threads(op_macs, batch, cores),
                   f"{op_macs * batch / 1e6:.3g} M MACs an op at batch {batch}, {cores} idle core{'s' * (cores != 1)}")
    if workers is None:
        workers = (rule_workers(lazy, threads[0], cores), "images read from files" if lazy else "images in memory")
    return Settings(threads[0], workers[0], threads[1], workers[1])


def given_threads(flag: int | None, distributed: bool) -> tuple[int, str] | None:
    """Threads the user set: `--threads`, else OMP_NUM_THREADS in a single process (under torchrun
    that variable is torchrun's, set whatever the user asked)."""
    if flag is not None:
        return flag, "--threads"
    env = os.environ.get("OMP_NUM_THREADS", "")
    if not distributed and env.isdigit() and int(env) > 0:
        return int(env), "OMP_NUM_THREADS"
    return None


def idle_cores(cores: int) -> int:
    """Of `cores`, those the last minute's load average leaves idle (at least 1): on cores other
    processes keep busy, a second thread waits for its turn at the end of every op."""
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows
        return cores
    return max(1, min(cores, int(cores - busy + 0.5)))


def process_cores(local_world: int) -> int:
    """The idle cores of one of `local_world` processes on this machine (at least 1)."""
    return max(1, idle_cores(usable_cores()) // max(1, local_world))
