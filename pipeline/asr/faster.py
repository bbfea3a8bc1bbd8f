"""faster-whisper (CTranslate2): the default engine on CPU."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pipeline.asr.align import APPEND, PREPEND, AlignedSegment, Span, WindowAligner, align
from pipeline.asr.batched import decode_batched
from pipeline.asr.decoding import WhisperSettings
from pipeline.asr.engine import Decoded, EngineIdentity, Progress, identity_of
from pipeline.asr.vad import speech_clips
from pipeline.asr.weights import resolve_model
from pipeline.errors import ModelError


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

    def transcribe(self, audio: Any, language: str,
                   on_progress: Progress | None = None) -> list[Decoded]:
        options = self.settings.decode
        self.load()
        if options.batch_size > 1:
            return self._transcribe_batched(audio, language, on_progress)
        clips: list[float] | str = "0"  # faster-whisper's "from the start, all of it"
        join = options.vad and options.vad_mode == "join"
        if options.vad and not join:
            clips = speech_clips(audio, options)
            if not clips:
                return []
        vad_parameters = {"threshold": options.vad_threshold,
                          "min_silence_duration_ms": options.vad_min_silence_ms,
                          "speech_pad_ms": options.vad_speech_pad_ms}
        raw_segments, _info = self._model.transcribe(
            audio, language=language, task="transcribe", beam_size=options.beam_size,
            condition_on_previous_text=options.condition_on_previous_text,
            **({} if options.fallback else {"temperature": 0.0}),
            vad_filter=join, vad_parameters=vad_parameters if join else None,
            clip_timestamps=clips, word_timestamps=options.word_timing == "decoder")
        raws = []
        for raw in raw_segments:  # a generator: decoding happens while we iterate
            raws.append(raw)
            if on_progress is not None:
                on_progress(raw.end)
        return self._timed(raws, audio, language)

    def _transcribe_batched(self, audio: Any, language: str,
                            on_progress: Progress | None) -> list[Decoded]:
        def advance(raw: Any) -> None:
            if on_progress is not None:
                on_progress(raw.end)

        raws = decode_batched(self._model, audio, language, self.settings.decode, advance)
        return self._timed(raws, audio, language)

    def _timed(self, raws: list[Any], audio: Any, language: str) -> list[Decoded]:
        """Decoded segments with their word timings (aligned after, or the decoder's)."""
        if self.settings.decode.word_timing == "decoder":
            timings = [AlignedSegment(raw.start, raw.end, [asdict(w) for w in raw.words or []])
                       for raw in raws]
        else:
            timings = align(self._window_aligner(language), audio,
                            [Span(raw.start, raw.end, tuple(raw.tokens)) for raw in raws])
        return [_decoded(raw, timing) for raw, timing in zip(raws, timings, strict=True)]

    def _window_aligner(self, language: str) -> WindowAligner:
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer

        model = self._model
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual,
                              task="transcribe", language=language)

        def align_window(chunk: Any, seek: int, num_frames: int, group: list[dict[str, Any]],
                         last_speech: float) -> None:
            features = model.feature_extractor(chunk)[..., :num_frames]
            encoder_output = model.encode(pad_or_trim(features))
            model.add_word_timestamps([group], tokenizer, encoder_output, num_frames,
                                      PREPEND, APPEND, last_speech_timestamp=last_speech)

        return align_window


def _decoded(raw: Any, timing: AlignedSegment) -> Decoded:
    return timing.decoded(raw.text, raw.avg_logprob, raw.no_speech_prob, raw.compression_ratio)
