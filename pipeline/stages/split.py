"""Split: cut one mp4 per session out of the master recording.

Cuts are re-encoded (H.264/AAC) rather than stream-copied: a copy can only
start on a keyframe, which on a YouTube recording can be seconds away from
the agenda time, while viewers expect the clip to open on the session's first
second. Each clip is written to a temporary name and renamed when complete,
so an interrupted run never leaves a half clip that looks finished.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from pipeline.errors import MediaError, PipelineError, SplitError, session_failure
from pipeline.executor import Executor, SerialExecutor, Unit
from pipeline.media import probe, run_with_progress
from pipeline.models import Clip, FetchResult, PlanResult, Recording, SessionPlan, SplitResult
from pipeline.posters import make_poster
from pipeline.progress import Progress
from pipeline.stage import RunContext, Stage
from pipeline.state import ItemCache, fingerprint

log = logging.getLogger("pipeline.split")

ENCODER = {
    "vcodec": "libx264",
    "preset": "veryfast",
    "crf": 20,
    "pix_fmt": "yuv420p",
    "acodec": "aac",
    "audio_bitrate": "128k",
    "movflags": "+faststart",
}


@dataclass(frozen=True)
class SplitRequest:
    recording: Recording
    sessions: list[SessionPlan]
    work_dir: Path
    cache: ItemCache


def clip_path(work_dir: Path, session: SessionPlan) -> Path:
    return work_dir / "sessions" / session.slug / f"{session.slug}.mp4"


def split(request: SplitRequest, progress: Progress,
          executor: Executor | None = None) -> SplitResult:
    """Cut every session; a failed cut is reported and the others still finish.

    Clips already cut from the same source at the same times are reused; the
    others are cut by `cut_one` through the executor (in parallel on Ray).
    """
    source_sha = request.cache.checksum(request.recording.video_path)
    clips: dict[str, Clip] = {}
    failures: dict[str, str] = {}
    jobs: list[CutJob] = []
    for session in request.sessions:
        target = clip_path(request.work_dir, session)
        if request.cache.is_fresh(session.slug, _fingerprint(source_sha, session)):
            try:
                clip = _checked_clip(session, target)
                poster = poster_path(target)
                clips[session.slug] = (clip.model_copy(update={"poster": poster})
                                       if poster.is_file() else clip)
            except (PipelineError, OSError) as exc:
                failures[session.slug] = session_failure(exc)
        else:
            jobs.append(CutJob(source=request.recording.video_path, session=session,
                               target=target))
    total = sum(s.duration for s in request.sessions)
    with progress.task("cut sessions", total=total) as bar:
        base = total - sum(job.session.duration for job in jobs)
        inside: dict[int, float] = {}

        def report(index: int, seconds: float) -> None:
            inside[index] = seconds
            bar.update(base + sum(inside.values()))

        for index, outcome in (executor or SerialExecutor()).map(cut_one, jobs,
                                                                 on_progress=report):
            job = jobs[index]
            report(index, job.session.duration)
            if outcome.clip is None:
                failures[job.session.slug] = outcome.failure or "cut failed"
                continue
            request.cache.record(job.session.slug, _fingerprint(source_sha, job.session),
                                 [p for p in (job.target, outcome.clip.poster) if p])
            clips[job.session.slug] = outcome.clip
    ordered = sorted(clips.values(), key=lambda clip: clip.session.number)
    return SplitResult(clips=tuple(ordered), failures=failures)


def _fingerprint(source_sha: str, session: SessionPlan) -> str:
    return fingerprint(source_sha, session.start, session.end, ENCODER)


@dataclass(frozen=True)
class CutJob:
    """One session to cut: a unit of work that may run on another machine."""

    source: Path
    session: SessionPlan
    target: Path


@dataclass(frozen=True)
class CutOutcome:
    clip: Clip | None
    failure: str | None = None  # one line, when the cut failed


def cut_one(job: CutJob, unit: Unit[None]) -> CutOutcome:
    """Cut one session, check its length and make its poster. A failure is returned,
    not raised, except a full disk, which stops the run."""
    try:
        _cut(job.source, job.session, job.target, unit.report)
        clip = _checked_clip(job.session, job.target)
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


def _cut(source: Path, session: SessionPlan, target: Path,
         on_progress: Callable[[float], None]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.stem + ".part.mp4")
    # -ss before -i seeks fast on the input, and with re-encoding it is still frame-exact.
    stream = ffmpeg.input(str(source), ss=f"{session.start:.3f}", t=f"{session.duration:.3f}")
    output = ffmpeg.output(stream, str(partial), **ENCODER)
    try:
        run_with_progress(output, what=f"cutting session {session.slug}",
                          duration=session.duration,
                          on_progress=on_progress)
    except MediaError:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)


class SplitStage(Stage[SplitResult]):
    """Declared stage: cut one clip per session out of the fetched recording."""

    name = "split"
    result_type = SplitResult
    needs = (FetchResult, PlanResult)

    def plans(self, ctx: RunContext) -> list[SessionPlan]:
        return ctx.get(PlanResult).plans

    def inputs(self, ctx: RunContext) -> list[Any]:
        # Content checksums, not paths: a re-fetched recording keeps its file name.
        return [ctx.checksum(ctx.get(FetchResult).recording.video_path),
                [plan.model_dump(mode="json") for plan in self.plans(ctx)]]

    def outputs(self, result: SplitResult) -> list[Path]:
        return [path for clip in result.clips for path in (clip.path, clip.poster) if path]

    def run(self, ctx: RunContext) -> SplitResult:
        request = SplitRequest(recording=ctx.get(FetchResult).recording,
                               sessions=self.plans(ctx), work_dir=ctx.work_dir,
                               cache=ctx.items(self.name))
        return split(request, ctx.progress, ctx.executor)

    def describe(self, ctx: RunContext) -> str:
        return f"{len(ctx.config.session_plans()) or 'chapter'} session(s)"
