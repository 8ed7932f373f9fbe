"""`archspec plot RUN_DIR... -o curves.png`: train/validation loss and error curves of runs."""

from __future__ import annotations

import argparse


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("plot", help="draw loss and error curves of training runs")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folders (metrics.jsonl)")
    p.add_argument("-o", "--output", default="curves.png", help="the image to write (.png, .svg, .pdf)")
    p.add_argument("--title", help="a title above the panels")
    p.add_argument("--label", action="append", help="a legend label per run, in order (default: folder names)")
    p.add_argument("--log", action="store_true", help="error on a log axis (shows errors under 1%%)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archspec.cli import UsageError
    from archspec.train.plot import plot_runs

    if args.label and len(args.label) != len(args.runs):
        raise UsageError(f"{len(args.label)} --label for {len(args.runs)} runs")
    if not args.output.lower().endswith((".png", ".svg", ".pdf")):
        raise UsageError(f"-o takes a .png, .svg or .pdf file, got '{args.output}'")
    path = plot_runs(args.runs, args.output, args.label, args.title, log=args.log)
    print(f"wrote {path}")
    return 0
