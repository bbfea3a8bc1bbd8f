"""The editing operations (pipeline.review.edits): versions and conflicts, times checked
against the clip and the neighbours, split and merge, and words timed again on real
Korean speech by the transcribe stage's aligner."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.results import Segment, Word
from pipeline.review.document import ReviewConflict, ReviewDocument, from_segments
from pipeline.review.edits import (
    BadEdit,
    UnknownCue,
    clean_text,
    edit_cue,
    mark_reviewed,
    merge_next,
    split_cue,
    with_aligned_words,
)

TEXTS = [(0.0, 2.0, "안녕하십니까 포럼을 시작하겠습니다"),
         (2.5, 4.0, "한국 가스공사의 사례입니다"),
         (5.0, 8.0, "음악 소리")]


def words(text: str, start: float, end: float) -> tuple[Word, ...]:
    tokens = text.split()
    step = (end - start) / len(tokens)
    return tuple(Word(start=start + i * step, end=start + (i + 1) * step, word=f" {t}",
                      probability=0.8) for i, t in enumerate(tokens))


@pytest.fixture
def doc() -> ReviewDocument:
    segments = [Segment(start=s, end=e, text=t, words=words(t, s, e)) for s, e, t in TEXTS]
    return from_segments("01-opening", "ko", "base", segments, low_confidence=[(5.5, 6.0)])


def spelled(cue_words: tuple[Word, ...]) -> str:
    return " ".join("".join(w.word for w in cue_words).split())


def test_an_edit_bumps_the_version_marks_reviewed_and_records_before_and_after(
        doc: ReviewDocument) -> None:
    edited = edit_cue(doc, "c0002", 0, text=" 한국가스공사의\n사례입니다 ", start=2.6)
    cue = edited.document.cues[1]
    assert (cue.text, cue.start, cue.end, cue.version, cue.reviewed) == (
        "한국가스공사의 사례입니다", 2.6, 4.0, 1, True)
    assert cue.asr_text == "한국 가스공사의 사례입니다"
    assert edited.document.segments()[1].raw_text == "한국 가스공사의 사례입니다"
    (entry,) = edited.history
    assert entry.action == "edit" and entry.cues == ("c0002",)
    assert entry.before[0].text == "한국 가스공사의 사례입니다" and entry.after[0] == cue
    # The other cues are untouched; the words follow the new text, to be aligned again.
    assert edited.document.cues[0] == doc.cues[0] and edited.document.cues[2] == doc.cues[2]
    assert cue.words_provisional and spelled(cue.words) == cue.text
    assert cue.words[0].start == 2.6 and cue.words[-1].end == 4.0
    assert edited.to_align == (cue,)


def test_an_edit_made_on_an_old_version_is_a_conflict(doc: ReviewDocument) -> None:
    first = edit_cue(doc, "c0002", 0, text="첫 번째 탭").document
    with pytest.raises(ReviewConflict, match="version 1, not 0"):
        edit_cue(first, "c0002", 0, text="두 번째 탭")
    with pytest.raises(ReviewConflict):
        mark_reviewed(first, "c0002", 0)
    with pytest.raises(UnknownCue):
        edit_cue(first, "c0099", 0, text="없는 자막")


@pytest.mark.parametrize(("start", "end", "problem"), [
    (3.0, 3.0, "뒤여야"),  # not after the start
    (1.5, None, "앞 자막"),  # over the previous cue's end (2.0)
    (None, 5.5, "다음 자막"),  # over the next cue's start (5.0)
    (None, None, None),
])
def test_times_are_checked_against_the_neighbours(doc: ReviewDocument, start: float | None,
                                                 end: float | None, problem: str | None
                                                 ) -> None:
    if problem is None:  # touching both neighbours is fine
        cue = edit_cue(doc, "c0002", 0, start=2.0, end=5.0).document.cues[1]
        assert (cue.start, cue.end) == (2.0, 5.0)
        return
    with pytest.raises(BadEdit, match=problem):
        edit_cue(doc, "c0002", 0, start=start, end=end)


def test_an_end_past_the_clip_or_a_start_before_zero_is_refused(doc: ReviewDocument) -> None:
    with pytest.raises(BadEdit, match="영상의 길이"):
        edit_cue(doc, "c0003", 0, end=9.0, duration=8.5)
    assert edit_cue(doc, "c0003", 0, end=8.5, duration=8.5).document.cues[2].end == 8.5
    with pytest.raises(BadEdit):
        edit_cue(doc, "c0001", 0, start=-1.0)


def test_text_is_cleaned_and_bounded() -> None:
    decomposed = "\u1100\u1161\u11a8"  # 각, as a macOS keyboard may send it
    assert clean_text(f" {decomposed}\u0000 \u200b 사례\r\n입니다\u2028") == "각 사례 입니다"
    with pytest.raises(BadEdit):
        clean_text("가" * 2001)


def test_marking_reviewed_changes_nothing_else(doc: ReviewDocument) -> None:
    edited = mark_reviewed(doc, "c0003", 0)
    cue = edited.document.cues[2]
    assert cue.reviewed and cue.version == 1 and cue.flagged
    assert cue.model_copy(update={"reviewed": False, "version": 0}) == doc.cues[2]
    assert edited.history[0].action == "review" and not edited.to_align
    assert edited.document.progress == (1, 3)


def test_a_split_at_a_word_boundary_keeps_whisper_timings(doc: ReviewDocument) -> None:
    text = doc.cues[0].text
    edited = split_cue(doc, "c0001", 0, text.index("포럼"))
    head, tail = edited.document.cues[:2]
    assert (head.id, head.text, tail.id, tail.text) == (
        "c0001", "안녕하십니까", "c0004", "포럼을 시작하겠습니다")
    boundary = (doc.cues[0].words[0].end + doc.cues[0].words[1].start) / 2
    assert head.end == tail.start == pytest.approx(boundary, abs=0.001)
    assert head.words == doc.cues[0].words[:1] and tail.words == doc.cues[0].words[1:]
    assert not head.words_provisional and not tail.words_provisional
    assert head.reviewed and tail.reviewed and (head.asr_text, tail.asr_text) == (
        "안녕하십니까", "포럼을 시작하겠습니다")
    assert [c.id for c in edited.document.cues] == ["c0001", "c0004", "c0002", "c0003"]
    assert edited.history[0].action == "split" and edited.history[0].cues == ("c0001", "c0004")


def test_a_split_inside_a_word_of_edited_text_goes_by_the_letters(doc: ReviewDocument) -> None:
    edited = split_cue(doc, "c0002", 0, 4, text="한국가스공사의 사례입니다")
    head, tail = edited.document.cues[1:3]
    assert (head.text, tail.text) == ("한국가스", "공사의 사례입니다")
    # 4 of the 12 letters: a third of 2.5..4.0
    assert head.end == tail.start == pytest.approx(2.5 + 1.5 * 4 / 12, abs=0.001)
    assert head.words_provisional and tail.words_provisional
    assert spelled(head.words) == head.text and spelled(tail.words) == tail.text
    assert {cue.id for cue in edited.to_align} == {"c0002", "c0004"}
    with pytest.raises(BadEdit, match="앞과 뒤"):
        split_cue(doc, "c0002", 0, 0)


def test_merge_checks_both_versions_and_keeps_both_words(doc: ReviewDocument) -> None:
    bumped = mark_reviewed(doc, "c0003", 0).document
    with pytest.raises(ReviewConflict):
        merge_next(bumped, "c0002", 0, 0)  # the next cue was saved meanwhile
    edited = merge_next(bumped, "c0002", 0, 1)
    (merged,) = edited.changed
    assert [c.id for c in edited.document.cues] == ["c0001", "c0002"]
    assert (merged.text, merged.start, merged.end) == (
        "한국 가스공사의 사례입니다 음악 소리", 2.5, 8.0)
    assert merged.words == (*doc.cues[1].words, *doc.cues[2].words)
    assert merged.flagged and merged.reviewed and not merged.words_provisional
    assert edited.removed == ("c0003",) and edited.history[0].before[1] == bumped.cues[2]
    # The survivor's version is above every version the document had: a later cue that
    # gets the number of the merged cue back cannot be taken for it by a stale tab.
    assert merged.version == 2
    again = split_cue(edited.document, "c0002", 2, 3)
    assert again.changed[1].id == "c0003" and again.changed[1].version == 3
    with pytest.raises(BadEdit, match="마지막"):
        merge_next(edited.document, "c0002", 2, 0)


def test_aligned_words_are_taken_only_for_the_cue_as_it_was(doc: ReviewDocument) -> None:
    edited = edit_cue(doc, "c0002", 0, text="한국가스공사의 사례입니다")
    cue = edited.changed[0]
    timed = (Word(start=2.6, end=3.4, word=" 한국가스공사의", probability=0.7),
             Word(start=3.4, end=3.9, word=" 사례입니다", probability=0.9))
    later = edit_cue(edited.document, "c0002", 1, text="다른 말").document
    assert with_aligned_words(later, cue, timed) is None
    stored = with_aligned_words(edited.document, cue, timed)
    assert stored is not None
    assert stored.cues[1].words == timed and not stored.cues[1].words_provisional
    assert stored.cues[1].version == cue.version  # words are no edit: a tab stays current


@pytest.mark.slow
def test_an_edited_cue_is_aligned_again_on_real_speech(tmp_path: Path) -> None:
    """A wrong line over real Korean speech, corrected: the corrected words are timed by
    the aligner on the clip's sound, inside the speech and in order."""
    from pipeline.asr.decoding import WhisperSettings
    from pipeline.demo import DEMO_SESSIONS, find_speech_dir
    from pipeline.demo.corpus import talk_fragments
    from pipeline.settings import Settings
    from pipeline.web.review_align import align_cue, whisper_aligner
    from tests.recordings import duration, speech_counter_video

    settings = Settings.from_environ()
    talk = find_speech_dir(settings.speech_dir) / DEMO_SESSIONS[0].talk_dir
    fragment = talk_fragments(talk)[0]
    clip = speech_counter_video(tmp_path / "speech.mp4", [fragment.path], 8.0)
    spoken = duration(fragment.path)
    wrong = from_segments("01-x", "ko", "base", [Segment(start=0.0, end=spoken,
                                                          text="전혀 다른 말입니다")])
    edited = edit_cue(wrong, "c0001", 0, text=fragment.text)
    assert edited.to_align
    aligner = whisper_aligner(WhisperSettings(model_dir=settings.model_dir, cpu_threads=2),
                              "ko")
    timed = align_cue(aligner, clip, edited.changed[0])
    assert timed is not None
    assert spelled(timed) == fragment.text
    assert all(0.0 <= w.start <= w.end <= spoken + 0.5 for w in timed), timed
    assert [w.start for w in timed] == sorted(w.start for w in timed)
    stored = with_aligned_words(edited.document, edited.changed[0], timed)
    assert stored is not None and not stored.cues[0].words_provisional
