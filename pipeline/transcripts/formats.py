"""Transcript file formats: WebVTT, SRT, JSON with word timings, plain text.

Pure functions from `Segment`s to text, so every format is produced from the
same segments and they can never disagree with each other. The JSON keeps the
segments as transcribed (speech times, words); the subtitle and text files show
the cues `pipeline.transcripts.cues.timed_cues` makes of them (`until`: the
clip's length, when known), so VTT, SRT and text hold the same cues.

The VTT has no header line after `WEBVTT`: the current WebVTT spec allows none
(the W3C parser reports `Language: ko` as an error). The language is the page's
`<track srclang>` and the JSON's `language`.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline.results import Segment, SessionPlan, Word
from pipeline.transcripts.cues import timed_cues


def _clock(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _cue_text(text: str) -> str:
    # A blank line ends a cue and "-->" starts a timing line, so neither may survive.
    return " ".join(text.replace("-->", "→").split())


def to_vtt(segments: tuple[Segment, ...] | list[Segment], until: float | None = None) -> str:
    lines = ["WEBVTT", ""]
    for number, segment in enumerate(timed_cues(segments, until), start=1):
        lines += [
            str(number),
            f"{_clock(segment.start, '.')} --> {_clock(segment.end, '.')}",
            _cue_text(segment.text).replace("&", "&amp;").replace("<", "&lt;"),
            "",
        ]
    return "\n".join(lines)


def to_srt(segments: tuple[Segment, ...] | list[Segment], until: float | None = None) -> str:
    lines: list[str] = []
    for number, segment in enumerate(timed_cues(segments, until), start=1):
        lines += [
            str(number),
            f"{_clock(segment.start, ',')} --> {_clock(segment.end, ',')}",
            _cue_text(segment.text),
            "",
        ]
    return "\n".join(lines)


def to_text(segments: tuple[Segment, ...] | list[Segment], until: float | None = None) -> str:
    return "\n".join(_cue_text(s.text) for s in timed_cues(segments, until)) + "\n"


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
