"""Word timings aligned after decoding, and VAD that skips long non-speech.

The windows are a pure function; the rest runs the bundled base weights on real
Korean speech with silence put around and inside it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pipeline.asr import make_engine
from pipeline.asr.align import LEAD_S, WINDOW_S, windows
from pipeline.asr.cer import cer
from pipeline.asr.decoding import DecodeOptions, WhisperSettings
from pipeline.asr.engine import SAMPLE_RATE, Decoded, Engine
from pipeline.asr.vad import clip_time, speech_clips
from pipeline.demo import DEMO_SESSIONS, find_speech_dir
from pipeline.demo.corpus import joined_speech
from pipeline.settings import Settings


def test_windows_pack_segments_in_order_within_thirty_seconds() -> None:
    spans = [(0.5, 4.0), (4.2, 9.0), (9.5, 20.0), (21.0, 30.0), (30.5, 33.0), (40.0, 41.0)]
    packed = windows(spans, duration=45.0)
    assert [members for _s, _e, members in packed] == [[0, 1, 2], [3, 4, 5]]
    for start, end, members in packed:
        assert end - start <= WINDOW_S
        assert start <= spans[members[0]][0] and spans[members[-1]][1] <= end
    # A window starts a little before its first segment, never inside the previous one.
    assert packed[0][0] == pytest.approx(0.5 - LEAD_S)
    assert packed[1][0] == pytest.approx(21.0 - LEAD_S)
    assert windows([(0.0, 1.0), (1.0, 2.0)], 2.0)[0][0] == 0.0


def test_a_segment_longer_than_a_window_gets_its_own() -> None:
    packed = windows([(1.0, 2.0), (2.5, 40.0), (41.0, 42.0)], duration=50.0)
    assert [members for *_, members in packed] == [[0], [1], [2]]
    assert packed[1][1] - packed[1][0] == pytest.approx(WINDOW_S)


def silence(seconds: float) -> Any:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


@pytest.fixture(scope="module")
def paused_speech() -> tuple[Any, str, float, float]:
    """4 s of silence, about 5 s of speech, a 3 s pause, 2.5 s more speech, 3 s silence;
    with the reference text, the pause's start and the second part's start."""
    talk = find_speech_dir(Settings.from_environ().speech_dir) / DEMO_SESSIONS[0].talk_dir
    first = joined_speech(talk, 5.1)  # "사회적 기업에 대해서 사람들한테 얘기를 해보면"
    both = joined_speech(talk, 7.5)  # and "그런 멋진 일이거든요"
    lead, pause = 4.0, 3.0
    audio = np.concatenate([silence(lead), first.audio, silence(pause),
                            both.audio[len(first.audio):], silence(3.0)])
    pause_starts = lead + len(first.audio) / SAMPLE_RATE
    return audio, both.text, pause_starts, pause_starts + pause


def test_speech_clips_skip_only_long_silences(paused_speech: tuple[Any, str, float, float]
                                              ) -> None:
    audio, _text, pause_starts, second_starts = paused_speech
    # The default skips 5 s or more: these 3 and 4 s silences are decoded.
    assert speech_clips(audio, DecodeOptions()) == [0.0, round(len(audio) / SAMPLE_RATE, 3)]
    two_seconds = DecodeOptions(vad_min_silence_ms=2000)
    clips = speech_clips(audio, two_seconds)
    assert len(clips) == 4, clips
    assert 3.0 < clips[0] < 4.0 and pause_starts <= clips[1] < pause_starts + 0.5
    assert second_starts - 0.5 < clips[2] <= second_starts
    # No silence long enough to skip: decode everything, from 0 to the end.
    assert speech_clips(audio[int(3.5 * SAMPLE_RATE):int(pause_starts * SAMPLE_RATE)],
                        two_seconds) == [0.0, round(pause_starts - 3.5, 3)]
    assert speech_clips(silence(5.0), two_seconds) == []


@pytest.fixture(scope="module")
def faster() -> Engine:
    engine = make_engine(WhisperSettings(model_dir=Settings.from_environ().model_dir))
    engine.load()
    return engine


def words_of(segments: list[Decoded]) -> list[Any]:
    return [w for s in segments for w in s.words]


@pytest.mark.slow
@pytest.mark.parametrize(("vad_mode", "min_silence_ms"),
                         [("skip", 5000), ("skip", 2000), ("join", 2000)])
def test_words_after_a_pause_keep_their_place(vad_mode: str, min_silence_ms: int,
                                              paused_speech: tuple[Any, str, float, float]
                                              ) -> None:
    audio, reference, pause_starts, second_starts = paused_speech
    faster = make_engine(WhisperSettings(
        model_dir=Settings.from_environ().model_dir,
        decode=DecodeOptions(vad_mode=vad_mode, vad_min_silence_ms=min_silence_ms)))
    segments = faster.transcribe(audio, "ko")
    words = words_of(segments)
    text = " ".join(s.text for s in segments)
    shown = f"{text!r}: {[(w.start, w.end, w.word) for w in words]}"
    assert cer(reference, text) <= 0.2, shown
    assert words[0].start >= 4.0 - 0.3, shown
    later = [w for w in words if "멋진" in w.word]
    assert later and later[0].start >= second_starts - 0.3, shown
    assert not [w for w in words if pause_starts + 0.3 < w.start < second_starts - 0.3], shown
    assert [w.start for w in words] == sorted(w.start for w in words), shown
    for segment in segments:
        assert "".join(w.word for w in segment.words).strip() == segment.text, shown


@pytest.mark.slow
def test_aligning_after_decoding_keeps_the_decoded_text(
        faster: Engine, paused_speech: tuple[Any, str, float, float]) -> None:
    """The text is what faster-whisper decodes without word timings: alignment adds
    times and changes no word; the decoder's own timings would change the decoding."""
    from faster_whisper import WhisperModel

    audio = paused_speech[0]
    options = DecodeOptions()  # the fixture's engine decodes with the defaults
    ours = faster.transcribe(audio, "ko")
    model: WhisperModel = faster._model  # type: ignore[attr-defined]
    raw, _info = model.transcribe(audio, language="ko", beam_size=options.beam_size,
                                  clip_timestamps=speech_clips(audio, options))
    assert [s.text for s in ours] == [s.text.strip() for s in raw]
    assert all(s.words for s in ours)


def test_clip_time_maps_decoded_seconds_onto_the_clips() -> None:
    clips = [1.0, 3.0, 10.0, 14.0]
    assert [clip_time(clips, s) for s in (0.0, 2.0, 2.5, 6.0, 9.0)] == [1.0, 3.0, 10.5, 14.0,
                                                                        14.0]
