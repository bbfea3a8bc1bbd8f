"""Benchmark: batched decoding on the CPU against the sequential default, for speed.

Workload: the first N talks of the speech corpus (default 2: 5.3 minutes), each rebuilt as
long-form audio as scripts/bench/asr_quality.py builds it (its cache in build/asr-quality/).
Every setting goes through `recognise` (decode, alignment of the words, guards, cues: what
the transcribe stage does), with the bundled base model in int8, loaded once and not timed.

The baseline is the sequential default (`DecodeOptions()`: beam 5, conditioned on the
previous text, VAD skip), measured first in the same run; then batched decoding
(pipeline.asr.batched: chunks cut at pauses, at most `chunk_seconds`) at each batch size
and thread count. Printed for each: wall time, real-time factor, speed against the baseline,
and CER on these talks (the twelve-talk CER comes from asr_quality.py --grid batched).
The machine's load average is printed with each row: figures from a busy machine are rough.

Usage: .venv/bin/python scripts/bench/asr_batched.py [--talks 2] [--chunk 30]
"""

from __future__ import annotations

import os
import time

from _asr_quality_audio import clean_audio, corpus_talks
from _common import bench_parser, machine, print_table, speech_dir

from pipeline.asr import make_engine
from pipeline.asr.cer import score
from pipeline.asr.decoding import DecodeOptions, WhisperSettings
from pipeline.asr.engine import SAMPLE_RATE
from pipeline.asr.recognise import recognise

# (label, batch size, CPU threads); the first is the baseline.
SETTINGS = [("sequential (default)", 1, 2), ("batched 4", 4, 2), ("batched 8", 8, 2),
            ("batched 16", 16, 2), ("batched 8, 1 thread", 8, 1)]


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--talks", type=int, default=2, choices=range(1, 13), metavar="N")
    parser.add_argument("--chunk", type=float, default=30.0, help="chunk seconds")
    args = parser.parse_args()
    print(f"machine: {machine('faster-whisper', 'ctranslate2')}")
    talks = corpus_talks(speech_dir())[:args.talks]
    audios = [clean_audio(talk) for talk in talks]
    seconds = sum(len(audio) for audio in audios) / SAMPLE_RATE
    print(f"audio: {len(talks)} talk(s), {seconds / 60:.1f} min")
    rows, baseline = [], 0.0
    for label, batch, threads in SETTINGS:
        engine = make_engine(WhisperSettings(cpu_threads=threads, decode=DecodeOptions(
            batch_size=batch, chunk_seconds=args.chunk)))
        engine.load()
        started, errors, characters = time.perf_counter(), 0, 0
        for talk, audio in zip(talks, audios, strict=True):
            text = " ".join(s.text for s in recognise(engine, audio, "ko").segments)
            scored = score(talk.reference, text)
            errors, characters = errors + scored.errors, characters + scored.reference_chars
        took = time.perf_counter() - started
        baseline = baseline or took
        rows.append([label, str(threads), f"{took:.1f} s", f"x{seconds / took:.1f}",
                     f"x{baseline / took:.2f}", f"{100 * errors / characters:.2f}%",
                     f"{os.getloadavg()[0]:.1f}"])
        print(f"  {label}: {took:.1f} s", flush=True)
    print_table(["setting", "threads", "time", "real-time factor", "speed vs sequential",
                 f"CER ({len(talks)} talks)", "load"], rows)


if __name__ == "__main__":
    main()
