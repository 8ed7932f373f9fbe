"""Weights as numpy arrays keyed by torch state_dict names (`layer1.0.conv1.weight`).

`init_weights` draws PyTorch's default initialisation from a seed (each op's
`init`); `load_weights` reads .npz and .safetensors without torch, and torch
checkpoints (a state_dict, or {"model": state_dict}) when torch is installed;
`check_weights` names every missing, unexpected or mis-shaped key.
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Container, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from archspec.errors import UserError
from archspec.ops.base import state_key
from archspec.parallel import Array, Deferred, pmap

if TYPE_CHECKING:
    from archspec.ir import Graph, Node

TORCH_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")
IGNORED_SUFFIXES = (".num_batches_tracked",)  # torch BN bookkeeping, not a weight
DEFER_BYTES = 1 << 18  # init_weights(defer=True) draws nodes with this many bytes on the pool


class WeightsError(UserError, ValueError):
    """A weights file that cannot be read or does not fit the graph."""


def uniform(rng: np.random.Generator, shape: tuple[int, ...], bound: float) -> np.ndarray:
    """float32 samples of U(-bound, bound), drawn in float32 (twice as fast as float64), scaled in place."""
    a = rng.random(shape, dtype=np.float32)
    a *= np.float32(2 * bound)
    a -= np.float32(bound)
    return a


def fan_in_uniform(weights: dict[str, tuple[int, ...]], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """PyTorch's conv/linear default: kaiming_uniform(a=sqrt(5)) gives the weight a bound of
    gain * sqrt(3 / fan_in) = sqrt(2 / 6) * sqrt(3 / fan_in) = 1 / sqrt(fan_in); the bias shares it."""
    fan_in = math.prod(weights["weight"][1:])
    bound = 1 / math.sqrt(fan_in) if fan_in else 0.0
    return {k: uniform(rng, shape, bound) for k, shape in weights.items()}


def node_rng(seed: int, name: str) -> np.random.Generator:
    """A generator per node, so a node's initial values depend only on the seed and its path."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def init_weights(graph: Graph, seed: int = 0, nodes: Iterable[Node] | None = None,
                 defer: bool = False) -> dict[str, Array]:
    """Seeded initial weights and buffers of `nodes` (default: every node of the train graph).
    Nodes are drawn in parallel; each has its own generator, so the values do not depend on it.
    With `defer`, nodes of DEFER_BYTES or more come back at once as `Deferred` arrays drawn on the
    pool in graph order, so that a writer can start on the first while the rest are drawn."""
    todo = [n for n in (graph.nodes.values() if nodes is None else nodes) if n.weights or n.buffers]

    def draw(n: Node) -> dict[str, np.ndarray]:
        return n.impl.init(n, node_rng(seed, n.name))

    if not defer:
        return {state_key(n.name, k): v for n, arrays in zip(todo, pmap(draw, todo)) for k, v in arrays.items()}
    out: dict[str, Array] = {}
    for n in todo:
        shapes = n.weights | n.buffers  # every weight and buffer is float32 (4 bytes)
        if 4 * sum(math.prod(s) for s in shapes.values()) < DEFER_BYTES:
            out |= {state_key(n.name, k): v for k, v in draw(n).items()}
        else:
            drawn = Deferred.submit(functools.partial(draw, n), shapes, np.float32)
            out |= {state_key(n.name, k): v for k, v in drawn.items()}
    return out


def expected(nodes: Iterable[Node]) -> dict[str, tuple[int, ...]]:
    """state_dict key -> shape of every weight and buffer of `nodes`."""
    return {state_key(n.name, k): tuple(s) for n in nodes for k, s in (n.weights | n.buffers).items()}


def check_weights(graph: Graph, weights: Mapping[str, Any], nodes: Iterable[Node]) -> dict[str, Array]:
    """The float32 arrays `nodes` need (deferred ones as they are). Keys of other nodes of `graph` (a
    train-only head) may be present; keys of no node, missing keys and wrong shapes are errors, all
    named in one message."""
    need = expected(nodes)
    check_fit(need, weights, expected(graph.nodes.values()), "the graph", f" (no such weight in {graph.name})")
    return {k: v if isinstance(v := weights[k], Deferred) else np.asarray(v, dtype=np.float32) for k in need}


def check_fit(need: Mapping[str, tuple[int, ...]], weights: Mapping[str, Any], known: Container[str],
              target: str, unknown_note: str = "") -> None:
    """Raise one WeightsError naming every wrong shape (first: what a renamed key cannot explain),
    every key of `need` missing from `weights` (torch's BN bookkeeping may be absent), and every
    key of `weights` not in `known` (the first 20 problems, then a count)."""
    problems = [f"'{k}' has shape {list(_shape(weights[k]))}, expected {list(s)}"
                for k, s in need.items() if k in weights and _shape(weights[k]) != tuple(s)]
    problems += [f"missing '{k}' {list(s)}" for k, s in need.items()
                 if k not in weights and not k.endswith(IGNORED_SUFFIXES)]
    extra = sorted(k for k in weights if k not in known and not k.endswith(IGNORED_SUFFIXES))
    problems += [f"unexpected '{k}'{unknown_note}" for k in extra]
    if problems:
        shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
        raise WeightsError(f"weights do not fit {target}:\n  " + "\n  ".join(shown))


def _shape(a: Any) -> tuple[int, ...]:
    return a.shape if isinstance(a, Deferred) else tuple(np.shape(a))


def load_weights(path: str | Path) -> dict[str, np.ndarray]:
    """A state_dict from .npz, .safetensors (both without torch) or a torch checkpoint, checked as
    data: string keys, numeric arrays (native byte order), finite values, within LIMITS."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"no weights file '{path}'")
    if path.suffix not in (".npz", ".safetensors", *TORCH_SUFFIXES):
        raise WeightsError(f"'{path}': unknown weights format (use .npz, .safetensors or a torch "
                           f"checkpoint {', '.join(TORCH_SUFFIXES)})")
    try:
        if path.suffix == ".npz":
            arrays = _load_npz(path)
        elif path.suffix == ".safetensors":
            arrays = _safetensors().load_file(str(path))
        else:
            arrays = _load_torch(path)
    except WeightsError:
        raise
    except MemoryError:
        raise WeightsError(f"'{path}': out of memory reading it") from None
    except Exception as e:  # a corrupt or foreign file: say which and why
        raise WeightsError(f"cannot read weights '{path}': {type(e).__name__}: {str(e)[:300]}") from None
    return {k: _checked(path, k, a) for k, a in arrays.items()}


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    from archspec.npz import NpzError, load_npz

    try:
        return load_npz(path)
    except NpzError as e:
        raise WeightsError(str(e)) from None


_KINDS = "fiub"  # float, signed and unsigned int, bool: what a weight may hold


def _checked(path: Path, key: object, value: Any) -> np.ndarray:
    if not isinstance(key, str):
        raise WeightsError(f"'{path}': key {key!r} is not a string (keys are state_dict names)")
    a: np.ndarray = np.asarray(value)
    if a.dtype.kind not in _KINDS or a.dtype.fields is not None:
        raise WeightsError(f"'{path}': '{key}' holds {a.dtype} values; weights are numbers")
    if not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise WeightsError(f"'{path}': '{key}' holds NaN or infinite values")
    return a


def _safetensors() -> Any:  # the safetensors.numpy module
    try:
        import safetensors.numpy
    except ImportError:
        raise WeightsError("reading or writing .safetensors needs the safetensors package "
                           "(pip install safetensors), or use .npz") from None
    return safetensors.numpy


def _load_torch(path: Path) -> dict[str, np.ndarray]:
    try:
        import torch
    except ImportError:
        raise WeightsError(f"'{path}' is a torch checkpoint and torch is not installed; "
                           "convert it to .safetensors or .npz") from None
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]
    if not isinstance(obj, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        raise WeightsError(f"'{path}' holds no state_dict (expected a dict of tensors or {{'model': ...}})")
    return {k: (v.float() if v.is_floating_point() else v).detach().cpu().numpy() for k, v in obj.items()}


def save_weights(path: str | Path, weights: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> Path:
    """Write .npz or .safetensors atomically; `metadata` (text) goes into a .safetensors header."""
    from archspec.io import atomic_path

    path = Path(path)
    if path.suffix not in (".npz", ".safetensors"):
        raise WeightsError(f"'{path}': save weights as .npz or .safetensors")
    if metadata and path.suffix != ".safetensors":
        raise WeightsError(f"'{path}': only .safetensors files hold metadata")
    arrays = {k: np.ascontiguousarray(v).reshape(np.shape(v)) for k, v in weights.items()}  # keep 0-d as 0-d
    with atomic_path(path) as tmp:
        if path.suffix == ".npz":
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy's stub types the first kwarg
        else:
            _safetensors().save_file(arrays, str(tmp), metadata=metadata)
    return path
