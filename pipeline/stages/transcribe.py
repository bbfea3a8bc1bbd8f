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

import json
import logging
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from pipeline.asr import make_engine
from pipeline.asr.decoding import WhisperSettings
from pipeline.asr.engine import Engine
from pipeline.asr.recognise import Corrections, recognise
from pipeline.errors import PipelineError, TranscribeError, session_failure
from pipeline.executors.serial import Executor, Resource, SerialExecutor, Unit
from pipeline.faults import checkpoint
from pipeline.manifest import ItemCache, fingerprint
from pipeline.media.audio import read_slice
from pipeline.progress import Progress
from pipeline.results import (
    Clip,
    FetchResult,
    Segment,
    SessionPlan,
    SplitResult,
    TranscribeResult,
    Transcript,
    TranscriptFiles,
)
from pipeline.stage import RunContext, RunReport, Stage
from pipeline.transcripts.formats import segments_from_json, to_json, to_srt, to_text, to_vtt

log = logging.getLogger("pipeline.transcribe")
TRANSCRIPT_FORMAT = 3  # bump when the written files change, so old transcripts are redone


@dataclass(frozen=True)
class TranscribeRequest:
    clips: list[Clip]
    audio_path: Path  # the whole recording, 16 kHz mono WAV
    language: str
    settings: WhisperSettings
    cache: ItemCache
    corrections: Corrections = ()


def transcript_files(folder: Path, stem: str, language: str) -> TranscriptFiles:
    return TranscriptFiles(
        vtt=folder / f"{stem}.{language}.vtt",
        srt=folder / f"{stem}.{language}.srt",
        json_path=folder / f"{stem}.json",
        txt=folder / f"{stem}.txt",
        quality=folder / f"{stem}.quality.json",
    )


def clip_transcript_files(clip: Clip, language: str) -> TranscriptFiles:
    return transcript_files(clip.path.parent, clip.session.slug, language)


def transcribe(request: TranscribeRequest, progress: Progress,
               executor: Executor | None = None) -> TranscribeResult:
    """Write .vtt/.srt/.json/.txt and quality.json per session; failed sessions do not
    stop the others. Finished sessions are read back from their JSON."""
    executor = executor or SerialExecutor()
    settings = request.settings
    identity = make_engine(settings).identity().as_dict()
    audio_sha = request.cache.checksum(request.audio_path)

    def key(session: SessionPlan) -> str:
        return fingerprint(audio_sha, session.start, session.end, request.language,
                           TRANSCRIPT_FORMAT, identity, [list(c) for c in request.corrections])

    done: dict[str, Transcript] = {}
    failures: dict[str, str] = {}
    jobs: list[TranscribeJob] = []
    for clip in request.clips:
        files = clip_transcript_files(clip, request.language)
        if request.cache.is_fresh(clip.session.slug, key(clip.session)):
            try:
                done[clip.session.slug] = load_transcript(clip.session, request.language,
                                                          files, settings.model)
            except (PipelineError, OSError, ValueError, KeyError) as exc:
                failures[clip.session.slug] = _failure(exc)
        else:
            jobs.append(TranscribeJob(session=clip.session, audio_path=request.audio_path,
                                      files=files, language=request.language,
                                      settings=settings,
                                      corrections=tuple(request.corrections)))
    flags: dict[str, list[str]] = {}
    with progress.task("transcribe", total=sum(c.session.duration for c in request.clips)) as bar:
        base = sum(c.session.duration for c in request.clips) - sum(
            job.session.duration for job in jobs)
        inside: dict[int, float] = {}

        def report(index: int, seconds: float) -> None:
            inside[index] = min(seconds, jobs[index].session.duration)
            bar.update(base + sum(inside.values()))

        outcomes = executor.map(transcribe_one, jobs, resource=engine_resource(settings),
                                on_progress=report) if jobs else iter(())
        for index, outcome in outcomes:
            job = jobs[index]
            report(index, job.session.duration)
            if outcome.transcript is None:
                failures[job.session.slug] = outcome.failure or "transcription failed"
                continue
            request.cache.record(job.session.slug, key(job.session), list(job.files.all()))
            done[job.session.slug] = outcome.transcript
            if outcome.flags:
                flags[job.session.slug] = list(outcome.flags)
    ordered = sorted(done.values(), key=lambda t: t.session.number)
    return TranscribeResult(transcripts=tuple(ordered), failures=failures,
                            transcribed=sum(1 for job in jobs if job.session.slug in done),
                            flags=flags)


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


@dataclass(frozen=True)
class TranscribeJob:
    """One session to transcribe: a unit of work that may run on another machine."""

    session: SessionPlan
    audio_path: Path  # 16 kHz mono WAV holding the session at session.start..end
    files: TranscriptFiles
    language: str
    settings: WhisperSettings
    corrections: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TranscribeOutcome:
    transcript: Transcript | None
    failure: str | None = None
    flags: tuple[str, ...] = field(default=())  # what the quality report asks staff to check


def load_engine(settings: WhisperSettings) -> Engine:
    engine = make_engine(settings)
    engine.load()
    return engine


def engine_resource(settings: WhisperSettings) -> Resource:
    """The engine as a per-worker resource: loaded once, kept for every session."""
    key = fingerprint("engine", settings.engine, settings.model, str(settings.model_dir),
                      settings.device, settings.compute_type, settings.cpu_threads)
    return Resource(key=key, load=partial(load_engine, settings), cpus=settings.cpu_threads)


def transcribe_one(job: TranscribeJob, unit: Unit[Any]) -> TranscribeOutcome:
    """Transcribe one session with the worker's engine and write its files."""
    session = job.session
    try:
        audio = read_slice(job.audio_path, session.start, session.duration)
        try:
            recognised = recognise(unit.resource, audio, job.language, job.settings.decode,
                                   job.corrections, unit.report)
        except (RuntimeError, ValueError) as exc:
            raise TranscribeError(f"Whisper failed on session {session.slug}: {exc}") from exc
        write_files(job.files, session, job.language, job.settings.model,
                    recognised.segments, recognised.quality.as_dict())
    except (PipelineError, OSError) as exc:
        return TranscribeOutcome(transcript=None, failure=session_failure(exc))
    return TranscribeOutcome(
        transcript=Transcript(session=session, language=job.language, files=job.files,
                              segments=recognised.segments, model=job.settings.model),
        flags=tuple(recognised.quality.flags))


def write_files(files: TranscriptFiles, session: SessionPlan, language: str, model: str,
                segments: tuple[Segment, ...], quality: dict[str, Any]) -> None:
    outputs = {
        files.vtt: to_vtt(segments),
        files.srt: to_srt(segments),
        files.json_path: to_json(session, language, model, segments),
        files.txt: to_text(segments),
    }
    if files.quality is not None:
        outputs[files.quality] = json.dumps(quality, ensure_ascii=False, indent=1) + "\n"
    files.vtt.parent.mkdir(parents=True, exist_ok=True)
    for path, text in outputs.items():
        partial_path = path.with_name(path.name + ".part")
        partial_path.write_text(text, encoding="utf-8")
        checkpoint("transcribe.write")
        partial_path.replace(path)


class TranscribeStage(Stage[TranscribeResult]):
    """Declared stage: one transcript per clip, in the forum's language."""

    name = "transcribe"
    result_type = TranscribeResult
    needs = (FetchResult, SplitResult)

    def inputs(self, ctx: RunContext) -> list[Any]:
        settings = ctx.options.whisper
        clips = ctx.get(SplitResult).clips
        return [ctx.checksum(ctx.get(FetchResult).recording.audio_path),
                [clip.model_dump(mode="json") for clip in clips],
                [ctx.checksum(clip.path) for clip in clips], ctx.config.forum.language,
                TRANSCRIPT_FORMAT, make_engine(settings).identity().as_dict(),
                [list(pair) for pair in ctx.config.forum.corrections.items()]]

    def outputs(self, result: TranscribeResult) -> list[Path]:
        return [path for t in result.transcripts for path in t.files.all()]

    def run(self, ctx: RunContext) -> TranscribeResult:
        request = TranscribeRequest(
            clips=list(ctx.get(SplitResult).clips),
            audio_path=ctx.get(FetchResult).recording.audio_path,
            language=ctx.config.forum.language, settings=ctx.options.whisper,
            cache=ctx.items(self.name),
            corrections=tuple(ctx.config.forum.corrections.items()))
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
