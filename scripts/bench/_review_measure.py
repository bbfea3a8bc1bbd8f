"""review.py's measure: which hypothesis characters are wrong, which a signal flags, and
the share of each.

A talk's hypothesis is what the pipeline writes (its cues' texts joined), normalised as the
CER normalises it. Each of its characters belongs to one aligned word (the unit a signal
flags, with its time span) and one cue (the unit the review editor marks). The human
reference is aligned to it character by character (`pipeline.asr.cer.alignment`): a
substituted or inserted character is wrong, and a reference character the hypothesis lacks
makes the characters on either side of the gap wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.asr.cer import alignment, normalise


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    probability: float | None  # None: a whole segment the aligner gave no words
    segment: int  # index into Talk.segments


@dataclass
class Talk:
    """One decoded talk, ready to be flagged and scored."""

    talk_id: str
    hypothesis: str  # normalised
    words: list[Word]
    segments: list[dict[str, Any]]
    cues: list[tuple[float, float, str]]
    char_word: list[int]  # hypothesis character -> index into words
    char_cue: list[int]  # hypothesis character -> index into cues
    wrong: list[bool] = field(default_factory=list)  # per hypothesis character
    errors: int = 0  # edit distance to the reference
    reference_chars: int = 0


class Mismatch(Exception):
    """The words' or cues' texts do not add up to the hypothesis."""


def talk_from_row(row: dict[str, Any], reference: str) -> Talk:
    hypothesis = normalise(row["hypothesis"])
    # The aligner sometimes hands a segment's first word to the segment before it (a
    # window's words are shared out by time), leaving the last segment of the window with
    # none; so the words are checked against the whole text, and only when they do not
    # spell it is a segment without words counted as one unit.
    words = [Word(w[0], w[1], w[2], w[3], index) for index, segment in
             enumerate(row["segments"]) for w in segment["words"]]
    if "".join(normalise(w.text) for w in words) != hypothesis:
        words = [Word(w[0], w[1], w[2], w[3], index) if segment["words"] else
                 Word(segment["text"], segment["start"], segment["end"], None, index)
                 for index, segment in enumerate(row["segments"])
                 for w in (segment["words"] or [None])]
    char_word = [i for i, w in enumerate(words) for _ in normalise(w.text)]
    cues = [(float(c[0]), float(c[1]), str(c[2])) for c in row["cues"]]
    char_cue = [i for i, c in enumerate(cues) for _ in normalise(c[2])]
    if len(char_word) != len(hypothesis) or "".join(normalise(w.text) for w in words) \
            != hypothesis:
        raise Mismatch(f"{row['talk']}: the words do not spell the hypothesis")
    if len(char_cue) != len(hypothesis):
        raise Mismatch(f"{row['talk']}: the cues do not spell the hypothesis")
    talk = Talk(row["talk"], hypothesis, words, row["segments"], cues, char_word, char_cue)
    ref = normalise(reference)
    talk.reference_chars = len(ref)
    talk.wrong = wrong_characters(ref, hypothesis)
    talk.errors = sum(e.op != "=" for e in alignment(ref, hypothesis))
    return talk


def wrong_characters(reference: str, hypothesis: str) -> list[bool]:
    """Per hypothesis character: substituted or inserted, or next to a deletion."""
    wrong = [False] * len(hypothesis)
    after = 0  # the hypothesis position the next matched character would take
    for edit in alignment(reference, hypothesis):
        if edit.hyp is not None:
            if edit.op != "=":
                wrong[edit.hyp] = True
            after = edit.hyp + 1
        elif hypothesis:  # a deletion between hypothesis characters after-1 and after
            for side in (after - 1, after):
                if 0 <= side < len(hypothesis):
                    wrong[side] = True
    return wrong


def unmatched_words(talk: Talk, other_hypothesis: str) -> list[bool]:
    """Per word of `talk`: does a character of it (or a gap beside it) differ from the
    other decode's text? The other decode stands where the reference stood."""
    differs = wrong_characters(normalise(other_hypothesis), talk.hypothesis)
    flagged = [False] * len(talk.words)
    for position, bad in enumerate(differs):
        if bad:
            flagged[talk.char_word[position]] = True
    return flagged


# A signal: per word of a talk, is it flagged.
Signal = Callable[[Talk], list[bool]]


def word_probability(below: float) -> Signal:
    """Words below the probability `below` (a segment without words: never)."""
    return lambda talk: [w.probability is not None and w.probability < below
                         for w in talk.words]


def segment_logprob(below: float) -> Signal:
    return lambda talk: [talk.segments[w.segment]["avg_logprob"] < below for w in talk.words]


def disagreement(other: dict[str, str]) -> Signal:
    """Words the other decode (hypothesis by talk id) does not spell the same way; cached
    per talk, since the alignment is the slow part."""
    cache: dict[str, list[bool]] = {}

    def flag(talk: Talk) -> list[bool]:
        if talk.talk_id not in cache:
            cache[talk.talk_id] = unmatched_words(talk, other[talk.talk_id])
        return cache[talk.talk_id]
    return flag


def with_neighbours(signal: Signal) -> Signal:
    """A flagged word and the words either side of it in its segment."""
    def flag(talk: Talk) -> list[bool]:
        base = signal(talk)
        out = list(base)
        for i, hit in enumerate(base):
            if hit:
                for j in (i - 1, i + 1):
                    if 0 <= j < len(out) and talk.words[j].segment == talk.words[i].segment:
                        out[j] = True
        return out
    return flag


def either(first: Signal, second: Signal) -> Signal:
    return lambda talk: [a or b for a, b in zip(first(talk), second(talk), strict=True)]


def both(first: Signal, second: Signal) -> Signal:
    return lambda talk: [a and b for a, b in zip(first(talk), second(talk), strict=True)]


def spans(talk: Talk, flagged: Sequence[bool]) -> list[tuple[float, float]]:
    """The flagged words' time spans, runs of flagged words joined."""
    found: list[tuple[float, float]] = []
    previous = -2
    for i, hit in enumerate(flagged):
        if not hit:
            continue
        word = talk.words[i]
        if previous == i - 1 and found:
            found[-1] = (found[-1][0], max(found[-1][1], word.end))
        else:
            found.append((word.start, word.end))
        previous = i
    return found


@dataclass
class Tally:
    """Counts pooled over talks."""

    chars: int = 0
    wrong: int = 0
    flagged: int = 0
    found: int = 0  # wrong and flagged
    cue_flagged: int = 0  # characters in cues the review editor marks
    cue_found: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(*(a + b for a, b in zip(self.counts(), other.counts(), strict=True)))

    def counts(self) -> tuple[int, ...]:
        return (self.chars, self.wrong, self.flagged, self.found, self.cue_flagged,
                self.cue_found)

    @property
    def recall(self) -> float:
        return self.found / self.wrong if self.wrong else 0.0

    @property
    def cost(self) -> float:
        return self.flagged / self.chars if self.chars else 0.0

    @property
    def cue_recall(self) -> float:
        return self.cue_found / self.wrong if self.wrong else 0.0

    @property
    def cue_cost(self) -> float:
        return self.cue_flagged / self.chars if self.chars else 0.0


def tally(talk: Talk, flagged_words: Sequence[bool]) -> Tally:
    """Recall and cost of one talk's flags, by character and by the cues they mark."""
    from pipeline.results import Segment
    from pipeline.review.document import from_segments

    chars = [flagged_words[w] for w in talk.char_word]
    document = from_segments("bench", "ko", "base",
                             [Segment(start=s, end=e, text=t) for s, e, t in talk.cues],
                             spans(talk, flagged_words))
    # from_segments skips blank cues; those have no characters either.
    marked_cues = [c for c, (_s, _e, t) in enumerate(talk.cues) if t.strip()]
    cue_marks = [False] * len(talk.cues)
    for index, cue in zip(marked_cues, document.cues, strict=True):
        cue_marks[index] = cue.flagged
    cue_chars = [cue_marks[c] for c in talk.char_cue]
    return Tally(chars=len(chars), wrong=sum(talk.wrong), flagged=sum(chars),
                 found=sum(f and w for f, w in zip(chars, talk.wrong, strict=True)),
                 cue_flagged=sum(cue_chars),
                 cue_found=sum(f and w for f, w in zip(cue_chars, talk.wrong, strict=True)))


def pooled(talks: Sequence[Talk], signal: Signal) -> Tally:
    result = Tally()
    for talk in talks:
        result = result + tally(talk, signal(talk))
    return result
