"""Corrections after decoding: applied to text and words, logged, raw text kept."""

from __future__ import annotations

import logging

import pytest

from pipeline.asr.recognise import correct
from pipeline.results import Segment, Word
from pipeline.transcripts.formats import segments_from_json, to_json


def cue() -> Segment:
    words = (Word(start=0.0, end=0.5, word=" 한국", probability=0.9),
             Word(start=0.5, end=1.0, word=" 가스공사와", probability=0.8),
             Word(start=1.0, end=1.6, word=" 사회적까치", probability=0.4))
    return Segment(start=0.0, end=1.6, text="한국 가스공사와 사회적까치", words=words)


def test_corrections_change_text_and_words_and_keep_the_raw_text(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "pipeline.asr")
    fixed, changes = correct((cue(),), [("한국 가스공사", "한국가스공사"),
                                        ("사회적까치", "사회적가치")])
    assert fixed[0].text == "한국가스공사와 사회적가치"
    assert fixed[0].raw_text == "한국 가스공사와 사회적까치"
    assert [w.word for w in fixed[0].words] == [" 한국", " 가스공사와", " 사회적가치"]
    assert [(c["from"], c["to"], c["count"]) for c in changes] == [
        ("한국 가스공사", "한국가스공사", 1), ("사회적까치", "사회적가치", 1)]
    assert sum("corrected" in r.getMessage() for r in caplog.records) == 2


def test_untouched_cues_stay_as_they_are_and_json_keeps_raw_text() -> None:
    plain = Segment(start=2.0, end=3.0, text="성과 측정")
    fixed, changes = correct((plain, cue()), [("사회적까치", "사회적가치")])
    assert fixed[0] is plain and fixed[0].raw_text is None and len(changes) == 1
    from pipeline.results import SessionPlan

    session = SessionPlan(number=1, id="talk", title="발표", start=0, end=10)
    back = segments_from_json(to_json(session, "ko", "base", fixed))
    assert back == fixed
    assert '"raw_text"' not in to_json(session, "ko", "base", (plain,))


def test_no_corrections_is_a_no_op() -> None:
    segments = (cue(),)
    assert correct(segments, []) == (segments, [])
