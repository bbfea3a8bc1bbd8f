"""Hallucination guards and the quality report, on real audio and real VAD."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from pipeline.asr.engine import SAMPLE_RATE, Decoded
from pipeline.asr.guards import (
    LOW_CONFIDENCE_LOGPROB,
    LOW_CONFIDENCE_WORD,
    Span,
    assess,
    flags,
    guard,
    judge,
    low_confidence_spans,
    speech_spans,
)
from pipeline.demo import find_speech_dir
from pipeline.results import Word
from pipeline.settings import Settings

TALK = "data/6rmA7KCV7ZiE/MJ0_NG4dsCY"


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    """4 s of near-silence, then real Korean speech (about 5 s), then 4 s of silence."""
    fragment = sorted((find_speech_dir(Settings.from_environ().speech_dir) / TALK)
                      .glob("*.flac"))[0]
    raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(fragment), "-f", "s16le",
                          "-ac", "1", "-ar", str(SAMPLE_RATE), "-"],
                         check=True, capture_output=True).stdout
    speech = np.frombuffer(raw, np.int16).astype(np.float32) / 32768
    quiet = np.random.default_rng(1).normal(0, 1e-4, 4 * SAMPLE_RATE).astype(np.float32)
    return np.concatenate([quiet, speech, quiet])


def segment(start: float, end: float, text: str, **extra: float) -> Decoded:
    return Decoded(start=start, end=end, text=text, **extra)  # type: ignore[arg-type]


def test_vad_finds_the_speech_between_the_silences(audio: np.ndarray) -> None:
    spans = speech_spans(audio)
    assert spans and spans[0][0] >= 3.5 and spans[-1][1] <= len(audio) / SAMPLE_RATE - 3.5


def test_outro_phrases_are_dropped_in_silence_but_kept_in_speech(audio: np.ndarray) -> None:
    spans = speech_spans(audio)
    end = len(audio) / SAMPLE_RATE
    assert judge(segment(end - 3.5, end - 0.5, "시청해주셔서 감사합니다."), audio, spans) \
        == "known Whisper outro hallucination in non-speech audio"
    assert judge(segment(0.2, 3.0, "구독과 좋아요 부탁드립니다"), audio, spans) is not None
    assert judge(segment(0.2, 3.0, "Thanks for watching!"), audio, spans) is not None
    # Said in the middle of real speech, the same words are the speaker's: kept.
    assert judge(segment(4.5, 8.0, "시청해 주셔서 감사합니다"), audio, spans) is None
    assert judge(segment(4.5, 8.0, "사회적 기업에 대해서"), audio, spans) is None


@pytest.mark.parametrize(("text", "extra", "reason"), [
    ("♪ ♪", {}, "no words"),
    ("...", {}, "no words"),
    ("가치 가치 가치 가치 가치", {}, "repeated"),
    ("감사합니다감사합니다감사합니다감사합니다", {}, "repeated"),
    ("사회적 가치", {"compression_ratio": 3.1}, "compression ratio 3.1"),
])
def test_broken_decodes_are_dropped_anywhere(audio: np.ndarray, text: str,
                                             extra: dict[str, float], reason: str) -> None:
    found = judge(segment(4.5, 8.0, text, **extra), audio, speech_spans(audio))
    assert found is not None and reason in found


def test_whisper_and_vad_agreeing_on_non_speech_drop_it(audio: np.ndarray) -> None:
    spans = speech_spans(audio)
    doubtful = {"no_speech_prob": 0.9, "avg_logprob": -1.4}
    assert judge(segment(0.1, 3.5, "음", **doubtful), audio, spans) is not None
    assert judge(segment(4.5, 8.0, "사회적 기업", **doubtful), audio, spans) is None


def test_guard_counts_every_drop_with_its_reason_and_the_report_flags(
        audio: np.ndarray) -> None:
    spans = speech_spans(audio)
    decoded = [segment(4.2, 8.5, "사회적 기업에 대해서", avg_logprob=-0.3),
               segment(9.5, 12.5, "시청해주셔서 감사합니다", avg_logprob=-0.5),
               segment(1.0, 2.0, "♪", avg_logprob=-0.5)]
    kept, dropped = guard(decoded, audio, spans)
    assert [k.text for k in kept] == ["사회적 기업에 대해서"]
    assert [d.text for d in dropped] == ["시청해주셔서 감사합니다", "♪"]
    quality = assess(kept, dropped, len(audio) / SAMPLE_RATE, spans)
    assert 0.2 < quality.speech_ratio < 0.6 and quality.segment_count == 1
    assert quality.mean_logprob == pytest.approx(-0.3)
    assert len(quality.as_dict()["dropped"]) == 2 and quality.as_dict()["dropped"][0]["reason"]
    assert quality.flags == ["2 segments were dropped as hallucinations against 1 kept"]


def words(*spoken: tuple[str, float]) -> tuple[Word, ...]:
    """Words half a second each from 10 s, with the given probabilities."""
    return tuple(Word(start=10 + i / 2, end=10.4 + i / 2, word=text, probability=probability)
                 for i, (text, probability) in enumerate(spoken))


def test_low_confidence_spans_are_runs_of_unlikely_words() -> None:
    below, at = LOW_CONFIDENCE_WORD - 0.01, LOW_CONFIDENCE_WORD
    sure = segment(10, 13, "사회적 가치를 측정하는 혁신 방법", avg_logprob=-0.2,
                   words=words((" 사회적", 0.98), (" 가치를", below), (" 측정하는", 0.05),
                               (" 혁신", at), (" 방법", 0.2)))
    # A run of unlikely words is one span, with its words' times and text; a word at the
    # threshold is not unlikely.
    assert low_confidence_spans([sure]) == [Span(10.5, 11.4, "가치를 측정하는"),
                                            Span(12.0, 12.4, "방법")]


def test_a_doubtful_segment_is_listed_whole_and_confident_words_are_not() -> None:
    # Text Whisper invents over music has a low avg_logprob: listed whole, as before.
    doubtful = segment(10, 12, "음악 음악", avg_logprob=LOW_CONFIDENCE_LOGPROB - 0.4,
                       words=words((" 음악", 0.93), (" 음악", 0.91)))
    # A confident segment with confident words, or without words, lists nothing.
    confident = segment(20, 22, "공공기관 혁신", avg_logprob=LOW_CONFIDENCE_LOGPROB + 0.7,
                        words=words((" 공공기관", 0.93), (" 혁신", 0.91)))
    wordless = segment(23, 24, "네", avg_logprob=-0.3)
    assert low_confidence_spans([doubtful, confident, wordless]) \
        == [Span(10, 12, "음악 음악")]


def test_quality_report_lists_the_low_confidence_words(audio: np.ndarray) -> None:
    spans = speech_spans(audio)
    kept = [segment(4.2, 8.5, "사회적 기업에 대해서", avg_logprob=-0.3,
                    words=words((" 사회적", 0.97), (" 기업에", 0.12), (" 대해서", 0.9)))]
    quality = assess(kept, [], len(audio) / SAMPLE_RATE, spans)
    assert quality.as_dict()["low_confidence"] == [{"start": 10.5, "end": 10.9,
                                                    "text": "기업에"}]


def test_flags_name_what_to_check() -> None:
    from pipeline.asr.guards import Quality

    break_cut = Quality(duration=600, speech_ratio=0.12, segment_count=3, mean_logprob=-0.4)
    assert "agenda times" in flags(break_cut)[0]
    unsure = Quality(duration=600, speech_ratio=0.8, segment_count=40, mean_logprob=-1.2)
    assert "low confidence" in flags(unsure)[0]
    mute = Quality(duration=600, speech_ratio=0.8, segment_count=0)
    assert "no text came out" in flags(mute)[0]
    assert flags(Quality(duration=600, speech_ratio=0.8, segment_count=50,
                         mean_logprob=-0.3)) == []
