"""Benchmark: our default transcription against openai-whisper, on the same base weights.

Workload: the first demo talk's fragments joined with 0.3 s gaps up to --seconds
(2.5 minutes by default) of real Korean speech; the reference is their human
transcripts joined. All three runs use the bundled Whisper base weights (the
CTranslate2 float16 model, and its openai-whisper conversion, pipeline.asr.convert):

  (a) the project's default: `recognise()` with `make_engine(WhisperSettings())`
      (faster-whisper, int8, word timings) and its default DecodeOptions (printed);
  (b) the openai-whisper engine with the same DecodeOptions, through `recognise()`;
  (c) the baseline: openai-whisper's own command line with its own defaults
      (`whisper AUDIO --model <converted .pt> --language ko --output_format txt
      --device cpu`: beam 5, best_of 5, temperature fallback, conditioned on the
      previous text, no VAD, no word timings), timed as a whole process.

For each: model load, transcription time, real-time factor (audio seconds per
wall second), CER against the reference, and speed against (c). With --breakdown it
also times where (a)'s time goes: faster-whisper alone with one option changed at a
time (beam, conditioning on the previous text, VAD, word timings, float32, one thread
against all), batched decoding, and the guards' own VAD pass.

Usage: .venv/bin/python scripts/bench/asr.py [--seconds 150] [--runs 1] [--breakdown]
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import wave
from pathlib import Path
from typing import Any

import numpy as np
from _common import Timing, add_runs, bench_parser, machine, print_table, speech_dir, timed

from pipeline.asr import make_engine
from pipeline.asr.cer import cer
from pipeline.asr.convert import openai_checkpoint
from pipeline.asr.decoding import DecodeOptions, WhisperSettings
from pipeline.asr.engine import SAMPLE_RATE
from pipeline.asr.recognise import recognise
from pipeline.demo import DEMO_SESSIONS
from pipeline.demo.corpus import joined_speech
from pipeline.settings import Settings

GAP_SECONDS = 0.3


def talk_audio(talk: Path, seconds: float) -> tuple[Any, str, int]:
    """Whole fragments in numeric order, joined with 0.3 s of silence, while they fit."""
    joined = joined_speech(talk, seconds, GAP_SECONDS)
    return joined.audio, joined.text, joined.fragments


def write_wav(path: Path, audio: Any) -> None:
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm)


def through_recognise(engine_name: str, audio: Any, runs: int) -> dict[str, Any]:
    engine = make_engine(WhisperSettings(engine=engine_name,
                                         model_dir=Settings.from_environ().model_dir))

    def load() -> bool:
        engine.load()
        if engine_name == "openai-whisper":
            # numba compiles openai-whisper's DTW (word timings) on its first call in a
            # process: a one-off like the model load, so it is counted there.
            from whisper.timing import dtw_cpu

            dtw_cpu(np.zeros((4, 4)))
        return True

    loading, _ = timed(1, load)
    seconds, result = timed(runs, lambda: recognise(engine, audio, "ko"))  # default options
    return {"load": loading, "transcribe": seconds,
            "text": " ".join(s.text for s in result.segments)}


def command_line(checkpoint: Path, audio: Any, runs: int) -> dict[str, Any]:
    whisper_cli = Path(sys.executable).with_name("whisper")
    with tempfile.TemporaryDirectory(prefix="bench-asr-") as tmp:
        wav = Path(tmp) / "talk.wav"
        write_wav(wav, audio)
        command = [str(whisper_cli), str(wav), "--model", str(checkpoint), "--language", "ko",
                   "--output_dir", tmp, "--output_format", "txt", "--device", "cpu"]
        total, _ = timed(runs, lambda: subprocess.run(command, capture_output=True,
                                                      check=True))
        text = (Path(tmp) / "talk.txt").read_text(encoding="utf-8")
    # The process also starts Python, imports torch and loads the model: time that alone.
    load_only = [sys.executable, "-c", "import sys, whisper; whisper.load_model(sys.argv[1], "
                 "device='cpu')", str(checkpoint)]
    load, _ = timed(runs, lambda: subprocess.run(load_only, capture_output=True, check=True))
    return {"load": load, "transcribe": total - load, "total": total, "text": text}


def breakdown(audio: Any, reference: str, runs: int) -> list[tuple[str, Timing, float]]:
    """Where the default's time goes: faster-whisper variants on the same audio."""
    from faster_whisper import WhisperModel

    from pipeline.asr.guards import speech_spans
    from pipeline.asr.weights import resolve_model

    folder = resolve_model("base", Settings.from_environ().model_dir)
    defaults = DecodeOptions()
    vad = {"threshold": defaults.vad_threshold,
           "min_silence_duration_ms": defaults.vad_min_silence_ms,
           "speech_pad_ms": defaults.vad_speech_pad_ms}
    threads = os.cpu_count() or 2
    rows = []
    beam, cond = defaults.beam_size, defaults.condition_on_previous_text
    variants = [  # label, compute, threads, beam, conditioned, vad, word timings
        ("the default's engine call (int8, all threads)", "int8", threads, beam, cond, True,
         True),
        ("greedy (beam 1)", "int8", threads, 1, cond, True, True),
        (f"condition_on_previous_text {not cond}", "int8", threads, beam, not cond, True, True),
        ("no VAD", "int8", threads, beam, cond, False, True),
        ("no word timings", "int8", threads, beam, cond, True, False),
        ("float32 compute", "float32", threads, beam, cond, True, True),
        ("1 thread", "int8", 1, beam, cond, True, True),
    ]
    models: dict[tuple[str, int], Any] = {}
    for label, compute, count, size, conditioned, use_vad, words in variants:
        model = models.get((compute, count))
        if model is None:
            model = models[(compute, count)] = WhisperModel(folder, device="cpu",
                                                            compute_type=compute,
                                                            cpu_threads=count)

        def run(model: Any = model, size: int = size, conditioned: bool = conditioned,
                use_vad: bool = use_vad, words: bool = words) -> str:
            segments, _ = model.transcribe(
                audio, language="ko", beam_size=size, condition_on_previous_text=conditioned,
                vad_filter=use_vad, vad_parameters=vad if use_vad else None,
                word_timestamps=words)
            return " ".join(s.text.strip() for s in segments)

        seconds, text = timed(runs, run)
        rows.append((label, seconds, cer(reference, text)))
    from faster_whisper import BatchedInferencePipeline

    batched = BatchedInferencePipeline(models[("int8", threads)])

    def run_batched() -> str:
        # Batches are decoded side by side, so no piece can see the previous one's text.
        segments, _ = batched.transcribe(audio, language="ko", beam_size=beam, batch_size=8,
                                         vad_parameters=vad, word_timestamps=True)
        return " ".join(s.text.strip() for s in segments)

    seconds, text = timed(runs, run_batched)
    rows.append(("batched: BatchedInferencePipeline, batch 8 (VAD pieces of <= 30 s)",
                 seconds, cer(reference, text)))
    seconds, _ = timed(runs, lambda: speech_spans(audio))
    rows.append(("the guards' VAD pass (recognise, once per session)", seconds, float("nan")))
    return rows


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--seconds", type=float, default=150.0,
                        help="seconds of speech from the first demo talk")
    add_runs(parser, 1, "best of this many runs")
    parser.add_argument("--breakdown", action="store_true",
                        help="also time variants of the default, to see where its time goes")
    args = parser.parse_args()

    talk = speech_dir() / DEMO_SESSIONS[0].talk_dir
    audio, reference, fragments = talk_audio(talk, args.seconds)
    duration = len(audio) / SAMPLE_RATE
    checkpoint = openai_checkpoint(WhisperSettings(model_dir=Settings.from_environ().model_dir))
    import ctranslate2
    import faster_whisper
    import torch
    import whisper

    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    print(f"faster-whisper {faster_whisper.__version__}, ctranslate2 {ctranslate2.__version__}, "
          f"openai-whisper {whisper.__version__}, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads)")
    print(f"workload: {fragments} fragments of {talk.relative_to(talk.parents[2])}, "
          f"{duration:.1f} s, Whisper base; checkpoint {checkpoint.name}")
    print(f"default DecodeOptions: {DecodeOptions().as_dict()}")

    labels = {"a": "(a) default: faster-whisper int8, recognise()",
              "b": "(b) openai-whisper engine, recognise()",
              "c": "(c) openai-whisper CLI, its defaults (baseline)"}
    results = {"a": through_recognise("faster-whisper", audio, args.runs),
               "b": through_recognise("openai-whisper", audio, args.runs),
               "c": command_line(checkpoint, audio, args.runs)}
    base = results["c"]["transcribe"]
    print()
    print_table(("run", "load", "transcribe", "CPU time", "real-time factor", "speed vs (c)",
                 "CPU vs (c)", "CER"))
    for key, row in results.items():
        spent = row["transcribe"]
        print(f"| {labels[key]} | {row['load'].wall:.1f} s | {spent.wall:.1f} s | "
              f"{spent.cpu:.1f} s | x{duration / spent.wall:.1f} | x{base.wall / spent.wall:.2f} | "
              f"x{base.cpu / spent.cpu:.2f} | {cer(reference, row['text']):.3f} |")
    whole_a = results["a"]["load"].wall + results["a"]["transcribe"].wall
    print(f"\nwith start-up and model load: (c) as a whole process "
          f"{results['c']['total'].wall:.1f} s, (a) {whole_a:.1f} s "
          f"(x{results['c']['total'].wall / whole_a:.2f})")
    if args.breakdown:
        print("\nwhere the default's time goes (faster-whisper alone, no guards):")
        print_table(("variant", "transcribe", "CPU time", "real-time factor", "CER"))
        for label, spent, score in breakdown(audio, reference, args.runs):
            shown = "-" if math.isnan(score) else f"{score:.3f}"
            print(f"| {label} | {spent.wall:.1f} s | {spent.cpu:.1f} s | "
                  f"x{duration / spent.wall:.1f} | {shown} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
