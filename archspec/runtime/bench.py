"""The one timing harness of archspec: warm-up, then timed calls, interleaved when several.

Every benchmark of the project (`archspec bench`, the tools in tools/) times through
`time_calls` or `time_interleaved`, so their figures mean the same thing:

- a *latency* is the wall time of one call, `time.perf_counter` before and after;
- warm-up calls run first and are not recorded (first calls allocate and tune);
- several functions are timed in rounds, each round calling each one once, in an order that
  rotates from round to round, so that drift of a shared machine hits all of them alike and no
  function runs twice in a row more often than another (a second run in a row finds its weights
  in the cache);
- percentiles interpolate linearly (numpy's default), so p50 <= p90 <= p99 always holds.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Stats:
    """Latencies of one timed function, in seconds."""

    latencies: list[float]

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies, q))

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p90(self) -> float:
        return self.percentile(90)

    @property
    def p99(self) -> float:
        return self.percentile(99)

    @property
    def mean(self) -> float:
        return float(np.mean(self.latencies))

    def to_dict(self) -> dict[str, float | int]:
        """Milliseconds, for people and JSON."""
        ms = {f"{k}_ms": getattr(self, k) * 1e3 for k in ("p50", "p90", "p99", "mean")}
        return {"iters": len(self.latencies), **ms, "min_ms": min(self.latencies) * 1e3}


def show_progress(asked: bool | None) -> bool:
    """A progress bar when asked, or by default only when stderr is a terminal."""
    return sys.stderr.isatty() if asked is None else asked


def _bar(total: float, desc: str, show: bool, unit: str) -> Any:
    if not show:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # the bar is a convenience: time without it
        return None

    fmt = None if unit == "it" else "{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s"
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True, bar_format=fmt)


def time_interleaved(fns: dict[str, Callable[[], Any]], warmup: int = 5, iters: int | None = 20,
                     seconds: float | None = None, progress: bool | None = None,
                     desc: str = "timing", before: Callable[[], Any] | None = None) -> dict[str, Stats]:
    """Time each function of `fns` in rounds of rotating order: `warmup` untimed rounds, then `iters`
    rounds, or rounds until `seconds` of timed calls have passed (at least one round).
    The i-th latency of every function comes from round i, so per-round ratios pair them.
    `before`, when given, runs untimed before each timed call (e.g. `os.sync`, so that a process does
    not pay for writing out the files the previous one left in the page cache).
    """
    if (iters is None) == (seconds is None):
        raise ValueError("give exactly one of iters and seconds")
    order = list(fns)
    for _ in range(warmup):
        for name in order:
            fns[name]()
    setup = before or (lambda: None)
    lat: dict[str, list[float]] = {name: [] for name in order}
    limit = float(seconds or 0)  # with iters None, seconds is given
    bar = _bar(iters if iters is not None else limit, desc, show_progress(progress),
               "it" if iters is not None else "s")
    spent, rounds = 0.0, 0
    while (rounds < iters) if iters is not None else (rounds == 0 or spent < limit):
        spent_before = spent
        k = rounds % len(order)
        for name in order[k:] + order[:k]:
            setup()
            t0 = time.perf_counter()
            fns[name]()
            dt = time.perf_counter() - t0
            lat[name].append(dt)
            spent += dt
        rounds += 1
        if bar is not None:  # tqdm redraws at most every 0.1 s, so a fast call is not slowed
            bar.update(1 if iters is not None else min(spent, limit) - min(spent_before, limit))
    if bar is not None:
        bar.close()
    return {name: Stats(v) for name, v in lat.items()}


def time_calls(fn: Callable[[], Any], warmup: int = 5, iters: int | None = 20, seconds: float | None = None,
               progress: bool | None = None, desc: str = "timing") -> Stats:
    """Time one function: `warmup` untimed calls, then `iters` calls or `seconds` of calls."""
    return time_interleaved({"fn": fn}, warmup, iters, seconds, progress, desc)["fn"]


@dataclass
class BenchResult:
    """One backend at one batch size. `load_s`: session creation, or module build (plus first-call
    compilation for torch.compile). Throughput and GFLOP/s derive from the median latency.
    """

    backend: str
    device: str
    batch: int
    macs: int  # per sample, conv, linear and attention matmul multiply-adds
    load_s: float
    stats: Stats | None = None
    error: str | None = None  # why this backend could not be timed (e.g. torch.compile unavailable)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def p50(self) -> float:
        """The median latency, in seconds."""
        if self.stats is None:
            raise ValueError(f"{self.backend} at batch {self.batch} was not timed: {self.error}")
        return self.stats.p50

    @property
    def throughput(self) -> float:
        """Images per second at the median latency."""
        return self.batch / self.p50

    @property
    def gflops(self) -> float:
        """Achieved GFLOP/s: 2 FLOPs per multiply-add, over the median latency."""
        return 2 * self.macs * self.batch / self.p50 / 1e9

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"backend": self.backend, "device": self.device, "batch": self.batch,
                             "load_s": self.load_s, **self.extra}
        if self.stats is None:
            return {**d, "error": self.error}
        return {**d, **self.stats.to_dict(), "images_per_s": self.throughput, "gflops": self.gflops}
