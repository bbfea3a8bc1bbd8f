"""The cue rules (pipeline/transcripts/cues.py): every cue lasts long enough to read, none
repeats the one before it, none overlaps another, and no speech is lost; the files
written from the cues pass the W3C's WebVTT parser and the strict `srt` parser."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pipeline.results import Segment, SessionPlan, TranscriptFiles, Word
from pipeline.transcripts.cues import (
    MIN_CUE_SECONDS,
    READING_CPS,
    REPEAT_GAP_SECONDS,
    normal_text,
    timed_cues,
)
from pipeline.transcripts.formats import to_srt, to_text, to_vtt
from pipeline.transcripts.registry import FORMATS, format_paths, rewrite_from_source
from tests.browser_checks import vtt_errors
from tests.transcripts.captions import Cue, broken_rules, srt_cues, vtt_cues

# In the demo forum: real speech Whisper gave no length at all.
ZERO = "부동산 개발하시는 분하고 같이 닦았는데"


def cue(start: float, end: float, text: str) -> Segment:
    return Segment(start=start, end=end, text=f" {text}")


def shown(cues: tuple[Segment, ...]) -> list[tuple[float, float, str]]:
    return [(c.start, c.end, normal_text(c.text)) for c in cues]


def as_cues(cues: tuple[Segment, ...]) -> list[Cue]:
    return [Cue(c.start, c.end, c.text) for c in cues]


def test_a_zero_length_cue_takes_the_silence_after_it() -> None:
    segments = [cue(20.0, 25.0, "앞 문장입니다"), cue(26.98, 26.98, ZERO),
                cue(29.0, 33.0, "다음 문장입니다")]
    timed = timed_cues(segments)
    # 21 characters at READING_CPS: 1.5 s, all of it after the cue (2.02 s of silence).
    assert shown(timed) == [(20.0, 25.0, "앞 문장입니다"), (26.98, 28.48, ZERO),
                            (29.0, 33.0, "다음 문장입니다")]
    assert len(ZERO) / READING_CPS == pytest.approx(1.5)


def test_a_short_cue_takes_the_silence_before_it_when_the_next_follows_at_once() -> None:
    timed = timed_cues([cue(1.0, 3.0, "하나"), cue(5.0, 5.1, "둘"), cue(5.1, 8.0, "셋")])
    assert shown(timed) == [(1.0, 3.0, "하나"), (4.4, 5.1, "둘"), (5.1, 8.0, "셋")]


def test_a_zero_length_cue_without_silence_is_merged_with_the_next() -> None:
    segments = [cue(20.0, 26.98, "앞 문장입니다"), cue(26.98, 26.98, ZERO),
                cue(26.98, 33.0, "다음 문장입니다")]
    assert shown(timed_cues(segments)) == [
        (20.0, 26.98, "앞 문장입니다"), (26.98, 33.0, f"{ZERO} 다음 문장입니다")]


def test_the_last_cue_without_silence_is_merged_with_the_one_before() -> None:
    segments = [cue(0.0, 4.0, "마지막 문장"), cue(4.0, 4.2, "네")]
    assert shown(timed_cues(segments, until=4.2)) == [(0.0, 4.2, "마지막 문장 네")]
    # Where the clip goes on, it takes the silence after it instead.
    assert shown(timed_cues(segments, until=10.0)) == [
        (0.0, 4.0, "마지막 문장"), (4.0, 4.7, "네")]


def test_merged_short_cues_are_merged_until_long_enough() -> None:
    segments = [cue(3.0, 3.0, "하나"), cue(3.0, 3.1, "둘"), cue(3.1, 3.2, "셋"),
                cue(3.2, 6.0, "넷")]
    assert shown(timed_cues(segments)) == [(2.3, 3.0, "하나"), (3.0, 6.0, "둘 셋 넷")]


def test_six_zero_length_repeats_collapse_into_one_cue() -> None:
    words = (Word(start=41.0, end=41.0, word=" 감사합니다", probability=0.4),)
    loop = [Segment(start=41.0, end=41.0, text=" 감사합니다 여러분", words=words)
            for _ in range(6)]
    segments = [cue(30.0, 40.5, "발표를 마치겠습니다"), *loop, cue(43.0, 48.0, "박수")]
    timed = timed_cues(segments, until=50.0)
    assert shown(timed) == [(30.0, 40.5, "발표를 마치겠습니다"),
                            (41.0, 41.7, "감사합니다 여러분"), (43.0, 48.0, "박수")]
    assert len(timed[1].words) == 6  # the loop's words are all kept, shown once
    assert to_text(segments) == "발표를 마치겠습니다\n감사합니다 여러분\n박수\n"


def test_repeats_merge_across_a_short_pause_but_not_a_long_one() -> None:
    near = timed_cues([cue(0.0, 2.0, "네 맞습니다"), cue(3.0, 5.0, " 네  맞습니다 ")])
    assert shown(near) == [(0.0, 5.0, "네 맞습니다")]
    far = timed_cues([cue(0.0, 2.0, "감사합니다"),
                      cue(2.0 + REPEAT_GAP_SECONDS + 60.0, 70.0, "감사합니다")])
    assert len(far) == 2  # said again a minute later: not a loop


def test_a_fast_cue_is_lengthened_for_reading_but_never_merged_for_it() -> None:
    text = "가" * 42  # 3 s at READING_CPS
    alone = timed_cues([cue(0.0, 1.0, text), cue(10.0, 12.0, "다음")])
    assert shown(alone)[0] == (0.0, 3.0, text)
    crowded = timed_cues([cue(0.0, 1.0, text), cue(1.0, 2.0, text + "나")])
    assert len(crowded) == 2 and shown(crowded)[0][:2] == (0.0, 1.0)


def test_times_stay_within_the_clip_and_in_order() -> None:
    segments = [cue(-0.5, 0.2, "처음"), cue(3.0, 6.0, "중간"), cue(5.0, 9.0, "겹침"),
                cue(9.5, 12.0, "끝을 넘는 말")]
    timed = timed_cues(segments, until=10.0)
    assert shown(timed) == [(0.0, 0.7, "처음"), (3.0, 5.0, "중간"), (5.0, 9.0, "겹침"),
                            (9.3, 10.0, "끝을 넘는 말")]
    assert broken_rules(as_cues(timed), until=10.0) == []


def test_blank_cues_are_dropped() -> None:
    assert shown(timed_cues([cue(0.0, 1.0, "말"), cue(1.0, 2.0, "  ")])) == [
        (0.0, 1.0, "말")]


def random_segments(seed: int) -> list[Segment]:
    """Whisper at its worst: zero-length, overlapping, out-of-order and repeated cues."""
    rng = random.Random(seed)
    segments, time = [], rng.uniform(0, 2)
    for _ in range(rng.randint(1, 40)):
        time += rng.choice([0.0, 0.0, 0.05, 0.3, 1.0, 4.0]) - rng.choice([0.0, 0.0, 0.5])
        length = rng.choice([0.0, 0.0, 0.1, 0.4, 0.69, 1.5, 6.0])
        text = rng.choice(["네", "감사합니다", "사회적 가치", ZERO, "가" * 40])
        segments.append(cue(time, time + length, text))
        time += length
    return segments


def every_word_shown(segments: list[Segment], timed: tuple[Segment, ...]) -> bool:
    """Every segment's text is shown, and nothing but their words, in their order (a
    repeat, of one cue or of a run of them, is shown once)."""
    shown_text = " ".join(normal_text(c.text) for c in timed)
    said = iter(w for s in segments for w in normal_text(s.text).split())
    in_order = all(any(w == s for s in said) for w in shown_text.split())
    return in_order and all(normal_text(s.text) in shown_text for s in segments)


@pytest.mark.parametrize("seed", range(200))
def test_the_rules_hold_on_any_segments(seed: int) -> None:
    segments = random_segments(seed)
    until = max(s.end for s in segments) + random.Random(seed).choice([0.0, 0.3, 5.0])
    timed = timed_cues(segments, until)
    if until >= MIN_CUE_SECONDS:
        assert broken_rules(as_cues(timed), until) == [], shown(timed)
    assert every_word_shown(segments, timed), shown(timed)
    assert timed_cues(timed, until) == timed  # the rules are applied once and for all


SESSION = SessionPlan(number=1, id="keynote", title="기조강연", start=0.0, end=60.0)
TRICKY = [
    cue(0.0, 0.0, "시작하겠습니다"), cue(0.0, 0.0, "시작하겠습니다"),
    cue(5.0, 5.0, ZERO), cue(5.0, 9.0, "A --> B <b> & 끝"), cue(9.0, 9.0, "네"),
    *[cue(20.0, 20.0, "감사합니다 여러분")] * 6, cue(20.0, 20.3, "박수"),
    cue(59.8, 61.0, "마지막"),
]


def test_vtt_and_srt_of_tricky_segments_pass_strict_parsers(tmp_path: Path) -> None:
    paths = []
    for number, segments in enumerate([TRICKY, *(random_segments(s) for s in range(30))]):
        until = max(60.0, *(s.end for s in segments))
        vtt, srt = to_vtt(segments, until), to_srt(segments, until)
        assert vtt.startswith("WEBVTT\n\n") and "Language" not in vtt
        paths.append(tmp_path / f"{number}.ko.vtt")
        paths[-1].write_text(vtt, encoding="utf-8")
        # Both formats show the same cues, and keep the rules.
        assert vtt_cues(vtt) == srt_cues(srt)
        assert broken_rules(srt_cues(srt), until) == []
    assert vtt_errors(paths) == {str(path): [] for path in paths}


def test_the_formats_write_the_same_cues() -> None:
    vtt = vtt_cues(to_vtt(TRICKY, 60.0))
    assert vtt == srt_cues(to_srt(TRICKY, 60.0))
    assert [c.text for c in vtt] == to_text(TRICKY, 60.0).splitlines()
    assert vtt[0] == Cue(0.0, 0.7, "시작하겠습니다")


def test_files_written_by_old_rules_are_rewritten_from_the_json(tmp_path: Path) -> None:
    files = TranscriptFiles.model_validate(format_paths(tmp_path, SESSION.slug, "ko"))
    for fmt in FORMATS:
        fmt.path(files).write_text(fmt.write(SESSION, "ko", "base", tuple(TRICKY)),
                                   encoding="utf-8")
    assert rewrite_from_source(files, SESSION, "ko", "base", tuple(TRICKY)) == ()
    json_before = files.json_path.read_bytes()
    files.vtt.write_text("WEBVTT\nLanguage: ko\n\n", encoding="utf-8")  # an old run's
    files.txt.unlink()
    assert rewrite_from_source(files, SESSION, "ko", "base", tuple(TRICKY)) == (
        files.vtt, files.txt)
    assert files.vtt.read_text(encoding="utf-8") == to_vtt(TRICKY, SESSION.duration)
    assert files.json_path.read_bytes() == json_before  # the source is never rewritten
    assert not list(tmp_path.glob("*.part"))
