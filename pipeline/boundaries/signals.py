"""Boundary signals in a forum recording, as `Candidate`s for `pipeline.boundaries.fit.choose`,
with the recording's `SpeechMap` (`collect_candidates` gives both as `Signals`).

Thresholds, measured on the test forums (tests/boundaries: real Korean talks, synthetic
applause, title cards; the stream-like recordings of pipeline/demo/stream.py) and chosen
with margin:

- pause: every stretch of 0.8 s or more where nobody speaks (`pipeline.boundaries.speech`:
  a voice activity detector, so music, applause and silent cards are all pauses).
- applause: 25 ms Hann frames, spectral flatness (geometric / arithmetic mean of the power)
  over 300-6000 Hz, averaged per 0.5 s window, with the window's level. Applause is flatness
  >= 0.22 and level >= the speech level - 12 dB (speech level: the median of the windows more
  than 10 dB above the 10th-percentile floor) for >= 2 s, one window's dropout allowed.
  Measured: applause windows 0.29-0.46, loud speech windows 90 % below 0.19 and never two
  in a row above 0.25; room tone is flat but quiet. Strength 0.5 + 0.4 * min(1, (len - 2) / 6).
- black: `blackdetect=d=0.5:pix_th=0.10`, strength 0.6. scene: the `select` filter's scene
  score over 0.3, strength 0.2 + 0.3 * score. The picture is scaled to 160 px wide.
  `video_scan="full"` decodes every frame at 4 fps (about 2 s of CPU per minute of 720p);
  "keyframes" decodes key frames only (`-skip_frame nokey`: about 0.15 s per minute), then
  refines each change within `NEAR` (10 s) of applause or a pause of 3 s or more (not
  every pause in a talk) by decoding, frame by frame, the stretch since the previous key
  frame (one short ffmpeg run each, about 0.2 s); other changes keep key-frame times.
  "auto" (the default) is "full" up to `FULL_UP_TO` (10 minutes: at most about 20 s of
  decoding, and every change seen) and "keyframes" above.
- cue: the islands of speech between talks, heard and given an owner
  (`pipeline.boundaries.heard`): an MC's line is a span; a speaker's closing line a point.
"""

from __future__ import annotations

import re
import subprocess
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.asr.engine import Engine
from pipeline.boundaries.candidates import AgendaItem, Candidate
from pipeline.boundaries.heard import CUE_DECODE, Heard, cue_candidates, hear, whisper_listener
from pipeline.boundaries.speech import SpeechMap, find_speech_in, islands, pause_candidates
from pipeline.boundaries.voice import Voices
from pipeline.errors import MediaError

RATE, FRAME, WINDOW = 16_000, 400, 20  # 25 ms frames, 20 frames = 0.5 s windows
FLAT_MIN, LEVEL_BELOW_SPEECH, APPLAUSE_MIN = 0.22, 12.0, 2.0
SCENE_MIN, NEAR, FULL_FPS, FULL_UP_TO = 0.3, 10.0, 4, 600.0
_VISUAL = "blackdetect=d={d}:pix_th=0.10,select='gte(scene,0)',metadata=print"


def _ffmpeg(args: list[str], what: str) -> str:
    try:
        done = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-nostats", *args,
                               "-f", "null", "-"], capture_output=True, check=False)
    except FileNotFoundError:
        raise MediaError(f"{what}: ffmpeg is not found", hint="apt-get install ffmpeg") from None
    text = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        raise MediaError(f"{what} failed", "\n".join(text.splitlines()[-5:]))
    return text


def _window_features(audio_wav: Path) -> tuple[Any, Any]:
    """Per 0.5 s window: mean spectral flatness over 300-6000 Hz and level in dBFS."""
    import numpy as np

    freqs = np.fft.rfftfreq(FRAME, 1 / RATE)
    band, hann = (freqs >= 300) & (freqs <= 6000), np.hanning(FRAME)
    flat: list[Any] = []
    level: list[Any] = []
    with wave.open(str(audio_wav), "rb") as wav:
        if wav.getframerate() != RATE or wav.getnchannels() != 1 or wav.getsampwidth() != 2:
            raise MediaError(f"{audio_wav} is not 16 kHz mono 16-bit PCM")
        while chunk := wav.readframes(RATE * 60):  # a minute at a time: 3 hours stay small
            x = np.frombuffer(chunk, dtype="<i2").astype(np.float32) / 32768.0
            windows = len(x) // (FRAME * WINDOW)
            if windows == 0:  # the last few samples, less than a window
                continue
            frames = x[:windows * FRAME * WINDOW].reshape(-1, FRAME)
            power = np.abs(np.fft.rfft(frames * hann, axis=1))[:, band] ** 2 + 1e-12
            ratio = np.exp(np.mean(np.log(power), axis=1)) / np.mean(power, axis=1)
            flat.append(ratio.reshape(windows, WINDOW).mean(axis=1))
            energy = np.mean(frames.reshape(windows, -1) ** 2, axis=1)
            level.append(10 * np.log10(energy + 1e-12))
    return np.concatenate(flat or [np.zeros(0)]), np.concatenate(level or [np.zeros(0)])


def applause(audio_wav: Path) -> list[Candidate]:
    import numpy as np

    flat, level = _window_features(audio_wav)
    if len(level) == 0:
        return []
    floor = float(np.percentile(level, 10))
    voiced = level[level > floor + 10]
    speech = float(np.median(voiced)) if len(voiced) else floor + 10
    hit = (flat >= FLAT_MIN) & (level >= speech - LEVEL_BELOW_SPEECH)
    found, step, i = [], WINDOW * FRAME / RATE, 0
    while i < len(hit):
        if not hit[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(hit) and (hit[j + 1] or (j + 2 < len(hit) and hit[j + 2])):
            j += 1
        length = (j + 1 - i) * step
        if length >= APPLAUSE_MIN:
            found.append(Candidate(i * step, "applause",
                                   0.5 + 0.4 * min(1.0, (length - 2) / 6), (j + 1) * step))
        i = j + 1
    return found


def _visual_pass(args: list[str], fps: str, d: float, offset: float = 0.0
                 ) -> tuple[list[float], list[tuple[float, float]], list[tuple[float, float]]]:
    """(frame times, (time, scene score) over SCENE_MIN, black (start, end)) of one decode."""
    text = _ffmpeg([*args, "-an", "-vf", f"{fps}scale=160:-2,{_VISUAL.format(d=d)}"],
                   "scanning the picture")
    times = [offset + float(t) for t in re.findall(r"pts_time:(-?[\d.]+)", text)]
    scores = [float(s) for s in re.findall(r"lavfi\.scene_score=([\d.]+)", text)]
    scenes = [(t, s) for t, s in zip(times, scores, strict=False) if s > SCENE_MIN]
    black = [(offset + float(a), offset + float(b)) for a, b in
             re.findall(r"black_start:(-?[\d.]+) black_end:(-?[\d.]+)", text)]
    return times, scenes, black


def visual(video: Path, duration: float, near: Sequence[tuple[float, float]],
           scan: str = "keyframes") -> list[Candidate]:
    if scan == "full":
        _times, scenes, black = _visual_pass(["-i", str(video)], f"fps={FULL_FPS},", 0.5)
    elif scan == "keyframes":
        keys, scenes, black = _visual_pass(["-skip_frame", "nokey", "-i", str(video)], "", 0.0)
        scenes, black = _refine(video, keys, scenes, black, near)
    else:
        raise ValueError(f"unknown video scan '{scan}': keyframes or full")
    out = [Candidate(t, "scene", 0.2 + 0.3 * min(1.0, s)) for t, s in scenes]
    return out + [Candidate(a, "black", 0.6, min(b, duration)) for a, b in black if b - a >= 0.5]


def _refine(video: Path, keys: list[float], scenes: list[tuple[float, float]],
            black: list[tuple[float, float]], near: Sequence[tuple[float, float]]
            ) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Key-frame times of changes near a sound break, made exact to the frame."""
    def window(t: float) -> tuple[float, float] | None:
        if not any(a - NEAR <= t <= b + NEAR for a, b in near):
            return None
        before = max((k for k in keys if k < t - 1e-3), default=max(0.0, t - 10))
        return before, t

    def exact(t: float, pick: int) -> float:
        span = window(t)
        if span is None:
            return t
        a, b = span
        _t, found_scenes, found_black = _visual_pass(
            ["-ss", f"{a:.3f}", "-i", str(video), "-t", f"{b - a + 0.05:.3f}"], "", 0.0, a)
        if pick == 0:
            return max(found_scenes, key=lambda x: x[1], default=(t, 0.0))[0]
        edges = [e[pick - 1] for e in found_black if a + 1e-3 < e[pick - 1] < b + 0.05]
        return edges[0] if edges else t

    scenes = [(exact(t, 0), s) for t, s in scenes]
    black = [(exact(a, 1) if a > 0 else a, exact(b, 2)) for a, b in black]
    return scenes, black


@dataclass(frozen=True)
class Signals:
    """Every boundary sign in a recording, and where somebody speaks in it."""

    candidates: list[Candidate]
    speech: SpeechMap
    heard: tuple[Heard, ...] = ()


def collect(video: Path | None, audio_wav: Path, duration: float, *,
            agenda: Sequence[AgendaItem] = (), engine: Engine | None = None,
            with_cues: bool = True, video_scan: str = "auto", voices: bool = True) -> Signals:
    from pipeline.media.audio import read_slice

    def read(start: float, seconds: float) -> Any:
        return read_slice(audio_wav, start, seconds)

    speech = find_speech_in(read, duration)
    found = pause_candidates(speech) + applause(audio_wav)
    spans = [(c.time, c.last) for c in found if c.kind == "applause" or c.last - c.time >= 3]
    if video is not None:
        if video_scan == "auto":
            video_scan = "full" if duration <= FULL_UP_TO else "keyframes"
        found += visual(video, duration, spans, video_scan)
    heard: list[Heard] = []
    if with_cues:
        if engine is None:
            from pipeline.asr import make_engine
            from pipeline.asr.decoding import WhisperSettings

            engine = make_engine(WhisperSettings(decode=CUE_DECODE))
        lines = islands(speech)
        talks = [run for run in speech.runs
                 if not any(i.start <= run[0] and run[1] <= i.end for i in lines)]
        heard = hear(lines, speech, Voices.of_recording(read, talks) if voices else None,
                     whisper_listener(engine, read), agenda)
        found += cue_candidates(heard)
    return Signals(sorted(found, key=lambda c: (c.time, c.kind)), speech, tuple(heard))


def collect_candidates(video: Path | None, audio_wav: Path, duration: float, *,
                       agenda: Sequence[AgendaItem] = (), engine: Engine | None = None,
                       cues: bool = True, video_scan: str = "auto",
                       voices: bool = True) -> Signals:
    """Every boundary signal in the recording; see `pipeline.boundaries.signals`. Without
    `voices` an island's words alone say whose it is (for the benchmark's comparison)."""
    return collect(video, audio_wav, duration, agenda=agenda, engine=engine, with_cues=cues,
                   video_scan=video_scan, voices=voices)
