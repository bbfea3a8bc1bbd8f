"""Speech recognition engines behind one seam (`Engine`), and what surrounds them:
the engine registry, decoding options, the engine's identity (for fingerprints),
guards, and the per-session transcription job."""

from __future__ import annotations

from pipeline.asr.engines import make_engine

__all__ = ["make_engine"]
