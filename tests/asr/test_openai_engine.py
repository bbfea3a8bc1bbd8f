"""The openai-whisper engine on the converted bundled weights, against faster-whisper.

Same weights, same greedy decoding, same audio (real Korean speech from the first
demo talk): the two implementations must write the same text. That proves the
conversion (a wrong split of the fused attention, a lost layer norm or a shifted
embedding would give gibberish or nothing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.asr import make_engine
from pipeline.asr.cer import cer
from pipeline.asr.decoding import DecodeOptions, WhisperSettings
from pipeline.asr.engine import SAMPLE_RATE, Decoded, Engine
from pipeline.asr.weights import BASE_MODEL_SHA256
from pipeline.demo import DEMO_SESSIONS, find_speech_dir
from pipeline.demo.corpus import joined_speech
from pipeline.errors import ExitCode, ModelError
from pipeline.settings import Settings

pytestmark = pytest.mark.slow

GREEDY = DecodeOptions(beam_size=1, vad=False, condition_on_previous_text=False)
GAP_SECONDS = 0.3


def talk_audio(talk: Path, seconds: float) -> tuple[Any, str]:
    """Whole fragments of `talk`, joined with 0.3 s of silence while they fit in `seconds`,
    as 16 kHz float32; and their reference texts joined."""
    joined = joined_speech(talk, seconds, GAP_SECONDS)
    return joined.audio, joined.text


def settings(engine: str, **changes: Any) -> WhisperSettings:
    return WhisperSettings(engine=engine, model_dir=Settings.from_environ().model_dir,
                           **changes)


def text_of(segments: list[Decoded]) -> str:
    return " ".join(s.text for s in segments)


@pytest.fixture(scope="module")
def speech() -> tuple[Any, str]:
    """About 13 s of the first demo talk (its first five fragments)."""
    talk = find_speech_dir(Settings.from_environ().speech_dir) / DEMO_SESSIONS[0].talk_dir
    return talk_audio(talk, 15.0)


@pytest.fixture(scope="module")
def openai_engine() -> Engine:
    """openai-whisper decoding greedily: an engine decodes with its settings' options."""
    engine = make_engine(settings("openai-whisper", decode=GREEDY))
    engine.load()
    return engine


@pytest.fixture(scope="module")
def greedy(openai_engine: Engine, speech: tuple[Any, str]) -> dict[str, list[Decoded]]:
    """Both engines' greedy decoding of the same audio; faster-whisper in float32."""
    faster = make_engine(settings("faster-whisper", compute_type="float32", decode=GREEDY))
    audio = speech[0]
    return {"faster-whisper": faster.transcribe(audio, "ko"),
            "openai-whisper": openai_engine.transcribe(audio, "ko")}


def test_both_engines_write_the_same_text_on_the_same_weights(
        greedy: dict[str, list[Decoded]], speech: tuple[Any, str]) -> None:
    faster, openai = text_of(greedy["faster-whisper"]), text_of(greedy["openai-whisper"])
    reference = speech[1]
    shown = (f"\nfaster-whisper: {faster}\nopenai-whisper: {openai}\nreference:      "
             f"{reference}\nCER against the reference: faster {cer(reference, faster):.3f}, "
             f"openai {cer(reference, openai):.3f}")
    assert faster and openai, shown
    assert cer(faster, openai) <= 0.05, shown
    assert cer(reference, openai) <= 0.2, shown  # and it is Korean speech, recognised


def test_word_timings_lie_within_the_audio(greedy: dict[str, list[Decoded]],
                                           speech: tuple[Any, str]) -> None:
    duration = len(speech[0]) / SAMPLE_RATE
    segments = greedy["openai-whisper"]
    words = [w for s in segments for w in s.words]
    assert len(words) >= 10
    for segment in segments:
        assert 0.0 <= segment.start <= segment.end <= duration + 0.01, segment
        assert segment.words and "".join(w.word for w in segment.words).strip() == segment.text
        assert -5.0 < segment.avg_logprob <= 0.0 and 0.0 <= segment.no_speech_prob <= 1.0
        assert segment.compression_ratio > 0.0
    for word in words:
        assert 0.0 <= word.start <= word.end <= duration + 0.01, word
        assert 0.0 <= word.probability <= 1.0
    assert [w.start for w in words] == sorted(w.start for w in words)
    # Same weights and the alignment heads carried over: the words land where
    # faster-whisper puts them.
    faster = [w for s in greedy["faster-whisper"] for w in s.words]
    if [w.word for w in faster] == [w.word for w in words]:
        drift = max(abs(a.start - b.start) + abs(a.end - b.end) for a, b in zip(
            faster, words, strict=True))
        assert drift <= 0.2, [(a.word, a.start, b.start) for a, b in zip(faster, words,
                                                                         strict=True)]


def test_vad_decodes_speech_only_and_maps_times_back() -> None:
    """Silence before and between two fragments: the VAD cuts it out, the words land
    where they are in the original audio."""
    talk = find_speech_dir(Settings.from_environ().speech_dir) / DEMO_SESSIONS[0].talk_dir
    first, _ = talk_audio(talk, 5.1)  # "사회적 기업에 대해서 사람들한테 얘기를 해보면"
    both, reference = talk_audio(talk, 7.5)  # and "그런 멋진 일이거든요"
    lead, pause = 4.0, 3.0  # longer than the VAD's minimum silence (2 s)

    def silence(seconds: float) -> Any:
        return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)

    audio = np.concatenate([silence(lead), first, silence(pause), both[len(first):]])
    second_starts = lead + len(first) / SAMPLE_RATE + pause
    seen: list[float] = []
    engine = make_engine(settings("openai-whisper", decode=DecodeOptions(beam_size=1, vad=True)))
    segments = engine.transcribe(audio, "ko", on_progress=seen.append)
    words = [w for s in segments for w in s.words]
    duration = len(audio) / SAMPLE_RATE
    shown = f"{text_of(segments)!r}: {[(w.start, w.end, w.word) for w in words]}"
    assert cer(reference, text_of(segments)) <= 0.2, shown
    # The VAD pads speech by 0.4 s; every word keeps the original audio's time.
    assert words[0].start >= lead - 0.5, shown
    later = [w for w in words if "멋진" in w.word]
    assert later and later[0].start >= second_starts - 0.5, shown
    assert all(0.0 <= w.start <= w.end <= duration + 0.01 for w in words), shown
    assert seen and seen == sorted(seen) and second_starts < seen[-1] <= duration + 0.01, seen


def test_identity_names_the_engine_and_its_compute_type() -> None:
    openai = make_engine(settings("openai-whisper")).identity()
    faster = make_engine(settings("faster-whisper")).identity()
    assert (openai.engine, openai.compute_type) == ("openai-whisper", "float32")
    assert (faster.engine, faster.compute_type) == ("faster-whisper", "int8")
    assert openai.model_sha256 == faster.model_sha256 == BASE_MODEL_SHA256  # source weights
    assert openai.options == faster.options
    on_gpu = make_engine(settings("openai-whisper", device="cuda")).identity()
    assert (on_gpu.compute_type, on_gpu.device) == ("float16", "cuda")


@pytest.mark.parametrize("problem", ["missing", "garbage", "unknown name"])
def test_a_model_that_cannot_load_is_a_model_error(problem: str, tmp_path: Path) -> None:
    model = {"missing": str(tmp_path / "nowhere.pt"), "garbage": str(tmp_path / "bad.pt"),
             "unknown name": "no-such-whisper-size"}[problem]
    (tmp_path / "bad.pt").write_bytes(b"this is not a torch checkpoint\n" * 10)
    engine = make_engine(settings("openai-whisper", model=model))
    with pytest.raises(ModelError) as caught:
        engine.load()
    line = caught.value.one_line()
    assert caught.value.exit_code == ExitCode.TRANSCRIBE
    assert "\n" not in line and model in line
    assert "--model base" in line and "--engine faster-whisper" in line, line
