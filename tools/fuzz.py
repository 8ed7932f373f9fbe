"""Fuzz archspec: random well-formed specs, mutations of the built-ins and crafted hostile input,
each case under a time and memory limit, classified (docs/security.md).

    python tools/fuzz.py --cases 10000 --seed 0 [--category NAME] [--jobs 2] [--timeout 10]
                         [--memory-mib 4096] [--out report.json] [--keep DIR] [--minutes M]

Exits 1 when any case ends in a traceback, a hang, a blow-up, a position outside its file or an
onnxruntime/torch mismatch; each such case is kept, with its files and argv.json, under --keep.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

from fuzzing import categories, templates  # noqa: E402
from fuzzing.runner import FAILURES, Pool, Result  # noqa: E402

OUTCOMES = ("ok", "user_error", *FAILURES)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--category", action="append", choices=sorted(categories()), help="only these (repeatable)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--timeout", type=float, default=10.0, help="seconds a case may take")
    p.add_argument("--memory-mib", type=int, default=4096, help="address space a case may add")
    p.add_argument("--out", help="a JSON report of every case")
    p.add_argument("--keep", default="fuzz-failures", help="where the failing cases' folders go")
    p.add_argument("--minutes", type=float, default=float("inf"), help="start no case after this long")
    p.add_argument("-q", "--quiet", action="store_true")
    return p.parse_args(argv)


def plan(cases: int, seed: int, names: list[str]) -> list[tuple[str, int, int]]:
    """Cases spread evenly over the categories, each with its own seed."""
    r = random.Random(seed)
    return [(names[i % len(names)], i, r.getrandbits(48)) for i in range(cases)]


def table(results: list[Result]) -> str:
    counts: dict[str, Counter] = defaultdict(Counter)
    for r in results:
        counts[r.category][r.outcome] += 1
    rows = [f"{'category':<12}{'cases':>7}" + "".join(f"{o:>11}" for o in OUTCOMES)]
    for cat in sorted(counts):
        c = counts[cat]
        rows.append(f"{cat:<12}{sum(c.values()):>7}" + "".join(f"{c[o]:>11}" for o in OUTCOMES))
    total = Counter(r.outcome for r in results)
    rows.append(f"{'all':<12}{len(results):>7}" + "".join(f"{total[o]:>11}" for o in OUTCOMES))
    return "\n".join(rows)


def campaign(args: argparse.Namespace) -> tuple[list[Result], float]:
    names = args.category or sorted(categories())
    work = Path(tempfile.mkdtemp(prefix="archspec-fuzz-"))
    templates.make(work / "templates")
    pool = Pool(args.jobs, work / "cases", args.timeout, args.memory_mib)
    keep = Path(args.keep)
    done = [0]

    def report(r: Result) -> None:
        done[0] += 1
        if r.outcome in FAILURES:
            dest = keep / Path(r.folder).name
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(r.folder, dest, symlinks=True, dirs_exist_ok=True)
            r.folder = str(dest)
            print(
                f"FAIL {r.outcome} {r.category}-{r.index} {r.name}: archspec {' '.join(map(repr, r.argv))}\n"
                f"  in {dest}\n  {r.detail[-400:]}",
                file=sys.stderr,
                flush=True,
            )
        else:
            shutil.rmtree(r.folder, ignore_errors=True)
        if not args.quiet and done[0] % 500 == 0:
            print(f"{done[0]} cases", file=sys.stderr, flush=True)

    t = time.perf_counter()
    try:
        results = pool.run(plan(args.cases, args.seed, names), report, args.minutes * 60)
    finally:
        pool.close()
        shutil.rmtree(work, ignore_errors=True)
    return results, time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    results, wall = campaign(args)
    print(table(results))
    print(
        f"{len(results)} cases in {wall:.0f} s ({len(results) / max(wall, 1e-9):.1f} a second), "
        f"{args.jobs} jobs, timeout {args.timeout:g} s, memory {args.memory_mib} MiB"
    )
    print("slowest:")
    for r in sorted(results, key=lambda r: -r.seconds)[:8]:
        print(f"  {r.seconds:6.2f} s  {r.category}-{r.index} {r.name}: {' '.join(r.argv)[:90]!r}")
    if args.out:
        Path(args.out).write_text(json.dumps([asdict(r) for r in results], indent=0))
    failed = [r for r in results if r.outcome in FAILURES]
    for r in failed:
        print(f"reproduce ({r.outcome}): cd {r.folder} && archspec {' '.join(map(repr, r.argv))}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
