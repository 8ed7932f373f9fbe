"""The fuzzer's parts (tools/fuzz.py runs them; tests/test_fuzz.py uses them too).

A generator takes a `random.Random` and returns a `Case`: the files to write into an empty
folder and the `archspec` command line to run there (or a spec to check numerically).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Case:
    name: str  # what the generator made, e.g. "alias bomb"
    argv: list[str]  # archspec's arguments, run in the case folder
    files: dict[str, bytes] = field(default_factory=dict)  # relative path -> content
    numerics: bool = False  # a well-formed spec (argv[1]): also compare onnxruntime with torch


Generator = Callable[[random.Random], Case]


def categories() -> dict[str, Generator]:
    """Category name -> generator; each generator picks one of its family's cases."""
    from fuzzing import files, hostile, mutate, wellformed

    return {
        "wellformed": wellformed.case,
        "mutation": mutate.case,
        "spec_bombs": hostile.case,
        "weights": files.weights_case,
        "datasets": files.dataset_case,
        "onnx": files.onnx_case,
        "inputs": files.input_case,
        "runs": files.run_case,
        "recipes": files.recipe_case,
        "options": files.option_case,
    }
