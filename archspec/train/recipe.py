"""Training recipes: YAML validated by Pydantic, separate from the model spec (one model, many recipes).

Errors point at the recipe line, like spec errors. This module does not import torch, so
`archspec schema --recipe` stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, NonNegativeFloat, PositiveFloat, PositiveInt, PrivateAttr, model_validator

from archspec.errors import Collector, Diagnostic, SpecError, did_you_mean
from archspec.source import Pos, SDict
from archspec.spec import Strict, validate

RECIPE_DIR = Path(__file__).resolve().parent.parent / "recipes"
Unit = Annotated[float, Field(ge=0, le=1)]  # a fraction in [0, 1]
Beta = Annotated[float, Field(ge=0, lt=1)]  # an Adam moment's decay
FLOAT32_MAX = 3.4028234663852886e38


def _float32(value: float) -> float:
    """torch applies rates and augmentation factors to float32 tensors and refuses, mid-training,
    a number float32 cannot hold: refuse it here, where the recipe line is known."""
    if value > FLOAT32_MAX:
        raise ValueError(f"at most {FLOAT32_MAX:.4g}, float32's largest number")
    return value


Positive32 = Annotated[float, Field(gt=0), AfterValidator(_float32)]
NonNegative32 = Annotated[float, Field(ge=0), AfterValidator(_float32)]
MAX_SEED = 2**63 - 1  # the largest seed numpy and torch both take
MAX_EPOCHS = 100_000  # the same bounds as the command line's --epochs and --batch-size
MAX_BATCH = 1 << 20
MAX_PADDING = 1024  # pixels a random crop pads each side with (CIFAR: 4)


def ordered(pair: tuple[float, float], what: str) -> None:
    """A (min, max) range: ValueError if min > max."""
    if pair[0] > pair[1]:
        raise ValueError(f"{what} is [min, max]; got min {pair[0]} > max {pair[1]}")


class Data(Strict):
    """Where the images come from. Sources: `digits` (scikit-learn's bundled handwritten digits,
    upscaled to the spec's input), an ImageFolder directory (class per subfolder; with `train/`
    and `val/` subfolders they are used as the split), or an .npz file with arrays `x` and `y`."""

    train: str = "digits"
    val: str | None = None  # same kinds of source; absent: `val_fraction` of train is held out
    val_fraction: float = Field(0.2, gt=0, lt=1)
    split_seed: int = 0  # the held-out split depends on this only, not on the training seed
    workers: int = Field(0, ge=0)  # DataLoader worker processes


class RandomCrop(Strict):
    """Pad every side, then crop the spec's input size at a random place (CIFAR: padding 4)."""

    padding: int = Field(4, ge=0, le=MAX_PADDING)
    padding_mode: Literal["constant", "edge", "reflect"] = "constant"


class ResizedCrop(Strict):
    """Crop a random area and aspect ratio, resized to the input size (Inception-style)."""

    scale: tuple[Annotated[float, Field(gt=0, le=1)], Annotated[float, Field(gt=0, le=1)]] = (0.08, 1.0)
    ratio: tuple[Positive32, Positive32] = (3 / 4, 4 / 3)

    @model_validator(mode="after")
    def _ranges(self) -> ResizedCrop:
        ordered(self.scale, "scale")
        ordered(self.ratio, "ratio")
        return self


class Rotation(Strict):
    degrees: float = Field(ge=0, le=180)  # uniform in [-degrees, degrees]


class Scale(Strict):
    """Zoom by a random factor about the centre (RandomAffine's scale)."""

    range: tuple[Positive32, Positive32] = (0.9, 1.1)

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        ordered(self.range, "range")
        return self


class HFlip(Strict):
    p: Unit = Field(0.5, ge=0, le=1)


class ColorJitter(Strict):
    brightness: NonNegative32 = 0.0
    contrast: NonNegative32 = 0.0
    saturation: NonNegative32 = 0.0  # needs 3 channels
    hue: float = Field(0.0, ge=0, le=0.5)  # needs 3 channels


_SHORTHAND = {"rotation": "degrees", "hflip": "p", "scale": "range"}


class Augment(Strict):
    """Random training-time transforms (torchvision.transforms.v2), applied in this order
    whatever the order in the file: geometry first, then colour. Validation data is not augmented.
    `hflip: true` or an empty value takes the defaults; `rotation: 10`, `hflip: 0.3` and
    `scale: [0.9, 1.1]` are shorthands."""

    random_resized_crop: ResizedCrop | None = None
    random_crop: RandomCrop | None = None
    scale: Scale | None = None
    rotation: Rotation | None = None
    hflip: HFlip | None = None
    color_jitter: ColorJitter | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        out = {}
        for k, v in raw.items():
            if v is False:
                continue
            if v is None or v is True:
                v = {}
            elif k in _SHORTHAND and not isinstance(v, dict):
                v = {_SHORTHAND[k]: v}
            out[k] = v
        return out


class Normalize(Strict):
    mean: list[float]
    std: list[PositiveFloat]


class Optimizer(Strict):
    type: Literal["sgd", "adamw"] = "sgd"
    lr: Positive32 = 0.1  # the peak rate, reached after warm-up
    momentum: float = Field(0.9, ge=0, lt=1)  # sgd only
    nesterov: bool = False  # sgd only
    betas: tuple[Beta, Beta] = (0.9, 0.999)  # adamw only
    eps: Positive32 = 1e-8  # adamw only
    weight_decay: NonNegative32 = 0.0  # L2 for sgd, decoupled for adamw

    @model_validator(mode="after")
    def _fits_type(self) -> Optimizer:
        wrong = {"sgd": {"betas", "eps"}, "adamw": {"momentum", "nesterov"}}[self.type]
        given = sorted(wrong & self.model_fields_set)
        if given:
            raise ValueError(f"{', '.join(given)} do not apply to {self.type}")
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov needs momentum > 0")
        return self


class Schedule(Strict):
    """The learning rate per step: linear warm-up, then constant, step decay or cosine decay."""

    type: Literal["constant", "step", "cosine"] = "cosine"
    warmup_epochs: NonNegativeFloat = 0.0
    warmup_start: float = Field(0.1, ge=0, le=1)  # the first step's rate, as a fraction of lr
    milestones: list[PositiveInt] = []  # step: epochs at which the rate is multiplied by gamma
    gamma: float = Field(0.1, gt=0, le=1)
    min_lr: NonNegative32 = 0.0  # cosine: the rate at the end

    @model_validator(mode="after")
    def _milestones(self) -> Schedule:
        if (self.type == "step") != bool(self.milestones):
            raise ValueError("milestones go with (and only with) type: step")
        return self


class Checkpoint(Strict):
    every_steps: int = Field(0, ge=0)  # also write last.pt every N optimizer steps (0: at epoch ends)


class Recipe(Strict):
    """How to train a spec: data, augmentation, optimisation, and where it runs."""

    recipe: Literal[1]
    name: str
    description: str = ""
    data: Data = Data()
    augment: Augment = Augment()
    normalize: Literal["spec", "none"] | Normalize = "spec"  # spec: the spec's preprocess mean/std
    batch_size: int = Field(64, ge=1, le=MAX_BATCH)  # global: split evenly across processes
    eval_batch_size: int = Field(256, ge=1, le=MAX_BATCH)
    epochs: int = Field(10, ge=1, le=MAX_EPOCHS)
    optimizer: Optimizer = Optimizer()
    schedule: Schedule = Schedule()
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    loss_weights: dict[str, NonNegativeFloat] = {}  # train-only outputs (absent: 0.3, GoogLeNet's)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    deterministic: bool = False  # torch.use_deterministic_algorithms; needed for bit-exact resume on GPU
    device: Literal["auto", "cpu", "cuda"] = "auto"
    amp: bool = False  # mixed precision: float16 with loss scaling on CUDA, bfloat16 on CPU
    checkpoint: Checkpoint = Checkpoint()

    _raw: Any = PrivateAttr(None)
    _path: Path | None = PrivateAttr(None)
    _cli: set[str] = PrivateAttr(default_factory=set)  # fields set by command-line options, not the file

    @property
    def path(self) -> Path | None:
        return self._path

    def at(self, *keys: str) -> Pos | None:
        """The YAML position of a (nested) key, for errors about values that are valid on their own."""
        node, pos = self._raw, None
        for k in keys:
            if not isinstance(node, SDict) or k not in node:
                break
            node, pos = node[k], node.at(k)
        return pos or getattr(self._raw, "pos", None)

    def error(self, message: str, *keys: str, hint: str = "",
              notes: list[tuple[Pos, str]] | None = None) -> SpecError:
        """A problem with a value: at its line in the recipe, or named by the option that set it."""
        if keys and keys[0] in self._cli:
            return SpecError(Diagnostic(message, None, f"--{keys[0].replace('_', '-')}", hint, list(notes or [])))
        return SpecError(Diagnostic(message, self.at(*keys), "recipe", hint, list(notes or [])))

    def override(self, **fields: Any) -> Recipe:
        """A copy with fields set from command-line options (errors about them name the option)."""
        new = self.model_copy(update=fields)
        new._raw, new._path, new._cli = self._raw, self._path, self._cli | set(fields)
        return new

    def resolve(self, source: str) -> str:
        """A data path as given (relative to the working folder), else relative to the recipe file."""
        if self._path is None:
            return source
        return resolve_data(source, self._path.parent)


def resolve_data(source: str, folder: Path | None = None) -> str:
    """A data source with an absolute path, so that a saved run finds it from anywhere: the path as
    given (relative to the working folder), else relative to `folder`; 'digits' and paths found
    nowhere stay as given."""
    if source == "digits":
        return source
    if Path(source).exists():
        return str(Path(source).resolve())
    near = folder / source if folder is not None else None
    return str(near.resolve()) if near is not None and near.exists() else source


def builtin_recipes() -> list[str]:
    return sorted(p.stem for p in RECIPE_DIR.glob("*.yaml"))


def find_recipe(recipe: str | Path | None, spec_name: str) -> Path:
    """A path, a built-in recipe name, or (None) the built-in recipe for the spec: its own name,
    else the longest built-in name it starts with (cifar_resnet56 -> cifar)."""
    if recipe is None:
        matches = [n for n in builtin_recipes() if spec_name == n or spec_name.startswith(f"{n}_")]
        if not matches:
            raise SpecError(Diagnostic(f"no built-in recipe for spec '{spec_name}'",
                                       hint="give --recipe FILE; built-in recipes: "
                                       + ", ".join(builtin_recipes())))
        return RECIPE_DIR / f"{max(matches, key=len)}.yaml"
    path = Path(recipe)
    if path.is_file():
        return path
    builtin = RECIPE_DIR / f"{recipe}.yaml"
    if builtin.is_file():
        return builtin
    raise SpecError(Diagnostic(f"no recipe file or built-in recipe named '{recipe}'",
                               hint=did_you_mean(str(recipe), builtin_recipes())))


def load_recipe(recipe: str | Path | None, spec_name: str = "") -> Recipe:
    """Read and validate a recipe; every problem is reported at its line in one SpecError."""
    from archspec.loader import parse_file

    path = find_recipe(recipe, spec_name).resolve()
    raw = parse_file(path)
    errors = Collector()
    r: Recipe = validate(Recipe, raw, raw.pos, errors, what="recipe")
    errors.raise_if_any()
    r._raw, r._path = raw, path
    r.data.train = r.resolve(r.data.train)  # saved runs then find their data from anywhere
    if r.data.val:
        r.data.val = r.resolve(r.data.val)
    return r


def recipe_from_dict(data: dict[str, Any]) -> Recipe:
    """A recipe saved in a run folder (plain JSON, already validated once)."""
    recipe: Recipe = Recipe.model_validate(data)
    return recipe


def json_schema() -> dict[str, Any]:
    from archspec.schema import Described

    s = Recipe.model_json_schema(ref_template="#/$defs/{model}", schema_generator=Described)
    for key, prop in s["$defs"]["Augment"]["properties"].items():  # the shorthands Augment reads
        model = s["$defs"][prop["anyOf"][0]["$ref"].rsplit("/", 1)[-1]]
        short = [model["properties"][_SHORTHAND[key]]] if key in _SHORTHAND else []
        prop["anyOf"] += [{"type": "boolean"}, *short]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://archspec.dev/schema/recipe-1.json", "title": "archspec training recipe", **s}
