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
from collections.abc import Callable
from typing import Any, NoReturn

# Pydantic looks for plugins through every installed distribution's entry points the first time
# it builds a validator: 50-70 ms, a third of a `summary`. archspec's own models need none.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from archspec.errors import SpecError, UserError

COMMANDS = ["check", "summary", "schema", "list", "graph", "compile", "verify", "run", "bench",
            "train", "plot", "demo"]  # module names in archspec.cli
EXIT_OK, EXIT_SPEC, EXIT_USAGE, EXIT_BUG = 0, 1, 2, 3  # EXIT_SPEC: any user error (a spec, a file)
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
    for command in sub.choices.values():  # options every command takes
        command.add_argument("--limit", action="append", default=[], metavar="NAME=N",
                             help="raise a limit on untrusted input (docs/security.md), e.g. nodes=2000000")
        command.add_argument("--debug", action="store_true", help="show the traceback of an error")
    return p


def entry() -> NoReturn:
    """The `archspec` program. A quick command exits at once when done, as mypy does: tearing down
    the interpreter (numpy, pydantic and their objects) would add 70 ms, a tenth of a compile. Its
    files are closed and synced by then; draws that a failed compile left queued are dropped. A
    process torchrun started exits so too: gloo's threads, torn down with the interpreter, could
    abort it (SIGABRT) after its work was done. Under a profiler or coverage, which write their
    data at exit, it exits normally."""
    command = sys.argv[1] if len(sys.argv) > 1 else None
    if command == "compile":  # a compile does no linear algebra; numpy's BLAS thread would spin on
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # start-up (0.1 s of CPU under perf)
    rc = main()
    if exits_at_once(command) and sys.gettrace() is None and sys.getprofile() is None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
                stream.flush()
        os._exit(rc)
    sys.exit(rc)


def exits_at_once(command: str | None) -> bool:
    """A quick command, or a training process torchrun started (WORLD_SIZE set, as cli.train tells)."""
    return command in QUICK or (command == "train" and "WORLD_SIZE" in os.environ)


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
    if any("\0" in a for a in argv):  # no real command line holds one; main(argv) from Python may
        print("archspec: error: an argument holds a NUL character", file=sys.stderr)
        return EXIT_USAGE
    try:
        args = parser(argv[0] if argv and argv[0] in COMMANDS else None).parse_args(argv)
    except SystemExit as e:  # --help, --version (0) or a bad argument (2, argparse's message printed)
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = Printable(out), Printable(err)  # text from specs and models, escaped
    try:
        _set_limits(args.limit)
        return int(args.run(args) or 0)
    except SpecError as e:
        _debug(args)
        print(e.report(), file=sys.stderr)
        n = len(e.diagnostics)
        print(f"{n} error{'s' if n > 1 else ''}", file=sys.stderr)
        return EXIT_SPEC
    except UsageError as e:
        _debug(args)
        print(f"archspec: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `archspec list | head`: the reader has all it wanted
        return 0
    except (UserError, OSError, MemoryError) as e:
        _debug(args)
        print(f"archspec: error: {_describe(e)}", file=sys.stderr)
        return EXIT_SPEC
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        _debug(args)
        print(f"archspec: internal error: {type(e).__name__}: {e}\n"
              f"This is a bug in archspec, not in your input. Please report it to the archspec developers "
              f"(the project's issue tracker) with the command line, `archspec --version` and the traceback "
              f"that `--debug` shows.", file=sys.stderr)
        return EXIT_BUG
    finally:
        sys.stdout, sys.stderr = out, err


def _set_limits(assignments: list[str]) -> None:
    from archspec.limits import LIMITS

    for a in assignments:
        try:
            LIMITS.set(a)
        except ValueError as e:
            raise UsageError(str(e)) from None


def _debug(args: argparse.Namespace) -> None:
    if getattr(args, "debug", False):
        import traceback

        traceback.print_exc()


def _describe(e: BaseException) -> str:
    if isinstance(e, MemoryError):
        return "out of memory (use a smaller batch or input, or raise --limit memory_mib)"
    if isinstance(e, OSError) and e.strerror:
        return f"{e.filename}: {e.strerror}" if e.filename else e.strerror
    return str(e)


class Printable:
    """A text stream that escapes control characters (a spec's name or a model's labels could
    otherwise set the terminal's title or clear it): everything but newline, tab and carriage
    return becomes a Python-style escape such as \\x1b."""

    _TABLE = {c: f"\\x{c:02x}" for c in (*range(32), *range(127, 160)) if c not in (9, 10, 13)}
    _TABLE |= {c: f"\\u{c:04x}" for c in (0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A))}

    def __init__(self, stream: Any):
        self._stream = stream

    def write(self, text: str) -> int:
        written: int = self._stream.write(text.translate(self._TABLE))
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def seed(text: str) -> int:
    """An argparse type: a seed numpy and torch both take, 0 to 2**63 - 1."""
    return _int_in(text, 0, 2**63 - 1, "a seed")


def count(low: int = 1, high: int = 2**31 - 1) -> Callable[[str], int]:
    """An argparse type: an integer from `low` to `high` (batch sizes, threads, iterations...)."""
    return lambda text: _int_in(text, low, high, "a count")


def seconds(text: str) -> float:
    """An argparse type: a finite, positive duration of at most a day."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"seconds must be above 0 and at most 86400, got '{text}'")
    return value


def _int_in(text: str, low: int, high: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{what} must be from {low:,} to {high:,}, got {text}")
    return value


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
