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
import os
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError, TranscribeError, session_failure
from pipeline.models import (
    Clip,
    Segment,
    SessionPlan,
    TranscribeResult,
    Transcript,
    TranscriptFiles,
    Word,
)
from pipeline.progress import Progress, Task
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
class WhisperSettings:
    model: str = "base"
    model_dir: Path | None = None
    device: str = "cpu"
    compute_type: str = "int8"  # 1.23x float32 on CPU, 2 points less recall (docs/benchmarks.md)
    beam_size: int = 5
    vad: bool = True
    cpu_threads: int = field(default_factory=lambda: os.cpu_count() or 2)


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


def transcribe(request: TranscribeRequest, progress: Progress) -> TranscribeResult:
    """Write .vtt/.srt/.json/.txt per session; failed sessions do not stop the others."""
    settings = request.settings
    audio_sha = request.cache.checksum(request.audio_path)
    model: Any = None
    transcripts: list[Transcript] = []
    failures: dict[str, str] = {}
    transcribed = 0
    total = sum(clip.session.duration for clip in request.clips)
    with progress.task("transcribe", total=total) as bar:
        done = 0.0
        for clip in request.clips:
            session = clip.session
            files = transcript_files(clip, request.language)
            inputs = fingerprint(audio_sha, session.start, session.end, request.language,
                                 TRANSCRIPT_FORMAT, settings.model, settings.beam_size,
                                 settings.vad)
            try:
                if request.cache.is_fresh(session.slug, inputs):
                    segments = segments_from_json(files.json_path.read_text(encoding="utf-8"))
                else:
                    if model is None:
                        model = _load_model(settings)
                    audio = _read_slice(request.audio_path, session)
                    segments = _run_whisper(model, audio, request, session,
                                            bar, done)
                    _write_files(files, session, request.language, settings.model, segments)
                    request.cache.record(session.slug, inputs, list(files.all()))
                    transcribed += 1
                transcripts.append(Transcript(session=session, language=request.language,
                                              files=files, segments=segments,
                                              model=settings.model))
            except (PipelineError, OSError) as exc:
                failures[session.slug] = session_failure(exc)
            done += session.duration
            bar.update(done)
    return TranscribeResult(transcripts=tuple(transcripts), failures=failures,
                            transcribed=transcribed)


def _load_model(settings: WhisperSettings) -> Any:
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


def _run_whisper(model: Any, audio: Any, request: TranscribeRequest, session: SessionPlan,
                 bar: Task, done_before: float) -> tuple[Segment, ...]:
    try:
        raw_segments, _info = model.transcribe(
            audio, language=request.language, task="transcribe",
            beam_size=request.settings.beam_size, vad_filter=request.settings.vad,
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
            bar.update(done_before + min(raw.end, session.duration))
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
