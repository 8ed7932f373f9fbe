"""The project's layout: the built-in zoo in the top-level specs/, installed with the package."""

from __future__ import annotations

from pathlib import Path

import pytest

import archspec
from archspec.loader import BUILTIN_DIR, builtin_names, find_spec

ROOT = Path(__file__).resolve().parent.parent


def test_builtins_live_in_top_level_specs():
    assert BUILTIN_DIR == ROOT / "specs"
    assert not (ROOT / "archspec" / "specs").exists()
    assert find_spec("resnet50") == ROOT / "specs" / "resnet50.yaml"
    assert len(builtin_names()) >= 23 and "lib" not in builtin_names()
    assert archspec.load("resnet50").params == 25_557_032


def test_every_package_is_listed_in_pyproject():
    """pyproject.toml lists the packages (find cannot map specs/ into archspec): a new folder of
    archspec/ with an __init__.py must be listed there, or a wheel leaves it out."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "archspec").rglob("__init__.py")}
    assert set(conf["packages"]) == on_disk | {"archspec.specs", "archspec.specs.lib"}
    assert conf["package-dir"] == {"archspec.specs": "specs"}
    assert conf["package-data"]["archspec.specs"] == ["*.yaml"]


def test_imagenet_builtins_carry_the_imagenet_class_names():
    imagenet = (ROOT / "archspec" / "data" / "imagenet_labels.txt").read_text().splitlines()
    assert len(imagenet) == len(set(imagenet)) == 1000 and imagenet[:2] == ["tench", "goldfish"]
    ten_classes = {n for n in builtin_names() if n.startswith(("cifar", "lenet", "densenet_bc"))}
    assert len(ten_classes) == 9
    for name in builtin_names():
        spec = archspec.load(name).spec
        assert spec.description, name
        assert spec.labels == imagenet if name not in ten_classes else len(spec.labels) == 10, name
    torchvision = pytest.importorskip("torchvision.models._meta")
    assert imagenet == list(torchvision._IMAGENET_CATEGORIES)  # tools/imagenet_labels.py wrote it from these


def test_an_unknown_label_set_is_one_error_at_its_line(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("archspec: 1\nname: s\ninput: {shape: [4]}\nlabels: imagenett\nlayers: [{linear: {out: 2}}]\n")
    with pytest.raises(archspec.SpecError) as e:
        archspec.load(spec)
    [d] = e.value.diagnostics
    assert (d.pos.line, d.pos.col) == (4, 9) and "no label set named 'imagenett'" in d.message


def test_readme_keeps_its_two_commands_and_tells_cpu_users_about_the_cpu_torch():
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```bash\n", 1)[1].split("```", 1)[0]
    assert first_block == ("pip install -e '.[train,runtime]' && archspec demo\n"
                           "apt-get install -y graphviz && pip install -e '.[test]' && python -m pytest\n")
    assert "`pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu`" in readme
    assert readme.index("download.pytorch.org") > readme.index("```", readme.index("```bash") + 1)  # prose
    scripts = [p for d in ("archspec", "tools", "tests") for p in (ROOT / d).rglob("*.py")
               if p.name != "test_layout.py"]
    assert not [p for p in scripts if "download.pytorch.org" in p.read_text()]
    assert "archspec demo --keep DIR" in readme
