"""Input files to the model's input tensor, with the preprocessing its spec declares.

Images (PNG, JPEG and whatever else Pillow opens), in the order of torchvision's classic
evaluation transform, so that the result equals `Resize(resize), CenterCrop(crop), ToTensor(),
Normalize(mean, std)` on the same file:
  1. convert to RGB (rgb, bgr) or luminance (gray);
  2. resize so the shorter side is `resize` (bilinear), when given;
  3. crop the centre `crop` x `crop`, when given;
  4. resize to the model's input H x W if the size still differs (bilinear);
  5. channels reversed for bgr;
  6. pixel values times `scale` (default 1/255), then (x - mean) / std per channel (mean and std
     in the model's channel order); layout C x H x W.
.npy arrays are taken as given: one sample (C,H,W) or a batch (B,C,H,W); no preprocessing.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from archspec.limits import LIMITS
from archspec.npy import declared_bytes
from archspec.runtime.errors import InputError
from archspec.spec import Preprocess

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage


@dataclass
class Batch:
    names: list[str]  # one per sample: the file, or file[i] for the samples of a batch array
    array: np.ndarray  # (N, C, H, W) in the model's input dtype


def load_inputs(paths: list[str], pre: Preprocess, sample_shape: tuple[int | None, ...],
                dtype: np.dtype) -> Batch:
    """All samples of all files, stacked in order."""
    names, arrays = [], []
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise InputError(f"{p}: no such file")
        if path.suffix.lower() == ".npy":
            a, single = load_npy(path, sample_shape)
            names += [p] if single else [f"{p}[{i}]" for i in range(len(a))]
        else:
            a = load_image(path, pre, sample_shape)[None]
            names.append(p)
        arrays.append(a.astype(dtype, copy=False))
    shapes = {a.shape[1:] for a in arrays}
    if len(shapes) > 1:
        raise InputError(f"the inputs have different sample shapes {sorted(shapes)}: run them separately")
    return Batch(names, np.concatenate(arrays))


def load_npy(path: Path, sample_shape: tuple[int | None, ...]) -> tuple[np.ndarray, bool]:
    """One sample or a batch, as a batch, and whether it was one sample. None matches any size.
    The header is read first: an array past LIMITS.array_bytes, or larger than the file holds, is
    refused before anything is allocated; so are NaN and infinite values."""
    try:
        with open(path, "rb") as f:
            declared_bytes(f, path.stat().st_size)
        a = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, SyntaxError) as e:
        raise InputError(f"{path}: not a readable .npy array ({str(e)[:200]})") from None
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise InputError(f"{path}: the array holds NaN or infinite values")

    def fits(s: tuple[int, ...]) -> bool:
        return len(s) == len(sample_shape) and all(d in (None, x) for d, x in zip(sample_shape, s))

    if not (a.dtype.kind in "fiub" and (fits(a.shape) or fits(a.shape[1:]))):
        want = "x".join("?" if d is None else str(d) for d in sample_shape)
        raise InputError(f"{path}: array of shape {tuple(a.shape)} and type {a.dtype} does not fit the "
                         f"model input: give one sample {want} or a batch Bx{want} of numbers")
    return (a[None], True) if fits(a.shape) else (a, False)


def load_image(path: Path, pre: Preprocess, sample_shape: tuple[int | None, ...]) -> np.ndarray:
    """One image file as a (C, H, W) float32 array."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise InputError(f"{path}: reading images needs Pillow: `pip install 'archspec[runtime]'`") from None

    channels = 1 if pre.channels == "gray" else 3
    if len(sample_shape) != 3 or sample_shape[0] not in (None, channels):
        raise InputError(f"{path}: the model input {sample_shape} does not take a {pre.channels} image "
                         f"({channels} channel{'s' * (channels > 1)}): pass a .npy array")
    _check_pixels(path, math.prod(d or 1 for d in sample_shape[1:]), "the model's input size")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = LIMITS.image_pixels
            with Image.open(path) as im:
                _check_pixels(path, im.width * im.height, f"a {im.width}x{im.height} image")
                img = im.convert("L" if pre.channels == "gray" else "RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise InputError(f"{path}: refused: {e}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise InputError(f"{path}: not an image Pillow can read ({str(e)[:200]})") from None
    if pre.resize:
        img = resize_shorter(img, pre.resize)
    if pre.crop:
        img = center_crop(img, pre.crop)
    h, w = (sample_shape[1] or img.height), (sample_shape[2] or img.width)
    if img.size != (w, h):
        img = img.resize((w, h), Image.Resampling.BILINEAR)
    a = np.asarray(img, dtype=np.float32).reshape(h, w, channels) * np.float32(pre.scale)
    if pre.channels == "bgr":  # mean and std are given in the model's channel order
        a = a[..., ::-1]
    if pre.mean is not None:
        a = a - _per_channel(pre.mean, channels, "mean")
    if pre.std is not None:
        a = a / _per_channel(pre.std, channels, "std")
    return np.ascontiguousarray(a.transpose(2, 0, 1))


def _check_pixels(path: Path, pixels: int, what: str) -> None:
    """Images are decoded and resized only within LIMITS.image_pixels (a decompression bomb, or a
    crafted model asking for a gigantic input, would take all memory)."""
    if pixels > LIMITS.image_pixels:
        raise InputError(f"{path}: {what} has {pixels:,} pixels, past the limit {LIMITS.image_pixels:,} "
                         f"(raise it with --limit image_pixels=N)")


def _per_channel(values: list[float], channels: int, what: str) -> np.ndarray:
    if len(values) not in (1, channels):
        raise InputError(f"the model's preprocess {what} has {len(values)} values for {channels} channels")
    return np.asarray(values, dtype=np.float32)


def resize_shorter(img: PILImage, size: int) -> PILImage:
    """Shorter side to `size`, aspect kept; the longer side truncated as torchvision does."""
    from PIL import Image

    w, h = img.size
    short, long = min(w, h), max(w, h)
    if short == size:
        return img
    new_long = int(size * long / short)
    return img.resize((size, new_long) if w <= h else (new_long, size), Image.Resampling.BILINEAR)


def center_crop(img: PILImage, size: int) -> PILImage:
    """The centre `size` x `size`, offsets rounded as torchvision's CenterCrop."""
    w, h = img.size
    left, top = round((w - size) / 2.0), round((h - size) / 2.0)
    return img.crop((left, top, left + size, top + size))
