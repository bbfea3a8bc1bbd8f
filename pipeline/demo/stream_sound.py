"""The sounds of a stream-like forum recording (see `pipeline.demo.stream`), as numpy
arrays at 44.1 kHz: corpus speech and where its words start and end, the MC's voice
(espeak-ng), music, applause and room tone."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np

from pipeline.demo.render import ffmpeg
from pipeline.errors import MediaError

RATE = 44_100  # YouTube's format 140 (AAC, 44.1 kHz stereo)
ROOM_TONE_DBFS = -54.0
SPEECH_DBFS = -23.0  # the level of speech while it sounds (frames above the threshold)
_WINDOW = RATE // 200  # 5 ms: the resolution of the word edges
_MAX_GAIN_DB = 20.0

Audio = np.ndarray  # float32, mono, at RATE


def decode(path: Path) -> Audio:
    """Any sound file as float32 mono at RATE."""
    raw = ffmpeg(["-i", str(path), "-f", "f32le", "-ac", "1", "-ar", str(RATE), "-"],
                 f"decoding {path.name}")
    return np.frombuffer(raw, dtype=np.float32).copy()


def flac_seconds(path: Path) -> float:
    """A FLAC file's length from its STREAMINFO block (42 bytes, no decoding)."""
    with path.open("rb") as handle:
        head = handle.read(42)
    if head[:4] != b"fLaC" or len(head) < 42:
        raise MediaError(f"{path} is not a FLAC file")
    bits = int.from_bytes(head[18:26], "big")  # rate:20 channels:3 depth:5 samples:36
    return (bits & ((1 << 36) - 1)) / (bits >> 44)


def _levels(audio: Audio) -> np.ndarray:
    """The level in dBFS of each 5 ms window."""
    count = max(1, len(audio) // _WINDOW)
    padded = np.zeros(count * _WINDOW, dtype=np.float64)
    used = audio[: count * _WINDOW]
    padded[: len(used)] = used
    power = np.mean(padded.reshape(count, _WINDOW) ** 2, axis=1)
    levels: np.ndarray = 10 * np.log10(power + 1e-10)
    return levels


def _threshold(levels: np.ndarray) -> float:
    """Speech is 12 dB above the noise floor and within 35 dB of the loudest window."""
    return float(max(np.percentile(levels, 10) + 12.0, levels.max() - 35.0))


def _high_band(audio: Audio) -> Audio:
    """`audio` above 2 kHz, where fricatives (ㅅ, ㅎ, ㅊ) carry their energy."""
    spectrum = np.fft.rfft(audio)
    spectrum[np.fft.rfftfreq(len(audio), 1 / RATE) < 2000] = 0
    high: Audio = np.fft.irfft(spectrum, len(audio)).astype(np.float32)
    return high


def speech_span(audio: Audio) -> tuple[int, int]:
    """(first sample of speech, one past its last sample) in `audio`, to about 5-10 ms.

    The first and last windows above the energy threshold, widened over their rising
    (falling) edge while the level, in the whole band or above 2 kHz (a soft fricative
    onset), stays 6 dB above that band's noise floor; at most 60 ms.
    """
    levels = _levels(audio)
    loud = np.flatnonzero(levels > _threshold(levels))
    if len(loud) == 0:
        return 0, len(audio)
    high = _levels(_high_band(audio))
    above = ((levels > np.percentile(levels, 10) + 6.0)
             | (high > np.percentile(high, 10) + 6.0))
    first, last = int(loud[0]), int(loud[-1])
    for _ in range(12):
        if first == 0 or not above[first - 1]:
            break
        first -= 1
    for _ in range(12):
        if last + 1 >= len(levels) or not above[last + 1]:
            break
        last += 1
    return first * _WINDOW, min(len(audio), (last + 1) * _WINDOW)


def speech_gain(pieces: list[Audio]) -> float:
    """The gain that brings the speech in `pieces` to SPEECH_DBFS (a talk's microphone
    level: the corpus talks range from -8 to -37 dBFS at their loudest)."""
    levels = np.concatenate([_levels(piece) for piece in pieces])
    loud = levels[levels > _threshold(levels)]
    level = 10 * np.log10(np.mean(10 ** (loud / 10))) if len(loud) else SPEECH_DBFS
    return float(10 ** (min(_MAX_GAIN_DB, SPEECH_DBFS - level) / 20))


def espeak(text: str, work: Path, name: str) -> Audio:
    """The MC's voice: espeak-ng's Korean, at the level of the talks."""
    wav = work / f"{name}.wav"
    try:
        subprocess.run(["espeak-ng", "-v", "ko", "-s", "170", "-w", str(wav), text],
                       capture_output=True, check=True, timeout=60)
    except FileNotFoundError:
        raise MediaError("espeak-ng is not found (the MC's voice)",
                         hint="apt-get install espeak-ng") from None
    except subprocess.CalledProcessError as exc:
        raise MediaError("espeak-ng failed", exc.stderr.decode("utf-8", "replace")) from None
    audio = decode(wav)
    return (audio * speech_gain([audio])).astype(np.float32)


def room_tone(samples: int, seed: int) -> Audio:
    """Low noise, about ROOM_TONE_DBFS: under everything, so nothing is digital silence."""
    rng = np.random.default_rng(seed)
    level = 10 ** (ROOM_TONE_DBFS / 20)
    return (rng.standard_normal(samples) * level).astype(np.float32)


def _note(frequency: float, seconds: float, amplitude: float) -> np.ndarray:
    """A soft electric-piano-like note: three harmonics, quick attack, slow decay."""
    t = np.arange(round(seconds * RATE)) / RATE
    tone = (np.sin(2 * np.pi * frequency * t) + 0.35 * np.sin(4 * np.pi * frequency * t)
            + 0.12 * np.sin(6 * np.pi * frequency * t))
    envelope = np.minimum(1.0, t / 0.015) * np.exp(-t / (0.45 * seconds))
    envelope *= np.minimum(1.0, (seconds - t) / 0.05)  # no click at the end
    out: np.ndarray = amplitude * tone * envelope
    return out


# I-vi-IV-V in C major, as MIDI notes: (bass, chord tones)
_CHORDS = ((36, (60, 64, 67)), (45, (60, 64, 69)), (41, (60, 65, 69)), (43, (59, 62, 67)))


def _midi(note: int) -> float:
    return float(440.0 * 2 ** ((note - 69) / 12))


def music(seconds: float, seed: int = 0) -> Audio:
    """Waiting-room music: a chord every 2 s (I-vi-IV-V), its bass, and an arpeggio in
    eighth notes (0.25 s) over it; faded in and out; about -20 dBFS."""
    rng = np.random.default_rng(seed)
    samples = round(seconds * RATE)
    out = np.zeros(samples + 2 * RATE, dtype=np.float64)
    bar = 2.0
    for number in range(int(np.ceil(seconds / bar))):
        bass, chord = _CHORDS[number % len(_CHORDS)]
        at = round(number * bar * RATE)
        for note in (bass, *chord):
            sound = _note(_midi(note), bar, 0.05 if note == bass else 0.035)
            out[at:at + len(sound)] += sound
        for step in range(8):
            note = chord[int(rng.integers(len(chord)))] + 12 * int(rng.integers(0, 2))
            sound = _note(_midi(note), 0.5, 0.04)
            start = at + round(step * bar / 8 * RATE)
            out[start:start + len(sound)] += sound
    out = out[:samples]
    ramp = np.arange(samples) / RATE
    out *= np.minimum(1.0, np.minimum(ramp / 1.0, (seconds - ramp) / 1.5))
    level = max(1e-9, float(np.sqrt(np.mean(out ** 2))))
    return (out * (10 ** (-20 / 20) / level)).astype(np.float32)


def applause(seconds: float, seed: int, rate: int = RATE) -> Audio:
    """A crowd's random claps: short decaying noise bursts, about 150 a second, faded
    in over 0.3 s and out over 1 s, about -20 dBFS."""
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    clap = np.exp(-np.arange(round(0.02 * rate)) / (0.004 * rate))
    out = np.zeros(n + 1 + len(clap))
    for at in rng.uniform(0, n, size=round(150 * seconds)).astype(int):
        out[at:at + len(clap)] += rng.uniform(0.3, 1.0) * clap * rng.standard_normal(len(clap))
    out = np.diff(out[:n + 1])  # first difference: claps are bright, not boomy
    ramp = np.arange(n)
    out *= np.minimum(1.0, np.minimum(ramp / (0.3 * rate), (n - ramp) / (1.0 * rate)))
    scaled: np.ndarray = (out * (0.1 / np.sqrt(np.mean(out ** 2)))).astype(np.float32)
    return scaled


def write_wav(path: Path, audio: Audio) -> None:
    """16-bit mono WAV at RATE."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
