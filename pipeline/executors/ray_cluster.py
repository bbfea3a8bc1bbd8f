"""The Ray executor: per-session jobs fanned out over a Ray cluster.

The same worker functions as the serial executor run here (`cut_one`,
`transcribe_one`); only where they run changes. Cutting runs as Ray tasks;
transcription runs on long-lived actors that load the Whisper model once and
keep it for every session of every forum in the run. Each actor holds as many
CPUs as Whisper's `cpu_threads` (by default the driver's core count, capped at
the largest node), so a Ray run decodes with the same thread count as a serial
one and writes the same text. Workers only write the session files they were given; the driver
alone writes each forum's manifest and the search catalogue.

Why the tasks reserve no CPU: the transcription actors hold one CPU each for
as long as the run lasts, and a cut task that waited for a free CPU would wait
forever once another forum's actors exist. Instead the driver keeps at most
one cut per cluster CPU in flight for each forum, and Ray spreads them.

Every node must see the work folder at the same path (NFS, EFS, a mounted
bucket): at start the driver writes a probe file there and a task pinned to
each node reads it back; a node that cannot is a one-line error.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pipeline.errors import ExecutorError, PipelineError
from pipeline.executors.serial import ProgressCallback, Resource, WorkerContext

T = TypeVar("T")
R = TypeVar("R")
log = logging.getLogger("pipeline.ray")
PROBE_PREFIX = ".sort-archive-probe-"
_SHARED_HINT = ("put the work folder on storage that every node mounts at the same path "
                "(NFS, EFS, a mounted bucket) and pass it with --work-dir")


def _run_job(fn: Callable[[T, WorkerContext[Any]], R], item: T) -> R:
    return fn(item, WorkerContext())


def read_probe(path: str, token: str) -> tuple[str, str | None]:
    """Runs on a node: (host name, None) if the probe file holds the token, else a reason."""
    host = socket.gethostname()
    try:
        found = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        return host, f"cannot read {path}: {exc.strerror or exc}"
    return host, None if found == token else f"{path} holds other content"


class _Worker:
    """A Ray actor that keeps one loaded resource (the Whisper model) for its lifetime."""

    def __init__(self, load: Callable[[], Any]) -> None:
        self.error: BaseException | None = None
        try:
            self.state = load()
        except Exception as exc:  # raised again on the first call, where the driver sees it
            self.state, self.error = None, exc

    def run(self, fn: Callable[[T, WorkerContext[Any]], R], item: T) -> R:
        if self.error is not None:
            raise self.error
        return fn(item, WorkerContext(resource=self.state))


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None = None, shared_dirs: Sequence[Path] = ()) -> None:
        try:
            import ray
        except ImportError:
            raise ExecutorError("Ray is not installed",
                                "install the extra: pip install 'sort-archive[ray]' "
                                "(make setup does)") from None
        self._ray: Any = ray  # ray's own annotations are partial; treat it as dynamic
        os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # no phoning home from offline machines
        started = time.monotonic()
        if address:
            _check_reachable(address)
        try:
            ray.init(address=address or "local", include_dashboard=False,
                     num_cpus=None if address else os.cpu_count(),
                     log_to_driver=False, logging_level=logging.WARNING,
                     )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
            raise ExecutorError(f"cannot start or join {where}: {_first_line(exc)}",
                                "start the head with `ray start --head` and pass its address "
                                "with --ray-address") from None
        self.startup_seconds = time.monotonic() - started
        self._cpus = max(1, int(self._ray.cluster_resources().get("CPU", 1)))
        self._node_cpus = max([int(n.get("Resources", {}).get("CPU", 0))
                               for n in self._ray.nodes() if n.get("Alive")] or [1])
        self._task: Any = ray.remote(num_cpus=0, scheduling_strategy="SPREAD")(_run_job)
        self._pools: dict[str, list[Any]] = {}
        self._lock = threading.Lock()
        for folder in shared_dirs:
            self.check_shared(folder)

    def check_shared(self, folder: Path) -> None:
        """Stop unless every node of the cluster reads a file the driver writes in `folder`."""
        folder = folder.resolve()
        folder.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(16)
        probe = folder / f"{PROBE_PREFIX}{token[:8]}"
        probe.write_text(token, encoding="utf-8")
        try:
            self.verify_probe(probe, token)
        finally:
            probe.unlink(missing_ok=True)

    def verify_probe(self, probe: Path, token: str) -> None:
        """A task pinned to each live node reads `probe`; any node that cannot stops the run."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        reader = self._ray.remote(num_cpus=0)(read_probe)
        nodes = [n for n in self._ray.nodes() if n.get("Alive")]
        refs = [reader.options(scheduling_strategy=NodeAffinitySchedulingStrategy(
            node_id=n["NodeID"], soft=False)).remote(str(probe), token) for n in nodes]
        for host, problem in self._ray.get(refs, timeout=120):
            if problem is not None:
                raise ExecutorError(f"Ray node {host} cannot see the work folder "
                                    f"{probe.parent}: {problem}", _SHARED_HINT)

    def map(self, fn: Callable[[T, WorkerContext[Any]], R], items: Iterable[T], *,
            resource: Resource | None = None,
            on_progress: ProgressCallback | None = None) -> Iterator[tuple[int, R]]:
        if resource is None:
            yield from self._tasks(fn, list(items))
            return
        actors: list[Any] = []
        refs: dict[Any, int] = {}
        for index, item in enumerate(items):  # each job goes out as soon as it arrives
            actors = actors or self._actors(resource)  # no model is loaded for no job
            refs[actors[index % len(actors)].run.remote(fn, item)] = index
            finished, _ = self._ray.wait(list(refs), num_returns=len(refs), timeout=0)
            for ref in finished:
                yield refs.pop(ref), self._get(ref)
        yield from self._collect(refs)

    def _tasks(self, fn: Callable[[T, WorkerContext[Any]], R], items: Sequence[T]
               ) -> Iterator[tuple[int, R]]:
        if not items:
            return
        queue = list(enumerate(items))
        refs: dict[Any, int] = {}
        while queue or refs:
            while queue and len(refs) < self._cpus:
                index, item = queue.pop(0)
                refs[self._task.remote(fn, item)] = index
            done, _ = self._ray.wait(list(refs), num_returns=1)
            for ref in done:
                yield refs.pop(ref), self._get(ref)

    def _collect(self, refs: dict[Any, int]) -> Iterator[tuple[int, Any]]:
        while refs:
            done, _ = self._ray.wait(list(refs), num_returns=1)
            for ref in done:
                yield refs.pop(ref), self._get(ref)

    def _actors(self, resource: Resource) -> list[Any]:
        with self._lock:
            if resource.key not in self._pools:
                # A holder larger than every node could never be placed: cap it.
                cpus = max(1, min(resource.cpus, self._node_cpus))
                worker = self._ray.remote(num_cpus=cpus, runtime_env={
                    "env_vars": {"OMP_NUM_THREADS": str(cpus)}})(_Worker)
                self._pools[resource.key] = [worker.remote(resource.load)
                                             for _ in range(max(1, self._cpus // cpus))]
            return self._pools[resource.key]

    def _get(self, ref: Any) -> Any:
        """The job's outcome; a worker function's own error is raised as it would be locally."""
        from ray.exceptions import RayActorError, RayTaskError

        try:
            return self._ray.get(ref)
        except RayTaskError as exc:
            cause = exc.cause
            if isinstance(cause, PipelineError | OSError | KeyboardInterrupt):
                raise cause from None
            raise ExecutorError(f"a Ray worker failed: {_first_line(cause or exc)}",
                                "run again with -v; finished sessions are kept") from None
        except RayActorError as exc:
            raise ExecutorError(f"a Ray worker died: {_first_line(exc)}",
                                "check the node's memory and logs, then run again; finished "
                                "sessions are kept") from None

    def close(self) -> None:
        for pool in self._pools.values():
            for actor in pool:
                self._ray.kill(actor)
        self._pools.clear()
        self._ray.shutdown()


def _check_reachable(address: str) -> None:
    """Fail in seconds on a wrong address: ray.init retries an unreachable head for minutes."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms: let Ray resolve them
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise ExecutorError(f"cannot start or join the Ray cluster at {address}: "
                            f"{exc.strerror or exc}",
                            "start the head with `ray start --head` and pass the address it "
                            "prints with --ray-address") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
