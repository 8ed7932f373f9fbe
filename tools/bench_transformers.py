"""Vision transformers: archspec's ONNX of vit_b_16 and swin_t (those built in) against
torch.onnx.export (dynamo) of torchvision's models, as tools/bench_mobile.py measures the mobile CNNs.

    python tools/bench_transformers.py [--rounds 3] [--runs 50] [--threads 1] [--write-docs]

Whole-process compile times (`archspec compile NAME` against torch.onnx.export(dynamo=True) of
torchvision's model, interleaved, median of rounds, paired ratio), node counts, and onnxruntime CPU
latency at batch 1 (archspec compiled with the weights torch exported; median of interleaved runs,
ratio archspec / dynamo, goal <= 1.0). A model not built in is skipped with a note.
With --write-docs the results replace the "Transformers" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _bench import ROOT
from bench_compile import DOC, write_section
from bench_mobile import graphs, report, time_processes

WANTED = ("vit_b_16", "swin_t")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="whole-process rounds (median)")
    ap.add_argument("--runs", type=int, default=50, help="timed onnxruntime runs per model (>= 20)")
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    ap.add_argument("--write-docs", action="store_true",
                    help="also replace the Transformers section of docs/benchmarks.md")
    args = ap.parse_args()
    # this checkout's built-ins (its timed processes run it), whichever archspec the tool imported
    models = tuple(m for m in WANTED if (ROOT / "specs" / f"{m}.yaml").exists())
    skipped = [m for m in WANTED if m not in models]
    if not models:
        raise SystemExit(f"none of {', '.join(WANTED)} is built in")
    with tempfile.TemporaryDirectory() as d:
        out = Path(d)
        print("whole processes:", flush=True)
        wall, paired = time_processes(out, args.rounds, models)
        rows = graphs(out, args.runs, args.threads, models)
    section = report(args, wall, paired, rows, "Transformers", "bench_transformers.py")
    if skipped:
        section += f"\nSkipped, not built in here: {', '.join(f'`{m}`' for m in skipped)}.\n"
    print("\n" + section)
    if args.write_docs:
        write_section(section, "Transformers")
        print(f"wrote the Transformers section of {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
