"""Checks on written subtitles, shared by the tests that write them: SRT read by the
strict Python `srt` parser, our VTT's cues read back, and the cue rules of
`pipeline.transcripts.cues` checked on what a file says (the W3C parser, for VTT, is
`tests.browser_checks.vtt_errors`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import srt

from pipeline.transcripts.cues import MIN_CUE_SECONDS, REPEAT_GAP_SECONDS

_VTT_TIMING = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d\d\d) --> (\d\d):(\d\d):(\d\d)\.(\d\d\d)$")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def _seconds(hours: str, minutes: str, seconds: str, millis: str) -> float:
    return (((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis)) / 1000


def vtt_cues(text: str) -> list[Cue]:
    """The cues of a VTT file as our writer lays it out (id, timing, one text line)."""
    cues: list[Cue] = []
    lines = text.splitlines()
    for number, line in enumerate(lines):
        found = _VTT_TIMING.match(line)
        if found:
            parts = found.groups()
            cues.append(Cue(_seconds(*parts[:4]), _seconds(*parts[4:]),
                            lines[number + 1].replace("&lt;", "<").replace("&amp;", "&")))
    return cues


def srt_cues(text: str) -> list[Cue]:
    """The cues of an SRT file, read strictly: any stray text is an error, every cue
    must be numbered in order and be one that `srt` keeps (it skips cues that end no
    later than they start, and empty ones)."""
    subtitles = list(srt.parse(text, ignore_errors=False))
    assert [s.index for s in subtitles] == list(range(1, len(subtitles) + 1))
    kept = list(srt.sort_and_reindex(subtitles, skip=True, in_place=False))
    assert len(kept) == len(subtitles), "srt skips a cue that ends before it starts"
    return [Cue(s.start.total_seconds(), s.end.total_seconds(), s.content)
            for s in subtitles]


def broken_rules(cues: list[Cue], until: float | None = None) -> list[str]:
    """Each way the cues break the cue rules; [] when they keep them all."""
    problems: list[str] = []
    for number, cue in enumerate(cues, start=1):
        where = f"cue {number} {cue.start:.3f}-{cue.end:.3f} '{cue.text}'"
        if cue.end - cue.start < MIN_CUE_SECONDS - 0.0005:
            problems.append(f"{where}: shorter than {MIN_CUE_SECONDS} s")
        if cue.start < 0 or (until is not None and cue.end > until + 0.0005):
            problems.append(f"{where}: outside the clip")
        if not cue.text.strip():
            problems.append(f"{where}: blank")
        if number > 1:
            before = cues[number - 2]
            if cue.start < before.end:
                problems.append(f"{where}: overlaps or comes before the cue before it")
            if (" ".join(before.text.split()) == " ".join(cue.text.split())
                    and cue.start - before.end <= REPEAT_GAP_SECONDS):
                problems.append(f"{where}: repeats the cue before it")
    return problems
