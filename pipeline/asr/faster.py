"""faster-whisper (CTranslate2): the default engine on CPU."""

from __future__ import annotations

from typing import Any

from pipeline.asr.engine import Decoded, DecodeOptions, EngineIdentity, Progress, identity_of
from pipeline.errors import ModelError
from pipeline.models import Word
from pipeline.options import WhisperSettings
from pipeline.weights import resolve_model


class FasterWhisperEngine:
    name = "faster-whisper"

    def __init__(self, settings: WhisperSettings) -> None:
        self.settings = settings
        self._model: Any = None

    def load(self) -> None:
        if self._model is not None:
            return
        from faster_whisper import WhisperModel

        settings = self.settings
        model_ref = resolve_model(settings.model, settings.model_dir)
        try:
            self._model = WhisperModel(model_ref, device=settings.device,
                                       compute_type=settings.compute_type,
                                       cpu_threads=settings.cpu_threads)
        except Exception as exc:  # ctranslate2/huggingface raise many unrelated types
            raise ModelError(
                f"cannot load Whisper model '{settings.model}' with faster-whisper: "
                f"{str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}",
                "use --model base (bundled, works offline), or check the name with "
                "`sort-archive models list`",
            ) from None

    def identity(self) -> EngineIdentity:
        return identity_of(self.name, self.settings, self.settings.compute_type)

    def transcribe(self, audio: Any, language: str, options: DecodeOptions,
                   on_progress: Progress | None = None) -> list[Decoded]:
        self.load()
        vad_parameters = {"threshold": options.vad_threshold,
                          "min_silence_duration_ms": options.vad_min_silence_ms,
                          "speech_pad_ms": options.vad_speech_pad_ms}
        raw_segments, _info = self._model.transcribe(
            audio, language=language, task="transcribe", beam_size=options.beam_size,
            condition_on_previous_text=options.condition_on_previous_text,
            vad_filter=options.vad, vad_parameters=vad_parameters if options.vad else None,
            word_timestamps=True)
        decoded = []
        for raw in raw_segments:  # a generator: decoding happens while we iterate
            words = tuple(Word(start=round(w.start, 3), end=round(w.end, 3), word=w.word,
                               probability=round(w.probability, 4)) for w in (raw.words or []))
            decoded.append(Decoded(start=round(raw.start, 3), end=round(raw.end, 3),
                                   text=raw.text.strip(), words=words,
                                   avg_logprob=float(raw.avg_logprob),
                                   no_speech_prob=float(raw.no_speech_prob),
                                   compression_ratio=float(raw.compression_ratio)))
            if on_progress is not None:
                on_progress(raw.end)
        return decoded
