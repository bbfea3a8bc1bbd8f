"""Where somebody speaks in the recording, and the pauses between: what keeps every
boundary out of a word.

`find_speech` runs Silero's voice activity detector (shipped inside the faster-whisper
wheel, ONNX on the CPU: about 0.3 s a minute of sound) over the 16 kHz soundtrack with a
short pad (60 ms), so a speech run ends within a few tens of milliseconds of the last
word's sound. Music, applause, room tone and silent cards are not speech to it (measured
on the stream-like test recordings: pipeline/demo/stream.py).

- `pause_candidates`: every stretch without speech of `PAUSE_MIN` (0.8 s) or more is a
  "pause" span, of strength 0.2 + 0.5 * min(1, (length - 0.8) / 8): a breath inside a talk
  0.2, the 9 s between two talks 0.7. The fit (`pipeline.boundaries.fit`) ends a session
  where its break's first pause starts, and starts the next where its last pause ends (or
  at a title card inside the break), so no boundary falls inside speech.
- `islands`: short runs of speech (at most `ISLAND_MAX`, 15 s) that stand apart, with a
  pause of at least `ISLAND_APART` (2 s) on one side and `PAUSE_MIN` on the other: an
  MC's line, or a speaker's closing "감사합니다" after a breath. Who said it is decided in
  `pipeline.boundaries.signals` (its words and its voice).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.boundaries.candidates import Candidate

RATE = 16_000
PAUSE_MIN, ISLAND_MAX, ISLAND_APART = 0.8, 15.0, 2.0


@dataclass(frozen=True)
class SpeechMap:
    """Runs of speech in a recording, in seconds, in time order."""

    runs: tuple[tuple[float, float], ...]
    duration: float

    def pauses(self, shortest: float = PAUSE_MIN) -> list[tuple[float, float]]:
        """Stretches with no speech, the recording's ends included."""
        edges = [0.0, *(t for run in self.runs for t in run), self.duration]
        return [(a, b) for a, b in zip(edges[::2], edges[1::2], strict=True)
                if b - a >= shortest]

    def speaks(self, a: float, b: float, allowed: Sequence[tuple[float, float]] = ()) -> bool:
        """Whether somebody speaks between `a` and `b`, outside the `allowed` spans."""
        starts = [run[0] for run in self.runs]
        i = max(0, bisect.bisect_left(starts, a) - 1)
        for start, end in self.runs[i:]:
            if start >= b:
                break
            lo, hi = max(start, a), min(end, b)
            if hi - lo > 0.05 and not any(x - 0.3 <= lo and hi <= y + 0.3 for x, y in allowed):
                return True
        return False

    def before(self, t: float, seconds: float) -> list[tuple[float, float]]:
        """Up to `seconds` of speech ending at or before `t`, latest first."""
        out, left = [], seconds
        for start, end in reversed(self.runs):
            if end > t or left <= 0:
                continue
            out.append((max(start, end - left), end))
            left -= end - max(start, end - left)
        return out

    def after(self, t: float, seconds: float) -> list[tuple[float, float]]:
        """Up to `seconds` of speech starting at or after `t`."""
        out, left = [], seconds
        for start, end in self.runs:
            if start < t or left <= 0:
                continue
            out.append((start, min(end, start + left)))
            left -= min(end, start + left) - start
        return out


def find_speech(audio: np.ndarray, duration: float) -> SpeechMap:
    """Speech runs in 16 kHz mono float audio (see the module docstring)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(threshold=0.5, min_speech_duration_ms=150,
                         min_silence_duration_ms=250, speech_pad_ms=60)
    found = get_speech_timestamps(audio.astype(np.float32), options, sampling_rate=RATE)
    runs = tuple((round(r["start"] / RATE, 3), round(min(r["end"] / RATE, duration), 3))
                 for r in found)
    return SpeechMap(runs, duration)


def pause_candidates(speech: SpeechMap) -> list[Candidate]:
    return [Candidate(a, "pause", round(0.2 + 0.5 * min(1.0, (b - a - PAUSE_MIN) / 8), 3), b)
            for a, b in speech.pauses(PAUSE_MIN)]


@dataclass(frozen=True)
class Island:
    start: float
    end: float
    pause_before: float  # seconds without speech before it
    pause_after: float


def islands(speech: SpeechMap) -> list[Island]:
    """Short runs of speech that stand apart (see the module docstring)."""
    pauses = speech.pauses(PAUSE_MIN)
    found = []
    for (_, a), (b, after) in itertools.pairwise(pauses):
        before = a - next(x for x, y in pauses if y == a)
        if b - a <= ISLAND_MAX and max(before, after - b) >= ISLAND_APART:
            found.append(Island(a, b, round(before, 3), round(after - b, 3)))
    return found


CHUNK = 600.0  # seconds of sound held at a time


def find_speech_in(read: Callable[[float, float], np.ndarray], duration: float) -> SpeechMap:
    """`find_speech` over a long recording, `CHUNK` seconds at a time (a run cut by a
    chunk's edge is joined again)."""
    runs: list[tuple[float, float]] = []
    at = 0.0
    while at < duration:
        audio = read(at, min(CHUNK, duration - at))
        for start, end in find_speech(audio, len(audio) / RATE).runs:
            if runs and start + at - runs[-1][1] < 0.01:
                runs[-1] = (runs[-1][0], round(end + at, 3))
            else:
                runs.append((round(start + at, 3), round(end + at, 3)))
        at += CHUNK
    return SpeechMap(tuple(runs), duration)
