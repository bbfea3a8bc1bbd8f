"""No text out of audio without speech, from either engine.

Whisper writes subtitle phrases into applause, music and hum ("시청해주셔서
감사합니다", "MBC 뉴스 …"). 30 s of each kind of non-speech that a forum recording
holds, made by ffmpeg, goes through `recognise` (the engine plus the guards) with
the default decoding options: nothing may come out.
"""

from __future__ import annotations

import subprocess
from typing import Any

import numpy as np
import pytest

from pipeline.asr import make_engine
from pipeline.asr.decoding import WhisperSettings
from pipeline.asr.engine import SAMPLE_RATE
from pipeline.asr.recognise import recognise
from pipeline.settings import Settings

pytestmark = pytest.mark.slow

PART = 10.0  # seconds of each kind
CHORDS = ((261.63, 329.63, 392.00), (349.23, 440.00, 523.25),  # C, F,
          (392.00, 493.88, 587.33), (261.63, 329.63, 392.00))  # G, C major
CHORD_SECONDS = PART / len(CHORDS)


def _music() -> str:
    """Piano-like chords: three partials each, struck and decaying every 2.5 s."""
    tones = []
    for index, chord in enumerate(CHORDS):
        start = index * CHORD_SECONDS
        inside = f"between(t,{start},{start + CHORD_SECONDS - 1e-4})"
        for freq in chord:
            tones.append(f"{inside}*exp(-1.2*(t-{start}))*(sin(2*PI*{freq}*t)"
                         f"+0.3*sin(4*PI*{freq}*t))")
    return f"aevalsrc='0.12*({'+'.join(tones)})':s={SAMPLE_RATE}:d={PART}"


SOURCES = {
    # Applause: dense white noise, with random claps as loudness bursts (tremolo).
    "applause": (f"anoisesrc=color=white:amplitude=0.35:seed=7:r={SAMPLE_RATE}:d={PART},"
                 "tremolo=f=9:d=0.7,highpass=f=300"),
    "music": _music(),
    # Mains hum: 50 Hz and its harmonics, as a bad cable picks it up.
    "hum": (f"aevalsrc='0.3*sin(2*PI*50*t)+0.15*sin(2*PI*100*t)+0.1*sin(2*PI*150*t)"
            f"+0.05*sin(2*PI*250*t)':s={SAMPLE_RATE}:d={PART}"),
}


def non_speech() -> Any:
    """Applause, then music, then hum: 30 s of 16 kHz mono float32."""
    inputs = [arg for source in SOURCES.values() for arg in ("-f", "lavfi", "-i", source)]
    graph = "".join(f"[{i}:a]" for i in range(len(SOURCES))) + \
        f"concat=n={len(SOURCES)}:v=0:a=1[out]"
    raw = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", *inputs,
                          "-filter_complex", graph, "-map", "[out]", "-f", "f32le", "-ac", "1",
                          "-ar", str(SAMPLE_RATE), "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.float32)


@pytest.fixture(scope="module")
def audio() -> Any:
    samples = non_speech()
    assert abs(len(samples) / SAMPLE_RATE - PART * len(SOURCES)) < 0.05
    return samples


@pytest.mark.parametrize("engine", ["faster-whisper", "openai-whisper"])
def test_no_text_comes_out_of_non_speech(engine: str, audio: Any) -> None:
    whisper = make_engine(WhisperSettings(engine=engine,
                                          model_dir=Settings.from_environ().model_dir))
    result = recognise(whisper, audio, "ko")  # the default decoding options
    assert result.segments == (), (
        f"{engine} wrote text into non-speech: "
        f"{[(s.start, s.end, s.text) for s in result.segments]}; "
        f"dropped: {result.quality.dropped}")
