"""Datasets for training: the built-in digits, .npz arrays and ImageFolder directories.

Every source yields float images [C, H, W] at the spec's input size (pixels times the spec's
preprocess.scale, 1/255 by default; image folders read as `archspec run` reads images), and
integer labels. Augmentation is seeded per sample from (seed, epoch, index), so the data a step sees
depends neither on the number of processes or loader workers nor on where a run was resumed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from archspec.model import Model
from archspec.npz import NpzError, load_labelled
from archspec.runtime.dataset import split  # torch-free: compile --calibrate holds out the same split
from archspec.spec import Preprocess
from archspec.train.recipe import Recipe
from archspec.train.transforms import augmentation, check_augment, mean_std


class Images:
    """A labelled image source: `len`, `[i] -> (image, label)`, `classes`, `channels`."""

    name: str
    classes: list[str]
    channels: int

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        raise NotImplementedError


class TensorImages(Images):
    """Images held in memory as one tensor [N, C, H, W]."""

    def __init__(self, name: str, x: torch.Tensor, y: torch.Tensor, classes: list[str]):
        self.name, self.x, self.y, self.classes, self.channels = name, x, y, classes, x.shape[1]

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.x[i], int(self.y[i])


class FolderImages(Images):
    """An ImageFolder directory, read lazily, each image as `archspec run` reads it for the spec
    (archspec.runtime.preprocess.load_image: channels, resize of the shorter side, centre crop,
    resize to the input size, bgr order, times scale), without mean and std: Samples applies the
    normalisation."""

    def __init__(self, root: Path, shape: tuple[int, ...], pre: Preprocess | None):
        from torchvision.datasets import ImageFolder

        self.name, self.channels, self.shape = str(root), shape[0], shape
        self.pre = folder_preprocess(pre, shape[0])
        self.folder = ImageFolder(str(root), loader=str)  # paths only: load_image opens them
        self.classes = list(self.folder.classes)

    def __len__(self) -> int:
        return len(self.folder)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from archspec.runtime.preprocess import load_image

        path, label = self.folder.samples[i]
        return torch.from_numpy(load_image(Path(path), self.pre, self.shape)), label


def folder_preprocess(pre: Preprocess | None, channels: int) -> Preprocess:
    """The spec's preprocess for reading images (the default one without), minus mean and std; a
    1-channel spec reads grey images, a 3-channel spec colour ones."""
    pre = pre or Preprocess()
    update: dict[str, object] = {"mean": None, "std": None}
    if (pre.channels == "gray") != (channels == 1):
        update["channels"] = "gray" if channels == 1 else "rgb"
    return pre.model_copy(update=update)


def num_classes(model: Model) -> int:
    """Classes of the main output: the number of values it holds per sample (math.prod of its
    shape; K for [K] logits)."""
    shape = model.graph.nodes[model.graph.outputs[0].node].shape
    return math.prod(shape)


def fit_size(x: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
    """Images [N, C, H, W] resized to `size` (bilinear; antialiased when shrinking)."""
    if tuple(x.shape[2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)


def digits(shape: tuple[int, ...]) -> TensorImages:
    """scikit-learn's bundled 1,797 handwritten digits (8x8, values 0..16), upscaled to the
    spec's input size, grey replicated to 3 channels for colour specs."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    x = fit_size(x, shape[1:]).expand(-1, shape[0], -1, -1).contiguous()
    return TensorImages("digits", x, torch.tensor(d.target, dtype=torch.int64), [str(i) for i in range(10)])


def npz(path: Path, shape: tuple[int, ...], scale: float, recipe: Recipe, key: str) -> TensorImages:
    """Arrays `x` (N,H,W | N,C,H,W | N,H,W,C raw pixels, times the spec's preprocess.scale) and
    `y` (N integer labels from 0); optional `classes` (names)."""
    try:
        x, y, classes = load_labelled(path)
    except NpzError as e:
        raise recipe.error(str(e), "data", key) from None
    xt = torch.from_numpy(np.ascontiguousarray(x)).float() * scale
    return TensorImages(str(path), fit_size(xt, shape[1:]), torch.from_numpy(y.astype(np.int64)), classes)


def open_source(source: str, model: Model, recipe: Recipe, key: str) -> Images:
    shape, pre = model.input_shape, model.spec.preprocess
    if source == "digits":
        return digits(shape)
    path = Path(source)
    if path.suffix == ".npz" and path.is_file():
        return npz(path, shape, pre.scale if pre else 1 / 255, recipe, key)
    if path.is_dir():
        if shape[0] not in (1, 3):
            raise recipe.error(f"image folders give 1 or 3 channels; spec '{model.name}' takes {shape[0]}",
                               "data", key)
        return FolderImages(path, shape, pre)
    raise recipe.error(f"no dataset at '{source}'", "data", key,
                       hint="give 'digits', an ImageFolder directory or an .npz file with x and y")


def check_matches(images: Images, model: Model, recipe: Recipe, key: str) -> None:
    """Channels and classes must fit the spec: a clear error before any training."""
    notes = [(p, "the spec's input") for p in [model.source.raw.at("input")] if p]
    c = model.input_shape[0]
    if images.channels != c:
        raise recipe.error(f"dataset '{images.name}' has {images.channels}-channel images but spec "
                           f"'{model.name}' takes {c} (input {list(model.input_shape)})", "data", key,
                           notes=notes, hint="use a dataset with matching channels, or change the spec's input")
    k = num_classes(model)
    if len(images.classes) != k:
        raise recipe.error(f"dataset '{images.name}' has {len(images.classes)} classes but spec "
                           f"'{model.name}' outputs {k}", "data", key, notes=notes,
                           hint=f"give the spec's last layer out: {len(images.classes)}, or use a dataset "
                           f"with {k} classes")


class Samples(Dataset[tuple[torch.Tensor, int]]):
    """Indexed by (epoch, i): sample i of this split, augmented from its own seed, normalised."""

    def __init__(self, images: Images, indices: np.ndarray, augment: Callable[[torch.Tensor], torch.Tensor] | None,
                 norm: tuple[torch.Tensor, torch.Tensor] | None, seed: int):
        self.images, self.indices, self.augment, self.norm, self.seed = images, indices, augment, norm, seed

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, int]:
        epoch, i = key
        x, y = self.images[int(self.indices[i])]
        if self.augment is not None:  # v2 draws from the global CPU generator: seed it, then put it back
            g = torch.default_generator
            saved = g.get_state()
            g.manual_seed(hash((self.seed, epoch, i)) & 0x7FFF_FFFF_FFFF_FFFF)
            try:
                x = self.augment(x)
            finally:
                g.set_state(saved)
        if self.norm is not None:
            x = (x - self.norm[0]) / self.norm[1]
        return x, y


@dataclass
class EpochBatches:
    """One process's batches of (epoch, index) for one training epoch.

    The epoch's permutation comes from (seed, epoch); it is cut into global batches (a last
    partial one is dropped) and each global batch is dealt round-robin across the ranks, so N
    processes together see exactly the batches one process sees with the same global batch.
    `start` skips the global batches already done (a resumed run).
    """

    n: int
    batch: int
    epoch: int
    seed: int
    rank: int = 0
    world: int = 1
    start: int = 0

    def __len__(self) -> int:
        return self.n // self.batch - self.start

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        perm = torch.randperm(self.n, generator=g).tolist()
        for b in range(self.start, self.n // self.batch):
            chunk = perm[b * self.batch:(b + 1) * self.batch]
            yield [(self.epoch, i) for i in chunk[self.rank::self.world]]


@dataclass
class TrainData:
    train: Samples
    val: Samples
    classes: list[str]
    batch: int  # global, over all processes
    eval_batch: int
    workers: int
    seed: int

    @property
    def steps_per_epoch(self) -> int:
        return len(self.train) // self.batch

    def train_loader(self, epoch: int, start: int, rank: int, world: int, pin: bool) -> DataLoader[Any]:
        batches = EpochBatches(len(self.train), self.batch, epoch, self.seed, rank, world, start)
        return self._loader(self.train, batches, pin)

    def val_loader(self, rank: int = 0, world: int = 1, pin: bool = False) -> DataLoader[Any]:
        mine = list(range(rank, len(self.val), world))
        batches = [[(0, i) for i in mine[k:k + self.eval_batch]] for k in range(0, len(mine), self.eval_batch)]
        return self._loader(self.val, batches, pin)

    def _loader(self, ds: Samples, batches: Iterable[list[Any]], pin: bool) -> DataLoader[Any]:
        # its own generator: creating a loader must not draw from the global RNG (exact resume)
        return DataLoader(ds, batch_sampler=batches, num_workers=self.workers, pin_memory=pin,
                          generator=torch.Generator().manual_seed(self.seed))


def load_data(model: Model, recipe: Recipe, world: int = 1) -> TrainData:
    """The recipe's train and validation sets for this spec; mismatches are SpecErrors."""
    d = recipe.data
    check_augment(recipe, model.input_shape[0])
    norm = mean_std(recipe, model)
    train_src = open_source(d.train, model, recipe, "train")
    check_matches(train_src, model, recipe, "train")
    if d.val is None and isinstance(train_src, FolderImages) and (Path(train_src.name) / "train").is_dir():
        pre = model.spec.preprocess
        train_src = FolderImages(Path(train_src.name) / "train", model.input_shape, pre)
        val_src: Images | None = FolderImages(Path(train_src.name).parent / "val", model.input_shape, pre)
    else:
        val_src = open_source(d.val, model, recipe, "val") if d.val else None
    if val_src is None:
        tr, va = split(len(train_src), d.val_fraction, d.split_seed)
        val_src = train_src
    else:
        check_matches(val_src, model, recipe, "val")
        if val_src.classes != train_src.classes:
            raise recipe.error("the validation set's classes differ from the training set's", "data", "val")
        tr, va = np.arange(len(train_src)), np.arange(len(val_src))
    if recipe.batch_size % world:
        raise recipe.error(f"batch_size {recipe.batch_size} does not split evenly across {world} processes",
                           "batch_size")
    if len(tr) < recipe.batch_size:
        raise recipe.error(f"the training set has {len(tr)} images, fewer than one batch ({recipe.batch_size})",
                           "batch_size")
    aug = augmentation(recipe.augment, (model.input_shape[1], model.input_shape[2]))
    return TrainData(Samples(train_src, tr, aug, norm, recipe.seed), Samples(val_src, va, None, norm, 0),
                     train_src.classes, recipe.batch_size, recipe.eval_batch_size, d.workers, recipe.seed)

