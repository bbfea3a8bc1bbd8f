"""Batched decoding: chunks cut at pauses, decoded several at once, words still timed."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from pipeline.asr import make_engine
from pipeline.asr.batched import chunks
from pipeline.asr.cer import cer
from pipeline.asr.decoding import DecodeOptions, WhisperSettings
from pipeline.asr.engine import SAMPLE_RATE
from pipeline.demo import DEMO_SESSIONS, find_speech_dir
from pipeline.demo.corpus import joined_speech
from pipeline.settings import Settings

LEAD_S, BREAK_S = 2.0, 7.0  # the break is longer than the 5 s a sequential decode skips


def silence(seconds: float) -> Any:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


@pytest.fixture(scope="module")
def talk_with_a_break() -> tuple[Any, str, float, float]:
    """2 s of silence, about 40 s of one talk, a 7 s break, 25 s of another talk; with the
    reference text and the break's start and end."""
    speech = find_speech_dir(Settings.from_environ().speech_dir)
    first = joined_speech(speech / DEMO_SESSIONS[0].talk_dir, 40.0)
    second = joined_speech(speech / DEMO_SESSIONS[1].talk_dir, 25.0)
    audio = np.concatenate([silence(LEAD_S), first.audio, silence(BREAK_S), second.audio,
                            silence(1.0)])
    break_starts = LEAD_S + len(first.audio) / SAMPLE_RATE
    return audio, f"{first.text} {second.text}", break_starts, break_starts + BREAK_S


def test_chunks_are_cut_at_pauses_and_skip_the_break(
        talk_with_a_break: tuple[Any, str, float, float]) -> None:
    audio, _text, break_starts, break_ends = talk_with_a_break
    spans = chunks(audio, DecodeOptions(batch_size=4, chunk_seconds=20.0))
    assert len(spans) >= 4, spans  # 65 s of speech in chunks of at most 20 s
    assert all(0 < end - start <= 20.0 for start, end in spans), spans
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), spans
    assert not [s for s in spans if s[0] < (break_starts + break_ends) / 2 < s[1]], spans
    frame, speech = SAMPLE_RATE // 50, float(np.sqrt(np.mean(audio ** 2)))  # 20 ms
    for start, end in spans:  # each edge is in a pause: no word is cut at a chunk's edge
        for edge in (start, end):
            at = int(edge * SAMPLE_RATE)
            window = audio[max(0, at - frame):at + frame]
            assert float(np.sqrt(np.mean(window ** 2))) < 0.2 * speech, (edge, spans)
    assert spans[-2][0] <= break_ends - 0.5, spans  # the second talk starts abruptly


@pytest.mark.parametrize("samples_short", range(0, 16, 3))
def test_no_chunk_reaches_past_the_last_sample(samples_short: int) -> None:
    """Speech to the very end, of a length that is not a whole millisecond: the last chunk
    ends on or before the last sample, as faster-whisper counts it (int(end * rate))."""
    talk = find_speech_dir(Settings.from_environ().speech_dir) / DEMO_SESSIONS[0].talk_dir
    speech = joined_speech(talk, 12.0).audio
    audio = speech[:len(speech) - samples_short - 5]
    spans = chunks(audio, DecodeOptions(batch_size=2))
    assert spans and spans[-1][1] > len(audio) / SAMPLE_RATE - 0.5  # speech to the end
    covered = sum(int(end * SAMPLE_RATE) - int(start * SAMPLE_RATE) for start, end in spans)
    assert covered <= len(audio) and int(spans[-1][1] * SAMPLE_RATE) <= len(audio)


def test_silence_alone_gives_no_chunk() -> None:
    assert chunks(silence(10.0), DecodeOptions(batch_size=4)) == []


def test_batching_joins_the_identity_only_when_it_is_used() -> None:
    assert "batch_size" not in DecodeOptions().as_dict()
    assert "chunk_seconds" not in DecodeOptions().as_dict()
    assert DecodeOptions(batch_size=8).as_dict()["batch_size"] == 8
    sequential = make_engine(WhisperSettings()).identity()
    batched = make_engine(WhisperSettings(decode=DecodeOptions(batch_size=8))).identity()
    assert sequential != batched


@pytest.mark.slow
def test_a_batched_decode_reads_the_talks_and_times_every_word(
        talk_with_a_break: tuple[Any, str, float, float]) -> None:
    audio, reference, break_starts, break_ends = talk_with_a_break
    engine = make_engine(WhisperSettings(model_dir=Settings.from_environ().model_dir,
                                         decode=DecodeOptions(batch_size=3)))
    heard: list[float] = []
    segments = engine.transcribe(audio, "ko", heard.append)
    text = " ".join(s.text for s in segments)
    assert cer(reference, text) <= 0.15, text
    words = [w for s in segments for w in s.words]
    shown = [(w.start, w.end, w.word) for w in words]
    assert [w.start for w in words] == sorted(w.start for w in words), shown
    assert words[0].start >= LEAD_S - 0.5, shown
    assert words[-1].end <= len(audio) / SAMPLE_RATE, shown
    assert not [w for w in words if break_starts + 0.5 < w.start < break_ends - 0.5], shown
    for segment in segments:
        assert "".join(w.word for w in segment.words).strip() == segment.text
    assert heard == sorted(heard) and heard[-1] >= break_ends, heard  # progress moves on
