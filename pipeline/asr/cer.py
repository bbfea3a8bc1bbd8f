"""Character error rate, the measure the transcription defaults are chosen by.

Korean word spacing is loose (사회적 가치 / 사회적가치) and Whisper's punctuation is
its own, so both texts are normalised first: Unicode NFC (decomposed Hangul from
some sources would otherwise never match), no punctuation or symbols, no
whitespace, Latin letters folded to lower case. CER is then the edit distance
between the two character sequences over the reference length.
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
