"""torch-batched: batched decoding of VAD-cut chunks on PyTorch, for a GPU.

faster-whisper's CTranslate2 cannot use the GPU of our device machines (it has no CUDA 12
libraries there), PyTorch can. This engine decodes the way faster-whisper's batched mode
does (pipeline.asr.batched), with the openai-whisper model the openai-whisper engine loads
(the same bundled base weights, converted by pipeline.asr.convert):

- the speech is cut into chunks at pauses by VAD (`pipeline.asr.batched.chunks`, whatever
  `vad` and `vad_mode` say: at most `chunk_seconds`, never more than Whisper's 30 s window);
- each chunk's log-mel spectrogram is computed on the device from the chunk padded with
  silence to 30 s, and `batch_size` of them are decoded together by `whisper.decode` in
  the given language, without timestamp tokens, with beam search as `beam_size` says
  (greedy for 1); no conditioning on the text before and no temperature fallback
  (faster-whisper's batched mode has neither);
- one segment per chunk (none for a chunk that decodes to no text), spanning the chunk,
  with the decoder's scores for the guards; the words are then timed by the same aligner as
  the openai-whisper engine's (`pipeline.asr.align` over openai-whisper's cross-attention
  DTW), which also fits the segment's edges to its words, so segments have words and are
  cut into cues like every engine's. Word timings are always aligned after decoding:
  `word_timing: decoder` has no meaning for a batch decoded at once.

Precision follows the device, as in the openai-whisper engine: float16 on CUDA, float32
on the CPU. The batch size is the decoding options' `batch_size`; its default there (1,
sequential) means DEFAULT_BATCH_SIZE here. The identity holds both, so changing the
device or the batch size redoes the transcripts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any

from pipeline.asr.align import Span, align
from pipeline.asr.batched import chunks
from pipeline.asr.decoding import DecodeOptions, WhisperSettings
from pipeline.asr.engine import SAMPLE_RATE, Decoded, EngineIdentity, Progress, identity_of
from pipeline.asr.openai_engine import load_model, torch_compute_type, window_aligner

# Chunks decoded together when the options leave `batch_size` at 1. A 30 s chunk of the
# base model costs a few MiB of activations per beam, so 16 chunks with beam 5 (80
# sequences) are nothing to a GPU's memory; what batching buys is fewer, larger kernel
# calls (decoding base on a GPU is a long run of small ones, docs/benchmarks.md). A talk
# of 4 minutes has about 10 chunks, an hour-long session about 150: 16 keeps the batches of
# a session full without waiting for a whole talk. Measured by scripts/bench/asr_gpu.py.
DEFAULT_BATCH_SIZE = 16
WINDOW_S = 30.0  # Whisper's input: a chunk is never longer


@dataclass(frozen=True)
class ChunkText:
    """One decoded chunk: its place in the audio, its text and tokens, the decoder's scores."""

    start: float
    end: float
    text: str
    tokens: tuple[int, ...]
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float


class TorchBatchedEngine:
    name = "torch-batched"

    def __init__(self, settings: WhisperSettings) -> None:
        self.settings = settings
        self._model: Any = None

    @property
    def compute_type(self) -> str:
        return torch_compute_type(self.settings)

    @property
    def batch_size(self) -> int:
        size = self.settings.decode.batch_size
        return size if size > 1 else DEFAULT_BATCH_SIZE

    def load(self) -> None:
        if self._model is None:
            self._model = load_model(self.settings, self.name)

    def identity(self) -> EngineIdentity:
        """The device and compute type, and the batch size really used (the default
        included), beside the model and the other decoding options."""
        decode = replace(self.settings.decode, batch_size=self.batch_size)
        return identity_of(self.name, replace(self.settings, decode=decode), self.compute_type)

    def transcribe(self, audio: Any, language: str,
                   on_progress: Progress | None = None) -> list[Decoded]:
        import numpy as np

        self.load()
        audio = np.ascontiguousarray(audio, dtype=np.float32)
        if not audio.flags.writeable:  # torch.from_numpy warns on read-only buffers
            audio = audio.copy()
        spans = speech_chunks(audio, self.settings.decode)
        texts = self.decode_chunks(audio, spans, language, on_progress)
        return self.timed(audio, texts, language)

    def decode_chunks(self, audio: Any, spans: list[tuple[float, float]], language: str,
                      on_progress: Progress | None = None) -> list[ChunkText]:
        """The chunks `spans` (seconds, in order) decoded `batch_size` at a time; chunks
        that decode to no text are left out. Progress: the last chunk's end, per batch."""
        import whisper

        model = self._model
        fp16 = self.compute_type == "float16"
        task = _batch_task()
        decoding = whisper.DecodingOptions(
            language=language, task="transcribe", without_timestamps=True, fp16=fp16,
            beam_size=self.settings.decode.beam_size if self.settings.decode.beam_size > 1
            else None)
        texts: list[ChunkText] = []
        for first in range(0, len(spans), self.batch_size):
            batch = spans[first:first + self.batch_size]
            results = task(model, decoding).run(_mels(model, audio, batch))
            texts += [_chunk_text(span, result) for span, result in zip(batch, results,
                                                                        strict=True)
                      if str(result.text).strip()]
            if on_progress is not None:
                on_progress(batch[-1][1])
        return texts

    def timed(self, audio: Any, texts: list[ChunkText], language: str) -> list[Decoded]:
        """The decoded chunks as segments, their words timed on the audio."""
        aligner = window_aligner(self._model, language, fp16=self.compute_type == "float16")
        timings = align(aligner, audio, [Span(t.start, t.end, t.tokens) for t in texts])
        return [timing.decoded(t.text, t.avg_logprob, t.no_speech_prob, t.compression_ratio)
                for t, timing in zip(texts, timings, strict=True)]


def speech_chunks(audio: Any, options: DecodeOptions) -> list[tuple[float, float]]:
    """The chunks the engine decodes: pipeline.asr.batched's, never longer than 30 s."""
    return chunks(audio, replace(options, chunk_seconds=min(options.chunk_seconds, WINDOW_S)))


@functools.cache
def _batch_task() -> Any:
    """`whisper.decode`'s task, with beam search working on a batch.

    openai-whisper 20250625 (our pin) gives each beam its audio by broadcasting, which
    only works for one audio at a time: a batch with beam_size > 1 fails with "The size of
    tensor a (10) must match the size of tensor b (2)" (openai/whisper#2197, open). As
    that pull request does, each chunk's encoded audio is repeated once per beam, and the
    language is decided per chunk, before the repeat.
    """
    from whisper.decoding import DecodingTask

    class BatchedBeamTask(DecodingTask):  # type: ignore[misc]
        def _get_audio_features(self, mel: Any) -> Any:
            return super()._get_audio_features(mel).repeat_interleave(self.n_group, dim=0)

        def _detect_language(self, audio_features: Any, tokens: Any) -> Any:
            return super()._detect_language(audio_features[::self.n_group], tokens)

    return BatchedBeamTask


def _mels(model: Any, audio: Any, spans: list[tuple[float, float]]) -> Any:
    """The chunks' log-mel spectrograms, each padded with silence to 30 s, stacked on the
    model's device. One at a time: each is scaled by its own loudest frame."""
    import torch
    from whisper.audio import log_mel_spectrogram, pad_or_trim

    return torch.stack([
        log_mel_spectrogram(pad_or_trim(audio[round(start * SAMPLE_RATE):
                                              round(end * SAMPLE_RATE)]),
                            model.dims.n_mels, device=model.device)
        for start, end in spans])


def _chunk_text(span: tuple[float, float], result: Any) -> ChunkText:
    return ChunkText(start=span[0], end=span[1], text=str(result.text).strip(),
                     tokens=tuple(int(t) for t in result.tokens),
                     avg_logprob=float(result.avg_logprob),
                     no_speech_prob=float(result.no_speech_prob),
                     compression_ratio=float(result.compression_ratio))
