"""Recipes: validation with positions, built-in recipes, schema, learning-rate schedules."""

from __future__ import annotations

import json
import re

import pytest
from procs import heavy_imports
from train_util import write

from archspec.errors import SpecError
from archspec.train.recipe import Augment, Schedule, builtin_recipes, find_recipe, json_schema, load_recipe


def test_builtin_recipes_load():
    assert builtin_recipes() == ["cifar", "lenet5"]
    r = load_recipe(None, "lenet5")
    assert (r.name, r.data.train, r.optimizer.type, r.optimizer.nesterov) == ("lenet5-digits", "digits", "sgd", True)
    assert find_recipe(None, "cifar_plain56").name == "cifar.yaml"
    c = load_recipe("cifar")
    assert (c.batch_size, c.optimizer.lr, c.optimizer.weight_decay, c.schedule.milestones) == (128, 0.1, 1e-4, [15, 23])


def test_no_recipe_for_spec_names_the_builtins():
    with pytest.raises(SpecError) as e:
        find_recipe(None, "resnet50")
    assert "no built-in recipe for spec 'resnet50'" in str(e.value)
    assert "cifar, lenet5" in e.value.diagnostics[0].hint


def test_errors_point_at_their_lines(tmp_path):
    path = write(tmp_path / "r.yaml", "recipe: 1\nname: bad\noptimzer: {lr: 0.1}\nschedule:\n  type: cosine\n"
                 "  milestones: [3]\nbatch_size: many\naugment: {rotation: 10, hfilp: true}\n")
    with pytest.raises(SpecError) as e:
        load_recipe(path)
    got = {(d.pos.line, d.message) for d in e.value.diagnostics}
    assert (3, "recipe: unknown key 'optimzer'") in got
    assert (7, "recipe: batch_size: input should be a valid integer, unable to parse string as an integer, "
               "got 'many'") in got
    assert any(line == 5 and "milestones go with (and only with) type: step" in m for line, m in got)
    assert (8, "recipe: unknown key 'augment.hfilp'") in got
    hints = {d.hint for d in e.value.diagnostics}
    assert "did you mean 'optimizer'?" in hints and "did you mean 'hflip'?" in hints
    assert f"{path}:3:1: error: recipe: unknown key 'optimzer'\n 3 | optimzer: {{lr: 0.1}}" in str(e.value)


def test_optimizer_fields_must_fit_its_type(tmp_path):
    path = write(tmp_path / "r.yaml", "recipe: 1\nname: x\noptimizer: {type: adamw, momentum: 0.9}\n")
    with pytest.raises(SpecError, match="momentum do not apply to adamw") as e:
        load_recipe(path)
    assert e.value.diagnostics[0].pos.line == 3


def test_numbers_float32_cannot_hold_are_errors_at_their_lines(tmp_path):
    """torch steps float32 weights by lr and weight_decay and draws jitter factors in float32: a
    bigger number ended training in a RuntimeError traceback (found by tools/fuzz.py)."""
    path = write(tmp_path / "r.yaml", "recipe: 1\nname: x\noptimizer: {lr: 1e308, weight_decay: 1e39}\n"
                 "augment:\n  color_jitter: {brightness: 1e300}\n  scale: [0.5, 1e39]\n")
    with pytest.raises(SpecError) as e:
        load_recipe(path)
    got = {(d.pos.line, d.message.split(": value error")[0]) for d in e.value.diagnostics}
    assert got == {(3, "recipe: optimizer.lr"), (3, "recipe: optimizer.weight_decay"),
                   (5, "recipe: augment.color_jitter.brightness"), (6, "recipe: augment.scale.range.1")}
    assert all("at most 3.403e+38, float32's largest number" in d.message for d in e.value.diagnostics)
    big = write(tmp_path / "ok.yaml", "recipe: 1\nname: x\noptimizer: {lr: 3.4e38}\n")
    assert load_recipe(big).optimizer.lr == 3.4e38  # the largest float32 itself is allowed


def test_augment_shorthands():
    a = Augment.model_validate({"rotation": 10, "hflip": True, "scale": [0.8, 1.2], "random_crop": None,
                                "color_jitter": False})
    assert a.rotation.degrees == 10 and a.hflip.p == 0.5 and a.scale.range == (0.8, 1.2)
    assert a.random_crop.padding == 4 and a.color_jitter is None


def test_schedules():
    from archspec.train.optim import lr_at

    cos = Schedule(type="cosine", warmup_epochs=1, warmup_start=0.1, min_lr=0.0)
    assert [round(lr_at(cos, 0.1, t, 11), 10) for t in (0, 0.5, 1, 6, 11)] == [0.01, 0.055, 0.1, 0.05, 0.0]
    step = Schedule(type="step", milestones=[2, 4], gamma=0.1)
    assert [round(lr_at(step, 0.1, t, 6), 10) for t in (0, 1.99, 2, 4.5)] == [0.1, 0.1, 0.01, 0.001]
    assert lr_at(Schedule(type="constant"), 0.3, 5.0, 9) == 0.3


def test_schema_cli_without_torch(tmp_path):
    out = tmp_path / "recipe.schema.json"
    assert heavy_imports(["schema", "--recipe", "-o", str(out)]) == set()
    schema = json.loads(out.read_text())
    assert schema == json.loads(json.dumps(json_schema()))
    assert {"recipe", "data", "augment", "optimizer", "schedule", "loss_weights", "amp"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_every_recipe_field_is_documented():
    from pathlib import Path

    from pydantic import BaseModel

    from archspec.train.recipe import Recipe

    doc = (Path(__file__).resolve().parents[1] / "docs" / "training.md").read_text()

    def fields(model: type[BaseModel]):
        for name, f in model.model_fields.items():
            yield name
            for arg in (f.annotation, *getattr(f.annotation, "__args__", ())):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    yield from fields(arg)

    missing = sorted({n for n in fields(Recipe) if not re.search(rf"(?<![\w-]){n}:", doc)})
    assert not missing, f"docs/training.md does not describe: {missing}"
