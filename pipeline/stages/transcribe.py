"""Transcribe: Korean speech to text with faster-whisper, one session at a time.

Each session's audio is sliced out of fetch's 16 kHz mono WAV at the session's
times, which are exactly the times the clip was cut at, so the timestamps
written here (relative to the session start) line up with the clip.

VAD is on: forum recordings have long pauses, applause and music, where
Whisper otherwise invents text.

The forum's glossary is deliberately NOT given to Whisper. We measured both
faster-whisper's `hotwords` and an `initial_prompt` listing the terms on the
demo speech with the base model: hotwords made decoding 4x slower, merged a
talk into one 30-second segment and, in the quiet after a talk, produced
"사회적기업진흥원 사회적기업진흥원 ..." out of nothing; the prompt also merged
segments. Plain decoding spelled the same words correctly.

A session whose outputs already match its inputs is not run again, and the
model is only loaded when at least one session needs it.
"""

from __future__ import annotations

import logging
import wave
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError, TranscribeError, session_failure
from pipeline.executor import Executor, Resource, SerialExecutor, Unit
from pipeline.models import (
    Clip,
    FetchResult,
    Segment,
    SessionPlan,
    SplitResult,
    TranscribeResult,
    Transcript,
    TranscriptFiles,
    Word,
)
from pipeline.options import WhisperSettings
from pipeline.progress import Progress
from pipeline.stage import RunContext, RunReport, Stage
from pipeline.state import ItemCache, fingerprint
from pipeline.subtitles import (
    readable_cues,
    segments_from_json,
    to_json,
    to_srt,
    to_text,
    to_vtt,
)
from pipeline.weights import resolve_model

log = logging.getLogger("pipeline.transcribe")
SAMPLE_RATE = 16_000
TRANSCRIPT_FORMAT = 2  # bump when the written files change, so old transcripts are redone


@dataclass(frozen=True)
class TranscribeRequest:
    clips: list[Clip]
    audio_path: Path  # the whole recording, 16 kHz mono WAV
    language: str
    settings: WhisperSettings
    cache: ItemCache


def transcript_files(clip: Clip, language: str) -> TranscriptFiles:
    folder, stem = clip.path.parent, clip.session.slug
    return TranscriptFiles(
        vtt=folder / f"{stem}.{language}.vtt",
        srt=folder / f"{stem}.{language}.srt",
        json_path=folder / f"{stem}.json",
        txt=folder / f"{stem}.txt",
    )


def transcribe(request: TranscribeRequest, progress: Progress,
               executor: Executor | None = None) -> TranscribeResult:
    """Write .vtt/.srt/.json/.txt per session; failed sessions do not stop the others.

    Sessions whose files match their inputs are reloaded from their JSON; the
    others go through `transcribe_one` on the executor, which loads the model
    once per worker (see `whisper_resource`) and only if some session needs it.
    """
    executor = executor or SerialExecutor()
    settings = request.settings
    audio_sha = request.cache.checksum(request.audio_path)
    done: dict[str, Transcript] = {}
    failures: dict[str, str] = {}
    jobs: list[TranscribeJob] = []
    for clip in request.clips:
        files = transcript_files(clip, request.language)
        key = _fingerprint(audio_sha, clip.session, request.language, settings)
        if request.cache.is_fresh(clip.session.slug, key):
            try:
                done[clip.session.slug] = load_transcript(
                    clip.session, request.language, files, settings.model)
            except (PipelineError, OSError, ValueError) as exc:
                failures[clip.session.slug] = _failure(exc)
        else:
            jobs.append(TranscribeJob(session=clip.session, audio_path=request.audio_path,
                                      files=files, language=request.language,
                                      settings=settings))
    total = sum(clip.session.duration for clip in request.clips)
    with progress.task("transcribe", total=total) as bar:
        base = total - sum(job.session.duration for job in jobs)
        inside: dict[int, float] = {}

        def report(index: int, seconds: float) -> None:
            inside[index] = seconds
            bar.update(base + sum(inside.values()))

        outcomes = executor.map(transcribe_one, jobs, resource=whisper_resource(settings),
                                on_progress=report) if jobs else iter(())
        for index, outcome in outcomes:
            job = jobs[index]
            report(index, job.session.duration)
            if outcome.transcript is None:
                failures[job.session.slug] = outcome.failure or "transcription failed"
                continue
            request.cache.record(job.session.slug, _fingerprint(
                audio_sha, job.session, request.language, settings), list(job.files.all()))
            done[job.session.slug] = outcome.transcript
    ordered = sorted(done.values(), key=lambda t: t.session.number)
    return TranscribeResult(transcripts=tuple(ordered), failures=failures,
                            transcribed=len(jobs) - sum(1 for job in jobs
                                                        if job.session.slug in failures))


def _fingerprint(audio_sha: str, session: SessionPlan, language: str,
                 settings: WhisperSettings) -> str:
    return fingerprint(audio_sha, session.start, session.end, language, TRANSCRIPT_FORMAT,
                       settings.model, settings.beam_size, settings.vad)


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
    audio_path: Path  # the whole recording, 16 kHz mono WAV
    files: TranscriptFiles
    language: str
    settings: WhisperSettings


@dataclass(frozen=True)
class TranscribeOutcome:
    transcript: Transcript | None
    failure: str | None = None


def whisper_resource(settings: WhisperSettings) -> Resource:
    """The Whisper model as a per-worker resource: loaded once, kept for every session."""
    key = fingerprint("whisper", settings.model, str(settings.model_dir), settings.device,
                      settings.compute_type, settings.cpu_threads)
    return Resource(key=key, load=partial(load_model, settings), cpus=settings.cpu_threads)


def transcribe_one(job: TranscribeJob, unit: Unit[Any]) -> TranscribeOutcome:
    """Transcribe one session with the worker's model and write its four files."""
    session = job.session
    try:
        audio = _read_slice(job.audio_path, session)
        segments = _run_whisper(unit.resource, audio, job, unit.report)
        _write_files(job.files, session, job.language, job.settings.model, segments)
    except (PipelineError, OSError) as exc:
        return TranscribeOutcome(transcript=None, failure=session_failure(exc))
    return TranscribeOutcome(transcript=Transcript(
        session=session, language=job.language, files=job.files, segments=segments,
        model=job.settings.model))


def load_model(settings: WhisperSettings) -> Any:
    from faster_whisper import WhisperModel

    model_ref = resolve_model(settings.model, settings.model_dir)
    try:
        return WhisperModel(model_ref, device=settings.device, compute_type=settings.compute_type,
                            cpu_threads=settings.cpu_threads)
    except Exception as exc:  # ctranslate2/huggingface raise many unrelated types
        raise TranscribeError(
            f"cannot load Whisper model '{settings.model}': {exc}",
            "use --model base (bundled, works offline) or check the model name and network",
        ) from exc


def _read_slice(audio_path: Path, session: SessionPlan) -> Any:
    import numpy as np

    try:
        with wave.open(str(audio_path), "rb") as wav:
            if wav.getframerate() != SAMPLE_RATE or wav.getnchannels() != 1:
                raise TranscribeError(f"{audio_path} is not 16 kHz mono",
                                      "delete the work folder's source/audio.wav and run again")
            first = int(session.start * SAMPLE_RATE)
            count = int(session.duration * SAMPLE_RATE)
            wav.setpos(min(first, wav.getnframes()))
            frames = wav.readframes(count)
    except (OSError, wave.Error, EOFError) as exc:
        raise TranscribeError(f"cannot read audio {audio_path}: {exc}",
                              "run again with --from fetch to re-extract it") from None
    return np.frombuffer(frames, dtype=np.int16).astype(np.float32) / 32768.0


def _run_whisper(model: Any, audio: Any, job: TranscribeJob,
                 report: Callable[[float], None]) -> tuple[Segment, ...]:
    session = job.session
    try:
        raw_segments, _info = model.transcribe(
            audio, language=job.language, task="transcribe",
            beam_size=job.settings.beam_size, vad_filter=job.settings.vad,
            word_timestamps=True, condition_on_previous_text=False,
        )
        segments = []
        for raw in raw_segments:  # a generator: decoding happens while we iterate
            words = tuple(Word(start=round(w.start, 3), end=round(w.end, 3), word=w.word,
                               probability=round(w.probability, 4))
                          for w in (raw.words or []))
            text = raw.text.strip()
            if text:
                segments.append(Segment(start=round(raw.start, 3), end=round(raw.end, 3),
                                        text=text, words=words))
            report(min(raw.end, session.duration))
    except (RuntimeError, ValueError) as exc:
        raise TranscribeError(f"Whisper failed on session {session.slug}: {exc}") from exc
    return readable_cues(segments)


def _write_files(files: TranscriptFiles, session: SessionPlan, language: str, model: str,
                 segments: tuple[Segment, ...]) -> None:
    outputs = {
        files.vtt: to_vtt(segments),
        files.srt: to_srt(segments),
        files.json_path: to_json(session, language, model, segments),
        files.txt: to_text(segments),
    }
    for path, text in outputs.items():
        partial = path.with_name(path.name + ".part")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)


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
                TRANSCRIPT_FORMAT, settings.model, settings.beam_size, settings.vad]

    def outputs(self, result: TranscribeResult) -> list[Path]:
        return [path for t in result.transcripts for path in t.files.all()]

    def run(self, ctx: RunContext) -> TranscribeResult:
        request = TranscribeRequest(
            clips=list(ctx.get(SplitResult).clips),
            audio_path=ctx.get(FetchResult).recording.audio_path,
            language=ctx.config.forum.language, settings=ctx.options.whisper,
            cache=ctx.items(self.name))
        return transcribe(request, ctx.progress, ctx.executor)

    def restore(self, stored: Any) -> TranscribeResult:
        # The manifest keeps no words (they can be hours of them): read them back.
        result = TranscribeResult.model_validate(stored)
        return result.model_copy(update={"transcripts": tuple(
            load_transcript(t.session, t.language, t.files, t.model)
            for t in result.transcripts)})

    def describe(self, ctx: RunContext) -> str:
        sessions = len(ctx.config.session_plans()) or "chapter"
        return f"{sessions} session(s) with Whisper {ctx.options.whisper.model}"

    def summarise(self, result: TranscribeResult, ran: bool, report: RunReport) -> None:
        super().summarise(result, ran, report)
        if ran:
            report.transcribed = result.transcribed
