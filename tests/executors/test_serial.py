"""The serial executor: jobs in order, resources built once, progress per job."""

from __future__ import annotations

from functools import partial

from pipeline.executors.serial import Resource, SerialExecutor, WorkerContext

LOADS: list[str] = []


def load(name: str) -> dict[str, str]:
    LOADS.append(name)
    return {"model": name}


def double(item: int, worker: WorkerContext[None]) -> int:
    worker.report(item / 2)
    return item * 2


def tag(item: int, worker: WorkerContext[dict[str, str]]) -> str:
    return f"{worker.resource['model']}:{item}"


def test_results_come_back_in_order_with_their_index_and_progress() -> None:
    seen: list[tuple[int, float]] = []
    results = list(SerialExecutor(workers=1).map(double, [1, 2, 3],
                                                 on_progress=lambda i, s: seen.append((i, s))))
    assert results == [(0, 2), (1, 4), (2, 6)]
    assert seen == [(0, 0.5), (1, 1.0), (2, 1.5)]


def test_a_resource_is_loaded_once_for_every_call() -> None:
    LOADS.clear()
    executor = SerialExecutor()
    model = Resource(key="base", load=partial(load, "base"))
    assert [r for _, r in executor.map(tag, [1, 2], resource=model)] == ["base:1", "base:2"]
    assert [r for _, r in executor.map(tag, [3], resource=model)] == ["base:3"]
    other = Resource(key="large", load=partial(load, "large"))
    assert [r for _, r in executor.map(tag, [4], resource=other)] == ["large:4"]
    assert LOADS == ["base", "large"]
    assert list(executor.map(tag, [], resource=Resource("x", partial(load, "x")))) == []
    assert LOADS == ["base", "large"]  # nothing to do: nothing loaded


def sleepy(item: float, worker: WorkerContext[None]) -> float:
    import time

    started = time.monotonic()
    time.sleep(item)
    worker.report(item)
    return started


def test_jobs_without_a_resource_run_side_by_side_up_to_the_workers() -> None:
    import time

    began = time.monotonic()
    seen: list[int] = []
    results = dict(SerialExecutor(workers=2).map(sleepy, [0.4, 0.4, 0.4, 0.4],
                                                 on_progress=lambda i, s: seen.append(i)))
    took = time.monotonic() - began
    assert sorted(results) == [0, 1, 2, 3] and sorted(seen) == [0, 1, 2, 3]
    assert 0.75 < took < 1.5  # two at a time: two rounds of 0.4 s, not four
    starts = sorted(results.values())
    assert starts[1] - starts[0] < 0.2 and starts[2] - starts[0] > 0.3
