"""Data-parallel training: one process per device, started by torchrun.

`torchrun --nproc-per-node N -m archspec train ...` sets RANK/WORLD_SIZE/LOCAL_RANK; each
process trains a DistributedDataParallel replica on its share of every global batch (gloo on
CPU, NCCL on GPU). Only rank 0 logs and writes files.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def from_env() -> World:
    """This process's place, from the variables torchrun sets (a single process without them)."""
    env = os.environ
    return World(int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0)))


def init(world: World, device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.set_device(device)  # NCCL's collectives (all_gather_object too) use the current device
    if world.size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def close() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def all_sum(values: list[float] | torch.Tensor, device: torch.device) -> list[float]:
    """Sums over all processes (float64, so counts stay exact)."""
    t = torch.as_tensor(values, dtype=torch.float64).to(device)
    if dist.is_initialized():
        dist.all_reduce(t)
    return t.tolist()


def gather(obj: Any, world: World) -> list[Any]:
    """Every process's `obj`, in rank order (on all ranks)."""
    if world.size == 1:
        return [obj]
    out: list[Any] = [None] * world.size
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def launch(nproc: int, argv: list[str]) -> int:
    """Run `archspec <argv>` in `nproc` processes through torchrun; its exit status."""
    env = dict(os.environ)
    # torchrun would pin each process to 1 thread; share the cores instead
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
           "-m", "archspec", *argv]
    return subprocess.run(cmd, env=env, check=False).returncode
