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

import ffmpeg

from pipeline.errors import MediaError, PipelineError, SplitError, session_failure
from pipeline.media import probe, run_with_progress
from pipeline.models import Chapter, Clip, Recording, SessionPlan, SplitResult
from pipeline.progress import Progress, Task
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


def sessions_from_chapters(chapters: tuple[Chapter, ...]) -> list[SessionPlan]:
    """A programme taken from YouTube chapters when the config lists no sessions."""
    plans = []
    for number, chapter in enumerate(chapters, start=1):
        slug = "".join(c if c.isascii() and c.isalnum() else "-" for c in chapter.title.lower())
        slug = "-".join(part for part in slug.split("-") if part) or "chapter"
        plans.append(SessionPlan(number=number, id=f"{slug}"[:40].strip("-") or "chapter",
                                 title=chapter.title or f"Chapter {number}",
                                 start=chapter.start, end=chapter.end))
    return plans


def split(request: SplitRequest, progress: Progress) -> SplitResult:
    """Cut every session; a failed cut is reported and the others still finish."""
    recording = request.recording
    source_sha = request.cache.checksum(recording.video_path)
    clips: list[Clip] = []
    failures: dict[str, str] = {}
    total = sum(s.duration for s in request.sessions)
    with progress.task("cut sessions", total=total) as bar:
        done = 0.0
        for session in request.sessions:
            target = clip_path(request.work_dir, session)
            inputs = fingerprint(source_sha, session.start, session.end, ENCODER)
            try:
                fresh = request.cache.is_fresh(session.slug, inputs)
                if not fresh:
                    _cut(recording.video_path, session, target, _offset(bar, done))
                clips.append(_checked_clip(session, target))
                if not fresh:
                    request.cache.record(session.slug, inputs, [target])
            except (PipelineError, OSError) as exc:
                failures[session.slug] = session_failure(exc)
            done += session.duration
            bar.update(done)
    return SplitResult(clips=tuple(clips), failures=failures)


def _offset(bar: Task, base: float) -> Callable[[float], None]:
    return lambda seconds: bar.update(base + seconds)


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
