"""The outside model a spec declares it reproduces (its `reference:` key), built and renamed.

A spec's `reference:` (archspec/reference.py, checked without torch) names a torchvision or timm
constructor; here it is built, randomly initialised and never from downloaded weights, looked up
by name only: an attribute of `torchvision.models` that is a registered classification builder
or an nn.Module class, or a model name `timm.create_model` knows.

Key renames are a property of the reference's checkpoints, not of a spec, so they are keyed here
by the constructors they apply to: torchvision's DenseNets read old-style checkpoint keys
(`denselayer1.norm.1.weight`), as torchvision's own loader does; new-style keys pass unchanged.
Every other reference's keys are the spec's paths (the zoo specs are written so).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from archspec.errors import UserError
from archspec.reference import ReferenceSpec, check_kwargs, split_model

OLD_DENSENET = (r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$",
                r"\1\2")
# (constructors, as a regex over `library.builder`; renames applied in order to each key)
RENAMES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (r"torchvision\.(densenet\d+|DenseNet)", (OLD_DENSENET,)),
)


class ReferenceUnavailable(UserError):
    """The reference cannot be built here: its library is missing, it has no such model, or the
    constructor refused the kwargs."""


@dataclass(frozen=True)
class Reference:
    library: str  # "torchvision" or "timm"
    builder: str  # torchvision.models.<builder>(**kwargs) or timm.create_model(<builder>, **kwargs)
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:  # the same rules as the spec key, for a Reference made in code
        split_model(self.model)
        check_kwargs(dict(self.kwargs))

    @classmethod
    def of(cls, spec: ReferenceSpec) -> Reference:
        return cls(spec.library, spec.builder, spec.kwargs)

    @property
    def model(self) -> str:
        return f"{self.library}.{self.builder}"

    @property
    def renames(self) -> tuple[tuple[str, str], ...]:
        return next((r for pattern, r in RENAMES if re.fullmatch(pattern, self.model)), ())

    def build(self) -> Any:
        """The reference model, randomly initialised (never downloads weights)."""
        build = _timm if self.library == "timm" else _torchvision
        try:
            return build(self.builder, self.kwargs)
        except (TypeError, ValueError, KeyError, AssertionError) as e:  # the constructor's own checks
            args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
            raise ReferenceUnavailable(f"{self.model}({args}) failed: {type(e).__name__}: {e}") from None

    def adapt(self, state: Mapping[str, Any], own: Mapping[str, tuple[int, ...]]) -> dict[str, Any]:
        """The reference's state made to fit a module of another input size, as the reference's
        own code does: torchvision's ViT position embeddings interpolated (interpolate_embeddings)."""
        state = dict(state)
        key = "encoder.pos_embedding"
        if (re.fullmatch(VIT, self.model) and key in state and key in own
                and tuple(state[key].shape) != tuple(own[key])):
            state.update(_vit_resized(state, own))
        return state

    def rename(self, key: str) -> str:
        for pattern, repl in self.renames:
            key = re.sub(pattern, repl, key)
        return key


VIT = r"torchvision\.(vit_\w+|VisionTransformer)"


def _vit_resized(state: dict[str, Any], own: Mapping[str, tuple[int, ...]]) -> dict[str, Any]:
    """torchvision's ViT position embeddings of one image size interpolated to the module's
    (torchvision.models.vision_transformer.interpolate_embeddings, bicubic): both square grids."""
    import math

    import torch
    from torchvision.models.vision_transformer import interpolate_embeddings

    tokens, patch = own["encoder.pos_embedding"][1], own["conv_proj.weight"][-1]
    side = math.isqrt(tokens - 1)
    old = tuple(state["encoder.pos_embedding"].shape)
    if side * side != tokens - 1 or math.isqrt(old[1] - 1) ** 2 != old[1] - 1:
        raise ReferenceUnavailable(f"ViT position embeddings {old} cannot be interpolated to "
                                   f"{tuple(own['encoder.pos_embedding'])}: both need a square grid of "
                                   f"patches (a square input)")
    pos = torch.as_tensor(state["encoder.pos_embedding"])
    return dict(interpolate_embeddings(side * patch, patch, {"encoder.pos_embedding": pos}))


def _torchvision(builder: str, kwargs: Mapping[str, Any]) -> Any:
    try:
        import torchvision.models as tvm
    except ImportError as e:
        raise ReferenceUnavailable(f"torchvision.{builder}: torchvision is not installed ({e})") from None
    from torch import nn

    ctor = getattr(tvm, builder, None)
    is_module = isinstance(ctor, type) and issubclass(ctor, nn.Module)
    if ctor is None or not (is_module or builder in tvm.list_models(module=tvm)):
        raise ReferenceUnavailable(f"torchvision.models has no classification model '{builder}' "
                                   f"(torchvision.models.list_models() lists them)")
    return ctor(**kwargs)


def _timm(builder: str, kwargs: Mapping[str, Any]) -> Any:
    try:
        import timm
    except ImportError as e:
        raise ReferenceUnavailable(f"timm.{builder}: timm is not installed ({e})") from None
    if not timm.is_model(builder.partition(".")[0]):
        raise ReferenceUnavailable(f"timm has no model '{builder}' (timm.list_models() lists them)")
    return timm.create_model(builder, pretrained=False, **kwargs)


def randomise_norms(module: Any, seed: int) -> None:
    """Random BN running statistics and affines, random LayerNorm/GroupNorm affines and random
    layer scales, drawn under `seed`: at their initial values (mean 0, var 1, weight 1, bias 0) a
    norm is close to the identity, and a comparison could not see a norm misplaced,
    mis-parametrised or folded wrongly; at ConvNeXt's 1e-6 a layer-scaled block vanishes from it.
    Also Swin's relative position bias tables: at their std 0.02 they barely move a softmax, so a
    wrongly looked-up bias would go unseen. All-zero weight matrices and tokens (torchvision's ViT
    head and class token) are drawn too: a zero head gives a zero output, which any net matches."""
    import torch
    from torch import nn

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
                n = m.num_features
                assert m.running_mean is not None and m.running_var is not None  # tracked
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            if isinstance(m, nn.modules.batchnorm._BatchNorm | nn.LayerNorm | nn.GroupNorm):
                if getattr(m, "weight", None) is not None:
                    m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                if getattr(m, "bias", None) is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
            table = getattr(m, "relative_position_bias_table", None)
            if isinstance(table, nn.Parameter):
                table.copy_(torch.randn(table.shape, generator=g))
        for key, p in module.named_parameters():
            if key.rpartition(".")[2] == "layer_scale":
                p.copy_(torch.rand(p.shape, generator=g) + 0.5)
            elif p.dim() >= 2 and not p.any():  # ViT's zero-initialised head and class token
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)
