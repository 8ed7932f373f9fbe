"""The training loop: epochs of optimizer steps, evaluation, metrics, checkpoints, resume.

Resume is exact: a checkpoint holds the model, optimizer, loss scaler, step counters (the
learning rate is a function of the step), every RNG of every process, and the position in the
epoch; the data order and augmentation depend only on (seed, epoch, index). A run resumed
from any checkpoint ends with the weights of the uninterrupted run (same seed, deterministic
kernels, same number of processes).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from archspec.errors import Diagnostic, SpecError
from archspec.io import clean_temporaries
from archspec.model import Model
from archspec.torch_backend import save_state
from archspec.train import checkpoint as ckpt
from archspec.train import distributed as D
from archspec.train import rundir, speed
from archspec.train.data import FolderImages, TrainData, load_data
from archspec.train.optim import lr_at, make_optimizer, set_lr
from archspec.train.plot import METRICS
from archspec.train.recipe import Recipe

AUX_WEIGHT = 0.3  # GoogLeNet's weight of an auxiliary classifier's loss
Log = Callable[[str], None]


def split_outputs(out: torch.Tensor | dict[str, torch.Tensor], main: str
                  ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(main logits, {aux name: logits}) from a forward pass in either mode (in training mode a
    spec with train-only outputs returns {main: logits, aux1: ..., ...})."""
    if isinstance(out, dict):
        return out[main], {k: v for k, v in out.items() if k != main}
    return out, {}


@dataclass
class Progress:
    """Where a run is; saved in every checkpoint."""

    epoch: int = 0  # epochs completed
    step: int = 0  # optimizer steps done in the current epoch
    global_step: int = 0
    best_acc: float = -1.0
    best_epoch: int = 0
    seconds: float = 0.0  # time spent in the current epoch before a resume


@dataclass
class Tally:
    """Running sums of one epoch on one process: loss x samples, correct, samples."""

    loss: float = 0.0
    correct: float = 0.0
    n: float = 0.0
    parts: list[torch.Tensor] = field(default_factory=list, repr=False)

    def add(self, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> None:
        self.parts.append(torch.stack([loss.detach().float() * len(y), (logits.argmax(1) == y).sum().float()]))
        self.n += len(y)

    def flush(self) -> None:  # one device sync per flush, not per step
        if self.parts:
            s = torch.stack(self.parts).sum(0).tolist()
            self.loss, self.correct, self.parts = self.loss + s[0], self.correct + s[1], []

    def sums(self) -> list[float]:
        self.flush()
        return [self.loss, self.correct, self.n]


def pick_device(choice: str, world: D.World) -> torch.device:
    if choice == "cuda" and not torch.cuda.is_available():
        raise SpecError(Diagnostic("device cuda was asked for, but torch sees no CUDA device",
                                   hint="use --device cpu (or auto), or install a CUDA build of torch"))
    if choice == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", world.local_rank)


class Trainer:
    def __init__(self, model: Model, recipe: Recipe, out: Path, world: D.World, device: torch.device,
                 log: Log | None):
        self.model, self.recipe, self.out, self.world, self.device = model, recipe, out, world, device
        self.log = log if (log and world.main) else (lambda s: None)
        self.data: TrainData = load_data(model, recipe, world.size)  # data errors before any training
        if recipe.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.benchmark = False
        self.net = model.to_torch(seed=recipe.seed).to(self.device)  # PyTorch's default init per op
        self.main, self.aux = self.net.output_names[0], self.net.train_only_outputs
        unknown = sorted(set(recipe.loss_weights) - set(self.aux))
        if unknown:
            raise recipe.error(f"loss_weights names {', '.join(unknown)}, not train-only outputs of "
                               f"'{model.name}' ({', '.join(self.aux) or 'it has none'})", "loss_weights", unknown[0])
        self.ddp: nn.Module = self.net
        if world.size > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.ddp = nn.parallel.DistributedDataParallel(self.net, device_ids=ids)
        self.opt = make_optimizer(self.net, recipe.optimizer)
        amp_dtype = torch.float16 if self.device.type == "cuda" else torch.bfloat16
        self.autocast: Callable[[], contextlib.AbstractContextManager[Any]] = (
            lambda: torch.autocast(self.device.type, amp_dtype, enabled=recipe.amp))
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=recipe.amp and amp_dtype == torch.float16)
        self.progress, self.tally = Progress(), Tally()
        seed = recipe.seed + world.rank  # dropout masks differ between replicas
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)

    # ---- checkpoints ------------------------------------------------------------------

    def payload(self) -> dict[str, Any] | None:
        """The checkpoint (on rank 0; None elsewhere). Called by every process: it gathers their RNGs."""
        mine = {"rng": ckpt.rng_state(), "tally": self.tally.sums()}
        ranks = D.gather(mine, self.world)
        if not self.world.main:
            return None
        return {"format": ckpt.FORMAT, "version": ckpt.VERSION,
                "spec": {"name": self.model.name, "hash": self.model.spec_hash, "input": list(self.model.input_shape)},
                "recipe": self.recipe.model_dump(mode="json", exclude_unset=True), "world": self.world.size,
                "model": self.net.state_dict(), "optimizer": self.opt.state_dict(),
                "scaler": self.scaler.state_dict(), "progress": asdict(self.progress), "ranks": ranks}

    def save(self, best: bool = False) -> None:
        data = self.payload()
        if data is None:
            return
        ckpt.save_run(self.out / "last.pt", data)
        if best:
            ckpt.save_run(self.out / "best.pt", data)
            meta = {"spec": self.model.name, "spec_hash": self.model.spec_hash,
                    "epoch": str(self.progress.epoch), "val_acc": f"{self.progress.best_acc:.6f}"}
            save_state(self.net, self.out / "best.safetensors", meta)  # readable without torch

    def restore(self, data: dict[str, Any]) -> None:
        if data["spec"]["hash"] != self.model.spec_hash:
            raise SpecError(Diagnostic(f"{self.out}/last.pt was trained from a different version of spec "
                                       f"'{data['spec']['name']}'", hint="resume with the spec the run started with"))
        if tuple(data["spec"]["input"]) != self.model.input_shape:
            raise SpecError(Diagnostic(f"the run trained on {data['spec']['input']} inputs, this model takes "
                                       f"{list(self.model.input_shape)}", hint="resume with the same --input"))
        if data["world"] != self.world.size:
            raise SpecError(Diagnostic(f"the run used {data['world']} process(es); resume it with as many "
                                       f"(this is {self.world.size})"))
        try:  # the structure is checked (ckpt.load_run); what is left is whether it fits this net
            self.net.load_state_dict(data["model"])
            self.opt.load_state_dict(data["optimizer"])
            self.scaler.load_state_dict(data["scaler"])
            mine = data["ranks"][self.world.rank]
            ckpt.set_rng_state(mine["rng"])
        except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise SpecError(Diagnostic(f"{self.out}/last.pt does not fit this model and recipe: {first[:300]}",
                                       hint="resume with the spec and recipe the run started with")) from None
        self.progress = Progress(**data["progress"])
        self.tally = Tally(*mine["tally"])

    # ---- one epoch --------------------------------------------------------------------

    def loss(self, out: Any, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, aux = split_outputs(out, self.main)
        ls = self.recipe.label_smoothing
        loss = F.cross_entropy(logits, y, label_smoothing=ls)
        for name, a in aux.items():
            loss = loss + self.recipe.loss_weights.get(name, AUX_WEIGHT) * F.cross_entropy(a, y, label_smoothing=ls)
        return loss, logits

    def lr(self) -> float:
        """The learning rate at the current global step."""
        r = self.recipe
        return lr_at(r.schedule, r.optimizer.lr, self.progress.global_step / self.data.steps_per_epoch, r.epochs)

    def step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        p = self.progress
        set_lr(self.opt, self.lr())
        with self.autocast():
            loss, logits = self.loss(self.ddp(x), y)
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
        self.scaler.step(self.opt)
        self.scaler.update()
        self.tally.add(loss, logits, y)
        p.step += 1
        p.global_step += 1

    def train_epoch(self, bar: Any) -> None:
        p, every = self.progress, self.recipe.checkpoint.every_steps
        pin = self.device.type == "cuda"
        self.ddp.train()
        start = time.perf_counter() - p.seconds
        for x, y in self.data.train_loader(p.epoch, p.step, self.world.rank, self.world.size, pin):
            self.step(x.to(self.device, non_blocking=pin), y.to(self.device, non_blocking=pin))
            bar.update(1)
            if p.step % 10 == 0 or p.step == self.data.steps_per_epoch:
                loss, correct, n = self.finite_sums()
                secs = time.perf_counter() - start
                bar.set_postfix_str(f"loss {loss / n:.4f} acc {100 * correct / n:.1f}% "
                                    f"{n * self.world.size / max(secs, 1e-9):.0f} img/s")
            if every and p.global_step % every == 0 and p.step < self.data.steps_per_epoch:
                p.seconds = time.perf_counter() - start
                self.finite_sums()
                self.save()
        p.seconds = time.perf_counter() - start

    def finite_sums(self) -> list[float]:
        """The tally's sums; a SpecError if a loss since the last check was not finite (NaN or
        infinite): the run stops before writing a checkpoint, so last.pt stays the last good one."""
        sums = self.tally.sums()
        bad = not math.isfinite(sums[0])
        if self.world.size > 1:  # every process stops together (none waits in a collective)
            bad = D.all_sum([float(bad)], self.device)[0] > 0
        if bad:
            p = self.progress
            raise SpecError(Diagnostic(
                f"training diverged: the loss is not finite by epoch {p.epoch + 1}, step {p.step}; "
                f"stopped without writing a checkpoint",
                hint=f"{self.out}/last.pt (if any) is the last good one; lower optimizer.lr, add warm-up "
                     f"or gradient-friendly settings, and train again"))
        return sums

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float]:
        """Validation (loss, accuracy) over all processes; each evaluates its own shard."""
        self.net.eval()  # the bare module: shards differ in length, so no DDP collectives here
        pin = self.device.type == "cuda"
        sums = torch.zeros(3, dtype=torch.float64, device=self.device)
        for x, y in self.data.val_loader(self.world.rank, self.world.size, pin):
            x, y = x.to(self.device, non_blocking=pin), y.to(self.device, non_blocking=pin)
            with self.autocast():
                logits = self.net(x)
            sums += torch.stack([F.cross_entropy(logits.float(), y, reduction="sum"),
                                 (logits.argmax(1) == y).sum(), y.new_tensor(len(y))]).double()
        loss, correct, n = D.all_sum(sums, self.device)
        return loss / n, correct / n

    def end_epoch(self) -> dict[str, Any]:
        p, r = self.progress, self.recipe
        loss, correct, n = D.all_sum(self.finite_sums(), self.device)
        val_loss, val_acc = self.evaluate()
        p.epoch, p.step, secs = p.epoch + 1, 0, p.seconds
        best = val_acc > p.best_acc
        if best:
            p.best_acc, p.best_epoch = val_acc, p.epoch
        row = {"epoch": p.epoch, "step": p.global_step,
               "lr": self.lr(),
               "train_loss": loss / n, "train_acc": correct / n, "val_loss": val_loss, "val_acc": val_acc,
               "images_per_s": n / max(secs, 1e-9), "seconds": secs}
        self.tally, p.seconds = Tally(), 0.0
        if self.world.main:
            with open(self.out / METRICS, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
        self.save(best)
        self.log(f"epoch {p.epoch}/{r.epochs}  train loss {row['train_loss']:.4f} acc {100 * row['train_acc']:.2f}%  "
                 f"val loss {val_loss:.4f} acc {100 * val_acc:.2f}%  {row['images_per_s']:.0f} img/s"
                 + ("  *best" if best else ""))
        return row

    def fit(self, show_bar: bool) -> dict[str, Any]:
        from tqdm import tqdm

        rows = []
        while self.progress.epoch < self.recipe.epochs:
            p = self.progress
            with tqdm(total=self.data.steps_per_epoch, initial=p.step, desc=f"epoch {p.epoch + 1}/{self.recipe.epochs}",
                      disable=not (show_bar and self.world.main), leave=False, file=sys.stderr,
                      unit="step") as bar:
                self.train_epoch(bar)
            rows.append(self.end_epoch())
        return {"best_val_acc": self.progress.best_acc, "best_epoch": self.progress.best_epoch,
                "epochs": rows, "run_dir": str(self.out)}


def run_settings(trainer: Trainer, threads: int | None, workers: int | None,
                 recorded: int | None = None) -> speed.Settings:
    """The threads and loader workers of this process: those given (`threads`: --threads, else
    OMP_NUM_THREADS; `workers`: --workers, else the recipe's), else speed's rule for the model's
    MACs, the per-process batch and the process's cores. On CUDA, torch's threads are kept.
    `recorded`: the threads of the run resumed (run.json), used unless --threads is given."""
    world, data = trainer.world, trainer.data
    given_t = speed.given_threads(threads, world.size > 1)
    if threads is None and recorded is not None:
        given_t = (recorded, "the run's, from run.json")
    if given_t is None and trainer.device.type == "cuda":
        given_t = (torch.get_num_threads(), "torch's default: the model runs on cuda")
    given_w = (workers, "--workers") if workers is not None else None
    if given_w is None and "workers" in trainer.recipe.data.model_fields_set:
        given_w = (data.workers, "the recipe's")
    local = int(os.environ.get("LOCAL_WORLD_SIZE", world.size))
    lazy = isinstance(data.train.images, FolderImages)
    return speed.choose(speed.op_macs(trainer.model), data.batch // world.size, lazy, speed.process_cores(local),
                        given_t, given_w)


def train(model: Model, recipe: Recipe, out: str | Path, resume: bool | dict[str, Any] = False,
          log: Log | None = print, progress_bar: bool = True, threads: int | None = None,
          workers: int | None = None) -> dict[str, Any]:
    """Train `model` by `recipe` into the run folder `out`; returns the best and per-epoch metrics.

    `resume`: continue from the folder's last.pt, or from that checkpoint already loaded (its dict,
    from rundir.resumed). `threads` (torch's CPU threads) and `workers` (loader processes): None
    chooses them for the model and machine (run_settings); the header line says what was chosen.

    Under torchrun every process calls this; rank 0 alone writes files and logs.
    """
    out, world = Path(out), D.from_env()
    rundir.check_folder(out, bool(resume))  # on every process: all of them fail alike
    device = pick_device(recipe.device, world)
    recorded = rundir.recorded_threads(out) if resume else None  # the load average chose them: keep them
    threads_before = torch.get_num_threads()  # a library call leaves the process as it found it
    try:
        D.init(world, device)
        trainer = Trainer(model, recipe, out, world, device, log)
        settings = run_settings(trainer, threads, workers, recorded)
        torch.set_num_threads(settings.threads)
        trainer.data.workers = settings.workers
        trainer.log(f"{model.name} on {device.type}, {world.size} process{'es' * (world.size > 1)}: "
                    f"{settings.header()}")
        if resume:
            trainer.restore(resume if isinstance(resume, dict) else ckpt.load_run(out / "last.pt"))
            p = trainer.progress
            trainer.log(f"resumed {out} at epoch {p.epoch + 1}, step {p.step} (global step {p.global_step})")
        elif world.main:
            rundir.start_folder(out, model, recipe, world, settings)
        D.barrier()
        if world.main:
            clean_temporaries(out)
            rundir.keep_metrics(out, trainer.progress.epoch)
        return trainer.fit(progress_bar and sys.stderr.isatty())
    finally:
        torch.set_num_threads(threads_before)
        with contextlib.suppress(Exception):
            D.close()
