"""Executors: where per-session work units run.

A stage never loops over sessions itself: it builds one typed input per
session and hands a module-level function plus the inputs to `Executor.map`.
`SerialExecutor` (the default) runs them here, one after another;
`pipeline.executors.ray_cluster.RayExecutor` fans them out over a Ray cluster. Both
run the same function on the same inputs, so there is one code path.

A unit function has the shape `fn(item, unit) -> result`. `unit.resource` is
state that is expensive to build and worth keeping between units (the Whisper
model): the executor builds it once per worker from a picklable `Resource` and
keeps it. `unit.report(seconds)` reports progress inside a long unit; it does
nothing where the driver cannot see the worker.

Unit functions return their failures as values (a session that failed), and
raise only for what must stop the whole run (a full disk).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

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
class Unit(Generic[T]):
    """What a unit function receives besides its input."""

    resource: Any = None
    report: Callable[[float], None] = field(default=_ignore)


ProgressCallback = Callable[[int, float], None]  # (item index, seconds done inside it)


class Executor(Protocol):
    name: str

    def map(self, fn: Callable[[T, Unit[Any]], R], items: Sequence[T], *,
            resource: Resource | None = None,
            on_progress: ProgressCallback | None = None) -> Iterator[tuple[int, R]]:
        """Run `fn` on every item; yield (index, result) as each finishes."""
        ...

    def close(self) -> None: ...


class SerialExecutor:
    """Runs every unit on this machine. Units that need a resource (Whisper) run one
    after another in this process, and the resource is kept across calls, so the
    model is loaded once for all the forums of a run. Units without one (cutting:
    ffmpeg processes) run side by side, at most one per core.
    """

    name = "serial"

    def __init__(self, workers: int | None = None) -> None:
        self._resources: dict[str, Any] = {}
        self.workers = max(1, workers or os.cpu_count() or 1)

    def map(self, fn: Callable[[T, Unit[Any]], R], items: Sequence[T], *,
            resource: Resource | None = None,
            on_progress: ProgressCallback | None = None) -> Iterator[tuple[int, R]]:
        if resource is None and self.workers > 1 and len(items) > 1:
            yield from self._threaded(fn, items, on_progress)
            return
        for index, item in enumerate(items):
            state = None
            if resource is not None:
                if resource.key not in self._resources:
                    self._resources[resource.key] = resource.load()
                state = self._resources[resource.key]
            report = _ignore if on_progress is None else _bind(on_progress, index)
            yield index, fn(item, Unit(resource=state, report=report))

    def _threaded(self, fn: Callable[[T, Unit[Any]], R], items: Sequence[T],
                  on_progress: ProgressCallback | None) -> Iterator[tuple[int, R]]:
        with ThreadPoolExecutor(max_workers=min(self.workers, len(items)),
                                thread_name_prefix="unit") as pool:
            futures = {pool.submit(fn, item, Unit(report=_ignore if on_progress is None
                                                  else _bind(on_progress, index))): index
                       for index, item in enumerate(items)}
            for future in as_completed(futures):
                yield futures[future], future.result()

    def close(self) -> None:
        self._resources.clear()


def _bind(callback: ProgressCallback, index: int) -> Callable[[float], None]:
    return lambda seconds: callback(index, seconds)
