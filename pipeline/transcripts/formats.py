"""Transcript file formats: WebVTT, SRT, JSON with word timings, plain text.

Pure functions from `Segment`s to text, so every format is produced from the
same segments and they can never disagree with each other.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline.results import Segment, SessionPlan, Word


def _clock(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _cue_text(text: str) -> str:
    # A blank line ends a cue and "-->" starts a timing line, so neither may survive.
    return " ".join(text.replace("-->", "→").split())


MAX_CUE_SECONDS = 7.0
MAX_CUE_CHARS = 42  # two short lines of Korean on a phone screen


def readable_cues(segments: tuple[Segment, ...] | list[Segment]) -> tuple[Segment, ...]:
    """Split Whisper segments (up to 30 s long) into subtitle-sized ones at word boundaries.

    Whisper's segments follow its 30-second windows, not the reader; a 30-second cue
    covers the screen. Word timings let us break where a word ends, so every cue still
    starts and ends on speech.
    """
    cues: list[Segment] = []
    for segment in segments:
        too_long = (segment.end - segment.start > MAX_CUE_SECONDS
                    or len(segment.text.strip()) > MAX_CUE_CHARS)
        if not segment.words or not too_long:
            cues.append(segment)
            continue
        group: list[Word] = []
        for word in segment.words:
            if group and (word.end - group[0].start > MAX_CUE_SECONDS
                          or len("".join(w.word for w in [*group, word]).strip())
                          > MAX_CUE_CHARS):
                cues.append(_joined(group))
                group = []
            group.append(word)
        if group:
            cues.append(_joined(group))
    return tuple(cues)


def _joined(words: list[Word]) -> Segment:
    return Segment(start=words[0].start, end=words[-1].end,
                   text="".join(w.word for w in words).strip(), words=tuple(words))


def to_vtt(segments: tuple[Segment, ...] | list[Segment]) -> str:
    lines = ["WEBVTT", "Language: ko", ""]
    for number, segment in enumerate(segments, start=1):
        lines += [
            str(number),
            f"{_clock(segment.start, '.')} --> {_clock(segment.end, '.')}",
            _cue_text(segment.text).replace("&", "&amp;").replace("<", "&lt;"),
            "",
        ]
    return "\n".join(lines)


def to_srt(segments: tuple[Segment, ...] | list[Segment]) -> str:
    lines: list[str] = []
    for number, segment in enumerate(segments, start=1):
        lines += [
            str(number),
            f"{_clock(segment.start, ',')} --> {_clock(segment.end, ',')}",
            _cue_text(segment.text),
            "",
        ]
    return "\n".join(lines)


def to_text(segments: tuple[Segment, ...] | list[Segment]) -> str:
    return "\n".join(_cue_text(s.text) for s in segments if s.text.strip()) + "\n"


def to_json(session: SessionPlan, language: str, model: str,
            segments: tuple[Segment, ...] | list[Segment]) -> str:
    document: dict[str, Any] = {
        "session": {"id": session.id, "slug": session.slug, "title": session.title,
                    "start_in_recording": session.start, "end_in_recording": session.end},
        "language": language,
        "model": model,
        "times": "seconds from the start of the clip",
        "segments": [segment.model_dump(mode="json", exclude_none=True)
                     for segment in segments],
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def segments_from_json(text: str) -> tuple[Segment, ...]:
    document = json.loads(text)
    return tuple(
        Segment(
            start=item["start"], end=item["end"], text=item["text"],
            words=tuple(Word(**word) for word in item.get("words", [])),
            raw_text=item.get("raw_text"),
        )
        for item in document["segments"]
    )
