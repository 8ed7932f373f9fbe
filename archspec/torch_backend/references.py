"""The outside models the built-in specs reproduce, and how their state_dict keys map onto ours.

One row per spec: the reference's constructor and the renames from its keys to the spec's IR
paths, as (regex, replacement) pairs applied in order. Empty renames: the keys are identical (the
zoo specs are written so). The DenseNet rename reads torchvision's old-style checkpoint keys
(`denselayer1.norm.1.weight`), as torchvision's own loader does; new-style keys pass unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

OLD_DENSENET = (r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$",
                r"\1\2")


@dataclass(frozen=True)
class Reference:
    library: str  # "torchvision" or "timm"
    builder: str  # torchvision.models.<builder>(**kwargs) or timm.create_model(<builder>, **kwargs)
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    renames: tuple[tuple[str, str], ...] = ()

    def build(self) -> Any:
        """The reference model, randomly initialised (never downloads weights)."""
        if self.library == "timm":
            import timm

            return timm.create_model(self.builder, pretrained=False, **self.kwargs)
        import torchvision.models

        return getattr(torchvision.models, self.builder)(**self.kwargs)

    def rename(self, key: str) -> str:
        for pattern, repl in self.renames:
            key = re.sub(pattern, repl, key)
        return key


_DENSE = (OLD_DENSENET,)
REGNET_X = ("400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf", "32gf")
REGNET_Y = (*REGNET_X, "128gf")  # the same sizes, and one more
REFERENCES: dict[str, Reference] = {
    "alexnet": Reference("torchvision", "alexnet"),
    # init_weights=True is torchvision's behaviour for weights=None, said explicitly (no warning)
    "googlenet": Reference("torchvision", "googlenet", {"aux_logits": True, "init_weights": True}),
    **{f"resnet{d}": Reference("torchvision", f"resnet{d}") for d in (18, 34, 50, 101, 152)},
    **{f"densenet{d}": Reference("torchvision", f"densenet{d}", renames=_DENSE) for d in (121, 169, 201, 161)},
    "densenet264": Reference("torchvision", "DenseNet", {"growth_rate": 32, "block_config": (6, 12, 64, 48),
                                                         "num_init_features": 64}, renames=_DENSE),
    "inception_resnet_v2": Reference("timm", "inception_resnet_v2"),
    "inception_v3": Reference("torchvision", "inception_v3", {"aux_logits": True, "init_weights": True}),
    **{f"vgg{d}{bn}": Reference("torchvision", f"vgg{d}{bn}") for d in (11, 13, 16, 19) for bn in ("", "_bn")},
    **{f"squeezenet1_{v}": Reference("torchvision", f"squeezenet1_{v}") for v in (0, 1)},
    **{n: Reference("torchvision", n) for n in ("resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d",
                                                "wide_resnet50_2", "wide_resnet101_2")},
    **{f"regnet_x_{s}": Reference("torchvision", f"regnet_x_{s}") for s in REGNET_X},
    **{f"regnet_y_{s}": Reference("torchvision", f"regnet_y_{s}") for s in REGNET_Y},
}
