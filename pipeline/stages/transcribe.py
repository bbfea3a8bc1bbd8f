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
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
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
from pipeline.stage import Failed, RunContext, RunReport, SessionWork, Stage, for_each_session
from pipeline.transcripts.formats import segments_from_json
from pipeline.transcripts.registry import WRITTEN_FROM_SOURCE, rewrite_from_source

log = logging.getLogger("pipeline.transcribe")
# Bump when what Whisper's output becomes in the JSON changes: old transcripts are then
# transcribed again. A change of the subtitle and text files alone (their writers, the cue
# rules: registry.WRITTEN_FROM_SOURCE) rewrites them from the JSON instead, see `reuse`.
TRANSCRIPT_FORMAT = 3


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
    stop the others. Finished sessions are read back from their JSON."""
    settings = request.settings
    identity = make_engine(settings).identity().as_dict()
    audio_sha = request.cache.checksum(request.audio_path)
    clips: dict[str, Clip] = {}
    flags: dict[str, list[str]] = {}

    def arriving() -> Iterator[SessionPlan]:
        for clip in request.clips:  # a clip's session has the times it was really cut at
            clips[clip.session.slug] = clip
            yield clip.session

    def key(session: SessionPlan) -> str:
        return fingerprint(audio_sha, session.start, session.end, request.language,
                           TRANSCRIPT_FORMAT, identity, [list(c) for c in request.corrections])

    def reuse(session: SessionPlan) -> Transcript | Failed | None:
        if not request.cache.is_fresh(session.slug, key(session)):
            return None
        files = clip_transcript_files(clips[session.slug], request.language)
        try:
            transcript = load_transcript(session, request.language, files, settings.model)
            # Written by other writers or cue rules: rewritten from the JSON (no Whisper).
            if rewrite_from_source(files, session, request.language, settings.model,
                                   transcript.segments):
                request.cache.record(session.slug, key(session), list(files.all()))
        except (PipelineError, OSError, ValueError, KeyError) as exc:
            return Failed(_failure(exc))
        return handed_on(transcript)

    def handed_on(transcript: Transcript) -> Transcript:
        if request.on_transcript is not None:
            request.on_transcript(clips[transcript.session.slug], transcript)
        return transcript

    def job(session: SessionPlan) -> TranscribeJob:
        return TranscribeJob(session=session, audio_path=request.audio_path,
                             files=clip_transcript_files(clips[session.slug], request.language),
                             language=request.language, settings=settings,
                             corrections=tuple(request.corrections))

    def finish(job: TranscribeJob, outcome: TranscribeOutcome) -> Transcript | Failed:
        if outcome.transcript is None:
            return Failed(outcome.failure or "transcription failed")
        request.cache.record(job.session.slug, key(job.session), list(job.files.all()))
        if outcome.flags:
            flags[job.session.slug] = list(outcome.flags)
        return handed_on(outcome.transcript)

    sessions = (request.sessions if request.sessions is not None
                else [clip.session for clip in request.clips])
    done = for_each_session(sessions, SessionWork(
        task="transcribe", work=transcribe_one, reuse=reuse, job=job, finish=finish,
        resource=engine_resource(settings)), progress, executor, arriving=arriving())
    return TranscribeResult(transcripts=tuple(done.results), failures=done.failures,
                            transcribed=done.worked, flags=flags)


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

    def inputs(self, ctx: RunContext) -> list[Any]:
        settings = ctx.options.whisper
        clips = ctx.get(SplitResult).clips
        return [ctx.checksum(ctx.get(FetchResult).recording.audio_path),
                [clip.model_dump(mode="json") for clip in clips],
                [ctx.checksum(clip.path) for clip in clips], ctx.config.forum.language,
                TRANSCRIPT_FORMAT, WRITTEN_FROM_SOURCE,
                make_engine(settings).identity().as_dict(),
                [list(pair) for pair in ctx.config.forum.corrections.items()]]

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
            corrections=tuple(ctx.config.forum.corrections.items()),
            on_transcript=lambda clip, done: ctx.deliver(TranscribeResult, (clip, done)))
        return transcribe(request, ctx.progress, ctx.executor)

    def restore(self, stored: Any) -> TranscribeResult:
        # The manifest keeps no words (they can be hours of them): read them back.
        result = TranscribeResult.model_validate(stored)
        return result.model_copy(update={"transcripts": tuple(
            load_transcript(t.session, t.language, t.files, t.model)
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
