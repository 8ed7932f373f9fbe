"""Labelled images as numpy arrays, without torch: what `compile --quantize --calibrate` reads.

The same three sources as training (archspec.train.data), read to the same values, so that a
model is calibrated and scored on what it was trained and validated on:

- `digits`: scikit-learn's bundled handwritten digits, values / 16, resized bilinearly to the
  spec's input (as torch's `interpolate(..., align_corners=False)`; Pillow's filter when shrinking,
  which antialiases as torch's `antialias=True` does), grey replicated for colour specs;
- an `.npz` file with `x` (raw pixels, times the spec's preprocess.scale) and `y`;
- an ImageFolder directory (one subfolder per class, sorted; with `train/` and `val/` inside, those
  are the split), each image read as `archspec run` reads it.

The training loaders themselves import torch (they are torch Datasets); `compile` must not, so
these readers repeat their reading in numpy. tests/test_quantize.py checks both give the same
arrays. The held-out split is `split` below, which the training loaders use too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from archspec.npz import NpzError, load_labelled
from archspec.runtime.errors import InputError
from archspec.spec import Preprocess

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")  # torchvision's


@dataclass
class Labelled:
    """Samples `x` [N, C, H, W] float32 (normalised as the model's input) and labels `y` [N].

    An ImageFolder's samples are its files, read when `x` is first asked for: a subset (the
    calibration samples, the held-out ones) reads only its own images, never the whole folder."""

    name: str
    images: np.ndarray | None
    y: np.ndarray
    classes: list[str]
    files: list[Path] = field(default_factory=list)  # when `images` is None: one per sample
    read: Callable[[Path], np.ndarray] | None = None  # one file, as the model's input

    @property
    def x(self) -> np.ndarray:
        if self.images is None:
            assert self.read is not None
            self.images = np.stack([self.read(f) for f in self.files])
        return self.images

    def loaded(self) -> Labelled:
        """This set, its images read (`x` keeps them)."""
        _ = self.x
        return self

    def subset(self, indices: np.ndarray) -> Labelled:
        if self.images is None:
            return Labelled(self.name, None, self.y[indices], self.classes, [self.files[i] for i in indices], self.read)
        return Labelled(self.name, self.images[indices], self.y[indices], self.classes)


def split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed held-out split: the same (n, fraction, seed) always gives the same indices."""
    perm = np.random.default_rng(seed).permutation(n)
    n_val = max(1, round(n * fraction))
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def resize(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Images [N, C, H, W] bilinearly resized to `size`, clamped to [0, 1] as training's fit_size."""
    if tuple(x.shape[2:]) == tuple(size):
        return x
    if size[0] >= x.shape[2] and size[1] >= x.shape[3]:
        out = _upsample(x, size)
    else:
        from PIL import Image

        h, w = size
        out = np.stack([np.stack([np.asarray(Image.fromarray(c, mode="F").resize((w, h), Image.Resampling.BILINEAR))
                                  for c in img]) for img in x.astype(np.float32)])
    clipped: np.ndarray = np.clip(out, 0.0, 1.0).astype(np.float32)
    return clipped


def _upsample(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Separable bilinear interpolation with half-pixel centres, edges clamped (torch's rule)."""
    for axis, n_out in ((2, size[0]), (3, size[1])):
        n_in = x.shape[axis]
        src = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0, None)
        lo = np.minimum(np.floor(src).astype(int), n_in - 1)
        hi = np.minimum(lo + 1, n_in - 1)
        frac = (src - lo).astype(np.float32)
        shape = [1] * x.ndim
        shape[axis] = n_out
        frac = frac.reshape(shape)
        x = np.take(x, lo, axis=axis) * (1 - frac) + np.take(x, hi, axis=axis) * frac
    return np.asarray(x)


def normalise(x: np.ndarray, pre: Preprocess) -> np.ndarray:
    """(x - mean) / std per channel, as the spec's preprocess says (the runtime's last step)."""
    c = x.shape[1]
    if pre.mean is not None:
        x = x - np.asarray(pre.mean * (c if len(pre.mean) == 1 else 1), np.float32).reshape(1, c, 1, 1)
    if pre.std is not None:
        x = x / np.asarray(pre.std * (c if len(pre.std) == 1 else 1), np.float32).reshape(1, c, 1, 1)
    return np.ascontiguousarray(x, dtype=np.float32)


def digits(shape: tuple[int, ...], pre: Preprocess) -> Labelled:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise InputError("the built-in digits need scikit-learn: `pip install 'archspec[train]'`") from None
    d = load_digits()
    x = resize(d.images.astype(np.float32)[:, None] / 16.0, (shape[1], shape[2]))
    x = np.repeat(x, shape[0], axis=1) if shape[0] != 1 else x
    return Labelled("digits", normalise(x, pre), d.target.astype(np.int64), [str(i) for i in range(10)])


def npz(path: Path, shape: tuple[int, ...], pre: Preprocess) -> Labelled:
    try:
        x, y, classes = load_labelled(path)
    except NpzError as e:
        raise InputError(str(e)) from None
    if x.shape[1] != shape[0]:
        raise InputError(f"'{path}' has {x.shape[1]}-channel images but the model takes {shape[0]} "
                         f"(input {list(shape)})")
    xs = resize(x.astype(np.float32) * np.float32(pre.scale), (shape[1], shape[2]))
    return Labelled(str(path), normalise(xs, pre), y.astype(np.int64), classes)


def folder(root: Path, shape: tuple[int, ...], pre: Preprocess) -> Labelled:
    """An ImageFolder: classes are the sorted subfolders, images their files in sorted order."""
    from archspec.runtime.preprocess import load_image

    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    files = [(f, k) for k, c in enumerate(classes) for f in sorted((root / c).rglob("*"))
             if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()]
    if not files:
        raise InputError(f"{root}: no images in class subfolders (ImageFolder layout: {root}/CLASS/IMAGE)")
    pre = pre.model_copy(update={"channels": "gray"} if shape[0] == 1 else
                         {"channels": "rgb"} if pre.channels == "gray" else {})
    return Labelled(str(root), None, np.array([k for _, k in files], np.int64), classes,
                    [f for f, _ in files], lambda f: load_image(f, pre, shape))


def open_labelled(source: str, shape: tuple[int, ...], pre: Preprocess | None) -> Labelled:
    """One source (digits, .npz, ImageFolder), all of it."""
    pre = pre or Preprocess()
    if len(shape) != 3:
        raise InputError(f"calibration data are images; the model takes a {len(shape)}-d sample {list(shape)}")
    if source == "digits":
        return digits(shape, pre)
    path = Path(source)
    if path.suffix == ".npz" and path.is_file():
        return npz(path, shape, pre)
    if path.is_dir():
        return folder(path, shape, pre)
    raise InputError(f"no dataset at '{source}': give 'digits', an .npz file with x and y, or an ImageFolder directory")


def train_and_held_out(source: str, shape: tuple[int, ...], pre: Preprocess | None, fraction: float = 0.2,
                       seed: int = 0) -> tuple[Labelled, Labelled]:
    """The training part and the held-out part, as training splits them (recipes' default
    val_fraction 0.2 and split_seed 0; a folder's own train/ and val/ when it has them)."""
    path = Path(source)
    if source != "digits" and path.is_dir() and (path / "train").is_dir() and (path / "val").is_dir():
        return open_labelled(str(path / "train"), shape, pre), open_labelled(str(path / "val"), shape, pre)
    data = open_labelled(source, shape, pre)
    if len(data.y) < 2:
        raise InputError(f"{data.name} has {len(data.y)} sample: too few to split into calibration and held-out parts")
    tr, va = split(len(data.y), fraction, seed)
    return data.subset(tr), data.subset(va)
