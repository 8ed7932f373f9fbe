"""Same spec and seed, same bytes: compile spec files with this checkout and with another git revision
of archspec, in five option sets each, and compare the sha256 of the ONNX bytes.

    python tools/compare_bytes.py --ref a7b3036 [SPEC.yaml ...]

The specs are taken from REF (its built-ins and tests/every_op.yaml, copied into one folder), so both
trees compile the very same text; a difference means the compiler's output changed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ["resnet50", "googlenet", "inception_resnet_v2", "densenet121", "cifar_resnet20", "alexnet2012",
           "lenet5", "every_op"]
OPTIONS = [{}, {"mode": "train"}, {"fold_bn": False}, {"fp16": True}, {"seed": 7, "batch": 2}]
DUMP = """
import hashlib, json, sys
import archspec
out = {}
for path in sys.argv[2:]:
    m = archspec.load(path)
    for opts in json.loads(sys.argv[1]):
        out[f"{path.rsplit('/', 1)[-1]} {opts}"] = hashlib.sha256(m.onnx_bytes(**opts)).hexdigest()
print(json.dumps(out))
"""


def hashes(tree: Path, specs: list[str]) -> dict[str, str]:
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}
    p = subprocess.run([sys.executable, "-c", DUMP, json.dumps(OPTIONS), *specs], env=env, capture_output=True,
                       text=True, check=True)
    return dict(json.loads(p.stdout.strip().splitlines()[-1]))


def copy_specs(ref_tree: Path, folder: Path, names: list[str]) -> list[str]:
    """REF's spec files (its built-ins live in archspec/specs/ or specs/) copied into `folder`."""
    builtins = next(p for p in (ref_tree / "specs", ref_tree / "archspec" / "specs") if p.is_dir())
    subprocess.run(["cp", "-r", f"{builtins}/.", str(folder)], check=True)
    subprocess.run(["cp", str(ref_tree / "tests" / "every_op.yaml"), str(folder)], check=True)
    return [str(folder / f"{n}.yaml") for n in names]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref", required=True, help="the git revision to compare with")
    ap.add_argument("specs", nargs="*", default=DEFAULT, help="spec names of REF (default: a spread of the zoo)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ref_tree, folder = Path(tmp) / "ref", Path(tmp) / "specs"
        folder.mkdir()
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(ref_tree), args.ref],
                       check=True)
        try:
            specs = copy_specs(ref_tree, folder, args.specs)
            theirs, ours = hashes(ref_tree, specs), hashes(ROOT, specs)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(ref_tree)], check=True)
    differ = sorted(k for k in theirs if theirs[k] != ours.get(k))
    for k in differ:
        print(f"differs: {k}")
    print(f"{len(theirs) - len(differ)} of {len(theirs)} compiles byte-identical to {args.ref}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
