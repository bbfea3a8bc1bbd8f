"""asr_quality.py's audio: the speech corpus's talks rebuilt as long-form audio (their
fragments joined by 0.3 s of silence) and, for `--noisy`, wrapped in title-card near-silence
and applause; decoded to 16 kHz mono float32 and cached as .npy in build/asr-quality/audio/."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _common import ROOT, ffmpeg_mono, transcript

from pipeline.asr.engine import SAMPLE_RATE

OUT = ROOT / "build" / "asr-quality"
GAP_S = 0.3
TITLE_S, APPLAUSE_S = 8.0, 6.0


@dataclass(frozen=True)
class Talk:
    talk_id: str  # "6rmA7KCV7ZiE/MJ0_NG4dsCY"
    folder: Path
    fragments: tuple[tuple[str, str], ...]  # (fragment id, reference text), in order

    @property
    def reference(self) -> str:
        return " ".join(text for _fid, text in self.fragments)

    @property
    def slug(self) -> str:
        return self.talk_id.replace("/", "_")


def corpus_talks(speech_dir: Path) -> list[Talk]:
    """The talks in the order the corpus README lists them (the first four: the original set)."""
    readme = (speech_dir / "README.md").read_text(encoding="utf-8")
    talk_ids = re.findall(r"^\|\s*`data/([^`]+)`", readme, flags=re.MULTILINE)
    talks = []
    for talk_id in talk_ids:
        folder = speech_dir / "data" / talk_id
        trans = sorted(folder.glob("*.trans.txt"))
        if len(trans) != 1:
            raise SystemExit(f"{folder}: expected one *.trans.txt, found {len(trans)}")
        talks.append(Talk(talk_id, folder, tuple(transcript(trans[0]))))
    return talks


def clean_audio(talk: Talk) -> np.ndarray:
    cached = OUT / "audio" / f"{talk.slug}.npy"
    if cached.exists():
        return np.load(cached)
    gap = np.zeros(int(GAP_S * SAMPLE_RATE), dtype=np.float32)
    pieces: list[np.ndarray] = []
    for fid, _text in talk.fragments:
        if pieces:
            pieces.append(gap)
        pieces.append(ffmpeg_mono(["-i", str(talk.folder / f"{fid}.flac")], rate=SAMPLE_RATE))
    audio = np.concatenate(pieces).astype(np.float32)
    cached.parent.mkdir(parents=True, exist_ok=True)
    np.save(cached, audio)
    return audio


def applause(seconds: float, seed: int, level_rms: float) -> np.ndarray:
    """Applause-like noise: band-passed pink noise under a train of decaying clap pulses
    (several clappers out of step) and a swell-and-fade envelope."""
    noise = ffmpeg_mono(["-f", "lavfi", "-i",
                         f"anoisesrc=d={seconds}:c=pink:r={SAMPLE_RATE}:a=0.5:seed={seed},"
                         "highpass=f=500,lowpass=f=7000"], rate=SAMPLE_RATE)
    n = len(noise)
    t = np.arange(n) / SAMPLE_RATE
    rng = np.random.default_rng(seed)
    claps = np.zeros(n, dtype=np.float64)
    for _clapper in range(12):
        rate = rng.uniform(3.0, 5.0)  # claps per second
        at = rng.uniform(0, 1 / rate)
        while at < seconds:
            start = int(at * SAMPLE_RATE)
            length = min(n - start, int(0.06 * SAMPLE_RATE))
            claps[start:start + length] += np.exp(-np.arange(length) / (0.012 * SAMPLE_RATE))
            at += (1 / rate) * rng.uniform(0.9, 1.1)
    claps /= claps.max() or 1.0
    swell = np.minimum(1.0, np.minimum(t / 0.7, (seconds - t) / 2.0)).clip(0, 1)
    shaped = noise * (0.35 + 0.65 * claps) * swell
    rms = float(np.sqrt(np.mean(shaped ** 2))) or 1.0
    return (shaped * (level_rms / rms)).astype(np.float32)


def title_silence(seconds: float, seed: int) -> np.ndarray:
    """Near-silence of a title card: white noise at about -70 dBFS."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * SAMPLE_RATE)) * 3e-4).astype(np.float32)


def noisy_audio(talk: Talk, index: int) -> np.ndarray:
    cached = OUT / "audio" / f"{talk.slug}.noisy.npy"
    if cached.exists():
        return np.load(cached)
    speech = clean_audio(talk)
    voiced = speech[np.abs(speech) > 0.01]
    level = float(np.sqrt(np.mean(voiced ** 2))) if voiced.size else 0.05  # as loud as speech
    audio = np.concatenate([
        title_silence(TITLE_S, 100 + index), applause(APPLAUSE_S, 200 + index, level),
        speech,
        applause(APPLAUSE_S, 300 + index, level), title_silence(TITLE_S, 400 + index),
    ]).astype(np.float32)
    np.save(cached, audio)
    return audio
