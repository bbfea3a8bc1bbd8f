"""Boundary candidates and the breaks they merge into: what the signals find and the fit
works on (see `pipeline.boundaries.fit` for how breaks are chosen, and
`pipeline.boundaries.signals` for how candidates are found)."""

from __future__ import annotations

import difflib
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

KINDS = ("pause", "silence", "black", "scene", "applause", "cue")
MERGE, ATTACH, MIN_CARD, MAX_CARD, CLAPS_WITHIN = 1.0, 5.0, 1.5, 8.0, 3.0


class SpeechRuns(Protocol):
    """Where somebody speaks (`pipeline.boundaries.speech.SpeechMap`)."""

    def speaks(self, a: float, b: float, allowed: Sequence[tuple[float, float]] = ()) -> bool:
        ...


@dataclass(frozen=True)
class AgendaItem:
    id: str
    title: str
    speakers: tuple[str, ...] = ()
    start: float | None = None
    end: float | None = None
    duration_hint: float | None = None


@dataclass(frozen=True)
class Candidate:
    """A sign of a boundary. `end` makes it a span; `session` is the agenda id a cue names."""

    time: float
    kind: str
    strength: float
    end: float | None = None
    session: str | None = None
    text: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown candidate kind '{self.kind}'")
        if not 0.0 <= self.strength <= 1.0 or (self.end is not None and self.end < self.time):
            raise ValueError(f"bad candidate {self}")

    @property
    def last(self) -> float:
        return self.time if self.end is None else self.end


def normalise(text: str) -> str:
    """NFC, lower case, no spaces or punctuation: what titles are compared on."""
    return "".join(ch for ch in unicodedata.normalize("NFC", text).lower()
                   if unicodedata.category(ch)[0] in "LN")


def similarity(short: str, long: str) -> float:
    """How well `short` (a title or name) is found in `long`, 0..1: the best difflib ratio
    of `short` against windows of `long`; short strings count less (3 chars: 0.6)."""
    a, b = normalise(short), normalise(long)
    if not a or not b:
        return 0.0
    whole = difflib.SequenceMatcher(None, a, b).ratio()
    if len(a) > len(b):
        return whole
    best = max(difflib.SequenceMatcher(None, a, b[i:i + len(a)]).ratio()
               for i in range(len(b) - len(a) + 1))
    return max(whole, best * min(1.0, len(a) / 5))


@dataclass
class Break:
    start: float  # the session before ends here
    end: float  # the sound resumes here
    resume: float  # the session after starts here
    strength: float
    names: set[str] = field(default_factory=set)
    kinds: list[str] = field(default_factory=list)
    applause_end: float | None = None  # the applause for the session before, where it ends


def breaks(candidates: Sequence[Candidate], origin: float = 0.0,
           speech: SpeechRuns | None = None) -> list[Break]:
    """Candidates merged into breaks (see `pipeline.boundaries.fit`), in time order. With
    the recording's speech, two signs merge only if nobody speaks between them (but the
    MC, in a cue's span): a speaker's closing line after a breath is no part of a break."""
    edges = sorted((c for c in candidates if c.end is not None or c.kind == "scene"),
                   key=lambda c: c.time)
    mc = [(c.time, c.last) for c in candidates if c.kind == "cue" and c.end is not None]
    groups: list[list[Candidate]] = []
    for cand in edges:
        last = max(c.last for c in groups[-1]) if groups else -math.inf
        if groups and cand.time <= last + MERGE and (
                speech is None or not speech.speaks(last, cand.time, mc)):
            groups[-1].append(cand)
        else:
            groups.append([cand])
    for cand in (c for c in candidates if c.end is None and c.kind != "scene"):
        near = [g for g in groups if min(c.time for c in g) - ATTACH <= cand.time
                <= max(c.last for c in g) + ATTACH]
        if near:  # with none near, a talk's "감사합니다" is no break on its own
            min(near, key=lambda g: abs(min(c.time for c in g) - cand.time)).append(cand)
    return sorted((_break(group, origin) for group in groups), key=lambda b: b.start)


def _break(group: list[Candidate], origin: float) -> Break:
    # Where nobody speaks bounds the break when that is known: a scene change or applause
    # that starts under the last words must not move the end of the session before them.
    spans = ([c for c in group if c.kind == "pause"]
             or [c for c in group if c.end is not None or c.kind == "scene"] or group)
    start, end = min(c.time for c in spans), max(c.last for c in spans)
    best: dict[str, float] = {}
    for cand in group:
        best[cand.kind] = max(best.get(cand.kind, 0.0), cand.strength)
    visual = [t for c in group if c.kind in ("scene", "black")
              for t in (c.time, c.last)]
    if start <= origin + MERGE and end - origin <= MAX_CARD:
        visual.append(origin)  # the first picture: a title card, not a waiting screen
    clapped = max((c.last for c in group if c.kind == "applause"), default=-math.inf)
    # A title card comes after the applause and after the MC's last line in the break (a
    # picture change before them is the break's own: its card, the MC on camera).
    spoken = max((c.last for c in group if c.kind == "cue" and c.end is not None),
                 default=-math.inf)
    eligible = [t for t in visual if max(clapped - MERGE, spoken) <= t <= end - MIN_CARD]
    # Applause that starts within `CLAPS_WITHIN` of the session's last word is its own (up
    # to the MC's first line).
    first_line = min((c.time for c in group if c.kind == "cue" and c.end is not None),
                     default=math.inf)
    claps = [c.last for c in group if c.kind == "applause" and c.time <= start + CLAPS_WITHIN]
    return Break(start, end, max(eligible, default=end),
                 1.0 - math.prod(1.0 - s for s in best.values()),
                 {c.session for c in group if c.session}, sorted(best),
                 min(max(claps), first_line, end) if claps else None)
