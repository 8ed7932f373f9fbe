"""A recipe's augmentation and normalisation as torchvision.transforms.v2 pipelines.

Images reach these as float tensors [C, H, W] in [0, 1] at the spec's input size ("unit"
domain: raw pixels times the spec's preprocess.scale), so the deployed model, given raw pixels
and the preprocessing recorded from the spec, sees what the trained one saw.
"""

from __future__ import annotations

import torch
from torchvision.transforms import v2

from archspec.model import Model
from archspec.train.recipe import Augment, Normalize, Recipe


def augmentation(aug: Augment, size: tuple[int, int]) -> v2.Compose | None:
    """The random transforms, geometry first, then colour; None when there are none."""
    steps: list[v2.Transform] = []
    if aug.random_resized_crop:
        rc = aug.random_resized_crop
        steps.append(v2.RandomResizedCrop(size, scale=rc.scale, ratio=rc.ratio, antialias=True))
    if aug.random_crop:
        c = aug.random_crop
        steps.append(v2.RandomCrop(size, padding=c.padding, padding_mode=c.padding_mode))
    if aug.scale or aug.rotation:
        degrees = aug.rotation.degrees if aug.rotation else 0.0
        steps.append(v2.RandomAffine(degrees, scale=aug.scale.range if aug.scale else None,
                                     interpolation=v2.InterpolationMode.BILINEAR))
    if aug.hflip:
        steps.append(v2.RandomHorizontalFlip(aug.hflip.p))
    if aug.color_jitter:
        j = aug.color_jitter
        steps.append(v2.ColorJitter(j.brightness or None, j.contrast or None, j.saturation or None,
                                    j.hue or None))
    return v2.Compose(steps) if steps else None


def check_augment(recipe: Recipe, channels: int) -> None:
    """Colour transforms that need RGB are an error on a one-channel spec, before training."""
    j = recipe.augment.color_jitter
    if j and channels != 3 and (j.saturation or j.hue):
        raise recipe.error(f"color_jitter saturation and hue need 3 channels; the spec takes {channels}",
                           "augment", "color_jitter", hint="keep brightness and contrast only")


def mean_std(recipe: Recipe, model: Model) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The normalisation (x - mean) / std: the recipe's own, or the spec's preprocess (default)."""
    channels = model.input_shape[0]
    if isinstance(recipe.normalize, Normalize):
        keys: tuple[str, ...] = ("normalize",)
        mean, std = recipe.normalize.mean, recipe.normalize.std
    else:
        pre = model.spec.preprocess
        if recipe.normalize == "none" or pre is None or pre.mean is None:
            return None
        mean, std, keys = pre.mean, pre.std or [1.0], ()
    mean = mean * channels if len(mean) == 1 else mean
    std = std * channels if len(std) == 1 else std
    if len(mean) != channels or len(std) != channels:
        raise recipe.error(f"normalize has {len(mean)} means and {len(std)} stds for {channels} channels",
                           *keys, hint="give one value, or one per channel")
    return torch.tensor(mean).view(-1, 1, 1), torch.tensor(std).view(-1, 1, 1)
