"""openai-whisper (PyTorch): the second engine, on the same bundled weights.

Model: "base" is the bundled CTranslate2 base converted once to an openai-whisper
checkpoint (pipeline.asr.convert); a local CTranslate2 folder is converted the same
way; a path to a `.pt` checkpoint is loaded as it is; any other name goes to
`whisper.load_model` with its download folder inside the model folder (which fails
offline: a ModelError saying what to use instead).

Decoding follows faster-whisper's defaults, so that the two engines differ only in
the implementation: temperature fallback 0.0..1.0 in steps of 0.2 with best_of 5,
Whisper's compression-ratio, log-probability and no-speech thresholds, word timings
aligned after decoding (pipeline.asr.align) unless `word_timing` is "decoder".
beam_size 1 is greedy decoding (openai-whisper's `beam_size=None`). openai-whisper
has no voice-activity filter: with `vad` on, the speech is found with faster-whisper's
Silero VAD and the same options (pipeline.asr.vad), and either decoded as clip
timestamps ("skip", the default) or cut out, joined, decoded and mapped back to the
original times ("join"), exactly as faster-whisper does each.
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pipeline.asr.align import APPEND, PREPEND, AlignedSegment, Span, WindowAligner, align
from pipeline.asr.decoding import WhisperSettings
from pipeline.asr.engine import (
    SAMPLE_RATE,
    Decoded,
    EngineIdentity,
    Progress,
    identity_of,
)
from pipeline.asr.vad import clip_time, speech_clips
from pipeline.asr.weights import BUNDLED_MODEL, default_model_dir
from pipeline.errors import ModelError
from pipeline.results import Word

TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # faster-whisper's and openai-whisper's default
BEST_OF = 5  # candidates when sampling at a fallback temperature (faster-whisper's default)
_FIX_HINT = ("use --model base (bundled, works offline), or a path to an openai-whisper .pt "
             "checkpoint, or --engine faster-whisper")
_PROGRESS_LOCK = threading.Lock()  # the progress hook swaps a module global for one call


class OpenAIWhisperEngine:
    name = "openai-whisper"

    def __init__(self, settings: WhisperSettings) -> None:
        self.settings = settings
        self._model: Any = None

    @property
    def compute_type(self) -> str:
        return torch_compute_type(self.settings)

    def load(self) -> None:
        if self._model is None:
            self._model = load_model(self.settings, self.name)

    def identity(self) -> EngineIdentity:
        return identity_of(self.name, self.settings, self.compute_type)

    def transcribe(self, audio: Any, language: str,
                   on_progress: Progress | None = None) -> list[Decoded]:
        import numpy as np

        options = self.settings.decode
        self.load()
        audio = np.ascontiguousarray(audio, dtype=np.float32)
        if not audio.flags.writeable:  # torch.from_numpy warns on read-only buffers
            audio = audio.copy()
        original = audio
        timeline = None
        clips: list[float] | str = "0"  # openai-whisper's "from the start, all of it"
        if options.vad and options.vad_mode != "join":
            clips = speech_clips(audio, options)
            if not clips:
                return []
        elif options.vad:
            from faster_whisper.vad import (
                SpeechTimestampsMap,
                VadOptions,
                collect_chunks,
                get_speech_timestamps,
            )

            chunks = get_speech_timestamps(audio, VadOptions(
                threshold=options.vad_threshold,
                min_silence_duration_ms=options.vad_min_silence_ms,
                speech_pad_ms=options.vad_speech_pad_ms))
            if not chunks:
                return []
            pieces, _ = collect_chunks(audio, chunks)
            audio = np.concatenate(pieces)
            timeline = SpeechTimestampsMap(chunks, SAMPLE_RATE)
        if len(audio) == 0:
            return []

        def progress(seconds: float) -> None:
            if on_progress is None:
                return
            if timeline is not None:
                seconds = timeline.get_original_time(seconds)
            elif isinstance(clips, list):  # openai-whisper counts decoded seconds only
                seconds = clip_time(clips, seconds)
            on_progress(seconds)

        with _PROGRESS_LOCK, _Reporting(progress if on_progress else None):
            result = self._model.transcribe(
                audio, language=language, task="transcribe",
                beam_size=options.beam_size if options.beam_size > 1 else None,
                best_of=BEST_OF, temperature=TEMPERATURES if options.fallback else 0.0,
                condition_on_previous_text=options.condition_on_previous_text,
                clip_timestamps=clips, word_timestamps=options.word_timing == "decoder",
                fp16=self.compute_type == "float16", verbose=False if on_progress else None)
        if options.word_timing == "decoder":
            return [_decoded(raw, timeline) for raw in result["segments"]]
        spans = [_original_span(raw, timeline) for raw in result["segments"]]
        timings = align(self._window_aligner(language), original, spans)
        return [_aligned(raw, timing) for raw, timing in zip(result["segments"], timings,
                                                            strict=True)]

    def _window_aligner(self, language: str) -> WindowAligner:
        return window_aligner(self._model, language, fp16=self.compute_type == "float16")


def torch_compute_type(settings: WhisperSettings) -> str:
    """float16 on a CUDA device, float32 on the CPU (which has no fast half precision);
    the torch engines' compute type (shared with pipeline.asr.torch_batched)."""
    return "float16" if settings.device.startswith("cuda") else "float32"


def load_model(settings: WhisperSettings, engine: str) -> Any:
    """The openai-whisper model `settings` name, on their device, with its alignment heads
    (shared with pipeline.asr.torch_batched; `engine` names the engine in errors)."""
    try:
        import torch
        import whisper
    except ImportError as exc:
        raise ModelError(f"the {engine} engine is not installed ({exc.name} is "
                         "missing)", "pip install -e '.[openai]', or use --engine "
                         "faster-whisper") from None
    if not settings.device.startswith("cuda"):
        torch.set_num_threads(max(int(settings.cpu_threads), 1))
    reference, heads = _checkpoint(settings)
    root = settings.model_dir or default_model_dir()
    try:
        model = whisper.load_model(reference, device=settings.device,
                                   download_root=str(root / "openai-whisper"))
    except Exception as exc:  # torch, pickle, urllib and whisper raise many types
        raise _load_error(settings.model, reference, exc) from None
    if heads is not None:
        model.set_alignment_heads(heads)
    return model


def _checkpoint(settings: WhisperSettings) -> tuple[str, bytes | None]:
    """What to hand to `whisper.load_model`, and the alignment heads to set after."""
    from pipeline.asr import convert

    name = settings.model
    if name == BUNDLED_MODEL:
        converted = convert.bundled_conversion(settings.model_dir)
        return str(converted.checkpoint), _stored_heads(converted.checkpoint)
    path = Path(name).expanduser()
    if path.is_dir() and (path / "model.bin").is_file():
        converted = convert.folder_conversion(path, settings.model_dir)
        return str(converted.checkpoint), _stored_heads(converted.checkpoint)
    if path.suffix == ".pt" or path.is_file():
        if not path.is_file():
            raise ModelError(f"Whisper model file {path} does not exist", _FIX_HINT)
        return str(path), _stored_heads(path)
    return name, None


def window_aligner(model: Any, language: str, *, fp16: bool) -> WindowAligner:
    """Aligns a window's segments with openai-whisper's word timing (pipeline.asr.align)."""
    import torch
    from whisper.audio import N_FRAMES, log_mel_spectrogram, pad_or_trim
    from whisper.timing import add_word_timestamps
    from whisper.tokenizer import get_tokenizer

    tokenizer = get_tokenizer(model.is_multilingual, num_languages=model.num_languages,
                              language=language, task="transcribe")
    dtype = torch.float16 if fp16 else torch.float32

    def align_window(chunk: Any, seek: int, num_frames: int, group: list[dict[str, Any]],
                     last_speech: float) -> None:
        mel = log_mel_spectrogram(chunk, model.dims.n_mels)[:, :num_frames]
        mel = pad_or_trim(mel, N_FRAMES).to(model.device).to(dtype)
        add_word_timestamps(segments=group, model=model, tokenizer=tokenizer, mel=mel,
                            num_frames=num_frames, prepend_punctuations=PREPEND,
                            append_punctuations=APPEND, last_speech_timestamp=last_speech)

    return align_window


def _original_span(raw: dict[str, Any], timeline: Any) -> Span:
    start, end = float(raw["start"]), float(raw["end"])
    if timeline is not None:
        start = timeline.get_original_time(start)
        end = timeline.get_original_time(end, is_end=True)
    return Span(start, end, tuple(int(t) for t in raw["tokens"]))


def _aligned(raw: dict[str, Any], timing: AlignedSegment) -> Decoded:
    return timing.decoded(str(raw["text"]), raw["avg_logprob"], raw["no_speech_prob"],
                          raw["compression_ratio"])


def _decoded(raw: dict[str, Any], timeline: Any) -> Decoded:
    words = [(float(w["start"]), float(w["end"]), str(w["word"]), float(w["probability"]))
             for w in raw.get("words") or []]
    start, end = float(raw["start"]), float(raw["end"])
    if timeline is not None:
        mapped = []
        for w_start, w_end, text, probability in words:
            # Both ends in the chunk of the word's middle, as faster-whisper does it.
            chunk = timeline.get_chunk_index((w_start + w_end) / 2)
            mapped.append((timeline.get_original_time(w_start, chunk),
                           timeline.get_original_time(w_end, chunk), text, probability))
        words = mapped
        if words:
            start, end = words[0][0], words[-1][1]
        else:
            start = timeline.get_original_time(start)
            end = timeline.get_original_time(end, is_end=True)
    return Decoded(
        start=round(start, 3), end=round(end, 3), text=str(raw["text"]).strip(),
        words=tuple(Word(start=round(a, 3), end=round(b, 3), word=text,
                         probability=round(p, 4)) for a, b, text, p in words),
        avg_logprob=float(raw["avg_logprob"]), no_speech_prob=float(raw["no_speech_prob"]),
        compression_ratio=float(raw["compression_ratio"]))


class _Reporting:
    """Route openai-whisper's progress bar (frames decoded) to `progress(seconds)`.

    `whisper.transcribe` only reports progress through `tqdm.tqdm`, looked up in its
    module at call time; for the call, that name points at a bar that reports instead.
    """

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.module: Any = None
        self.saved: Any = None

    def __enter__(self) -> None:
        if self.progress is None:
            return
        from whisper.audio import FRAMES_PER_SECOND

        progress = self.progress

        class Bar:
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                self.frames = 0

            def __enter__(self) -> Bar:
                return self

            def __exit__(self, *exc: object) -> None:
                return None

            def update(self, frames: int) -> None:
                self.frames += frames
                progress(self.frames / FRAMES_PER_SECOND)

        self.module = importlib.import_module("whisper.transcribe")
        self.saved = self.module.tqdm
        self.module.tqdm = SimpleNamespace(tqdm=Bar)

    def __exit__(self, *exc: object) -> None:
        if self.module is not None:
            self.module.tqdm = self.saved


def _stored_heads(checkpoint: Path) -> bytes | None:
    """The alignment heads a converted checkpoint carries (see pipeline.asr.convert)."""
    import torch

    try:
        # mmap: only the small "alignment_heads" entry is read, not the weights.
        stored = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # whisper.load_model reports an unreadable file with its own words
        return None
    heads = stored.get("alignment_heads") if isinstance(stored, dict) else None
    return heads if isinstance(heads, bytes) else None


def _load_error(model: str, reference: str, exc: Exception) -> ModelError:
    """One line for staff: a damaged file, an unknown name, or a download that failed."""
    if Path(reference).is_file():
        return ModelError(f"cannot load the Whisper checkpoint {reference}: not an openai-whisper "
                          f".pt file, or a damaged one ({type(exc).__name__})", _FIX_HINT)
    if isinstance(exc, OSError):  # urllib's URLError included: no network, no hub
        return ModelError(f"cannot download Whisper model '{model}' for openai-whisper "
                          f"(offline?): {_first_line(exc)}", _FIX_HINT)
    if isinstance(exc, RuntimeError) and "not found" in str(exc):
        import whisper

        return ModelError(f"unknown Whisper model '{model}' (openai-whisper knows "
                          f"{', '.join(whisper.available_models())})", _FIX_HINT)
    return ModelError(f"cannot load Whisper model '{model}' with openai-whisper: "
                      f"{_first_line(exc)}", _FIX_HINT)


def _first_line(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else repr(exc)
    return line if len(line) <= limit else line[:limit - 3] + "..."
