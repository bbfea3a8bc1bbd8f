"""Batched decoding on the CPU: speech cut at pauses into chunks, decoded several at once.

Sequential decoding walks the audio one 30 s window at a time, each window waiting for
the last (it is conditioned on the text before it). Batched decoding gives up that
conditioning and decodes `batch_size` chunks together through faster-whisper's
`BatchedInferencePipeline`, which keeps both cores busy with larger matrix products.

Where chunks are cut matters more than how many go together: a fixed 30 s grid cuts
words in two (the transformers pipeline's chunking lost about 20% WER that way), so
chunks are cut only at pauses that Silero VAD hears (`chunks`): consecutive speech runs
are packed while the chunk spans at most `chunk_seconds` of the original audio and no
pause inside it is as long as `vad_min_silence_ms` (that pause is skipped, as the
sequential "skip" mode skips it). A run of speech longer than a chunk is split by VAD at
its quietest point, as faster-whisper's own batched mode does.

Each chunk is decoded without timestamp tokens (`without_timestamps=True`, one segment per
chunk): asking for them cost 4 points of CER on the first talk (12.4% against 8.4%). The
words are timed afterwards by the same aligner as the sequential path's
(`pipeline.asr.align`), and `readable_cues` cuts the segments into subtitle-sized cues at
word boundaries, so cues are no longer than before. Measured against sequential decoding
on the twelve talks in docs/benchmarks.md ("Batched decoding").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pipeline.asr.decoding import DecodeOptions
from pipeline.asr.engine import SAMPLE_RATE

# A pause this short still separates two VAD speech runs (faster-whisper's batched default),
# so a chunk can end between sentences rather than inside a word.
SPLIT_SILENCE_MS = 160


def chunks(audio: Any, options: DecodeOptions) -> list[tuple[float, float]]:
    """(start, end) seconds of each chunk to decode, in order, cut only at pauses."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    runs = get_speech_timestamps(audio, VadOptions(
        threshold=options.vad_threshold, min_silence_duration_ms=SPLIT_SILENCE_MS,
        speech_pad_ms=options.vad_speech_pad_ms,
        max_speech_duration_s=options.chunk_seconds))
    longest_gap = options.vad_min_silence_ms / 1000
    packed: list[tuple[float, float]] = []
    for run in runs:
        start, end = run["start"] / SAMPLE_RATE, run["end"] / SAMPLE_RATE
        if packed:
            first, last = packed[-1]
            if end - first <= options.chunk_seconds and start - last < longest_gap:
                packed[-1] = (first, end)
                continue
        packed.append((start, end))
    return _widened(packed, len(audio) / SAMPLE_RATE, options.chunk_seconds)


# VAD hears a talk that starts abruptly (after a cut, or a speaker already mid-word) up to
# half a second late: a chunk reaches this far into the pause before it (and after it),
# never into its neighbour and never past the chunk length.
EDGE_MARGIN_S = (1.0, 0.5)


def _widened(packed: list[tuple[float, float]], duration: float,
             longest: float) -> list[tuple[float, float]]:
    widened: list[tuple[float, float]] = []
    longest -= 0.01  # rounding must not take a chunk past the decoder's window
    for index, (start, end) in enumerate(packed):
        before = widened[-1][1] if widened else 0.0
        after = packed[index + 1][0] if index + 1 < len(packed) else duration
        start = max(before, start - EDGE_MARGIN_S[0], end - longest)
        end = min(after, end + EDGE_MARGIN_S[1], start + longest)
        # The end rounds down: faster-whisper takes int(end * rate) samples, and a chunk
        # past the audio's last sample makes its "removed by VAD" log fail an assertion.
        widened.append((round(start, 3), math.floor(end * 1000) / 1000))
    return widened


def decode_batched(model: Any, audio: Any, language: str, options: DecodeOptions,
                   on_segment: Callable[[Any], None]) -> list[Any]:
    """faster-whisper segments of the chunks, decoded `batch_size` at a time, in order."""
    from faster_whisper import BatchedInferencePipeline

    spans = chunks(audio, options)
    if not spans:
        return []
    segments, _info = BatchedInferencePipeline(model).transcribe(
        audio, language=language, task="transcribe", beam_size=options.beam_size,
        batch_size=options.batch_size, without_timestamps=True,
        word_timestamps=options.word_timing == "decoder",
        vad_filter=False, clip_timestamps=[{"start": s, "end": e} for s, e in spans],
        chunk_length=int(options.chunk_seconds))
    raws = []
    for raw in segments:  # a generator: each batch is decoded as we reach it
        raws.append(raw)
        on_segment(raw)
    return raws
