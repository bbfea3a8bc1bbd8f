"""Subtitle formats are produced from the same segments and stay well-formed."""

from __future__ import annotations

from pathlib import Path

from pipeline.results import Segment, SessionPlan, TranscriptFiles, Word
from pipeline.transcripts.formats import segments_from_json, to_json, to_srt, to_text, to_vtt
from pipeline.transcripts.registry import FORMATS, content_type_of, downloads, format_paths

SEGMENTS = (
    Segment(start=0.5, end=2.25, text=" 사회적 기업에 대해서 ",
            words=(Word(start=0.5, end=1.0, word="사회적", probability=0.9),)),
    Segment(start=3661.0, end=3662.5, text="A --> B <b>\n\n끝", words=()),
)


def test_vtt_timing_and_escaping() -> None:
    vtt = to_vtt(SEGMENTS)
    assert vtt.startswith("WEBVTT\n\n1\n")  # no header line: the spec allows none
    assert "00:00:00.500 --> 00:00:02.250" in vtt
    assert "01:01:01.000 --> 01:01:02.500" in vtt
    assert "A → B &lt;b> 끝" in vtt  # no stray cue terminator or tag


def test_srt_uses_commas_and_numbers_cues() -> None:
    srt = to_srt(SEGMENTS)
    assert srt.splitlines()[:3] == ["1", "00:00:00,500 --> 00:00:02,250", "사회적 기업에 대해서"]


def test_json_round_trips_with_words() -> None:
    session = SessionPlan(number=1, id="keynote", title="기조강연", start=10, end=20)
    text = to_json(session, "ko", "base", SEGMENTS)
    assert segments_from_json(text)[0].words[0].word == "사회적"
    assert "\\u" not in text  # Korean stays readable


def test_text_has_one_line_per_segment() -> None:
    assert to_text(SEGMENTS) == "사회적 기업에 대해서\nA → B <b> 끝\n"


def test_long_segments_become_readable_cues_at_word_boundaries() -> None:
    from pipeline.transcripts.cues import MAX_CUE_CHARS, MAX_CUE_SECONDS, readable_cues

    words = tuple(Word(start=i * 0.8, end=i * 0.8 + 0.6, word=f" 단어{i}", probability=0.9)
                  for i in range(30))
    long = Segment(start=0.0, end=words[-1].end, text="".join(w.word for w in words),
                   words=words)
    cues = readable_cues([long, SEGMENTS[0]])
    assert len(cues) > 3 and cues[-1] == SEGMENTS[0]
    assert [w for cue in cues[:-1] for w in cue.words] == list(words)  # nothing lost
    for cue in cues[:-1]:
        assert cue.end - cue.start <= MAX_CUE_SECONDS and len(cue.text) <= MAX_CUE_CHARS
        assert cue.start == cue.words[0].start and cue.text.startswith("단어")


def test_the_registry_names_files_as_before_and_fills_transcript_files(tmp_path: Path) -> None:
    assert [fmt.name for fmt in FORMATS] == ["vtt", "srt", "json", "txt"]  # publish order
    paths = format_paths(tmp_path, "01-keynote", "ko")
    files = TranscriptFiles.model_validate(paths)
    assert [path.name for path in files.all()] == [
        "01-keynote.ko.vtt", "01-keynote.ko.srt", "01-keynote.json", "01-keynote.txt"]
    assert [fmt.path(files) for fmt in FORMATS] == list(files.all())
    # and the two files beside them that are not transcript formats
    assert set(TranscriptFiles.model_fields) == \
        {fmt.field for fmt in FORMATS} | {"quality", "review"}


def test_the_registry_writes_every_format_from_the_same_segments() -> None:
    session = SessionPlan(number=1, id="keynote", title="기조강연", start=10, end=20)
    written = {fmt.name: fmt.write(session, "ko", "base", SEGMENTS) for fmt in FORMATS}
    # The subtitle and text files end with the clip (the session's length).
    assert written == {"vtt": to_vtt(SEGMENTS, 10.0), "srt": to_srt(SEGMENTS, 10.0),
                       "json": to_json(session, "ko", "base", SEGMENTS),
                       "txt": to_text(SEGMENTS, 10.0)}


def test_the_registry_gives_content_types_and_download_labels() -> None:
    assert {fmt.name: fmt.content_type for fmt in FORMATS} == {
        "vtt": "text/vtt; charset=utf-8", "srt": "application/x-subrip; charset=utf-8",
        "json": "application/json", "txt": "text/plain; charset=utf-8"}
    assert content_type_of("/archive/02-panel.ko.VTT") == "text/vtt; charset=utf-8"
    assert content_type_of("clip.mp4") is None
    assert list(downloads()) == ["vtt", "srt", "txt", "json"]  # the session page's order
