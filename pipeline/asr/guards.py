"""Guards against Whisper's known failure modes, and the per-session quality report.

Whisper was trained on subtitled video, so in silence, applause or music it
tends to write what subtitles say there: "시청해주셔서 감사합니다", "구독과 좋아요",
"MBC 뉴스 …입니다", "자막 제공", "Thanks for watching". It also loops on a
phrase when decoding goes wrong. A segment is dropped, with its reason, when:

- it is a known outro phrase and lies in non-speech or low-energy audio;
- it fails Whisper's own compression-ratio check (> 2.4: a loop);
- it repeats one word or phrase four or more times in a row;
- it has no words at all (only punctuation or music signs);
- Whisper itself thinks it is not speech (no_speech_prob > 0.6 with avg_logprob < -1)
  and the voice-activity detector agrees.

Speech is found with the Silero VAD that faster-whisper ships (ONNX, offline),
the same detector for both engines.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.asr.engine import SAMPLE_RATE, Decoded
from pipeline.results import Word

COMPRESSION_LIMIT = 2.4  # openai-whisper's own threshold for a looping decode
REPEAT_LIMIT = 4
LOW_ENERGY_DBFS = -45.0
# Low-confidence spans (quality.json; the review editor flags the cues they touch): runs of
# words whose aligned probability is below LOW_CONFIDENCE_WORD, chosen by recall of the
# wrong characters against the share of text flagged on the twelve Korean talks
# (docs/benchmarks.md, "Caption review: which lines to flag"); and, as before, a whole
# segment whose avg_logprob is below LOW_CONFIDENCE_LOGPROB (text invented over music).
LOW_CONFIDENCE_WORD = 0.72
LOW_CONFIDENCE_LOGPROB = -1.0
OUTROS = tuple(re.compile(pattern, re.IGNORECASE) for pattern in (
    r"시청\s*(해|하여)?\s*주셔서\s*감사(합니다|드립니다)",
    r"구독\s*(과|하고|,)?\s*좋아요",
    r"좋아요\s*(와|,)?\s*구독",
    r"MBC\s*뉴스.*입니다",
    r"(KBS|SBS|YTN|JTBC)\s*뉴스.*입니다",
    r"자막\s*(제공|제작|by)",
    r"다음\s*영상에서\s*만나요",
    r"thanks?\s+(you\s+)?for\s+watching",
    r"please\s+(like\s+and\s+)?subscribe",
    r"subtitles?\s+by",
    r"translated\s+by",
))
_NO_WORDS = re.compile(r"^[\W_♪♫♬]*$")


@dataclass(frozen=True)
class Drop:
    start: float
    end: float
    text: str
    reason: str


@dataclass(frozen=True)
class Span:
    start: float
    end: float
    text: str


@dataclass
class Quality:
    """`quality.json`: how much of the session is speech and how sure Whisper was."""

    duration: float
    speech_ratio: float
    segment_count: int = 0
    mean_logprob: float | None = None
    dropped: list[Drop] = field(default_factory=list)
    low_confidence: list[Span] = field(default_factory=list)
    corrections: list[dict[str, Any]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def speech_spans(audio: Any, threshold: float = 0.5) -> list[tuple[float, float]]:
    """Where the VAD hears speech, in seconds."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    stamps = get_speech_timestamps(audio, VadOptions(threshold=threshold,
                                                     min_silence_duration_ms=500,
                                                     speech_pad_ms=200))
    return [(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]


def _overlap(start: float, end: float, spans: list[tuple[float, float]]) -> float:
    covered = sum(max(0.0, min(end, b) - max(start, a)) for a, b in spans)
    return covered / max(end - start, 1e-3)


def _dbfs(audio: Any, start: float, end: float) -> float:
    import numpy as np

    piece = audio[int(start * SAMPLE_RATE):max(int(end * SAMPLE_RATE), int(start * SAMPLE_RATE)
                                               + 1)]
    if len(piece) == 0:
        return -math.inf
    rms = float(np.sqrt(np.mean(np.square(piece, dtype=np.float64))))
    return 20 * math.log10(rms) if rms > 0 else -math.inf


def _repeats(text: str) -> bool:
    words = text.split()
    for size in (1, 2, 3):
        for first in range(len(words) - size * REPEAT_LIMIT + 1):
            unit = words[first:first + size]
            if all(words[first + k * size:first + (k + 1) * size] == unit
                   for k in range(REPEAT_LIMIT)):
                return True
    compact = "".join(words)  # Korean loops without spaces: "감사합니다감사합니다..."
    return bool(re.search(r"(.{2,12}?)\1{" + str(REPEAT_LIMIT - 1) + ",}", compact))


def judge(segment: Decoded, audio: Any, speech: list[tuple[float, float]]) -> str | None:
    """Why `segment` must be dropped, or None to keep it."""
    text = segment.text.strip()
    if _NO_WORDS.match(text):
        return "no words (only punctuation or music signs)"
    if segment.compression_ratio > COMPRESSION_LIMIT:
        return f"repetitive decoding (compression ratio {segment.compression_ratio:.1f})"
    if _repeats(text):
        return f"a phrase repeated {REPEAT_LIMIT}+ times"
    overlap = _overlap(segment.start, segment.end, speech)
    quiet = _dbfs(audio, segment.start, segment.end) < LOW_ENERGY_DBFS
    if any(p.search(text) for p in OUTROS) and (overlap < 0.5 or quiet):
        return "known Whisper outro hallucination in non-speech audio"
    if segment.no_speech_prob > 0.6 and segment.avg_logprob < -1.0 and overlap < 0.2:
        return "non-speech (Whisper and the VAD agree)"
    return None


def guard(segments: list[Decoded], audio: Any, speech: list[tuple[float, float]]
          ) -> tuple[list[Decoded], list[Drop]]:
    kept, dropped = [], []
    for segment in segments:
        reason = judge(segment, audio, speech)
        if reason is None:
            kept.append(segment)
        else:
            dropped.append(Drop(segment.start, segment.end, segment.text, reason))
    return kept, dropped


def assess(kept: list[Decoded], dropped: list[Drop], duration: float,
           speech: list[tuple[float, float]]) -> Quality:
    speech_seconds = sum(min(b, duration) - max(a, 0.0) for a, b in speech)
    quality = Quality(duration=round(duration, 3),
                      speech_ratio=round(speech_seconds / max(duration, 1e-3), 3),
                      segment_count=len(kept), dropped=dropped)
    if kept:
        weights = [max(s.end - s.start, 0.01) for s in kept]
        quality.mean_logprob = round(float(sum(s.avg_logprob * w for s, w in zip(kept, weights,
                                                                            strict=True))
                                           / sum(weights)), 3)
    quality.low_confidence = low_confidence_spans(kept)
    quality.flags = flags(quality)
    return quality


def low_confidence_spans(segments: list[Decoded]) -> list[Span]:
    """Where a reviewer should look first, in order: a segment whose avg_logprob is below
    LOW_CONFIDENCE_LOGPROB, whole; in the others, each run of consecutive words Whisper
    gave a probability below LOW_CONFIDENCE_WORD, with its words' times and text."""
    found: list[Span] = []
    for segment in segments:
        if segment.avg_logprob < LOW_CONFIDENCE_LOGPROB:
            found.append(Span(segment.start, segment.end, segment.text))
            continue
        run: list[Word] = []
        for word in (*segment.words, None):
            if word is not None and word.probability < LOW_CONFIDENCE_WORD:
                run.append(word)
            elif run:
                found.append(Span(run[0].start, run[-1].end,
                                  "".join(w.word for w in run).strip()))
                run = []
    return found


def flags(quality: Quality) -> list[str]:
    """What a person should look at; the run summary shows these."""
    found = []
    if quality.duration >= 30 and quality.speech_ratio < 0.3:
        found.append(f"only {quality.speech_ratio:.0%} of the session is speech: check its "
                     "agenda times (a break, or the wrong part of the recording?)")
    if quality.speech_ratio >= 0.3 and quality.segment_count == 0:
        found.append("speech was heard but no text came out: check the language and the audio")
    if quality.mean_logprob is not None and quality.mean_logprob < -0.8:
        found.append(f"low confidence (mean log-probability {quality.mean_logprob:.2f}): "
                     "check the sound, the language, or the speaker's microphone")
    if quality.segment_count and len(quality.dropped) > quality.segment_count:
        found.append(f"{len(quality.dropped)} segments were dropped as hallucinations "
                     f"against {quality.segment_count} kept")
    return found
