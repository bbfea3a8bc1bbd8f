"""The CER scorer against cases computed by hand."""

from __future__ import annotations

import unicodedata

import pytest

from pipeline.asr.cer import (
    Edit,
    Score,
    alignment,
    cer,
    edit_distance,
    normalise,
    score,
    total,
)


def test_normalise_drops_spaces_punctuation_and_folds() -> None:
    assert normalise("사회적 가치, 그리고 SORT!") == "사회적가치그리고sort"
    decomposed = unicodedata.normalize("NFD", "가치")
    assert len(decomposed) == 4 and normalise(decomposed) == "가치"
    assert normalise("“성과” — 측정… (2021)") == "성과측정2021"


@pytest.mark.parametrize(("reference", "hypothesis", "distance"), [
    ("", "", 0),
    ("가치", "", 2),            # two deletions
    ("", "가치", 2),            # two insertions
    ("사회적가치", "사회적가치", 0),
    ("사회적가치", "사회적까치", 1),  # one substitution
    ("사회적가치", "사회가치", 1),    # one deletion
    ("kitten", "sitting", 3),    # the textbook case: k->s, e->i, +g
    ("협업", "업협", 2),          # a swap is two edits, not one
])
def test_edit_distance_by_hand(reference: str, hypothesis: str, distance: int) -> None:
    assert edit_distance(reference, hypothesis) == distance
    assert edit_distance(hypothesis, reference) == distance


def test_cer_by_hand() -> None:
    # Reference "사회적 가치를 측정합니다." normalises to 11 characters: 사회적가치를측정합니다.
    # Hypothesis "사회적 까치를 측정 합니다" differs in one (가 -> 까): 1/11.
    assert score("사회적 가치를 측정합니다.", "사회적 까치를 측정 합니다") == Score(1, 11)
    assert cer("사회적 가치를 측정합니다.", "사회적 까치를 측정 합니다") == pytest.approx(1 / 11)
    # Spacing and punctuation alone cost nothing.
    assert cer("공공기관 혁신과 사회적 가치", "공공기관혁신과, 사회적가치.") == 0.0
    # Everything missing is 100 %; insertions can push CER past 100 %.
    assert cer("가치", "") == 1.0 and cer("가치", "가치 가치 가치") == 2.0


def test_pooled_total_weights_by_reference_length() -> None:
    pooled = total([Score(1, 10), Score(3, 30), Score(0, 60)])
    assert pooled == Score(4, 100) and pooled.cer == pytest.approx(0.04)
    assert total([]).cer == 0.0


def test_alignment_names_each_edit_by_hand() -> None:
    assert alignment("사회적가치", "사회적까치") == [
        Edit("=", 0, 0), Edit("=", 1, 1), Edit("=", 2, 2), Edit("sub", 3, 3), Edit("=", 4, 4)]
    assert alignment("사회적가치", "사회가치") == [
        Edit("=", 0, 0), Edit("=", 1, 1), Edit("del", 2, None), Edit("=", 3, 2),
        Edit("=", 4, 3)]
    assert alignment("가치", "가나치") == [Edit("=", 0, 0), Edit("ins", None, 1),
                                         Edit("=", 1, 2)]
    assert alignment("", "가") == [Edit("ins", None, 0)]
    assert alignment("가", "") == [Edit("del", 0, None)]


@pytest.mark.parametrize(("reference", "hypothesis"), [
    ("kitten", "sitting"), ("협업", "업협"), ("사회적가치를측정합니다", "사회 까치 측정 했습니다"),
    ("", ""), ("abcabc", "cbacba"),
])
def test_alignment_costs_the_edit_distance_and_covers_both_texts(
        reference: str, hypothesis: str) -> None:
    edits = alignment(reference, hypothesis)
    assert sum(e.op != "=" for e in edits) == edit_distance(reference, hypothesis)
    assert [e.ref for e in edits if e.ref is not None] == list(range(len(reference)))
    assert [e.hyp for e in edits if e.hyp is not None] == list(range(len(hypothesis)))
    assert all((reference[e.ref] == hypothesis[e.hyp]) == (e.op == "=")
               for e in edits if e.ref is not None and e.hyp is not None)
