"""What a stage is, as the runner sees it, and the context stages run in.

A stage is declared once, as a `Stage` subclass in its own module under
`pipeline/stages/`; the runner's `PIPELINE` tuple lists them in order, and that
tuple is the only place the order is written. Each stage says:

- `name`;
- `needs`: the result types of earlier stages it reads from the `RunContext`;
- `inputs(ctx)`: what its fingerprint is made of (content checksums, settings);
- `outputs(result)`: the files whose checksums prove its result still holds;
- `run(ctx)`: the work, returning its typed result;
- `describe(ctx)`: one line for `--dry-run`, from the config alone.

Results travel between stages through `RunContext.get(ResultType)`, typed by
the result's class, so adding a stage means one new module and one new entry
in `PIPELINE`, never a new field here.

A stage that works session by session (split, transcribe) says what it does for
one session in a `SessionWork` and hands it to `for_each_session`, which reuses
what the item cache still holds, runs the rest through the executor with one
progress bar across them, and gathers the results and the failures.
"""

from __future__ import annotations

import queue
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from pipeline.asr.decoding import WhisperSettings
from pipeline.config.forum import ForumConfig
from pipeline.errors import UsageError
from pipeline.executors.serial import Executor, Resource, SerialExecutor, WorkerContext
from pipeline.faults import stop_if_interrupted
from pipeline.manifest import ItemCache, Manifest
from pipeline.progress import Progress
from pipeline.results import SessionPlan
from pipeline.settings import DEFAULT_FETCH_TIMEOUT

R = TypeVar("R", bound=BaseModel)
J = TypeVar("J")  # one session's job
Out = TypeVar("Out")  # what the worker function returns for it
T = TypeVar("T")  # one session's result


@dataclass(frozen=True)
class RunOptions:
    work_root: Path
    from_stage: str | None = None
    only_stage: str | None = None
    force: bool = False
    dry_run: bool = False
    whisper: WhisperSettings = field(default_factory=WhisperSettings)
    catalogue: Path | None = None
    wait_for_lock: bool = False  # a second run of a busy forum waits instead of exiting
    cut_mode: str | None = None  # --cut-mode; None: the config's split.mode
    until_stage: str | None = None  # stop after this stage (`sort-archive plan`: "plan")
    fetch_timeout: float = DEFAULT_FETCH_TIMEOUT  # seconds a download waits for data
    # --discard-reviews: move the sessions' reviews aside before transcribing (confirmed)
    discard_reviews: bool = False


@dataclass
class StageOutcome:
    stage: str
    action: str  # "ran", "skipped (up to date)", "would run", "would skip (up to date)"
    detail: str = ""
    seconds: float | None = None  # wall time of a stage that ran


@dataclass
class RunReport:
    forum_id: str
    work_dir: Path
    outcomes: list[StageOutcome] = field(default_factory=list)
    archive_url: str | None = None
    catalogue: Path | None = None
    transcribed: int = 0
    uploaded: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # finished, but worth a look
    reviews: list[str] = field(default_factory=list)  # what the run did with reviews, progress
    results: dict[str, BaseModel] = field(default_factory=dict)  # by stage name
    # Seconds of recording the sessions cover (the runner sets it from the plan): each
    # stage's time is shown against it as a real-time factor, so staff see where an hour goes.
    media_seconds: float = 0.0


_END = object()


class SessionStream:
    """What one stage hands the next as each session is finished: split's clips, so that
    transcription starts on the first while the others are still being cut. The runner
    opens it, the producing stage `deliver`s into it, the runner closes it when that
    stage returns, and the consuming stage reads it with `RunContext.arriving`."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Any] = queue.Queue()

    def put(self, item: Any) -> None:
        self._queue.put(item)

    def close(self) -> None:
        self._queue.put(_END)

    def __iter__(self) -> Iterator[Any]:
        while True:
            try:
                item = self._queue.get(timeout=0.5)
            except queue.Empty:
                stop_if_interrupted()  # Ctrl-C while waiting for the next session
                continue
            if item is _END:
                return
            yield item


@dataclass
class RunContext:
    """Everything a stage may use: the forum, the run's options and earlier results."""

    config: ForumConfig
    options: RunOptions
    manifest: Manifest
    progress: Progress
    executor: Executor
    catalogue: Path
    forced: frozenset[str] = frozenset()  # stages --force applies to
    _results: dict[type[BaseModel], BaseModel] = field(default_factory=dict)
    # Open streams by the result type of the stage that fills them (see SessionStream).
    streams: dict[type[BaseModel], SessionStream] = field(default_factory=dict)

    @property
    def work_dir(self) -> Path:
        return self.manifest.work_dir

    def get(self, kind: type[R]) -> R:
        result = self._results.get(kind)
        if not isinstance(result, kind):
            raise UsageError(f"no {kind.__name__} is available for forum "
                             f"{self.config.forum.id}", "run the earlier stages first")
        return result

    def deliver(self, kind: type[BaseModel], item: Any) -> None:
        """Hand one finished session's result to the stage reading `kind` as it comes."""
        stream = self.streams.get(kind)
        if stream is not None:
            stream.put(item)

    def arriving(self, kind: type[BaseModel]) -> Iterable[Any] | None:
        """The sessions' results of the stage making `kind`, as it finishes them, while it
        runs beside this one; None when that stage has finished (use `get`)."""
        return self.streams.get(kind)

    def has(self, kind: type[BaseModel]) -> bool:
        return kind in self._results

    def put(self, result: BaseModel) -> None:
        self._results[type(result)] = result

    def items(self, stage: str) -> ItemCache:
        """Per-session records of `stage` in the manifest (reused clips, transcripts)."""
        return ItemCache(self.manifest, stage, force=stage in self.forced)

    def checksum(self, path: Path) -> str:
        return self.manifest.checksum(path)


class Stage(ABC, Generic[R]):
    name: ClassVar[str]
    result_type: ClassVar[type[BaseModel]]
    needs: ClassVar[tuple[type[BaseModel], ...]] = ()
    # Run even when up to date: cheap, and its output lives outside the work folder.
    always_run: ClassVar[bool] = False
    # The result type of the stage just before, whose sessions this stage can take one by
    # one as they are finished (`RunContext.arriving`): the runner then runs both at once.
    takes_sessions_from: ClassVar[type[BaseModel] | None] = None

    def preflight(self, ctx: RunContext) -> None:
        """Checks made before any stage runs, so a doomed run fails in seconds."""

    @abstractmethod
    def inputs(self, ctx: RunContext) -> list[Any]:
        """JSON-able values whose change means the stage must run again."""

    @abstractmethod
    def outputs(self, result: R) -> list[Path]:
        """Files that must still exist with their recorded checksums for reuse."""

    @abstractmethod
    def run(self, ctx: RunContext) -> R:
        """Do the work and return the typed result."""

    @abstractmethod
    def describe(self, ctx: RunContext) -> str:
        """What the stage would work on, for --dry-run (from the config alone)."""

    def restore(self, stored: Any) -> R:
        """Rebuild a result recorded in the manifest."""
        return self.result_type.model_validate(stored)  # type: ignore[return-value]

    def failures(self, result: R) -> dict[str, str]:
        return dict(getattr(result, "failures", {}) or {})

    def summarise(self, result: R, ran: bool, report: RunReport) -> None:
        """Add this stage's figures to the run report."""
        report.failures.update(self.failures(result))


@dataclass(frozen=True)
class Failed:
    """A session that could not be done, or whose earlier result cannot be reused."""

    reason: str  # one line, for the run report


@dataclass(frozen=True)
class SessionWork(Generic[J, Out, T]):
    """What a per-session stage does for one session (see `for_each_session`)."""

    task: str  # the progress bar's label
    # Module-level, as it may run on another machine: the job's outcome, a failure
    # included; raises only for what stops the run (a full disk, a model that won't load).
    work: Callable[[J, WorkerContext[Any]], Out]
    reuse: Callable[[SessionPlan], T | Failed | None]  # from the item cache; None: do it
    job: Callable[[SessionPlan], J]  # the job for a session that must be done
    finish: Callable[[J, Out], T | Failed]  # record the outcome in the item cache, or fail
    resource: Resource | None = None  # what every worker keeps between jobs (a model)


@dataclass(frozen=True)
class SessionResults(Generic[T]):
    results: list[T]  # in programme order (by session number)
    failures: dict[str, str]  # by session slug
    worked: int  # sessions done by this run, not reused


def for_each_session(sessions: Sequence[SessionPlan], work: SessionWork[J, Out, T],
                     progress: Progress, executor: Executor | None = None, *,
                     arriving: Iterable[SessionPlan] | None = None) -> SessionResults[T]:
    """Reuse what `work.reuse` finds, run `work.work` on the other sessions' jobs through
    the executor, and gather results and failures; a failed session does not stop the
    others. One progress bar, in seconds of sessions, covers them all.

    `arriving`, when given, yields the sessions one by one as an earlier stage finishes
    them (see `SessionStream`): each is taken up as it comes, while the rest are still
    being made; a session of `sessions` that never arrives failed there. The bar's total
    is still all of `sessions`."""
    done: dict[str, T] = {}
    failures: dict[str, str] = {}
    pending: list[tuple[SessionPlan, J]] = []
    settled = [0.0]  # seconds of the sessions reused or failed before any work
    total = sum(session.duration for session in sessions)
    with progress.task(work.task, total=total) as bar:
        inside: dict[int, float] = {}

        def report(index: int, seconds: float) -> None:
            inside[index] = min(seconds, pending[index][0].duration)
            bar.update(settled[0] + sum(inside.values()))

        def jobs() -> Iterator[J]:  # read lazily by the executor, as sessions arrive
            for session in (sessions if arriving is None else arriving):
                reused = work.reuse(session)
                if reused is None:
                    pending.append((session, work.job(session)))
                    yield pending[-1][1]
                    continue
                if isinstance(reused, Failed):
                    failures[session.slug] = reused.reason
                else:
                    done[session.slug] = reused
                settled[0] += session.duration
                bar.update(settled[0] + sum(inside.values()))

        worked = 0
        for index, outcome in (executor or SerialExecutor()).map(
                work.work, jobs(), resource=work.resource, on_progress=report):
            session, job = pending[index]
            report(index, session.duration)
            result = work.finish(job, outcome)
            if isinstance(result, Failed):
                failures[session.slug] = result.reason
                continue
            done[session.slug] = result
            worked += 1
    number = {session.slug: session.number for session in sessions}
    ordered = [done[slug] for slug in sorted(done, key=lambda slug: number[slug])]
    return SessionResults(results=ordered, failures=failures, worked=worked)
