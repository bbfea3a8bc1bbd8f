"""Benchmark: Whisper on a GPU with PyTorch, on the same base weights, over all twelve Korean
talks: openai-whisper's sequential decoding in float16 against float32, and the torch-batched
engine (VAD-cut chunks decoded in batches, words aligned after) on the talks and on an hour.

The device machines lent to some sessions have PyTorch but no CUDA 12 libraries for
CTranslate2, so the GPU figures are PyTorch's, with the checkpoint our converter makes from
the bundled CTranslate2 weights (pipeline.asr.convert), on each talk as long-form 16 kHz
audio (scripts/bench/asr_quality.py's cache).

Sequential (`--measure sequential`): openai-whisper decoding as our engine's plain setting
does (beam 5, best_of 5, temperature fallback 0.0..1.0, condition on previous text, Korean).
Reported per precision: wall time (CUDA synchronised), real-time factor, and CER pooled
over the twelve talks (pipeline.asr.cer); then float16 against float32, in the same run.

Batched (`--measure batched`): the torch-batched engine's own code
(pipeline.asr.torch_batched: its chunks, batched `whisper.decode` in float16 with beam 5, the
word alignment), then the pipeline's hallucination guards (pipeline.asr.guards), so the
text scored is the text `recognise` keeps; on the twelve talks one by one, and on an hour
(the twelve talks and then the first ones again, joined by 2 s of silence, at least
3,600 s), where the batches are full. The device has no faster-whisper, whose Silero VAD
cuts the chunks, so `prepare` finds the chunks (and the speech the guards need) here with
the engine's own functions, on the very samples the bundle carries, and records the
seconds that took on this CPU. Reported: decoding and alignment wall time (CUDA
synchronised, after a warm-up), real-time factor, CER pooled over the talks and over the
hour, GPU memory; the hour's decoding at other batch sizes (`--sweep`); and the CPU
default's CER on the same talks (and faster-whisper's batched mode's, where measured), read
by `prepare` from asr_quality.py's results on this machine (build/asr-quality/results.jsonl).

Two steps, because the device machine reaches nothing and takes at most 64 MiB a call:

  .venv/bin/python scripts/bench/asr_gpu.py prepare   # here: a bundle in parts, .gpu1 ...
  # there, after each part travelled in its own call (carry .gpu1, then .gpu2, ...):
  cat .gpu*/part | tar -x -C /tmp/bundle
  PYTHONPATH=/tmp/bundle/site:. python3 scripts/bench/asr_gpu.py run --bundle /tmp/bundle

The parts must be ignored by git to travel one at a time (`echo '/.gpu*/' >>
.git/info/exclude`); `prepare` says so when they are not.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, bench_parser, print_table, speech_dir, table_row, write_json

# The package `pipeline` from the repository, before this folder: a script here may bear the
# package's name (scripts/bench/pipeline.py).
sys.path.insert(0, str(ROOT))
PART_BYTES = 60 * 1024 * 1024  # each call carries at most 64 MiB with the working tree
TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
HOUR_S, HOUR_GAP_S = 3600.0, 2.0
RATE = 16000


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _add_json(tar: tarfile.TarFile, name: str, data: Any) -> None:
    _add_bytes(tar, name, json.dumps(data, ensure_ascii=False).encode())


# --- here: the bundle ---------------------------------------------------------------------

def prepare(parts: int | None) -> None:
    import numpy as np
    from _asr_quality_audio import clean_audio, corpus_talks

    from pipeline.asr.convert import bundled_conversion

    talks = corpus_talks(speech_dir())
    checkpoint = bundled_conversion(None).checkpoint
    buffer = io.BytesIO()
    samples = {}
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(checkpoint, "base.pt")
        references = {talk.slug: talk.reference for talk in talks}
        _add_json(tar, "references.json", references)
        for talk in talks:  # 16-bit, as the FLAC it came from: half the bytes of float32
            pcm = np.round(clean_audio(talk) * 32768).clip(-32768, 32767).astype("<i2")
            _add_bytes(tar, f"audio/{talk.slug}.pcm", pcm.tobytes())
            samples[talk.slug] = pcm.astype(np.float32) / 32768  # what the device decodes
        hour = hour_talks(list(references), {slug: len(a) for slug, a in samples.items()})
        _add_json(tar, "hour.json", {"talks": hour, "gap_s": HOUR_GAP_S})
        _add_json(tar, "vad.json", _speech(samples, hour))
        _add_json(tar, "cpu.json", _cpu_results(talks))
        for module in ("whisper", "more_itertools"):  # not in the device's image
            found = __import__(module).__file__
            assert found is not None
            tar.add(Path(found).parent, f"site/{module}",
                    filter=lambda t: None if "__pycache__" in t.name else t)
    _write_parts(buffer.getvalue(), parts)


def hour_talks(slugs: list[str], lengths: dict[str, int]) -> list[str]:
    """The talks, in order and then again from the first, until they last an hour."""
    chosen: list[str] = []
    seconds = 0.0
    while seconds < HOUR_S:
        slug = slugs[len(chosen) % len(slugs)]
        chosen.append(slug)
        seconds += lengths[slug] / RATE + HOUR_GAP_S
    return chosen


def joined(audio: dict[str, Any], talks: list[str], gap_s: float) -> Any:
    import numpy as np

    gap = np.zeros(int(gap_s * RATE), dtype=np.float32)
    return np.concatenate([piece for slug in talks for piece in (audio[slug], gap)][:-1])


def _speech(samples: dict[str, Any], hour: list[str]) -> dict[str, Any]:
    """Per talk and for the hour: the engine's chunks, the guards' speech spans, and the
    seconds both took here (faster-whisper's Silero VAD, on this CPU)."""
    from pipeline.asr.decoding import DecodeOptions
    from pipeline.asr.guards import speech_spans
    from pipeline.asr.torch_batched import speech_chunks

    found = {}
    for slug, audio in [*samples.items(), ("hour", joined(samples, hour, HOUR_GAP_S))]:
        started = time.perf_counter()
        chunks = speech_chunks(audio, DecodeOptions())
        speech = speech_spans(audio)
        found[slug] = {"chunks": chunks, "speech": speech,
                       "vad_s": time.perf_counter() - started}
        print(f"  {slug}: {len(chunks)} chunks, VAD {found[slug]['vad_s']:.1f} s", flush=True)
    return found


def _cpu_results(talks: list[Any]) -> dict[str, Any]:
    """asr_quality.py's latest row per talk for the CPU default setting and for
    faster-whisper's batched settings, on the clean talks."""
    from _asr_quality_results import load_results
    from asr_quality import Setting

    from pipeline.asr.decoding import DecodeOptions, WhisperSettings

    default = Setting("faster-whisper", WhisperSettings().compute_type, DecodeOptions()).key
    slugs = {talk.talk_id: talk.slug for talk in talks}
    chosen: dict[str, dict[str, Any]] = {}
    for row in load_results():
        key = row["setting"]
        if row["audio"] == "clean" and row["talk"] in slugs and (
                key == default or (key.startswith("faster-whisper/") and "/batch" in key)):
            chosen.setdefault(key, {})[slugs[row["talk"]]] = {
                name: row[name] for name in ("errors", "reference_chars", "cer", "audio_s",
                                             "decode_s", "cpu_threads", "hypothesis")}
    for key, rows in chosen.items():
        print(f"  CPU {'default ' if key == default else ''}{key}: {len(rows)} talks")
    if default not in chosen:
        print(f"  no CPU default results ({default}) in build/asr-quality/results.jsonl: "
              "run scripts/bench/asr_quality.py --talks 12 --grid batched first")
    return {"default": default, "settings": chosen}


def _write_parts(blob: bytes, parts: int | None) -> None:
    parts = parts or -(-len(blob) // PART_BYTES)
    size = -(-len(blob) // parts)
    if size > PART_BYTES:
        raise SystemExit(f"{len(blob)} bytes need more than {parts} parts of {PART_BYTES}")
    for index in range(parts):
        folder = ROOT / f".gpu{index + 1}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        (folder / "part").write_bytes(blob[index * size:(index + 1) * size])
    print(f"{len(blob) / 2**20:.1f} MiB in {parts} parts: .gpu1 .. .gpu{parts}")
    ignored = subprocess.run(["git", "check-ignore", "-q", ".gpu1"], cwd=ROOT,
                             capture_output=True).returncode == 0
    if not ignored:
        print("the parts travel one a call only when git ignores them: "
              "echo '/.gpu*/' >> .git/info/exclude")


# --- there: the measurements ----------------------------------------------------------------

def _talk_audio(bundle: Path, smoke_s: int | None) -> tuple[dict[str, str], dict[str, Any]]:
    """The references and the talks' audio; with `smoke_s`, the first talk's first seconds
    (a check of this script on any machine)."""
    import numpy as np

    references = json.loads((bundle / "references.json").read_text("utf-8"))
    audio = {slug: np.fromfile(bundle / "audio" / f"{slug}.pcm", dtype="<i2")
             .astype(np.float32) / 32768 for slug in references}
    if smoke_s:
        slug = next(iter(audio))
        audio = {slug: audio[slug][: smoke_s * RATE]}
    return references, audio


def _sync(device_name: str) -> Any:
    import torch

    return torch.cuda.synchronize if device_name.startswith("cuda") else (lambda: None)


def _device_line(device_name: str) -> str:
    import torch

    device = (torch.cuda.get_device_name(0) if device_name.startswith("cuda")
              else device_name)
    return f"{device}; torch {torch.__version__}"


def run_sequential(bundle: Path, out: Path | None, device_name: str = "cuda",
                   smoke: bool = False, reverse: bool = False) -> None:
    import whisper

    from pipeline.asr.cer import score, total

    references, audio = _talk_audio(bundle, 20 if smoke else None)
    seconds = sum(len(a) for a in audio.values()) / RATE
    model = whisper.load_model(str(bundle / "base.pt"), device=device_name)
    sync = _sync(device_name)
    device = _device_line(device_name)
    print(f"{device}; openai-whisper {whisper.__version__}; {len(audio)} talks, "
          f"{seconds:.1f} s of audio", flush=True)
    rows: dict[str, dict[str, Any]] = {}
    order = ("float32", "float16") if reverse else ("float16", "float32")
    for precision in order if device_name.startswith("cuda") else ("float32",):
        fp16 = precision == "float16"
        first = next(iter(audio.values()))[: 30 * RATE]
        model.transcribe(first, language="ko", fp16=fp16)  # warm-up: kernels, caches
        wall, scores, texts = 0.0, [], {}
        for slug, samples in audio.items():
            sync()
            started = time.perf_counter()
            result = model.transcribe(samples, language="ko", task="transcribe", beam_size=5,
                                      best_of=5, temperature=TEMPERATURES,
                                      condition_on_previous_text=True, fp16=fp16)
            sync()
            wall += time.perf_counter() - started
            texts[slug] = str(result["text"])
            scores.append(score(references[slug], texts[slug]))
            print(f"  {precision} {slug}: {scores[-1].cer:.4f}", flush=True)
        rows[precision] = {"wall_s": wall, "rtf": wall / seconds, "cer": total(scores).cer,
                           "texts": texts}
    print()
    print_table(("precision", "wall", "real-time factor", "faster than real time",
                 "CER (12 talks)"),
                ((precision, f"{row['wall_s']:.1f} s", f"{row['rtf']:.4f}",
                  f"x{1 / row['rtf']:.0f}", f"{row['cer']:.2%}")
                 for precision, row in rows.items()))
    if "float16" in rows:
        half, full = rows["float16"], rows["float32"]
        print(table_row("float16 / float32", f"x{half['wall_s'] / full['wall_s']:.2f}", "", "",
                        f"{half['cer'] - full['cer']:+.2%}"))
    if out is not None:
        write_json(out / "asr_gpu.json", {"device": device, "audio_s": seconds, "rows": rows})


def _stand_in_for_pydantic() -> None:
    """The device's image has no pydantic, on which pipeline.results (the engine's `Word`)
    is built. The engine only makes and reads those records, so where pydantic is missing,
    and only there, plain keyword classes stand in for its three names."""
    try:
        import pydantic  # noqa: F401
        return
    except ImportError:
        import sys
        import types

    class BaseModel:
        def __init__(self, **values: Any) -> None:
            self.__dict__.update(values)  # the rest: the class's defaults

    def field(default: Any = None, default_factory: Any = None, **_options: Any) -> Any:
        return default_factory() if default_factory is not None else default

    stand_in = types.ModuleType("pydantic")
    stand_in.BaseModel, stand_in.ConfigDict, stand_in.Field = (  # type: ignore[attr-defined]
        BaseModel, dict, field)
    sys.modules["pydantic"] = stand_in
    print("pydantic is not installed here: plain records stand in for pipeline.results")


def _measure(engine: Any, audio: Any, vad: dict[str, Any], reference: str, sync: Any,
             align: bool = True) -> dict[str, Any]:
    """One long audio through the engine: decoding, alignment, guards, CER."""
    from pipeline.asr.cer import score
    from pipeline.asr.guards import guard

    spans = [tuple(span) for span in vad["chunks"]]
    sync()
    started = time.perf_counter()
    texts = engine.decode_chunks(audio, spans, "ko")
    sync()
    decoded = time.perf_counter()
    if not align:
        result = score(reference, " ".join(t.text for t in texts))
        return {"decode_s": decoded - started, "errors": result.errors,
                "reference_chars": result.reference_chars}
    segments = engine.timed(audio, texts, "ko")
    sync()
    aligned = time.perf_counter()
    kept, dropped = guard(segments, audio, [tuple(s) for s in vad["speech"]])
    text = " ".join(s.text for s in kept)
    result = score(reference, text)
    raw = score(reference, " ".join(s.text for s in segments))
    return {"audio_s": len(audio) / RATE, "chunks": len(spans), "raw_errors": raw.errors,
            "batches": -(-len(spans) // engine.batch_size), "decode_s": decoded - started,
            "align_s": aligned - decoded, "vad_s_here": vad["vad_s"],
            "errors": result.errors, "reference_chars": result.reference_chars,
            "dropped": [(d.start, d.end, d.text, d.reason) for d in dropped], "text": text}


def _batched_engine(bundle: Path, device_name: str, batch_size: int) -> Any:
    from pipeline.asr.decoding import DecodeOptions, WhisperSettings
    from pipeline.asr.torch_batched import TorchBatchedEngine

    engine = TorchBatchedEngine(WhisperSettings(
        engine="torch-batched", model=str(bundle / "base.pt"), device=device_name,
        decode=DecodeOptions(batch_size=batch_size)))
    engine.load()
    return engine


def run_batched(bundle: Path, out: Path | None, device_name: str, smoke: bool,
                batch_size: int, sweep: list[int]) -> None:
    _stand_in_for_pydantic()
    import torch

    references, audio = _talk_audio(bundle, 60 if smoke else None)
    vad = json.loads((bundle / "vad.json").read_text("utf-8"))
    hour = json.loads((bundle / "hour.json").read_text("utf-8"))
    sync = _sync(device_name)
    engine = _batched_engine(bundle, device_name, batch_size)
    size = engine.batch_size
    print(f"{_device_line(device_name)}; torch-batched, {engine.compute_type}, batches of "
          f"{size}", flush=True)
    first = next(iter(audio))
    if smoke:  # the chunks inside the first minute
        vad = {first: {**vad[first], "chunks": [c for c in vad[first]["chunks"]
                                                if c[1] <= len(audio[first]) / RATE]}}
    warm = {**vad[first], "chunks": vad[first]["chunks"][:2]}
    _measure(engine, audio[first], warm, "", sync)  # warm-up: kernels, caches, Triton DTW
    rows = {slug: _measure(engine, samples, vad[slug], references[slug], sync)
            for slug, samples in audio.items()}
    for slug, row in rows.items():
        print(f"  {slug}: {_cer(row):.4f}", flush=True)
    if not smoke:
        hour_audio = joined(audio, hour["talks"], hour["gap_s"])
        hour_text = " ".join(references[slug] for slug in hour["talks"])
        rows["hour"] = _measure(engine, hour_audio, vad["hour"], hour_text, sync)
        for other in sweep:  # decoding only: alignment does not depend on the batch size
            sized = _batched_engine(bundle, device_name, other)
            rows[f"hour, batches of {other}"] = _measure(sized, hour_audio, vad["hour"],
                                                         hour_text, sync, align=False)
    memory = (torch.cuda.max_memory_allocated() / 2**30 if device_name.startswith("cuda")
              else 0.0)
    _report_batched(rows, json.loads((bundle / "cpu.json").read_text("utf-8")), size, memory)
    if out is not None:
        write_json(out / "asr_gpu_batched.json", {
            "device": _device_line(device_name), "batch_size": size,
            "max_memory_gib": memory, "rows": rows})


def _cer(row: dict[str, Any]) -> float:
    return row["errors"] / row["reference_chars"] if row["reference_chars"] else 0.0


def _pooled(rows: list[dict[str, Any]]) -> dict[str, Any]:
    pooled = {name: sum(row.get(name, 0.0) for row in rows)
              for name in ("audio_s", "chunks", "batches", "decode_s", "align_s", "vad_s_here",
                           "errors", "reference_chars")}
    pooled["dropped"] = sum(len(row.get("dropped", ())) for row in rows)
    return pooled


def _report_batched(rows: dict[str, dict[str, Any]], cpu: dict[str, Any], batch_size: int,
                    memory_gib: float) -> None:
    talks = {slug: row for slug, row in rows.items() if not slug.startswith("hour")}
    runs = {f"{len(talks)} talks, one by one": _pooled(list(talks.values()))}
    if "hour" in rows:
        runs["hour"] = _pooled([rows["hour"]])
    print(f"\ntorch-batched, batches of {batch_size}; GPU memory at most "
          f"{memory_gib:.1f} GiB")
    print_table(("audio", "seconds", "chunks", "batches", "decode", "align", "real-time factor",
                 "faster than real time", "VAD (here, CPU)", "CER", "dropped"),
                ((name, f"{r['audio_s']:.1f}", f"{r['chunks']:.0f}", f"{r['batches']:.0f}",
                  f"{r['decode_s']:.1f} s", f"{r['align_s']:.1f} s",
                  f"{(r['decode_s'] + r['align_s']) / r['audio_s']:.4f}",
                  f"x{r['audio_s'] / (r['decode_s'] + r['align_s']):.0f}",
                  f"{r['vad_s_here']:.1f} s", f"{_cer(r):.2%}", f"{r['dropped']}")
                 for name, r in runs.items()))
    sweep = {name: row for name, row in rows.items() if name.startswith("hour, batches")}
    if sweep:
        print()
        print_table(("hour, decoding only", "decode", "CER before the guards"),
                    ((name, f"{row['decode_s']:.1f} s",
                      f"{row.get('raw_errors', row['errors']) / row['reference_chars']:.2%}")
                     for name, row in [(f"hour, batches of {batch_size}", rows["hour"]),
                                       *sweep.items()]))
    print()
    print_table(("CPU setting (asr_quality.py, here)", "talks", "CPU CER", "CPU speed",
                 "torch-batched CER, same talks", "difference"), _against_cpu(talks, cpu))


def _against_cpu(talks: dict[str, dict[str, Any]], cpu: dict[str, Any]) -> list[list[str]]:
    lines = []
    for key, measured in cpu["settings"].items():
        same = [slug for slug in measured if slug in talks]
        if not same:
            continue
        cpu_cer = (sum(measured[s]["errors"] for s in same)
                   / sum(measured[s]["reference_chars"] for s in same))
        speed = (sum(measured[s]["audio_s"] for s in same)
                 / sum(measured[s]["decode_s"] for s in same))
        ours = _cer(_pooled([talks[s] for s in same]))
        name = f"{key} (default)" if key == cpu["default"] else key
        lines.append([name, str(len(same)), f"{cpu_cer:.2%}", f"x{speed:.1f}", f"{ours:.2%}",
                      f"{ours - cpu_cer:+.2%}"])
    return lines or [["no CPU results in the bundle", "", "", "", "", ""]]


def main() -> None:
    parser = bench_parser(__doc__, paragraph=True)
    commands = parser.add_subparsers(dest="command", required=True)
    ready = commands.add_parser("prepare", help="here: the bundle, in parts")
    ready.add_argument("--parts", type=int, help="default: as few as fit 60 MiB each")
    there = commands.add_parser("run", help="on the device machine")
    there.add_argument("--bundle", type=Path, required=True)
    there.add_argument("--out", type=Path)
    there.add_argument("--device", default="cuda")
    there.add_argument("--smoke", action="store_true", help="one talk's first 20 s")
    there.add_argument("--measure", choices=("all", "sequential", "batched"), default="all")
    there.add_argument("--float32-first", action="store_true", help="check the order's effect")
    there.add_argument("--batch-size", type=int, default=1,
                       help="torch-batched's batch size (default 1: the engine's default)")
    there.add_argument("--sweep", default="8,32",
                       help="other batch sizes to decode the hour with (comma-separated; "
                            "'' for none)")
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.parts)
        return
    if args.measure in ("all", "batched"):
        sweep = [int(size) for size in args.sweep.split(",") if size.strip()]
        run_batched(args.bundle, args.out, args.device, args.smoke, args.batch_size, sweep)
    if args.measure in ("all", "sequential"):
        run_sequential(args.bundle, args.out, args.device, args.smoke, args.float32_first)


if __name__ == "__main__":
    main()
