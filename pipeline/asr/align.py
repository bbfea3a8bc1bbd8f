"""Word timings for faster-whisper segments, found after decoding rather than during it.

Why a second pass: with `word_timestamps=True`, faster-whisper moves each 30 s window to
the last aligned word instead of the decoder's own timestamp, so the *text* changes too,
and on the twelve Korean talks it gets worse (docs/benchmarks.md, "Word timings"). So the
engine decodes without word timings and this module aligns the finished text to the
audio with the same cross-attention/DTW alignment faster-whisper uses (`model.align`),
reusing its own heuristics (`add_word_timestamps`): same word boundaries, same
punctuation merging, same clipping of over-long words.

The alignment runs on the original audio, not on the VAD-shortened audio the decoder
saw, so a word after a removed pause is timed where it is actually spoken.

Windows: consecutive segments are packed into windows of at most 30 s of audio (one
encoder pass each, about the encoder work the decoder already did once). A window
starts a little before its first segment and ends a little after its last one, but
never reaches into the next window's speech. A single segment longer than 30 s (VAD can
join speech across a removed pause) is aligned on its first 30 s; its later words are
given the segment's remaining span in proportion to their length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.asr.engine import SAMPLE_RATE, Decoded
from pipeline.results import Word

WINDOW_S = 30.0
LEAD_S = 0.3  # audio kept before a window's first segment: timestamp tokens can be late
TAIL_S = 0.5
FRAMES_PER_SECOND = 100  # Whisper's mel hop: 10 ms


@dataclass
class AlignedSegment:
    start: float
    end: float
    words: list[dict[str, Any]]

    def decoded(self, text: str, avg_logprob: float, no_speech_prob: float,
                compression_ratio: float) -> Decoded:
        """The segment as the engines return it: these times and words, the decoder's text
        and scores."""
        words = tuple(Word(start=round(float(w["start"]), 3), end=round(float(w["end"]), 3),
                           word=str(w["word"]), probability=round(float(w["probability"]), 4))
                      for w in self.words)
        return Decoded(start=round(float(self.start), 3), end=round(float(self.end), 3),
                       text=text.strip(), words=words, avg_logprob=float(avg_logprob),
                       no_speech_prob=float(no_speech_prob),
                       compression_ratio=float(compression_ratio))


def windows(spans: list[tuple[float, float]], duration: float
            ) -> list[tuple[float, float, list[int]]]:
    """Pack segment spans (in order) into (audio start, audio end, segment indexes)."""
    packed: list[tuple[float, float, list[int]]] = []
    previous_end = 0.0
    index = 0
    while index < len(spans):
        first_start = spans[index][0]
        start = max(0.0, min(first_start, max(first_start - LEAD_S, previous_end)))
        members = [index]
        index += 1
        while index < len(spans) and spans[index][1] <= start + WINDOW_S - TAIL_S:
            members.append(index)
            index += 1
        last_end = spans[members[-1]][1]
        limit = spans[index][0] if index < len(spans) else duration
        end = min(start + WINDOW_S, duration, max(last_end, min(last_end + TAIL_S, limit)))
        packed.append((start, max(end, start + 0.1), members))
        previous_end = last_end
    return packed


@dataclass(frozen=True)
class Span:
    """A decoded segment on the original audio's timeline, with its text tokens."""

    start: float
    end: float
    tokens: tuple[int, ...]


# Aligns one window in place: (audio chunk, seek in frames, num_frames, segment dicts with
# seek/start/end/tokens, last speech time) -> each dict gains "words" (absolute times).
WindowAligner = Callable[[np.ndarray, int, int, list[dict[str, Any]], float], None]
PREPEND = "\"'“¿([{-"  # Whisper's defaults, in both implementations
APPEND = "\"'.。,，!！?？:：”)]}、"


def align(align_window: WindowAligner, audio: np.ndarray, spans: list[Span]
          ) -> list[AlignedSegment]:
    """Word timings for decoded spans, one 30 s window (one encoder pass) at a time."""
    duration = len(audio) / SAMPLE_RATE
    aligned = [AlignedSegment(s.start, s.end, []) for s in spans]
    last_speech = 0.0
    for start, end, members in windows([(s.start, s.end) for s in spans], duration):
        chunk = audio[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)]
        num_frames = min(round((end - start) * FRAMES_PER_SECOND),
                         int(WINDOW_S * FRAMES_PER_SECOND))
        seek = round(start * FRAMES_PER_SECOND)
        group: list[dict[str, Any]] = [{"seek": seek, "start": spans[i].start, "end": spans[i].end,
                                        "tokens": list(spans[i].tokens)} for i in members]
        align_window(chunk, seek, num_frames, group, last_speech)
        for i, piece in zip(members, group, strict=True):
            words: list[dict[str, Any]] = [w for w in piece.get("words", [])
                                           if str(w["word"]).strip()]
            aligned[i] = AlignedSegment(float(piece["start"]), float(piece["end"]), words)
        if len(members) == 1 and spans[members[0]].end - start > WINDOW_S:
            aligned[members[0]] = _spread_past_window(aligned[members[0]], start + WINDOW_S,
                                                      spans[members[0]].end)
        last_speech = aligned[members[-1]].end
    return snap_to_sound(aligned, audio)


SNAP_FRAME_S = 0.02
SNAP_BELOW_DB = 35.0  # quieter than the loud speech by this much counts as silence


def snap_to_sound(segments: list[AlignedSegment], audio: np.ndarray) -> list[AlignedSegment]:
    """Move word edges that DTW stretched over silence back onto the sound.

    The cross-attention alignment must place every frame somewhere, so the first word
    after a pause often starts in the pause. A word's start moves forward to its first
    frame that is not silent, its end back to its last; a word with no sound at all
    (a mumble under the noise) keeps its times. Segment edges follow their words.
    """
    frame = int(SNAP_FRAME_S * SAMPLE_RATE)
    count = len(audio) // frame
    if count == 0:
        return segments
    rms = np.sqrt(np.mean(np.square(audio[:count * frame].reshape(count, frame)), axis=1))
    loud = float(np.percentile(rms, 95))
    sounding = rms > max(loud * 10 ** (-SNAP_BELOW_DB / 20), 1e-5)
    for segment in segments:
        for word in segment.words:
            first, last = int(word["start"] / SNAP_FRAME_S), int(word["end"] / SNAP_FRAME_S)
            heard = np.flatnonzero(sounding[first:max(last, first + 1)])
            if heard.size:
                onset = (first + heard[0]) * SNAP_FRAME_S
                offset = (first + heard[-1] + 1) * SNAP_FRAME_S
                word["start"] = round(max(float(word["start"]), onset), 2)
                word["end"] = round(min(float(word["end"]), offset), 2)
        if segment.words:
            segment.start = min(segment.start, float(segment.words[0]["start"]))
            segment.start = max(segment.start, float(segment.words[0]["start"]) - 0.5)
            segment.end = max(float(segment.words[-1]["end"]), min(segment.end,
                              float(segment.words[-1]["end"]) + 0.5))
    return segments


def _spread_past_window(segment: AlignedSegment, window_end: float, end: float
                        ) -> AlignedSegment:
    """Words the 30 s window could not place share the segment's remaining span."""
    words = segment.words
    inside = [w for w in words if w["end"] < window_end - 0.5]
    outside = words[len(inside):]
    if not outside:
        return segment
    begin = inside[-1]["end"] if inside else segment.start
    total = sum(max(1, len(w["word"].strip())) for w in outside)
    cursor = begin
    for word in outside:
        share = (end - begin) * max(1, len(word["word"].strip())) / total
        word["start"], word["end"] = round(cursor, 2), round(cursor + share, 2)
        cursor += share
    return AlignedSegment(segment.start, end, words)
