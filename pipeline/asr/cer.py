"""Character error rate, the measure the transcription defaults are chosen by.

Korean word spacing is loose (사회적 가치 / 사회적가치) and Whisper's punctuation is
its own, so both texts are normalised first: Unicode NFC (decomposed Hangul from
some sources would otherwise never match), no punctuation or symbols, no
whitespace, Latin letters folded to lower case. CER is then the edit distance
between the two character sequences over the reference length.

`alignment` gives the edits themselves (a Levenshtein backtrace), so a benchmark can say
which hypothesis characters are wrong (scripts/bench/review.py).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).casefold()
    # Categories P* (punctuation), S* (symbols), Z* and C* (spaces, controls) go.
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PSZC")


def edit_distance(reference: str, hypothesis: str) -> int:
    """Levenshtein distance (substitutions, insertions, deletions each cost 1)."""
    if len(reference) < len(hypothesis):
        reference, hypothesis = hypothesis, reference
    previous = list(range(len(hypothesis) + 1))
    for i, ref_char in enumerate(reference, start=1):
        current = [i]
        for j, hyp_char in enumerate(hypothesis, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ref_char != hyp_char)))
        previous = current
    return previous[-1]


@dataclass(frozen=True)
class Edit:
    """One step of an alignment: "=" (same character), "sub", "ins" (a hypothesis character
    the reference lacks) or "del" (a reference character the hypothesis lacks), with the
    positions it covers; `ref` is None for "ins", `hyp` None for "del"."""

    op: str
    ref: int | None
    hyp: int | None


def alignment(reference: str, hypothesis: str) -> list[Edit]:
    """A cheapest alignment of two (already normalised) texts, in order; its edits other
    than "=" number exactly `edit_distance(reference, hypothesis)`. Of equally cheap
    paths, the backtrace prefers a match or substitution, then a deletion, then an
    insertion."""
    rows, cols = len(reference), len(hypothesis)
    cost = [list(range(cols + 1))]
    for i in range(1, rows + 1):
        previous, current = cost[-1], [i]
        ref_char = reference[i - 1]
        for j in range(1, cols + 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ref_char != hypothesis[j - 1])))
        cost.append(current)
    edits: list[Edit] = []
    i, j = rows, cols
    while i or j:
        if i and j and cost[i][j] == cost[i - 1][j - 1] + (reference[i - 1] != hypothesis[j - 1]):
            i, j = i - 1, j - 1
            edits.append(Edit("=" if reference[i] == hypothesis[j] else "sub", i, j))
        elif i and cost[i][j] == cost[i - 1][j] + 1:
            i -= 1
            edits.append(Edit("del", i, None))
        else:
            j -= 1
            edits.append(Edit("ins", None, j))
    edits.reverse()
    return edits


@dataclass(frozen=True)
class Score:
    errors: int
    reference_chars: int

    @property
    def cer(self) -> float:
        return self.errors / self.reference_chars if self.reference_chars else 0.0

    def __add__(self, other: Score) -> Score:
        return Score(self.errors + other.errors, self.reference_chars + other.reference_chars)


def score(reference: str, hypothesis: str) -> Score:
    ref, hyp = normalise(reference), normalise(hypothesis)
    return Score(edit_distance(ref, hyp), len(ref))


def cer(reference: str, hypothesis: str) -> float:
    return score(reference, hypothesis).cer


def total(scores: Iterable[Score]) -> Score:
    """Pooled over texts: total errors over total reference characters."""
    result = Score(0, 0)
    for item in scores:
        result = result + item
    return result
