"""Benchmark: faster-whisper settings on the same bundled base weights.

Baseline: float32 compute with beam 5 (the reference accuracy). Compared: int8
compute (our default) and greedy decoding. Each is timed on the demo forum's
four sessions (144 s of real Korean speech), and its word recall against the
human reference transcripts is printed next to the speed ratio, so a faster
setting that loses words is visible at once.

Usage: .venv/bin/python scripts/bench/bench_transcribe.py [--runs 2]
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import numpy as np
from _common import add_runs, bench_parser, best_of, demo_forum, ffmpeg_mono, machine
from faster_whisper import WhisperModel

from pipeline.asr.weights import resolve_model

SETTINGS = [  # (label, compute_type, beam_size); the first is the baseline
    ("float32 beam5 (baseline)", "float32", 5),
    ("int8 beam5 (default)", "int8", 5),
    ("int8 greedy", "int8", 1),
]


def session_audio(master: Any, references: dict[str, Any]) -> dict[str, Any]:
    pcm = ffmpeg_mono(["-i", str(master)], rate=16000, sample_format="s16le")
    audio = pcm.astype(np.float32) / 32768.0
    return {sid: audio[int(ref["start"] * 16000):int(ref["end"] * 16000)]
            for sid, ref in references.items()}


def recall(text: str, reference: str) -> tuple[int, int]:
    squashed = re.sub(r"\s+", "", text)
    words = {w for w in reference.split() if len(w) >= 2}
    return sum(1 for w in words if w in squashed), len(words)


def main() -> None:
    parser = bench_parser(__doc__)
    add_runs(parser, 2)
    args = parser.parse_args()
    demo = demo_forum()
    references = json.loads(demo.references_path.read_text(encoding="utf-8"))
    audio = session_audio(demo.master_path, references)
    speech = sum(len(a) for a in audio.values()) / 16000
    model_dir = resolve_model("base")
    print(f"machine: {machine()}")
    print(f"workload: {len(audio)} sessions, {speech:.0f} s of Korean speech, Whisper base")
    baseline = None
    for label, compute, beam in SETTINGS:
        model = WhisperModel(model_dir, device="cpu", compute_type=compute,
                             cpu_threads=os.cpu_count() or 2)

        def run(model: WhisperModel = model, beam: int = beam) -> dict[str, str]:
            texts = {}
            for sid, samples in audio.items():
                segments, _ = model.transcribe(samples, language="ko", beam_size=beam,
                                               vad_filter=True, word_timestamps=True,
                                               condition_on_previous_text=False)
                texts[sid] = " ".join(s.text for s in segments)
            return texts

        seconds, texts = best_of(args.runs, run)
        found = total = 0
        for sid, text in texts.items():
            f, t = recall(text, references[sid]["text"])
            found, total = found + f, total + t
        baseline = baseline or seconds
        print(f"{label:<26} {seconds:6.1f} s  real-time x{speech / seconds:5.1f}  "
              f"speed vs baseline x{baseline / seconds:4.2f}  word recall {found / total:.2f}")


if __name__ == "__main__":
    main()
