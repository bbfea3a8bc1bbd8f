"""Which stretches of a recording to decode: all of it, minus long non-speech.

Two ways to use voice-activity detection (Silero VAD, as faster-whisper ships it):

- "skip" (the default): the stretches where VAD hears speech, split only at silences
  of at least `vad_min_silence_ms`, are handed to the decoder as clip timestamps, so
  the decoder walks the original audio and jumps over the long non-speech between
  them. Where a talk has no such silence, decoding is exactly plain decoding.
- "join": faster-whisper's own `vad_filter`: the speech stretches are cut out and
  glued together, decoded as one shorter recording, and the times mapped back. The
  30 s windows then straddle the joins, which moves every later window: measured, it
  is no better on clean speech and worse than plain decoding there
  (docs/benchmarks.md, "Transcription quality").
"""

from __future__ import annotations

from typing import Any

from pipeline.asr.decoding import DecodeOptions
from pipeline.asr.engine import SAMPLE_RATE

VAD_MODES = ("skip", "join")


def speech_clips(audio: Any, options: DecodeOptions) -> list[float]:
    """Clip timestamps (start, end, start, end, ... in seconds) of the speech to decode;
    empty when VAD hears no speech at all."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    chunks = get_speech_timestamps(audio, VadOptions(
        threshold=options.vad_threshold, min_silence_duration_ms=options.vad_min_silence_ms,
        speech_pad_ms=options.vad_speech_pad_ms))
    clips = [round(chunk[edge] / SAMPLE_RATE, 3) for chunk in chunks for edge in ("start", "end")]
    if clips:
        # Only silences of at least min_silence are skipped, at the ends as in between.
        shortest = options.vad_min_silence_ms / 1000
        duration = round(len(audio) / SAMPLE_RATE, 3)
        if clips[0] < shortest:
            clips[0] = 0.0
        if duration - clips[-1] < shortest:
            clips[-1] = duration
    return clips


def clip_time(clips: list[float], decoded_s: float) -> float:
    """Where on the original audio a decoder is after decoding `decoded_s` seconds of the
    clips in order (openai-whisper reports progress this way)."""
    remaining = decoded_s
    for start, end in zip(clips[::2], clips[1::2], strict=False):
        if remaining <= end - start:
            return start + remaining
        remaining -= end - start
    return clips[-1] if clips else decoded_s
