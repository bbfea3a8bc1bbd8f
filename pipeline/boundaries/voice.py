"""A cheap spectral voice signature: who is speaking, near enough to tell a talk's speaker
from the MC who introduces the next talk.

The signature of a stretch of speech is the mean and the standard deviation, over its
frames, of 19 mel-frequency cepstral coefficients (25 ms frames every 10 ms, 40 mel bands
from 80 to 7600 Hz, c1..c19; c0, the loudness, left out). Two stretches are compared by
`distance`: the Euclidean distance of their signatures, each coefficient scaled by its
spread over the recording's talks (`Voices.of_recording`), divided by the number of dimensions'
square root, so that distances are comparable from one recording to the next.

Chosen by measurement (scripts/bench/voice.py, docs/benchmarks.md "Voices"): on the twelve
corpus talks, a 3 s stretch against 15 s of the same talk and of the eleven others, and
espeak-ng's Korean voice (the test material's MC) against each talk. A speaker embedding
(resemblyzer, on CPU torch) was the other candidate; this signature separates the voices
the plan has to tell apart (the speaker before a pause, or somebody else) well enough, in
numpy, with no model to ship.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

RATE, FRAME, HOP, BANDS, COEFFS = 16_000, 400, 160, 40, 19
SCALE_STRETCHES, SCALE_MIN = 200, 10
# Each signature dimension's spread over 2 s stretches of the twelve corpus talks (238
# stretches, twelve voices; scripts/bench/voice.py prints it): the scale of a recording
# with too little talk to measure its own.
SCALE = (11.739, 10.867, 7.501, 5.958, 4.450, 3.780, 4.413, 3.055, 3.206, 3.725, 3.439, 2.492,
         2.722, 2.212, 2.020, 1.783, 2.248, 1.576, 1.593, 6.552, 2.929, 2.775, 2.517, 1.604,
         1.792, 1.224, 1.258, 1.144, 1.216, 0.909, 0.965, 0.860, 0.982, 0.960, 0.937, 1.124,
         1.015, 0.978)


def _mel_matrix() -> np.ndarray:
    def mel(f: np.ndarray) -> np.ndarray:
        return 2595 * np.log10(1 + f / 700)

    edges = 700 * (10 ** (np.linspace(mel(np.array(80.0)), mel(np.array(7600.0)),
                                      BANDS + 2) / 2595) - 1)
    freqs = np.fft.rfftfreq(FRAME, 1 / RATE)
    bank = np.zeros((BANDS, len(freqs)))
    for i in range(BANDS):
        lo, mid, hi = edges[i:i + 3]
        bank[i] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0, None)
    return bank


_MEL = _mel_matrix()
_DCT = np.cos(np.pi / BANDS * (np.arange(BANDS) + 0.5)[None, :] * np.arange(1, COEFFS + 1)[:, None])


def cepstra(audio: np.ndarray) -> np.ndarray:
    """Frames x COEFFS cepstral coefficients of 16 kHz mono float audio."""
    if len(audio) < FRAME:
        return np.zeros((0, COEFFS))
    count = 1 + (len(audio) - FRAME) // HOP
    index = np.arange(FRAME)[None, :] + HOP * np.arange(count)[:, None]
    frames = audio[index] * np.hanning(FRAME)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    logmel = np.log(power @ _MEL.T + 1e-10)
    keep = logmel.mean(axis=1) > np.percentile(logmel.mean(axis=1), 30) - 1e-9  # voiced
    result: np.ndarray = logmel[keep] @ _DCT.T
    return result


def signature(audio: np.ndarray) -> np.ndarray:
    """Mean and spread of the cepstra: a 2 * COEFFS vector (zeros for no audio)."""
    frames = cepstra(audio)
    if len(frames) < 10:
        return np.zeros(2 * COEFFS)
    return np.concatenate([frames.mean(axis=0), frames.std(axis=0)])


@dataclass(frozen=True)
class Voices:
    """Signatures of stretches of one recording's 16 kHz soundtrack (read a stretch at a
    time: a 3-hour recording is never held whole), compared on one scale."""

    read: Callable[[float, float], np.ndarray]  # (start, seconds) -> 16 kHz mono float
    scale: np.ndarray

    @classmethod
    def of_recording(cls, read: Callable[[float, float], np.ndarray],
                     talks: Sequence[tuple[float, float]]) -> Voices:
        """Voices compared on the spread of a recording's own talks (`talks`: its speech
        outside the lines to be told apart, which must not widen the scale they are told
        on), over up to `SCALE_STRETCHES` 2 s stretches; on `SCALE` with fewer than
        `SCALE_MIN` of them."""
        runs = [(a, b) for a, b in talks if b - a >= 0.3]
        total = sum(b - a for a, b in runs)
        if total < 2.0 * SCALE_MIN:
            return cls(read, np.array(SCALE))
        keep = max(1, round(len(runs) * min(1.0, 2.0 * SCALE_STRETCHES / total)))
        picks = np.linspace(0, len(runs) - 1, keep).round().astype(int)
        audio = np.concatenate([read(runs[i][0], runs[i][1] - runs[i][0]) for i in picks])
        step = 2 * RATE
        spread = np.std(np.array([signature(audio[i:i + step])
                                  for i in range(0, len(audio) - step + 1, step)]), axis=0)
        return cls(read, np.where(spread > 1e-6, spread, 1.0))

    def of(self, spans: Sequence[tuple[float, float]]) -> np.ndarray | None:
        """The signature of the speech in `spans` (seconds), taken together; None for less
        than half a second of it."""
        parts = [self.read(a, b - a) for a, b in spans if b - a > 0.05]
        if sum(len(p) for p in parts) < RATE // 2:
            return None
        return signature(np.concatenate(parts))

    def distance(self, a: np.ndarray | None, b: np.ndarray | None) -> float:
        """`distance` on this recording's scale; infinite where a side has no speech."""
        return math.inf if a is None or b is None else distance(a, b, self.scale)


def distance(a: np.ndarray, b: np.ndarray, scale: np.ndarray | None = None) -> float:
    """How unlike two voices are: 0 alike; about 1 for two stretches of the same recording
    picked at random (see the module docstring)."""
    weights = np.ones_like(a) if scale is None else scale
    return float(np.linalg.norm((a - b) / weights) / np.sqrt(len(a)))
