"""`archspec list`: every built-in with its description, params and MACs, in natural order."""

from __future__ import annotations

import json

from procs import run_cli

import archspec
from archspec.cli.list import natural_key, si
from archspec.loader import builtin_names


def test_list_shows_description_params_and_readable_macs_in_natural_order():
    r = run_cli("list")
    assert r.returncode == 0
    rows = r.stdout.splitlines()
    assert rows[0].split() == ["spec", "params", "MACs", "input", "description"]
    names = [row.split()[0] for row in rows[1:]]
    assert sorted(names) == builtin_names()
    assert names.index("resnet18") < names.index("resnet34") < names.index("resnet50") < names.index("resnet101")
    assert names.index("cifar_resnet56") < names.index("cifar_resnet110")
    lenet = rows[1 + names.index("lenet5")].split(None, 5)
    assert lenet == ["lenet5", "61,706", "416.5", "K", "1x32x32",
                     "LeNet-5 with ReLU and max pooling, for 32x32 grayscale digits"]
    assert rows[1 + names.index("resnet18")].split()[:4] == ["resnet18", "11,689,512", "1.81", "G"]


def test_list_json_holds_exact_counts():
    rows = json.loads(run_cli("list", "--json").stdout)
    assert [r["name"] for r in rows] == sorted(builtin_names(), key=natural_key)
    by_name = {r["name"]: r for r in rows}
    assert by_name["resnet50"] == {"name": "resnet50",
                                   "description": "ResNet-50 (V1.5 bottlenecks), torchvision layout",
                                   "params": 25_557_032, "macs": 4_089_184_256, "input": [3, 224, 224]}
    assert by_name["lenet5"]["macs"] == archspec.load("lenet5").macs == 416_520
    assert all(r["description"] and r["params"] > 0 and r["macs"] > 0 for r in rows)


def test_adaptive_units_and_natural_sort():
    assert [si(n) for n in (0, 999, 416_520, 1_814_073_344, 13_170_000_000, 40_551_680, 2.5e12)] == [
        "0", "999", "416.5 K", "1.81 G", "13.2 G", "40.6 M", "2.50 T"]
    assert sorted(["resnet101", "resnet18", "densenet_bc100", "densenet264"], key=natural_key) == [
        "densenet264", "densenet_bc100", "resnet18", "resnet101"]
