"""torch-batched: VAD-cut chunks decoded several at once on PyTorch, and how a device is chosen.

The engine is meant for a GPU; here it runs on the CPU (float32, batches of 2) over real
Korean speech, which exercises the same code. Choosing `cuda` on this machine, which has
no GPU, must fall back to the CPU default engine, say so once, and fingerprint that.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.asr import make_engine
from pipeline.asr.batched import chunks
from pipeline.asr.cer import cer
from pipeline.asr.decoding import DecodeOptions, WhisperSettings
from pipeline.asr.engine import SAMPLE_RATE
from pipeline.asr.engines import DEFAULT_ENGINE, ENGINES, GPU_ENGINE, whisper_settings
from pipeline.asr.torch_batched import DEFAULT_BATCH_SIZE, TorchBatchedEngine
from pipeline.config.forum import WhisperConfig
from pipeline.config.loader import load_config
from pipeline.demo import DEMO_SESSIONS, find_speech_dir
from pipeline.demo.corpus import joined_speech
from pipeline.errors import ConfigError, ExitCode, UsageError
from pipeline.settings import Settings
from tests.forums import forum_text
from tests.test_cli import assert_one_line_error, sort_archive

LEAD_S = 1.0
torch = pytest.importorskip("torch")  # the engine needs sort-archive[openai]
no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")


def engine(**decode: Any) -> TorchBatchedEngine:
    """On one thread: on a busy 2-core machine, two threads wait on each other for every
    small matrix product of the decoder (three times slower here)."""
    built = make_engine(WhisperSettings(engine="torch-batched", device="cpu", cpu_threads=1,
                                        model_dir=Settings.from_environ().model_dir,
                                        decode=DecodeOptions(**decode)))
    assert isinstance(built, TorchBatchedEngine)
    return built


# --- choosing the device and the engine ---------------------------------------------------

@no_gpu
def test_cuda_without_a_gpu_falls_back_to_the_cpu_default_in_one_line(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        chosen = whisper_settings(WhisperConfig(device="cuda"), None, Settings())
    assert (chosen.engine, chosen.device) == (DEFAULT_ENGINE, "cpu")
    assert chosen.compute_type == ENGINES[DEFAULT_ENGINE].compute_type
    [line] = [r.getMessage() for r in caplog.records]
    assert "no CUDA GPU here" in line and "on the CPU with faster-whisper" in line, line
    # What ran is what the transcribe fingerprint holds: the CPU default, on the CPU.
    identity = make_engine(chosen).identity()
    assert identity == make_engine(WhisperSettings(model_dir=chosen.model_dir)).identity()
    assert (identity.engine, identity.device) == ("faster-whisper", "cpu")


@no_gpu
def test_a_named_engine_falls_back_to_the_cpu_itself(caplog: pytest.LogCaptureFixture
                                                     ) -> None:
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        chosen = whisper_settings(None, None, Settings(), engine="openai-whisper",
                                  device="cuda:1")
        faster = whisper_settings(None, None, Settings(), engine="faster-whisper",
                                  device="cuda")
    assert (chosen.engine, chosen.device) == ("openai-whisper", "cpu")
    assert (faster.engine, faster.device) == ("faster-whisper", "cpu")
    assert len(caplog.records) == 2
    assert "CTranslate2 finds none" in caplog.records[1].getMessage()


def test_cuda_chooses_torch_batched_where_there_is_a_gpu(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    from dataclasses import replace

    for name in ENGINES:  # as on the device machine: every engine reaches the GPU
        monkeypatch.setitem(ENGINES, name, replace(ENGINES[name], gpu_problem=lambda d: None))
    chosen = whisper_settings(WhisperConfig(device="cuda:0"), None, Settings())
    assert (chosen.engine, chosen.device) == (GPU_ENGINE, "cuda:0")
    named = whisper_settings(WhisperConfig(device="cuda"), None, Settings(),
                             engine="openai-whisper")
    assert (named.engine, named.device) == ("openai-whisper", "cuda")
    assert whisper_settings(None, None, Settings()).engine == DEFAULT_ENGINE  # cpu: unchanged
    identity = make_engine(chosen).identity()
    assert (identity.compute_type, identity.device) == ("float16", "cuda:0")
    assert identity.options["batch_size"] == DEFAULT_BATCH_SIZE


def test_an_unknown_device_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown device 'tpu'.*cpu, cuda or cuda:N"):
        whisper_settings(None, None, Settings(), device="tpu")
    path = tmp_path / "forum.yaml"
    forum = forum_text("device-test", "시험", [("only", "세션", 0, 2)])
    path.write_text(forum + "whisper: {device: tpu}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"whisper\.device.*'tpu' is not a device.*cuda:N"):
        load_config(path)
    for device in ("cpu", "cuda", "cuda:1"):
        path.write_text(forum + f"whisper: {{device: '{device}'}}\n", encoding="utf-8")
        assert load_config(path).forum.whisper.device == device


@no_gpu
def test_the_command_line_device_falls_back_visibly(tmp_path: Path) -> None:
    from tests.recordings import counter_video

    counter_video(tmp_path / "master.mp4", 3, [440])
    path = tmp_path / "forum.yaml"
    path.write_text(forum_text("device-test", "시험", [("only", "세션", 0, 2)]), "utf-8")
    options = ["--dry-run", "--work-dir", str(tmp_path / "work"),
               "--catalogue", str(tmp_path / "catalogue.sqlite")]
    result = sort_archive("run", str(path), "--device", "cuda", *options)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "CUDA" in line]
    assert len(warnings) == 1 and "on the CPU with faster-whisper" in warnings[0], result.stderr
    assert "with faster-whisper base" in result.stdout, result.stdout
    assert_one_line_error(sort_archive("run", str(path), "--device", "tpu", *options),
                          ExitCode.CONFIG, "unknown device 'tpu'")


def test_the_identity_holds_the_engine_device_and_batch_size() -> None:
    batched = make_engine(WhisperSettings(engine="torch-batched")).identity()
    sequential = make_engine(WhisperSettings(engine="openai-whisper")).identity()
    assert batched != sequential and batched.engine == "torch-batched"
    assert (batched.device, batched.compute_type) == ("cpu", "float32")
    assert batched.options["batch_size"] == DEFAULT_BATCH_SIZE  # 1 means the GPU default
    four = make_engine(WhisperSettings(engine="torch-batched",
                                       decode=DecodeOptions(batch_size=4))).identity()
    assert four.options["batch_size"] == 4
    gpu = make_engine(WhisperSettings(engine="torch-batched", device="cuda")).identity()
    assert (gpu.device, gpu.compute_type) == ("cuda", "float16")


# --- decoding real speech -----------------------------------------------------------------

@pytest.fixture(scope="module")
def speech() -> tuple[Any, str]:
    """A second of silence, about 30 s of the first demo talk, a second of silence; and the
    reference text."""
    talk = find_speech_dir(Settings.from_environ().speech_dir) / DEMO_SESSIONS[0].talk_dir
    joined = joined_speech(talk, 30.0)
    silence = np.zeros(int(LEAD_S * SAMPLE_RATE), dtype=np.float32)
    return np.concatenate([silence, joined.audio, silence]), joined.text


@pytest.mark.slow
def test_batches_of_chunks_read_the_talk_and_time_every_word(speech: tuple[Any, str]
                                                             ) -> None:
    audio, reference = speech
    options: dict[str, Any] = {"batch_size": 2, "beam_size": 1, "chunk_seconds": 12.0}
    batched = engine(**options)
    spans = chunks(audio, DecodeOptions(**options))
    assert len(spans) == 3, spans  # two batches: two chunks, then one
    heard: list[float] = []
    segments = batched.transcribe(audio, "ko", heard.append)
    assert heard == [spans[1][1], spans[2][1]]  # once per batch, at its last chunk's end
    text = " ".join(s.text for s in segments)
    assert cer(reference, text) <= 0.2, text
    assert len(segments) == len(spans)  # one segment per chunk
    words = [w for s in segments for w in s.words]
    shown = [(w.start, w.end, w.word) for w in words]
    assert [w.start for w in words] == sorted(w.start for w in words), shown
    assert all(w.start <= w.end for w in words), shown
    assert words[0].start >= LEAD_S - 0.5 and words[-1].end <= len(audio) / SAMPLE_RATE, shown
    for segment, (start, end) in zip(segments, spans, strict=True):
        assert segment.words and "".join(w.word for w in segment.words).strip() == segment.text
        assert start - 0.5 <= segment.start and segment.end <= end + 0.5, (segment, spans)
        assert segment.avg_logprob < 0 and 0 <= segment.no_speech_prob <= 1


@pytest.mark.slow
def test_beam_search_over_a_batch_gives_each_chunk_its_own_text(speech: tuple[Any, str]
                                                                ) -> None:
    """openai-whisper's own batched beam search fails (see `_batch_task`): ours decodes two
    chunks together exactly as it decodes each alone."""
    audio, _reference = speech
    beams = engine(batch_size=2, beam_size=5)
    beams.load()
    spans = chunks(audio[:int(14 * SAMPLE_RATE)], DecodeOptions(chunk_seconds=6.0))[:2]
    together = beams.decode_chunks(audio, spans, "ko")
    alone = [text for span in spans for text in beams.decode_chunks(audio, [span], "ko")]
    assert [t.text for t in together] == [t.text for t in alone]
    assert len(together) == 2 and together[0].text != together[1].text
