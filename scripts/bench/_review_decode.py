"""review.py's decodes: every talk through `recognise`, kept with what a flag can use.

One JSON line per (decode, talk) in build/review-bench/DECODE.jsonl, written as each talk
is done, so a run can be stopped and resumed and a rerun decodes nothing. A line holds
the hypothesis the pipeline writes (its segments' texts joined), the quality report's
low-confidence spans as the pipeline computed them when the line was written, and the
guarded segments (kept ones, in order) with their scores and aligned words.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from _asr_quality_audio import Talk
from _common import ROOT

from pipeline.asr import make_engine
from pipeline.asr.decoding import DecodeOptions, WhisperSettings
from pipeline.asr.engine import SAMPLE_RATE, Decoded, Engine, EngineIdentity, Progress
from pipeline.asr.engines import engine_spec
from pipeline.asr.recognise import recognise

OUT = ROOT / "build" / "review-bench"
LANGUAGE = "ko"


@dataclass(frozen=True)
class Decode:
    """A way to decode: the default WhisperSettings, or it with other decoding options."""

    name: str
    engine: str
    decode: DecodeOptions

    @property
    def path(self) -> Path:
        return OUT / f"{self.name}.jsonl"


DEFAULT = WhisperSettings()
DECODES = {
    "default": Decode("default", DEFAULT.engine, DEFAULT.decode),
    "greedy": Decode("greedy", DEFAULT.engine, replace(DEFAULT.decode, beam_size=1)),
    "openai": Decode("openai", "openai-whisper", DEFAULT.decode),
}


class Recording:
    """An engine that keeps what the wrapped engine decoded (before the guards)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.decoded: list[Decoded] = []

    def load(self) -> None:
        self.engine.load()

    def identity(self) -> EngineIdentity:
        return self.engine.identity()

    def transcribe(self, audio: Any, language: str,
                   on_progress: Progress | None = None) -> list[Decoded]:
        self.decoded = self.engine.transcribe(audio, language, on_progress)
        return self.decoded


def load(decode: Decode) -> dict[str, dict[str, Any]]:
    """The cached lines of `decode`, by talk id (a line cut short is skipped)."""
    if not decode.path.exists():
        return {}
    rows: dict[str, dict[str, Any]] = {}
    for line in decode.path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        rows[row["talk"]] = row
    return rows


def _segment(d: Decoded) -> dict[str, Any]:
    return {"start": d.start, "end": d.end, "text": d.text,
            "avg_logprob": round(d.avg_logprob, 4), "no_speech_prob": round(d.no_speech_prob, 4),
            "compression_ratio": round(d.compression_ratio, 3),
            "words": [[w.word, w.start, w.end, w.probability] for w in d.words]}


def decode_talks(decode: Decode, talks: list[Talk], audio_of: Callable[[Talk], np.ndarray],
                 cpu_threads: int) -> dict[str, dict[str, Any]]:
    """Every talk's line for `decode`, decoding (and appending) only the missing ones."""
    rows = load(decode)
    missing = [t for t in talks if t.talk_id not in rows]
    if not missing:
        return rows
    settings = WhisperSettings(engine=decode.engine,
                               compute_type=engine_spec(decode.engine).compute_type,
                               cpu_threads=cpu_threads, decode=decode.decode)
    engine = Recording(make_engine(settings))
    engine.load()
    OUT.mkdir(parents=True, exist_ok=True)
    for talk in missing:
        audio = audio_of(talk)
        began = time.perf_counter()
        result = recognise(engine, audio, LANGUAGE)
        seconds = time.perf_counter() - began
        dropped = {(d.start, d.end, d.text) for d in result.quality.dropped}
        kept = [d for d in engine.decoded if (d.start, d.end, d.text) not in dropped]
        row = {"talk": talk.talk_id, "decode": decode.name,
               "options": decode.decode.as_dict(), "engine": decode.engine,
               "audio_s": round(len(audio) / SAMPLE_RATE, 2), "decode_s": round(seconds, 2),
               "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
               "hypothesis": " ".join(s.text for s in result.segments),
               "cues": [[s.start, s.end, s.text] for s in result.segments],
               "low_confidence": [[s.start, s.end, s.text]
                                  for s in result.quality.low_confidence],
               "segments": [_segment(d) for d in kept]}
        with decode.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        rows[talk.talk_id] = row
        print(f"  {decode.name:<8} {talk.talk_id:<28} {row['audio_s']:7.1f} s of audio in "
              f"{seconds:6.1f} s", flush=True)
    return rows
