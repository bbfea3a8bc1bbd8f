"""Benchmark: transcription quality (CER) of decoding settings on the Korean talks.

Each talk of the speech corpus (shared/korean-speech) is rebuilt as long-form audio: its
fragments in the order of its trans.txt, joined by 0.3 s of silence, decoded by ffmpeg to
16 kHz mono float32 and cached as .npy in build/asr-quality/. `--noisy` wraps every talk as
a forum session is recorded: 8 s of title-card near-silence and 6 s of applause before it,
6 s of applause and 8 s of near-silence after it.

Every setting is decoded through `recognise` (decode + hallucination guards + subtitle cues,
what the pipeline writes) and scored with the project's CER (pipeline.asr.cer) against the
human transcript; CER is pooled (total errors / total reference characters). The reference
point is plain faster-whisper with its own defaults (`plain/COMPUTE`: `transcribe(audio,
language="ko")` and nothing else, segment texts joined). The model is loaded once per compute
type and shared by all settings.

Results go, one JSON line per talk and setting, to build/asr-quality/results.jsonl as they
come; a rerun skips the (audio, talk, setting) triples already there, so a long run can be
stopped and resumed, and the 4-talk figures are the 12-talk run's first four talks.

A setting is written `ENGINE/COMPUTE/bBEAM/VAD/COND`, e.g.
`faster-whisper/int8/b5/vad0.5-2000-400/nocond` (VAD threshold, min silence ms, speech pad
ms; `novad` for none; `cond` or `nocond` for condition_on_previous_text), or `plain/float32`.

Usage:
  .venv/bin/python scripts/bench/asr_quality.py --talks 4 --grid screen
  .venv/bin/python scripts/bench/asr_quality.py --talks 12 --grid final
  .venv/bin/python scripts/bench/asr_quality.py --talks 12 --noisy --grid noisy
  .venv/bin/python scripts/bench/asr_quality.py --talks 12 --setting plain/float32 \\
      --setting faster-whisper/int8/b5/vad0.5-2000-400/nocond
  .venv/bin/python scripts/bench/asr_quality.py --compute int8 --beam 5 --vad \\
      --vad-threshold 0.35 --vad-min-silence-ms 1000 --no-condition
  .venv/bin/python scripts/bench/asr_quality.py --report     # table from results.jsonl
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from _asr_quality_audio import Talk, clean_audio, corpus_talks, noisy_audio
from _asr_quality_results import RESULTS, Pooled, append_result, load_results, pooled
from _common import ROOT, bench_parser, machine, run_timed, speech_dir

from pipeline.asr import make_engine
from pipeline.asr.cer import score
from pipeline.asr.decoding import DecodeOptions, WhisperSettings
from pipeline.asr.engine import SAMPLE_RATE, Engine
from pipeline.asr.recognise import recognise

LANGUAGE = "ko"

GRIDS: dict[str, list[str]] = {
    # One dimension at a time from the centre (int8, beam 5, faster-whisper's VAD
    # defaults, no conditioning), plus the plain faster-whisper reference points.
    "screen": [
        "plain/float32",
        "plain/int8",
        "faster-whisper/int8/b5/vad0.5-2000-400/nocond",
        "faster-whisper/int8/b5/novad/nocond",
        "faster-whisper/int8/b5/vad0.5-2000-400/cond",
        "faster-whisper/int8/b1/vad0.5-2000-400/nocond",
        "faster-whisper/float32/b5/vad0.5-2000-400/nocond",
        "faster-whisper/int8/b5/vad0.35-1000-400/nocond",
        "faster-whisper/int8/b5/vad0.35-500-200/nocond",
        "faster-whisper/int8/b5/vad0.5-1000-600/nocond",
    ],
    # The finalists on all twelve talks (the screen's first four talks are reused).
    "final": [
        "plain/int8",
        "faster-whisper/int8/b5/vad0.5-2000-400/nocond",
        "faster-whisper/int8/b5/vad0.5-2000-400/cond",
        "faster-whisper/int8/b5/novad/cond",
        "plain/float32",
    ],
    # Batched decoding (issue 17) against the sequential default: chunk length is the
    # dimension that can change the text; batch size and threads change only the speed
    # (scripts/bench/asr.py --breakdown).
    "batched": [
        "faster-whisper/int8/b5/skip0.5-5000-400/cond/aligned",
        "faster-whisper/int8/b5/skip0.5-5000-400/nocond/aligned/batch8-30",
        "faster-whisper/int8/b5/skip0.5-5000-400/nocond/aligned/batch8-20",
    ],
    # The chosen setting, its VAD-off and unconditioned twins and the reference, with --noisy.
    "noisy": [
        "faster-whisper/int8/b5/vad0.5-2000-400/cond",
        "plain/int8",
        "faster-whisper/int8/b5/novad/cond",
        "faster-whisper/int8/b5/vad0.5-2000-400/nocond",
    ],
}


# --- settings -------------------------------------------------------------------------

@dataclass(frozen=True)
class Setting:
    engine: str  # "plain" for faster-whisper's own defaults
    compute_type: str
    decode: DecodeOptions = field(default_factory=DecodeOptions)

    @property
    def plain(self) -> bool:
        return self.engine == "plain"

    @property
    def key(self) -> str:
        if self.plain:
            return f"plain/{self.compute_type}"
        d = self.decode
        # "vad…" is faster-whisper's own VAD (speech joined), "skip…" skips non-speech.
        mode = "skip" if d.vad_mode == "skip" else "vad"
        vad = (f"{mode}{d.vad_threshold:g}-{d.vad_min_silence_ms}-{d.vad_speech_pad_ms}"
               if d.vad else "novad")
        cond = "cond" if d.condition_on_previous_text else "nocond"
        # Rows without a timing part were decoded with the decoder's word timings.
        timing = "/aligned" if d.word_timing == "aligned" else ""
        batch = f"/batch{d.batch_size}-{d.chunk_seconds:g}" if d.batch_size > 1 else ""
        return f"{self.engine}/{self.compute_type}/b{d.beam_size}/{vad}/{cond}{timing}{batch}"

    def columns(self) -> dict[str, str]:
        """The table's description columns."""
        if self.plain:
            return {"engine": "faster-whisper, own defaults", "compute": self.compute_type,
                    "beam": "5", "vad": "off", "cond": "True", "timing": "none"}
        d = self.decode
        vad = (f"{'skip' if d.vad_mode == 'skip' else 'join'} {d.vad_threshold:g} / "
               f"{d.vad_min_silence_ms} ms / {d.vad_speech_pad_ms} ms" if d.vad else "off")
        engine = (f"{self.engine}, batched {d.batch_size} x {d.chunk_seconds:g} s"
                  if d.batch_size > 1 else self.engine)
        return {"engine": engine, "compute": self.compute_type, "beam": str(d.beam_size),
                "vad": vad, "cond": str(d.condition_on_previous_text),
                "timing": "aligned after" if d.word_timing == "aligned" else "by the decoder"}


_VAD = re.compile(r"^(vad|skip)([0-9.]+)-(\d+)-(\d+)$")
_BATCH = re.compile(r"^batch(\d+)-([0-9.]+)$")  # batch size, chunk seconds


def parse_setting(text: str) -> Setting:
    parts = text.strip().split("/")
    if parts[0] == "plain" and len(parts) == 2:
        return Setting("plain", parts[1])
    batch = _BATCH.match(parts[-1])
    if batch:
        parts.pop()
    timing = "decoder"
    if len(parts) == 6 and parts[5] in ("aligned", "decoder"):
        timing = parts.pop()
    if len(parts) != 5 or not parts[2].startswith("b"):
        raise SystemExit(f"bad setting '{text}': want ENGINE/COMPUTE/bBEAM/VAD/COND[/aligned] "
                         "or plain/COMPUTE")
    engine, compute, beam, vad, cond = parts
    if cond not in ("cond", "nocond"):
        raise SystemExit(f"bad setting '{text}': the last part is cond or nocond")
    decode = DecodeOptions(beam_size=int(beam[1:]), condition_on_previous_text=cond == "cond",
                           vad=vad != "novad", word_timing=timing, vad_mode="join")
    if vad != "novad":
        match = _VAD.match(vad)
        if not match:
            raise SystemExit(f"bad setting '{text}': VAD is novad or vadTHRESHOLD-SILENCE-PAD")
        decode = replace(decode, vad_mode="skip" if match[1] == "skip" else "join",
                         vad_threshold=float(match[2]), vad_min_silence_ms=int(match[3]),
                         vad_speech_pad_ms=int(match[4]))
    if batch:
        decode = replace(decode, batch_size=int(batch[1]), chunk_seconds=float(batch[2]))
    return Setting(engine, compute, decode)


def settings_from_args(args: argparse.Namespace) -> list[Setting]:
    chosen = [parse_setting(s) for s in GRIDS[args.grid]] if args.grid else []
    chosen += [parse_setting(s) for s in args.setting]
    if args.plain:
        chosen.append(Setting("plain", args.compute))
    if not chosen:  # the single setting the flags describe
        base = DecodeOptions()
        decode = DecodeOptions(
            beam_size=args.beam if args.beam is not None else base.beam_size,
            condition_on_previous_text=(args.condition if args.condition is not None
                                        else base.condition_on_previous_text),
            vad=args.vad if args.vad is not None else base.vad,
            vad_threshold=(args.vad_threshold if args.vad_threshold is not None
                           else base.vad_threshold),
            vad_min_silence_ms=(args.vad_min_silence_ms if args.vad_min_silence_ms is not None
                                else base.vad_min_silence_ms),
            vad_speech_pad_ms=(args.vad_speech_pad_ms if args.vad_speech_pad_ms is not None
                               else base.vad_speech_pad_ms))
        chosen.append(Setting(args.engine, args.compute, decode))
    unique: dict[str, Setting] = {}
    for setting in chosen:
        unique.setdefault(setting.key, setting)
    return list(unique.values())


# --- decoding -------------------------------------------------------------------------

class Models:
    """One loaded engine per (engine, compute type), shared by every setting."""

    def __init__(self, cpu_threads: int) -> None:
        self.cpu_threads = cpu_threads
        self._engines: dict[tuple[str, str], Engine] = {}

    def engine(self, name: str, compute_type: str) -> Engine:
        key = (name, compute_type)
        if key not in self._engines:
            engine = make_engine(WhisperSettings(engine=name, compute_type=compute_type,
                                                 cpu_threads=self.cpu_threads))
            loading, _ = run_timed(engine.load)
            print(f"  loaded {name} {compute_type} in {loading.wall:.1f} s", flush=True)
            self._engines[key] = engine
        return self._engines[key]

    def decoding(self, name: str, compute_type: str, decode: DecodeOptions) -> Engine:
        """An engine that decodes with `decode` (an engine decodes with its settings'
        options), on the weights already loaded for (name, compute type)."""
        loaded = self.engine(name, compute_type)
        engine = make_engine(WhisperSettings(engine=name, compute_type=compute_type,
                                             cpu_threads=self.cpu_threads, decode=decode))
        engine._model = loaded._model  # type: ignore[attr-defined]
        return engine

    def plain_model(self, compute_type: str) -> Any:
        # The same faster_whisper.WhisperModel the engine loaded (same weights, compute type
        # and threads), called with faster-whisper's defaults instead of the engine's options.
        return self.engine("faster-whisper", compute_type)._model  # type: ignore[attr-defined]


def transcribe(models: Models, setting: Setting, audio: np.ndarray) -> str:
    if setting.plain:
        segments, _info = models.plain_model(setting.compute_type).transcribe(
            audio, language=LANGUAGE)
        return " ".join(segment.text.strip() for segment in segments)
    engine = models.decoding(setting.engine, setting.compute_type, setting.decode)
    result = recognise(engine, audio, LANGUAGE)
    return " ".join(segment.text for segment in result.segments)


# --- the report -----------------------------------------------------------------------

def report(rows: list[dict[str, Any]], talks: list[Talk]) -> str:
    """A markdown table of every setting in the results: CER on 4, 12, noisy 12; RTF."""
    ids4, ids12 = [t.talk_id for t in talks[:4]], [t.talk_id for t in talks]
    keys = list(dict.fromkeys(r["setting"] for r in rows))
    lines = ["| engine | compute | beam | VAD (threshold / min silence / pad) | "
             "condition_on_previous_text | word timings | CER 4 talks | CER 12 talks | "
             "CER noisy 12 | RTF (12 talks) |",
             "|---|---|---|---|---|---|---|---|---|---|"]

    def fmt(p: Pooled | None) -> str:
        return f"{p.score.cer:.2%}" if p else "-"

    table = []
    for key in keys:
        c = parse_setting(key).columns()
        p4, p12 = pooled(rows, "clean", ids4, key), pooled(rows, "clean", ids12, key)
        noisy = pooled(rows, "noisy", ids12, key)
        if not (p4 or p12 or noisy):
            continue  # measured on too few talks for any column
        speed = p12 or p4
        rtf = f"x{speed.rtf:.1f}" + ("" if p12 else " (4 talks)") if speed else "-"
        order = p12.score.cer if p12 else (1 + p4.score.cer if p4 else 9)
        table.append((order, f"| {c['engine']} | {c['compute']} | {c['beam']} | {c['vad']} | "
                             f"{c['cond']} | {c['timing']} | {fmt(p4)} | {fmt(p12)} | "
                             f"{fmt(noisy)} | {rtf} |"))
    return "\n".join(lines + [line for _order, line in sorted(table)])


# --- main -----------------------------------------------------------------------------

def parse_args() -> argparse.Namespace:
    parser = bench_parser(__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                          epilog="\n".join(__doc__.splitlines()[20:]))
    parser.add_argument("--talks", type=int, default=12, choices=range(1, 13), metavar="N",
                        help="the first N talks of the corpus README (4: the original set; "
                             "default 12)")
    parser.add_argument("--noisy", action="store_true",
                        help="wrap each talk in title-card silence and applause")
    parser.add_argument("--grid", choices=sorted(GRIDS), help="a built-in list of settings")
    parser.add_argument("--setting", action="append", default=[], metavar="SPEC",
                        help="a setting, e.g. faster-whisper/int8/b5/vad0.5-2000-400/nocond "
                             "or plain/float32 (repeatable)")
    parser.add_argument("--plain", action="store_true",
                        help="plain faster-whisper with its own defaults, --compute type")
    parser.add_argument("--engine", default="faster-whisper")
    parser.add_argument("--compute", default=WhisperSettings().compute_type)
    parser.add_argument("--beam", type=int)
    parser.add_argument("--vad", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--vad-threshold", type=float)
    parser.add_argument("--vad-min-silence-ms", type=int)
    parser.add_argument("--vad-speech-pad-ms", type=int)
    parser.add_argument("--condition", action=argparse.BooleanOptionalAction, default=None,
                        help="condition_on_previous_text")
    parser.add_argument("--cpu-threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--force", action="store_true",
                        help="decode again even if the results hold this combination")
    parser.add_argument("--report", action="store_true",
                        help="print the table of everything in results.jsonl and exit")
    return parser.parse_args()


def measure(models: Models, setting: Setting, talks: list[Talk],
            audios: dict[str, np.ndarray], audio_set: str, args: argparse.Namespace) -> None:
    """Decode and score every talk not yet in the results with `setting`, then print its
    pooled figures."""
    print(f"{setting.key}", flush=True)
    done = {r["talk"] for r in load_results()
            if r["audio"] == audio_set and r["setting"] == setting.key}
    for talk in talks:
        if talk.talk_id in done and not args.force:
            continue
        audio = audios[talk.talk_id]
        load1 = os.getloadavg()[0]
        decoding, hypothesis = run_timed(lambda a=audio, s=setting: transcribe(models, s, a))
        decode_s = decoding.wall
        result = score(talk.reference, hypothesis)
        append_result({
            "audio": audio_set, "talk": talk.talk_id, "setting": setting.key,
            "errors": result.errors, "reference_chars": result.reference_chars,
            "cer": round(result.cer, 5), "audio_s": round(len(audio) / SAMPLE_RATE, 2),
            "decode_s": round(decode_s, 2), "load1_before": round(load1, 2),
            "cpu_threads": args.cpu_threads, "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "hypothesis": hypothesis})
        print(f"  {talk.talk_id:<28} CER {result.cer:6.2%}  "
              f"x{len(audio) / SAMPLE_RATE / decode_s:5.1f} real time  (load {load1:.1f})",
              flush=True)
    summary = pooled(load_results(), audio_set, [t.talk_id for t in talks], setting.key)
    if summary:
        print(f"  pooled over {summary.talks} talks: CER {summary.score.cer:.2%} "
              f"({summary.score.errors}/{summary.score.reference_chars}), "
              f"real-time factor x{summary.rtf:.1f}", flush=True)


def main() -> None:
    args = parse_args()
    talks_all = corpus_talks(speech_dir())
    if args.report:
        print(report(load_results(), talks_all))
        return
    talks = talks_all[:args.talks]
    audio_set = "noisy" if args.noisy else "clean"
    settings = settings_from_args(args)
    print(f"machine: {machine()}")
    print(f"audio: {len(talks)} talks, {audio_set}; {len(settings)} settings; "
          f"results in {RESULTS.relative_to(ROOT)}", flush=True)

    audios = {}
    for index, talk in enumerate(talks):
        audios[talk.talk_id] = noisy_audio(talk, index) if args.noisy else clean_audio(talk)
    seconds = sum(len(a) for a in audios.values()) / SAMPLE_RATE
    print(f"built: {seconds / 60:.1f} min of audio", flush=True)

    models = Models(args.cpu_threads)
    ids = [t.talk_id for t in talks]
    for setting in settings:
        measure(models, setting, talks, audios, audio_set, args)
    print()
    rows = load_results()
    width = max(len(s.key) for s in settings)
    print(f"{'setting':<{width}}  CER ({len(talks)} talks, {audio_set})  RTF")
    for setting in settings:
        summary = pooled(rows, audio_set, ids, setting.key)
        if summary:
            print(f"{setting.key:<{width}}  {summary.score.cer:7.2%}  x{summary.rtf:5.1f}")


if __name__ == "__main__":
    sys.exit(main())
