"""Work on a thread pool shared by the process: numpy's random fills and elementwise kernels release
the GIL, so large arrays are computed on every core.

`Deferred` is an array still being computed there. Its shape and dtype are known at once, so a
compile can lay out and start writing a model while its weights are being drawn.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")
R = TypeVar("R")
WORKER = "archspec-pool"  # the name prefix of the pool's threads
_pool: ThreadPoolExecutor | None = None


def pool() -> ThreadPoolExecutor:
    """The process's worker threads, one per core, started on first use."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix=WORKER)
    return _pool


def pmap(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """[fn(x) for x in items], in order, computed on the pool (serially when called from one of its
    threads, which would otherwise wait for work queued behind itself)."""
    items = list(items)
    on_worker = threading.current_thread().name.startswith(WORKER)
    if len(items) <= 1 or (os.cpu_count() or 1) == 1 or on_worker:
        return [fn(x) for x in items]
    return list(pool().map(fn, items))


class Deferred:
    """An array a pool thread is computing: `shape` and `dtype` now, the values from `result()`.

    It is the result of a job on the pool, or with `key` the item `key` of it (one job can draw
    several arrays). A deferred array has one consumer: `then` hands the array on to a function,
    which may change it in place, and leaves this object spent, so that no one reads the array
    before or after the change.
    """

    def __init__(self, future: Future[Any], shape: tuple[int, ...], dtype: Any, key: str | None = None,
                 job: Future[Any] | None = None) -> None:
        self._future: Future[Any] | None = future
        self._key = key
        self._job = future if job is None else job  # the pool job it comes from, to cancel
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)

    @classmethod
    def submit(cls, fn: Callable[[], Any], shapes: dict[str, tuple[int, ...]], dtype: Any) -> dict[str, Deferred]:
        """Run fn() on the pool; it returns a dict of arrays of these shapes, one Deferred each."""
        job = pool().submit(fn)
        return {k: cls(job, shape, dtype, k) for k, shape in shapes.items()}

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * int(self.dtype.itemsize)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def result(self) -> np.ndarray:
        """The array, once computed; an error raised computing it is raised here."""
        return self._value(self._live())

    def then(self, fn: Callable[[np.ndarray], np.ndarray], dtype: Any = None) -> Deferred:
        """fn(array), of the same shape. It runs on the thread that finishes this array (on the
        caller's at once if it is finished already), so it must not wait for the pool."""
        out: Future[np.ndarray] = Future()

        def chain(done: Future[Any]) -> None:
            try:
                out.set_result(fn(self._value(done)))
            except BaseException as e:  # raised to whoever asks for the result
                out.set_exception(e)

        source, self._future = self._live(), None
        source.add_done_callback(chain)
        return Deferred(out, self.shape, self.dtype if dtype is None else dtype, job=self._job)

    def cancel(self) -> None:
        """Drop the job that computes this array, unless it has started."""
        self._job.cancel()

    def _live(self) -> Future[Any]:
        if self._future is None:
            raise RuntimeError("this deferred array was handed on by then()")
        return self._future

    def _value(self, done: Future[Any]) -> np.ndarray:
        a: np.ndarray = done.result() if self._key is None else done.result()[self._key]
        if a.shape != self.shape or a.dtype != self.dtype:  # a bug of whoever promised the shape
            raise AssertionError(f"deferred {self.shape} {self.dtype} array came out {a.shape} {a.dtype}")
        return a

    def __repr__(self) -> str:
        return f"Deferred(shape={self.shape}, dtype={self.dtype})"


Array = np.ndarray | Deferred  # a weight: computed, or being computed


def resolve(a: Array) -> np.ndarray:
    """The array of an array or a deferred one."""
    return a.result() if isinstance(a, Deferred) else a


def cancel(arrays: Iterable[Any]) -> None:
    """Drop the jobs of the deferred arrays among `arrays` that have not started (a failed compile
    does not wait for weights it will not write)."""
    for a in arrays:
        if isinstance(a, Deferred):
            a.cancel()
