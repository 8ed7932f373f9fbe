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

from _bench import ROOT
from bench_mobile import parse_args, run

WANTED = ("vit_b_16", "swin_t")


def main() -> None:
    args = parse_args(50, "Transformers")
    # this checkout's built-ins (its timed processes run it), whichever archspec the tool imported
    models = tuple(m for m in WANTED if (ROOT / "specs" / f"{m}.yaml").exists())
    skipped = [m for m in WANTED if m not in models]
    if not models:
        raise SystemExit(f"none of {', '.join(WANTED)} is built in")
    tail = f"\nSkipped, not built in here: {', '.join(f'`{m}`' for m in skipped)}.\n" if skipped else ""
    run(args, models, "Transformers", "bench_transformers.py", tail)


if __name__ == "__main__":
    main()
