"""The `archspec` command line. Each command lives in its own module with `add(subparsers)`.

Commands import heavy libraries (onnx, torch) inside their handlers, so `check`,
`summary` and `schema` stay fast and torch-free.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import sys
from typing import NoReturn

# Pydantic looks for plugins through every installed distribution's entry points the first time
# it builds a validator: 50-70 ms, a third of a `summary`. archspec's own models need none.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from archspec.errors import SpecError

COMMANDS = ["check", "summary", "schema", "list", "graph", "compile", "verify", "run", "bench",
            "train", "plot", "demo"]  # module names in archspec.cli
EXIT_OK, EXIT_SPEC, EXIT_USAGE = 0, 1, 2
# Short commands that build many objects and free few: the cyclic GC would scan them some 80 times
# in a compile (4% of it) and find little garbage, so they run without it; and, run as the
# `archspec` program, they end without the interpreter's teardown (see `entry`).
QUICK = {"check", "summary", "schema", "list", "graph", "compile"}


class UsageError(Exception):
    """A bad command-line argument: exit 2 with the message."""


def parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only`, just that command's: importing every command module costs about
    20 ms, a twentieth of an `archspec summary`."""
    from archspec import __version__

    p = argparse.ArgumentParser(prog="archspec", description="Neural-network architectures as data: "
                                "check, summarise and compile YAML specs.")
    p.add_argument("--version", action="version", version=f"archspec {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS if only is None else [only]:
        importlib.import_module(f"archspec.cli.{name.replace('-', '_')}").add(sub)
    return p


def entry() -> NoReturn:
    """The `archspec` program. A quick command exits at once when done, as mypy does: tearing down
    the interpreter (numpy, pydantic and their objects) would add 70 ms, a tenth of a compile. Its
    files are closed and synced by then; draws that a failed compile left queued are dropped. Under
    a profiler or coverage, which write their data at exit, it exits normally."""
    command = sys.argv[1] if len(sys.argv) > 1 else None
    if command == "compile":  # a compile does no linear algebra; numpy's BLAS thread would spin on
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # start-up (0.1 s of CPU under perf)
    rc = main()
    if command in QUICK and sys.gettrace() is None and sys.getprofile() is None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
                stream.flush()
        os._exit(rc)
    sys.exit(rc)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    quick = bool(argv) and argv[0] in QUICK and gc.isenabled()
    if quick:
        gc.disable()
    try:
        return _run(argv)
    finally:
        if quick:
            gc.enable()


def _run(argv: list[str]) -> int:
    args = parser(argv[0] if argv and argv[0] in COMMANDS else None).parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except SpecError as e:
        print(e.report(), file=sys.stderr)
        n = len(e.diagnostics)
        print(f"{n} error{'s' if n > 1 else ''}", file=sys.stderr)
        return EXIT_SPEC
    except UsageError as e:
        print(f"archspec: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def parse_input(text: str | None) -> tuple[int, ...] | None:
    """`--input 3x224x224` as a shape."""
    if text is None:
        return None
    try:
        shape = tuple(int(x) for x in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--input takes CxHxW (e.g. 3x224x224), got '{text}'") from None
    if not 1 <= len(shape) <= 3 or min(shape) <= 0:
        raise UsageError(f"--input takes 1 to 3 positive sizes, got '{text}'")
    return shape
