"""From audio to the segments the pipeline writes: decode, guard, correct, cut into cues.

Both the transcribe stage and `sort-archive transcribe FILE` call `recognise`, and
so do the quality benchmarks: what is measured is what staff get.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.asr.engine import SAMPLE_RATE, Decoded, Engine, Progress
from pipeline.asr.guards import Quality, assess, guard, speech_spans
from pipeline.faults import checkpoint
from pipeline.results import Segment, Word
from pipeline.transcripts.cues import readable_cues

log = logging.getLogger("pipeline.asr")
Corrections = Sequence[tuple[str, str]]  # (misheard form, correct form), applied in order


@dataclass(frozen=True)
class Recognised:
    segments: tuple[Segment, ...]
    quality: Quality


def recognise(engine: Engine, audio: Any, language: str, corrections: Corrections = (),
              on_progress: Progress | None = None) -> Recognised:
    """Decode with the engine's own decoding options, guard, correct, cut into cues."""
    duration = len(audio) / SAMPLE_RATE
    speech = speech_spans(audio)
    decoded = engine.transcribe(audio, language, on_progress)
    checkpoint("transcribe.decode")
    kept, dropped = guard(decoded, audio, speech)
    for drop in dropped:
        log.info("dropped %.1f-%.1f s '%s': %s", drop.start, drop.end, drop.text, drop.reason)
    quality = assess(kept, dropped, duration, speech)
    segments, changes = correct(readable_cues([_segment(d) for d in kept]), corrections)
    quality.corrections = changes
    return Recognised(segments=segments, quality=quality)


def _segment(decoded: Decoded) -> Segment:
    return Segment(start=decoded.start, end=decoded.end, text=decoded.text,
                   words=decoded.words)


def correct(segments: tuple[Segment, ...], corrections: Corrections
            ) -> tuple[tuple[Segment, ...], list[dict[str, Any]]]:
    """Apply the forum's `corrections:` map; keep each changed cue's raw text."""
    if not corrections:
        return segments, []
    patterns = [(re.compile(re.escape(wrong)), wrong, right) for wrong, right in corrections]
    changed: list[Segment] = []
    changes: list[dict[str, Any]] = []
    for segment in segments:
        text = segment.text
        for pattern, wrong, right in patterns:
            text, count = pattern.subn(right, text)
            if count:
                changes.append({"start": segment.start, "from": wrong, "to": right,
                                "count": count})
                log.info("corrected '%s' to '%s' at %.1f s", wrong, right, segment.start)
        if text == segment.text:
            changed.append(segment)
            continue
        words = tuple(_correct_word(w, patterns) for w in segment.words)
        changed.append(segment.model_copy(update={"text": text, "words": words,
                                                  "raw_text": segment.text}))
    return tuple(changed), changes


def _correct_word(word: Word, patterns: list[tuple[re.Pattern[str], str, str]]) -> Word:
    text = word.word
    for pattern, _wrong, right in patterns:
        text = pattern.sub(right, text)
    return word if text == word.word else word.model_copy(update={"word": text})
