"""Split: cut one mp4 per session out of the master recording.

How a clip is cut is `pipeline.cutting.cut`'s business; the mode comes from the
config (`split: {mode}`) or `--cut-mode`, and is part of each clip's
fingerprint:

- `smart` (default): frame-exact, re-encoding only from each cut point to the
  next keyframe (and from the last keyframe to the end), stream-copying the
  rest; falls back to `accurate` when the source cannot be joined, and says why;
- `accurate`: a full re-encode, frame-exact and slow;
- `copy`: keyframes only; the clip records the times it really starts and ends,
  and the transcript uses those.

Each clip is written to a temporary name and renamed when complete, so an
interrupted run never leaves a half clip that looks finished. Sessions are cut
side by side through the executor (at most one per core locally).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.cutting.cut import cut
from pipeline.errors import PipelineError, SplitError, session_failure
from pipeline.executors.serial import Executor, WorkerContext
from pipeline.manifest import ItemCache, fingerprint
from pipeline.media.posters import make_poster
from pipeline.media.probe import probe
from pipeline.progress import Progress
from pipeline.results import Clip, FetchResult, PlanResult, Recording, SessionPlan, SplitResult
from pipeline.stage import Failed, RunContext, RunReport, SessionWork, Stage, for_each_session

log = logging.getLogger("pipeline.split")

CUT_FORMAT = 2  # bump when clips are made differently, so old clips are cut again


@dataclass(frozen=True)
class SplitRequest:
    recording: Recording
    sessions: list[SessionPlan]
    work_dir: Path
    cache: ItemCache
    mode: str = "smart"
    # Called with each clip as soon as it is cut or found reused (transcribe takes it up
    # while the rest are still being cut, see pipeline.runner); from the driver's thread.
    on_clip: Callable[[Clip], None] | None = None


def clip_path(work_dir: Path, session: SessionPlan) -> Path:
    return work_dir / "sessions" / session.slug / f"{session.slug}.mp4"


def split(request: SplitRequest, progress: Progress,
          executor: Executor | None = None) -> SplitResult:
    """Cut every session; a failed cut is reported and the others still finish.

    Clips already cut from the same source at the same times are reused; the
    others are cut by `cut_one` through the executor (in parallel on Ray).
    """
    source_sha = request.cache.checksum(request.recording.video_path)

    def reuse(session: SessionPlan) -> Clip | Failed | None:
        stored = request.cache.stored_result(session.slug,
                                             _fingerprint(source_sha, session, request.mode))
        if stored is None:
            return None
        try:
            clip = Clip.model_validate(stored)
            clip = _checked_clip(clip.session, clip_path(request.work_dir, session)).model_copy(
                update={"poster": clip.poster, "cut_mode": clip.cut_mode,
                        "fallback_reason": clip.fallback_reason})
        except (PipelineError, OSError) as exc:
            return Failed(session_failure(exc))
        return handed_on(clip)

    def handed_on(clip: Clip) -> Clip:
        if request.on_clip is not None:
            request.on_clip(clip)
        return clip

    def job(session: SessionPlan) -> CutJob:
        return CutJob(source=request.recording.video_path, session=session,
                      target=clip_path(request.work_dir, session), mode=request.mode)

    def finish(job: CutJob, outcome: CutOutcome) -> Clip | Failed:
        if outcome.clip is None:
            return Failed(outcome.failure or "cut failed")
        request.cache.record(job.session.slug, _fingerprint(source_sha, job.session, job.mode),
                             [p for p in (job.target, outcome.clip.poster) if p],
                             result=outcome.clip.model_dump(mode="json"))
        return handed_on(outcome.clip)

    done = for_each_session(request.sessions, SessionWork(
        task="cut sessions", work=cut_one, reuse=reuse, job=job, finish=finish),
        progress, executor)
    return SplitResult(clips=tuple(done.results), failures=done.failures)


def _fingerprint(source_sha: str, session: SessionPlan, mode: str) -> str:
    return fingerprint(source_sha, session.start, session.end, mode, CUT_FORMAT)


@dataclass(frozen=True)
class CutJob:
    """One session to cut: a job that may run on another machine."""

    source: Path
    session: SessionPlan
    target: Path
    mode: str = "smart"


@dataclass(frozen=True)
class CutOutcome:
    clip: Clip | None
    failure: str | None = None  # one line, when the cut failed


def cut_one(job: CutJob, worker: WorkerContext[None]) -> CutOutcome:
    """Cut one session, check its length and make its poster. A failure is returned,
    not raised, except a full disk, which stops the run."""
    try:
        report = cut(job.source, job.session.start, job.session.end, job.target, job.mode,
                     worker.report)
        # A copy cut starts and ends on keyframes: the clip (and so its transcript) says so.
        achieved = job.session.model_copy(update={"start": round(report.start, 3),
                                                  "end": round(report.end, 3)})
        clip = _checked_clip(achieved, job.target).model_copy(update={
            "cut_mode": report.mode, "fallback_reason": report.fallback_reason})
    except (PipelineError, OSError) as exc:
        return CutOutcome(clip=None, failure=session_failure(exc))
    return CutOutcome(clip=_with_poster(clip))


def poster_path(clip_file: Path) -> Path:
    return clip_file.with_name("poster.jpg")


def _with_poster(clip: Clip) -> Clip:
    """A poster is a nicety: a clip without one is still published, with a warning."""
    try:
        make_poster(clip.path, poster_path(clip.path), clip.duration)
    except (PipelineError, OSError) as exc:
        if isinstance(exc, OSError):
            session_failure(exc)  # re-raises a full disk
        log.warning("no poster for %s: %s", clip.session.slug, exc)
        return clip
    return clip.model_copy(update={"poster": poster_path(clip.path)})


def _checked_clip(session: SessionPlan, target: Path) -> Clip:
    length = probe(target).duration
    # Half a second of slack: AAC frames and the last video frame round the length a little.
    if abs(length - session.duration) > 0.5:
        raise SplitError(
            f"clip {target.name} is {length:.1f} s long, expected {session.duration:.1f} s",
            hint="check that the session's times lie inside the recording",
        )
    return Clip(session=session, path=target.resolve(), duration=length)


class SplitStage(Stage[SplitResult]):
    """Declared stage: cut one clip per session out of the fetched recording."""

    name = "split"
    result_type = SplitResult
    needs = (FetchResult, PlanResult)

    def plans(self, ctx: RunContext) -> list[SessionPlan]:
        return ctx.get(PlanResult).plans

    def mode(self, ctx: RunContext) -> str:
        return ctx.options.cut_mode or ctx.config.forum.split.mode

    def inputs(self, ctx: RunContext) -> list[Any]:
        # Content checksums, not paths: a re-fetched recording keeps its file name.
        return [ctx.checksum(ctx.get(FetchResult).recording.video_path),
                [plan.model_dump(mode="json") for plan in self.plans(ctx)], self.mode(ctx),
                CUT_FORMAT]

    def outputs(self, result: SplitResult) -> list[Path]:
        return [path for clip in result.clips for path in (clip.path, clip.poster) if path]

    def run(self, ctx: RunContext) -> SplitResult:
        request = SplitRequest(recording=ctx.get(FetchResult).recording,
                               sessions=self.plans(ctx), work_dir=ctx.work_dir,
                               cache=ctx.items(self.name), mode=self.mode(ctx),
                               on_clip=lambda clip: ctx.deliver(SplitResult, clip))
        return split(request, ctx.progress, ctx.executor)

    def describe(self, ctx: RunContext) -> str:
        return f"{len(ctx.config.session_plans()) or 'chapter'} session(s)"

    def summarise(self, result: SplitResult, ran: bool, report: RunReport) -> None:
        super().summarise(result, ran, report)
        report.warnings += [f"{clip.session.slug}: cut accurate, not smart: "
                            f"{clip.fallback_reason}" for clip in result.clips
                            if clip.fallback_reason and ran]
