"""Executors: where per-session work runs.

A stage does not run its sessions' work itself: `pipeline.stage.for_each_session`
reuses what the item cache still holds, builds one typed job per remaining
session and hands a module-level worker function plus the jobs to `Executor.map`.
`SerialExecutor` (the default) runs them here; `pipeline.executors.ray_cluster.RayExecutor`
fans them out over a Ray cluster. Both run the same function on the same jobs, so
there is one code path.

A worker function has the shape `fn(job, worker) -> outcome`, where `worker` is the
`WorkerContext`. `worker.resource` is state that is expensive to build and worth
keeping between jobs (the Whisper model): the executor builds it once per worker
from a picklable `Resource` and keeps it. `worker.report(seconds)` reports progress
inside a long job; it does nothing where the driver cannot see the worker.

Worker functions return their failures as values (a session that failed), and
raise only for what must stop the whole run (a full disk).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from pipeline.faults import stop_if_interrupted

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Resource:
    """Per-worker state: built by `load()` at most once per worker for each `key`."""

    key: str
    load: Callable[[], Any]  # picklable: a module-level function or functools.partial
    # CPU threads one holder computes with. The Ray executor gives each holder this
    # many CPUs and the same OMP_NUM_THREADS as a serial run on this machine has:
    # Whisper's text changes with the OpenMP thread count, and a Ray run must
    # write the same transcripts as a serial one.
    cpus: int = 1


def _ignore(seconds: float) -> None:
    pass


@dataclass(frozen=True)
class WorkerContext(Generic[T]):
    """What a worker function receives besides its job: the worker's resource, and
    where to report progress."""

    resource: Any = None
    report: Callable[[float], None] = field(default=_ignore)


ProgressCallback = Callable[[int, float], None]  # (item index, seconds done inside it)


class Executor(Protocol):
    name: str

    def map(self, fn: Callable[[T, WorkerContext[Any]], R], items: Iterable[T], *,
            resource: Resource | None = None,
            on_progress: ProgressCallback | None = None) -> Iterator[tuple[int, R]]:
        """Run `fn` on every item; yield (index, result) as each finishes. `items` may be
        a lazy iterator that waits for each next item (sessions as an earlier stage
        finishes them): an executor starts each item as it comes, never waiting for all."""
        ...

    def close(self) -> None: ...


class SerialExecutor:
    """Runs every job on this machine. Jobs that need a resource (Whisper) run one
    after another in this process, and the resource is kept across calls, so the
    model is loaded once for all the forums of a run. Jobs without one (cutting:
    ffmpeg processes) run side by side, at most one per core.
    """

    name = "serial"

    def __init__(self, workers: int | None = None) -> None:
        self._resources: dict[str, Any] = {}
        self.workers = max(1, workers or os.cpu_count() or 1)

    def map(self, fn: Callable[[T, WorkerContext[Any]], R], items: Iterable[T], *,
            resource: Resource | None = None,
            on_progress: ProgressCallback | None = None) -> Iterator[tuple[int, R]]:
        if resource is None and self.workers > 1:
            items = list(items)  # jobs without a resource (ffmpeg) are all known at once
            if len(items) > 1:
                yield from self._threaded(fn, items, on_progress)
                return
        for index, item in enumerate(items):
            state = None
            if resource is not None:
                if resource.key not in self._resources:
                    self._resources[resource.key] = resource.load()
                state = self._resources[resource.key]
            stop_if_interrupted()
            report = _ignore if on_progress is None else _bind(on_progress, index)
            yield index, fn(item, WorkerContext(resource=state, report=report))

    def _threaded(self, fn: Callable[[T, WorkerContext[Any]], R], items: Sequence[T],
                  on_progress: ProgressCallback | None) -> Iterator[tuple[int, R]]:
        with ThreadPoolExecutor(max_workers=min(self.workers, len(items)),
                                thread_name_prefix="unit") as pool:
            futures = {pool.submit(fn, item, WorkerContext(report=_ignore if on_progress is None
                                                  else _bind(on_progress, index))): index
                       for index, item in enumerate(items)}
            try:
                for future in as_completed(futures):
                    yield futures[future], future.result()
                    stop_if_interrupted()
            except BaseException:
                # Ctrl-C (or a full disk): units not yet started never start.
                pool.shutdown(wait=True, cancel_futures=True)
                raise

    def close(self) -> None:
        self._resources.clear()


def _bind(callback: ProgressCallback, index: int) -> Callable[[float], None]:
    return lambda seconds: callback(index, seconds)
