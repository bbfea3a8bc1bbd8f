"""Real Korean speech from the corpus (../shared/korean-speech), joined into long audio.

The benchmarks and tests need "N seconds of a talk": its fragments in spoken order
(numeric fragment number), joined with short silences, with the reference text of
exactly the fragments used.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000
GAP_SECONDS = 0.3


@dataclass(frozen=True)
class Fragment:
    path: Path  # the .flac file
    text: str  # its reference transcript


@dataclass(frozen=True)
class JoinedSpeech:
    audio: np.ndarray  # 16 kHz mono float32
    text: str  # the reference texts of the fragments used, joined with spaces
    fragments: int


def talk_fragments(talk: Path) -> list[Fragment]:
    """A talk folder's fragments in spoken order, with their reference texts."""
    trans = sorted(talk.glob("*.trans.txt"))[0]
    lines = [line.split(" ", 1) for line in trans.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    lines.sort(key=lambda parts: int(parts[0].rsplit("-", 1)[1]))
    return [Fragment(talk / f"{parts[0]}.flac", parts[1].strip() if len(parts) > 1 else "")
            for parts in lines]


def decode_f32(path: Path) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(path),
                          "-f", "f32le", "-ac", "1", "-ar", str(SAMPLE_RATE), "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.float32).copy()


def joined_speech(talk: Path, seconds: float | None = None,
                  gap_seconds: float = GAP_SECONDS) -> JoinedSpeech:
    """Whole fragments of `talk`, each followed by `gap_seconds` of silence, while they fit
    in `seconds` (all of them without a limit)."""
    gap = np.zeros(int(gap_seconds * SAMPLE_RATE), dtype=np.float32)
    pieces: list[np.ndarray] = []
    texts: list[str] = []
    length = 0
    for fragment in talk_fragments(talk):
        samples = decode_f32(fragment.path)
        if seconds is not None and length + len(samples) > seconds * SAMPLE_RATE:
            break
        pieces += [samples, gap]
        texts.append(fragment.text)
        length += len(samples) + len(gap)
    audio = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    return JoinedSpeech(audio, " ".join(texts), len(texts))
