"""Speech recognition engines behind one seam (`Engine`), and what surrounds them:
decoding options, the engine's identity (for fingerprints), and guards."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.errors import UsageError

if TYPE_CHECKING:
    from pipeline.asr.decoding import WhisperSettings
    from pipeline.asr.engine import Engine


def make_engine(settings: WhisperSettings) -> Engine:
    """The engine `settings.engine` names, not yet loaded."""
    if settings.engine == "faster-whisper":
        from pipeline.asr.faster import FasterWhisperEngine

        return FasterWhisperEngine(settings)
    if settings.engine == "openai-whisper":
        from pipeline.asr.openai_engine import OpenAIWhisperEngine

        return OpenAIWhisperEngine(settings)
    raise UsageError(f"unknown Whisper engine '{settings.engine}'",
                     "choose faster-whisper or openai-whisper")
