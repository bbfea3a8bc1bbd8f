"""Transcribe: Korean speech to text, one session at a time, with the chosen engine.

Each session's audio is sliced out of fetch's 16 kHz mono WAV at the session's
times, which are exactly the times the clip was cut at, so the timestamps
written here (relative to the session start) line up with the clip.

The engine (faster-whisper by default, or openai-whisper) sits behind
`pipeline.asr`; `recognise` decodes, drops known hallucinations and applies the
forum's `corrections:`. Its identity (engine, model sha256, compute type,
device, decoding options) is part of each session's fingerprint, so changing
any of them redoes the transcripts. The model is loaded once per worker, before
its first session, and only if some session needs it; a model that cannot load
ends the run (exit 5) instead of failing every session one by one.

The forum's glossary is deliberately NOT given to Whisper. We measured both
faster-whisper's `hotwords` and an `initial_prompt` listing the terms on the
demo speech with the base model: hotwords made decoding 4x slower, merged a
talk into one 30-second segment and, in the quiet after a talk, produced
"사회적기업진흥원 사회적기업진흥원 ..." out of nothing; the prompt also merged
segments. Misheard terms are fixed after decoding with `corrections:` instead.

Reviewed text wins (`pipeline.review.reviews`): a session with a review file
(`sort-archive review`) is written from it, and the file's checksum is part of the
session's fingerprint and of the stage's inputs, so an edit rewrites just that session
on the next run, without Whisper. When Whisper must run again for it, its reviewed cues
are kept. Only `run --discard-reviews` moves the reviews aside (`preflight`, before any
fingerprint is taken).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.asr import make_engine
from pipeline.asr.decoding import WhisperSettings
from pipeline.asr.job import (
    TranscribeJob,
    TranscribeOutcome,
    engine_resource,
    transcribe_one,
    transcript_files,
)
from pipeline.asr.recognise import Corrections
from pipeline.errors import PipelineError, session_failure
from pipeline.executors.serial import Executor
from pipeline.manifest import ItemCache, fingerprint
from pipeline.progress import Progress
from pipeline.results import (
    Clip,
    FetchResult,
    PlanResult,
    SessionPlan,
    SplitResult,
    TranscribeResult,
    Transcript,
    TranscriptFiles,
)
from pipeline.review.corrections import forum_corrections
from pipeline.review.reviews import (
    current_progress,
    discard_reviews,
    keep_reviewed,
    review_checksum,
    review_file,
    write_from_review,
)
from pipeline.stage import Failed, RunContext, RunReport, SessionWork, Stage, for_each_session
from pipeline.transcripts.formats import segments_from_json
from pipeline.transcripts.registry import WRITTEN_FROM_SOURCE, rewrite_from_source

log = logging.getLogger("pipeline.transcribe")
# Bump when what Whisper's output becomes in the JSON changes: old transcripts are then
# transcribed again. A change of the subtitle and text files alone (their writers, the cue
# rules: registry.WRITTEN_FROM_SOURCE) rewrites them from the JSON instead, see `reuse`.
TRANSCRIPT_FORMAT = 3
WHISPER_ITEM = "#whisper"  # `{slug}#whisper`: Whisper's transcript of the session holds


@dataclass(frozen=True)
class TranscribeRequest:
    # Every clip at once, or (while split runs beside this stage) each as it is cut, with
    # `sessions` naming all that may come (the progress bar's total).
    clips: Iterable[Clip]
    audio_path: Path  # the whole recording, 16 kHz mono WAV
    language: str
    settings: WhisperSettings
    cache: ItemCache
    corrections: Corrections = ()
    sessions: list[SessionPlan] | None = None  # None: the clips' own (all given at once)
    # Called with each session's clip and transcript as soon as it is done or reused
    # (publish uploads them while the rest are transcribed, see pipeline.runner).
    on_transcript: Callable[[Clip, Transcript], None] | None = None


def clip_transcript_files(clip: Clip, language: str) -> TranscriptFiles:
    return transcript_files(clip.path.parent, clip.session.slug, language)


def transcribe(request: TranscribeRequest, progress: Progress,
               executor: Executor | None = None) -> TranscribeResult:
    """Write .vtt/.srt/.json/.txt and quality.json per session; failed sessions do not
    stop the others. Finished sessions are read back from their JSON, and a session with
    a review is written from it (see `_Sessions`)."""
    work = _Sessions(request, progress)
    sessions = (request.sessions if request.sessions is not None
                else [clip.session for clip in request.clips])
    done = for_each_session(sessions, SessionWork(
        task="transcribe", work=transcribe_one, reuse=work.reuse, job=work.job,
        finish=work.finish, resource=engine_resource(request.settings)), progress, executor,
        arriving=work.arriving())
    return TranscribeResult(transcripts=tuple(done.results), failures=done.failures,
                            transcribed=done.worked, flags=work.flags)


class _Sessions:
    """What `for_each_session` calls for each session.

    Two records per session in the item cache: `{slug}` (its files, keyed by Whisper's
    inputs and, when it has one, its review's checksum) and `{slug}#whisper` (keyed by
    Whisper's inputs alone: Whisper's transcript still holds). A session whose review
    changed while Whisper's transcript still holds is rewritten from the review without
    Whisper; one Whisper must do again keeps its reviewed cues (`keep_reviewed`)."""

    def __init__(self, request: TranscribeRequest, progress: Progress) -> None:
        self.request, self.progress = request, progress
        self.identity = make_engine(request.settings).identity().as_dict()
        self.audio_sha = request.cache.checksum(request.audio_path)
        self.clips: dict[str, Clip] = {}
        self.flags: dict[str, list[str]] = {}

    def arriving(self) -> Iterator[SessionPlan]:
        for clip in self.request.clips:  # a clip's session has the times it was really cut at
            self.clips[clip.session.slug] = clip
            yield clip.session

    def files(self, session: SessionPlan) -> TranscriptFiles:
        """The session's files, its review among them when it has one."""
        files = clip_transcript_files(self.clips[session.slug], self.request.language)
        review = review_file(files)
        return files.model_copy(update={"review": review}) if review.is_file() else files

    def whisper_key(self, session: SessionPlan) -> str:
        request = self.request
        return fingerprint(self.audio_sha, session.start, session.end, request.language,
                           TRANSCRIPT_FORMAT, self.identity,
                           [list(c) for c in request.corrections])

    def key(self, session: SessionPlan) -> str:
        """Whisper's key, with the review's checksum when the session has a review."""
        review = review_checksum(self.files(session), self.request.cache.checksum)
        whisper = self.whisper_key(session)
        return whisper if review is None else fingerprint(whisper, "review", review)

    def whisper_current(self, session: SessionPlan) -> bool:
        """Whisper's transcript of `session` still holds: recorded as such, or the
        session's own record from before it had a review."""
        key, cache = self.whisper_key(session), self.request.cache
        return (cache.is_fresh(session.slug + WHISPER_ITEM, key)
                or cache.is_fresh(session.slug, key))

    def record(self, session: SessionPlan, files: TranscriptFiles) -> None:
        cache = self.request.cache
        cache.record(session.slug + WHISPER_ITEM, self.whisper_key(session),
                     [files.quality] if files.quality is not None else [])
        cache.record(session.slug, self.key(session), list(files.all()))

    def reuse(self, session: SessionPlan) -> Transcript | Failed | None:
        files, request = self.files(session), self.request
        model = request.settings.model
        try:
            review = current_progress(files)  # a damaged review fails here, before Whisper
            if request.cache.is_fresh(session.slug, self.key(session)):
                transcript = load_transcript(session, request.language, files, model)
                # Written by other writers or cue rules: rewritten from the JSON (no Whisper).
                if rewrite_from_source(files, session, request.language, model,
                                       transcript.segments):
                    request.cache.record(session.slug, self.key(session), list(files.all()))
                return self.handed_on(transcript.model_copy(update={"review": review}))
            if review is None or not self.whisper_current(session):
                return None
            applied = write_from_review(files, session, request.language, model)
            if applied is None:  # the review went away meanwhile
                return None
            self.record(session, files)
        except (PipelineError, OSError, ValueError, KeyError) as exc:
            return Failed(_failure(exc))
        return self.handed_on(Transcript(session=session, language=request.language,
                                         files=files, segments=applied.segments, model=model,
                                         review=applied.progress))

    def handed_on(self, transcript: Transcript) -> Transcript:
        if self.request.on_transcript is not None:
            self.request.on_transcript(self.clips[transcript.session.slug], transcript)
        return transcript

    def job(self, session: SessionPlan) -> TranscribeJob:
        request = self.request
        return TranscribeJob(session=session, audio_path=request.audio_path,
                             files=self.files(session), language=request.language,
                             settings=request.settings, corrections=tuple(request.corrections))

    def finish(self, job: TranscribeJob, outcome: TranscribeOutcome) -> Transcript | Failed:
        if outcome.transcript is None:
            return Failed(outcome.failure or "transcription failed")
        transcript, slug = outcome.transcript, job.session.slug
        try:  # Whisper ran again for a session with a review: its reviewed cues are kept
            kept = keep_reviewed(job.files, job.session, job.language, job.settings.model,
                                 transcript.segments)
            if kept is not None:
                transcript = transcript.model_copy(
                    update={"segments": kept.segments, "review": kept.progress})
                if kept.progress.kept:
                    self.progress.note(f"transcribe: kept {kept.progress.kept} reviewed "
                                       f"cue(s) in {slug}; Whisper's new text elsewhere")
            self.record(job.session, job.files)
        except (PipelineError, OSError) as exc:
            return Failed(_failure(exc))
        if outcome.flags:
            self.flags[slug] = list(outcome.flags)
        return self.handed_on(transcript)


def _failure(exc: Exception) -> str:
    if isinstance(exc, PipelineError | OSError):
        return session_failure(exc)
    return f"damaged transcript: {exc}"


def load_transcript(session: SessionPlan, language: str, files: TranscriptFiles,
                    model: str) -> Transcript:
    """A finished transcript, read back from its JSON (the manifest keeps no words)."""
    segments = segments_from_json(files.json_path.read_text(encoding="utf-8"))
    return Transcript(session=session, language=language, files=files, segments=segments,
                      model=model)


class TranscribeStage(Stage[TranscribeResult]):
    """Declared stage: one transcript per clip, in the forum's language."""

    name = "transcribe"
    result_type = TranscribeResult
    needs = (FetchResult, SplitResult)
    # Each session is transcribed from fetch's sound, not from its clip: it can start as
    # soon as split has cut it (at the times the clip really has), not after every cut.
    takes_sessions_from = SplitResult

    def preflight(self, ctx: RunContext) -> None:
        if ctx.options.discard_reviews:  # before any fingerprint: the run sees no review
            for moved in discard_reviews(ctx.work_dir):
                log.warning("moved the review %s aside (--discard-reviews); its session is "
                            "transcribed again", moved.name)

    def inputs(self, ctx: RunContext) -> list[Any]:
        settings = ctx.options.whisper
        clips = ctx.get(SplitResult).clips
        language = ctx.config.forum.language
        reviews = [review_checksum(clip_transcript_files(clip, language), ctx.checksum)
                   for clip in clips]
        return [ctx.checksum(ctx.get(FetchResult).recording.audio_path),
                [clip.model_dump(mode="json") for clip in clips],
                [ctx.checksum(clip.path) for clip in clips], language,
                TRANSCRIPT_FORMAT, WRITTEN_FROM_SOURCE,
                make_engine(settings).identity().as_dict(),
                [list(pair) for pair in forum_corrections(ctx.config).items()],
                # only when there are reviews: forums without any stay up to date
                *([reviews] if any(review is not None for review in reviews) else [])]

    def outputs(self, result: TranscribeResult) -> list[Path]:
        return [path for t in result.transcripts for path in t.files.all()]

    def run(self, ctx: RunContext) -> TranscribeResult:
        arriving = ctx.arriving(SplitResult)  # split still cutting beside this stage
        request = TranscribeRequest(
            clips=list(ctx.get(SplitResult).clips) if arriving is None else arriving,
            sessions=None if arriving is None else ctx.get(PlanResult).plans,
            audio_path=ctx.get(FetchResult).recording.audio_path,
            language=ctx.config.forum.language, settings=ctx.options.whisper,
            cache=ctx.items(self.name),
            corrections=tuple(forum_corrections(ctx.config).items()),
            on_transcript=lambda clip, done: ctx.deliver(TranscribeResult, (clip, done)))
        return transcribe(request, ctx.progress, ctx.executor)

    def restore(self, stored: Any) -> TranscribeResult:
        # The manifest keeps no words (they can be hours of them): read them back.
        result = TranscribeResult.model_validate(stored)
        return result.model_copy(update={"transcripts": tuple(
            load_transcript(t.session, t.language, t.files, t.model).model_copy(
                update={"review": t.review})
            for t in result.transcripts)})

    def describe(self, ctx: RunContext) -> str:
        sessions = len(ctx.config.session_plans()) or "chapter"
        settings = ctx.options.whisper
        return f"{sessions} session(s) with {settings.engine} {settings.model}"

    def summarise(self, result: TranscribeResult, ran: bool, report: RunReport) -> None:
        super().summarise(result, ran, report)
        if ran:
            report.transcribed = result.transcribed
        for slug, notes in result.flags.items():
            report.warnings += [f"{slug}: {note}" for note in notes]
        report.reviews += review_lines(result.transcripts, ran)


def review_lines(transcripts: Sequence[Transcript], ran: bool) -> list[str]:
    """The run summary's lines about reviews: what this run did with them (when the stage
    ran), then each reviewed session's progress."""
    reviewed = [(t.session.slug, t.review) for t in transcripts if t.review is not None]
    lines = []
    if ran:
        rewrote = sum(review.applied == "rewrote" for _, review in reviewed)
        if rewrote:
            lines.append(f"rewrote {rewrote} session(s) from reviews")
        lines += [f"kept {review.kept} reviewed cue(s) in {slug}" for slug, review in reviewed
                  if review.applied == "kept" and review.kept]
    lines += [f"{slug}: {review.reviewed} of {review.total} cue(s) reviewed"
              + (" (검수 완료)" if review.complete else "") for slug, review in reviewed]
    return lines
