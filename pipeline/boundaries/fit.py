"""Where each session starts and ends, when staff know the programme but not the minutes.

Three sources, in order of trust: times in the config (`AgendaItem.start`/`end`, source
"config"), the recording's YouTube chapters (`match_chapters`, source "chapters"), and the
recording itself (`collect_candidates` then `choose`, source "detected").

Signals (`pipeline.boundaries.signals` gathers them; thresholds are documented there) become
`Candidate`s: silence, applause and black runs and an MC's line are spans (`end` set), scene
changes and a talk's closing words are points. `choose` works on *breaks*:

- Merging: spans and scene changes that touch or lie within `MERGE` (1 s) of each other form
  one break; point cues attach to the nearest break within `ATTACH` (5 s) and only add
  strength and a name (with no break near, they are dropped). A break's strength is
  1 - prod(1 - s) over the strongest candidate of each kind, so one applause plus one
  silence plus a black card beats ten scene changes.
- Edges: a break starts where its session's speech stops (the first pause in speech, where
  the speech map is known; else silence, applause or the MC's line) and the session ends
  with the applause that starts there (up to the MC's first line), or `END_PAD` (0.5 s)
  later: a last syllable's decay, never past the middle of the break. The
  next session starts at the title card: the last visual change (scene change, start or
  end of black; the recording's first frame counts when the break is no longer than a
  card, `MAX_CARD` 8 s, and not a waiting screen) that is at least `MIN_CARD` (1.5 s)
  before the break ends, after the applause and after the MC's last line in the break;
  with no such change, `START_PAD` (0.3 s) before the sound resumes (its first word). What
  lies between is a gap. With the speech map no break holds a word but the MC's.
- Review: each chosen boundary weaker than `REVIEW_BELOW` (0.6) is listed in `Fit.review`
  (the plan stage adds each detected session of lower confidence), for staff to check.
- Choice: the N-1 internal breaks of each stretch between given times, by dynamic
  programming over breaks in time order, maximising the sum of break strengths plus
  `NAME_BONUS` (0.5) when a cue names the session that follows (`NAME_MALUS`, 0.25, when it
  names another), minus `HINT_WEIGHT` * min(4, ((d - hint) / hint) ** 2) per session with a
  `duration_hint`. Without hints this picks the strongest breaks; a rough hint (+-20 % costs
  0.04) only decides between breaks of similar strength, which is what it is for. Sessions
  shorter than `min_session` (20 s) are not allowed. Only the `MAX_BREAKS` (400) strongest
  breaks take part, which keeps a 3-hour recording well under a second.
- Given times split the programme into stretches: a given start or end is kept exactly and is
  the edge of a stretch; the break touching that edge (applause after a session that ends
  there) decides where the neighbouring detected session starts or ends. An item with both
  times is kept as given (source "config", confidence 1).
- Too few breaks for a stretch: evenly spaced (or hint-proportional) boundaries with strength
  0 are added and a note says so; those sessions get confidence 0.
- Confidence of a detected session: the weaker of its two edges' strengths (a recording's
  start or end and a given time count 1), times 1 - 0.5 * the strongest break left inside it.

`match_chapters` aligns chapters with the agenda by order and title similarity (see there).
Overlapping or empty sessions raise ValueError with a one-line message.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from pipeline.boundaries.candidates import (
    MERGE,
    AgendaItem,
    Break,
    Candidate,
    SpeechRuns,
    breaks,
    normalise,
    similarity,
)
from pipeline.config.forum import format_time
from pipeline.results import Chapter

NAME_BONUS, NAME_MALUS, HINT_WEIGHT, MAX_BREAKS = 0.5, 0.25, 1.0, 400
END_PAD, START_PAD, REVIEW_BELOW = 0.5, 0.3, 0.6


@dataclass(frozen=True)
class Placement:
    id: str
    title: str
    start: float
    end: float
    source: str  # "config" | "chapters" | "detected"
    confidence: float


@dataclass(frozen=True)
class Fit:
    sessions: tuple[Placement, ...]
    gaps: tuple[tuple[float, float], ...]  # not in any session, the recording's ends included
    notes: tuple[str, ...]
    review: tuple[str, ...] = ()  # the boundaries the fit is unsure of, for staff to check

@dataclass
class _Run:
    items: list[AgendaItem]
    lo: float
    hi: float
    exact_start: bool
    exact_end: bool


def _runs(agenda: Sequence[AgendaItem], duration: float) -> list[_Run]:
    """The programme cut at every given time; raises ValueError on impossible times."""
    times = [t for item in agenda for t in (item.start, item.end) if t is not None]
    if any(b < a for a, b in itertools.pairwise(times)):
        raise ValueError("the given session times are not in programme order")
    for item in agenda:
        if item.start is not None and item.end is not None and item.end <= item.start:
            raise ValueError(f"session {item.id}: end is not after start")
    if times and (times[0] < 0 or times[-1] > duration + 0.5):
        raise ValueError(f"a given session time lies outside the recording "
                         f"(0-{format_time(duration)})")
    runs: list[_Run] = []
    current = _Run([], 0.0, duration, False, False)
    for item in agenda:
        if item.start is not None:
            if current.items:
                current.hi = item.start
                runs.append(current)
            current = _Run([], item.start, duration, True, False)
        current.items.append(item)
        if item.end is not None:
            current.hi, current.exact_end = item.end, True
            runs.append(current)
            current = _Run([], item.end, duration, False, False)
    if current.items:
        runs.append(current)
    return runs


def _penalty(item: AgendaItem, length: float) -> float:
    if item.duration_hint is None or item.duration_hint <= 0:
        return 0.0
    return HINT_WEIGHT * min(4.0, ((length - item.duration_hint) / item.duration_hint) ** 2)


def _name_score(found: set[str], item: AgendaItem) -> float:
    if not found:
        return 0.0
    return NAME_BONUS if item.id in found else -NAME_MALUS


def _opening(brk: Break) -> float:
    """Where the session after a break starts: its title card, or a breath before its
    first word (never before the middle of the break)."""
    if brk.resume < brk.end:
        return brk.resume
    return max(brk.resume - START_PAD, (brk.start + brk.end) / 2)


def _closing(brk: Break) -> float:
    """Where the session before a break ends: with its applause, or a breath after its
    last word (never past the middle of the break: a short pause is shared with the next
    session)."""
    breath = min(brk.start + END_PAD, (brk.start + brk.end) / 2)
    return breath if brk.applause_end is None else max(breath, brk.applause_end)


def _solve(run: _Run, all_breaks: list[Break], min_session: float,
           notes: list[str], review: list[str]) -> list[Placement]:
    lo, hi, items = run.lo, run.hi, run.items
    lead = next((b for b in all_breaks if b.start <= lo + MERGE and b.end >= lo - MERGE),
                Break(lo, lo, lo, 1.0))
    trail = next((b for b in reversed(all_breaks)
                  if b.end >= hi - MERGE and b.start <= hi + MERGE and b is not lead),
                 Break(hi, hi, hi, 1.0))
    first = lo if run.exact_start else max(lo, _opening(lead))
    last = hi if run.exact_end else min(hi, _closing(trail))
    inner = [b for b in all_breaks if b is not lead and b is not trail
             and first + min_session <= b.start and b.resume <= last - min_session]
    inner = sorted(sorted(inner, key=lambda b: -b.strength)[:MAX_BREAKS], key=lambda b: b.start)
    n = len(items)
    if len(inner) < n - 1:
        notes.append(f"only {len(inner)} boundary signs between {format_time(first)} and "
                     f"{format_time(last)} for {n} sessions: split by duration; check it")
        inner = sorted(inner + _filler(items, first, last), key=lambda b: b.start)
    # The ends of a stretch are the recording's ends or given times: strength 1.
    nodes = [Break(first, first, first, 1.0, lead.names), *inner, Break(last, last, last, 1.0)]
    chosen = _best_path(items, nodes, min_session)
    if chosen is None:
        raise ValueError(f"{n} sessions of at least {min_session:.0f} s do not fit between "
                         f"{format_time(first)} and {format_time(last)}")
    planned = []
    for i, item in enumerate(items):
        a, b = nodes[chosen[i]], nodes[chosen[i + 1]]
        start = a.resume if a is nodes[0] else _opening(a)
        end = b.start if b is nodes[-1] else _closing(b)
        inside = max((x.strength for x in inner if start < x.start and x.resume < end),
                     default=0.0)
        source = "config" if item.start is not None and item.end is not None else "detected"
        confidence = 1.0 if source == "config" else min(a.strength, b.strength) * (
            1 - 0.5 * inside)
        planned.append(Placement(item.id, item.title, start, end, source, round(confidence, 3)))
        if i > 0:
            notes.append(f"{items[i - 1].id} | {item.id}: {format_time(a.start)}-"
                         f"{format_time(a.resume)} ({'+'.join(a.kinds) or 'no sign'}, "
                         f"strength {a.strength:.2f})")
            if a.strength < REVIEW_BELOW:
                review.append(f"{items[i - 1].id} | {item.id} at {format_time(a.start)}: "
                              f"only {'+'.join(a.kinds) or 'the duration'} (strength "
                              f"{a.strength:.2f}); check where {item.id} starts")
    return planned


def _best_path(items: list[AgendaItem], nodes: list[Break], min_session: float
               ) -> list[int] | None:
    """Node indices where the sessions start and end (first and last node fixed), by
    dynamic programming over [previous boundary, boundary] matrices; None if none fits."""
    import numpy as np

    n, last = len(items), len(nodes) - 1
    starts = np.array([b.start for b in nodes])
    resumes = np.array([b.resume for b in nodes])
    length = starts[None, :] - resumes[:, None]  # [j, k]: a session from node j to node k
    order = np.arange(len(nodes))
    allowed = (length >= min_session) & (order[:, None] < order[None, :])
    best = np.full(len(nodes), -np.inf)
    best[0] = 0.0
    back = np.zeros((n, len(nodes)), dtype=int)
    for i, item in enumerate(items):
        gain = np.array([b.strength + _name_score(b.names, items[i + 1]) if i + 1 < n else 0.0
                         for b in nodes])
        total = best[:, None] + gain[None, :]
        hint = item.duration_hint
        if hint is not None and hint > 0:
            total -= HINT_WEIGHT * np.minimum(4.0, ((length - hint) / hint) ** 2)
        total[~allowed] = -np.inf
        if i < n - 1:
            total[:, last] = -np.inf  # only the last session ends at the last node
        else:
            total[:, :last] = -np.inf
        back[i], best = total.argmax(axis=0), total.max(axis=0)
    if not np.isfinite(best[last]):
        return None
    path = [last]
    for i in range(n - 1, -1, -1):
        path.append(int(back[i][path[-1]]))
    return path[::-1]


def _filler(items: list[AgendaItem], first: float, last: float) -> list[Break]:
    hints = [item.duration_hint or 1.0 for item in items]
    scale, at, out = (last - first) / sum(hints), first, []
    for hint in hints[:-1]:
        at += hint * scale
        out.append(Break(at, at, at, 0.0, kinds=["filler"]))
    return out


def choose(agenda: Sequence[AgendaItem], candidates: Sequence[Candidate], duration: float,
           *, min_session: float = 20.0, speech: SpeechRuns | None = None) -> Fit:
    """The plan that best fits the agenda's order, its given times and duration hints.
    With the recording's `speech`, no break spans a word (see `breaks`)."""
    if not agenda:
        raise ValueError("the agenda has no sessions")
    all_breaks, notes, review = breaks(candidates, speech=speech), list[str](), list[str]()
    known = {item.id for item in agenda}
    for brk in all_breaks:
        brk.names &= known  # a cue may name a session of another agenda
    sessions: list[Placement] = []
    for run in _runs(agenda, duration):
        sessions += _solve(run, all_breaks, min_session, notes, review)
    return replace(_fit(sessions, duration, notes), review=tuple(review))


def _fit(sessions: list[Placement], duration: float, notes: list[str]) -> Fit:
    gaps, at = [], 0.0
    for planned in sessions:
        if planned.end - planned.start <= 0:
            raise ValueError(f"session {planned.id} would be empty "
                             f"({format_time(planned.start)}-{format_time(planned.end)})")
        if planned.start < at - 1e-6:
            raise ValueError(f"session {planned.id} starts at {format_time(planned.start)}, "
                             f"before the previous session ends ({format_time(at)})")
        if planned.start - at > 0.05:
            gaps.append((at, planned.start))
        at = planned.end
    if duration - at > 0.05:
        gaps.append((at, duration))
    return Fit(tuple(sessions), tuple(gaps), tuple(notes))


def match_chapters(agenda: Sequence[AgendaItem], chapters: Sequence[Chapter]
                   ) -> tuple[Fit, list[str]]:
    """Chapters matched to agenda items, in order, by title (and speaker) similarity.

    A pair is worth `sim + 0.25 * position - 0.45`, where `position` is 1 when both sit at
    the same relative place in their lists and 0 at opposite ends; only pairs worth more
    than 0 may match (a 0.5-similar title in the right place does; a generic "Part 2" does
    not), and the order-keeping alignment with the largest total wins. Items with times in
    the config keep them. Unmatched items are left out of the plan; the report names them.
    """
    n, m = len(agenda), len(chapters)

    def value(i: int, j: int) -> tuple[float, float]:
        item, chapter = agenda[i], chapters[j]
        sim = max([similarity(item.title, chapter.title), similarity(chapter.title, item.title),
                   *(0.9 for s in item.speakers if len(normalise(s)) >= 2
                     and normalise(s) in normalise(chapter.title))])
        place = 1 - abs(i / max(n - 1, 1) - j / max(m - 1, 1))
        return sim + 0.25 * place - 0.45, sim

    table = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            worth = value(i, j)[0]
            table[i][j] = max(table[i + 1][j], table[i][j + 1],
                              table[i + 1][j + 1] + worth if worth > 0 else -math.inf)
    pairs: dict[int, tuple[int, float]] = {}
    i = j = 0
    while i < n and j < m:
        worth, sim = value(i, j)
        if worth > 0 and table[i][j] == table[i + 1][j + 1] + worth:
            pairs[i], i, j = (j, sim), i + 1, j + 1
        elif table[i][j] == table[i + 1][j]:
            i += 1
        else:
            j += 1
    report, sessions = [], []
    used = {j for j, _ in pairs.values()}
    for i, item in enumerate(agenda):
        if i not in pairs:
            report.append(f"session {item.id} '{item.title}': no chapter")
            if item.start is not None and item.end is not None:
                sessions.append(Placement(item.id, item.title, item.start, item.end, "config", 1.0))
            continue
        j, sim = pairs[i]
        chapter = chapters[j]
        report.append(f"chapter {j + 1} '{chapter.title}' ({format_time(chapter.start)}) -> "
                      f"session {item.id} '{item.title}' (similarity {sim:.2f})")
        if item.start is not None and item.end is not None:
            sessions.append(Placement(item.id, item.title, item.start, item.end, "config", 1.0))
        else:
            sessions.append(Placement(item.id, item.title, chapter.start, chapter.end,
                                    "chapters", round(min(1.0, sim), 3)))
    report += [f"chapter {j + 1} '{c.title}' ({format_time(c.start)}-{format_time(c.end)}): "
               "no session" for j, c in enumerate(chapters) if j not in used]
    end = max([c.end for c in chapters] + [s.end for s in sessions], default=0.0)
    return _fit(sessions, end, report), report

