"""One stretch of speech transcribed into its files: the unit of work of the transcribe
stage (one per session, maybe on another machine) and of `sort-archive transcribe FILE`.

`transcribe_one` reads the job's audio, runs `recognise` with the worker's engine
(a per-worker resource, `engine_resource`: loaded once, kept for every job) and writes
the .vtt/.srt/.json/.txt and quality.json files. Failures come back as values; a
full disk is raised and stops the run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from pipeline.asr.decoding import WhisperSettings
from pipeline.asr.engine import Engine
from pipeline.asr.engines import make_engine
from pipeline.asr.recognise import recognise
from pipeline.errors import PipelineError, TranscribeError, session_failure
from pipeline.executors.serial import Resource, WorkerContext
from pipeline.faults import checkpoint
from pipeline.manifest import fingerprint
from pipeline.media.audio import read_slice
from pipeline.results import Segment, SessionPlan, Transcript, TranscriptFiles
from pipeline.transcripts.registry import FORMATS, format_paths


@dataclass(frozen=True)
class TranscribeJob:
    """What to transcribe and where to write it.

    `session` is what the transcript is of, as its JSON records it: the seconds
    `session.start` to `session.end` of `audio_path` are decoded, and the transcript's
    times count from `session.start`. A file transcribed on its own is the whole of
    it (`file_session`).
    """

    session: SessionPlan
    audio_path: Path  # 16 kHz mono WAV holding the speech at session.start..end
    files: TranscriptFiles
    language: str
    settings: WhisperSettings
    corrections: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TranscribeOutcome:
    transcript: Transcript | None
    failure: str | None = None
    flags: tuple[str, ...] = field(default=())  # what the quality report asks staff to check


def file_session(slug: str, title: str, duration: float) -> SessionPlan:
    """A file transcribed on its own, as its JSON describes it: the one session of itself
    (number 1), from 0 to its end."""
    return SessionPlan(number=1, id=slug, title=title, start=0.0, end=duration)


def load_engine(settings: WhisperSettings) -> Engine:
    engine = make_engine(settings)
    engine.load()
    return engine


def engine_resource(settings: WhisperSettings) -> Resource:
    """The engine as a per-worker resource: loaded once, kept for every session."""
    key = fingerprint("engine", settings.engine, settings.model, str(settings.model_dir),
                      settings.device, settings.compute_type, settings.cpu_threads)
    return Resource(key=key, load=partial(load_engine, settings), cpus=settings.cpu_threads)


def transcribe_one(job: TranscribeJob, worker: WorkerContext[Any]) -> TranscribeOutcome:
    """Transcribe one session with the worker's engine and write its files."""
    session = job.session
    try:
        audio = read_slice(job.audio_path, session.start, session.duration)
        try:
            recognised = recognise(worker.resource, audio, job.language, job.corrections,
                                   worker.report)
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


def transcript_files(folder: Path, stem: str, language: str) -> TranscriptFiles:
    return TranscriptFiles.model_validate(
        {**format_paths(folder, stem, language), "quality": folder / f"{stem}.quality.json"})


def write_files(files: TranscriptFiles, session: SessionPlan, language: str, model: str,
                segments: tuple[Segment, ...], quality: dict[str, Any]) -> None:
    outputs = {fmt.path(files): fmt.write(session, language, model, segments)
               for fmt in FORMATS}
    if files.quality is not None:
        outputs[files.quality] = json.dumps(quality, ensure_ascii=False, indent=1) + "\n"
    files.json_path.parent.mkdir(parents=True, exist_ok=True)
    for path, text in outputs.items():
        partial_path = path.with_name(path.name + ".part")
        partial_path.write_text(text, encoding="utf-8")
        checkpoint("transcribe.write")
        partial_path.replace(path)
