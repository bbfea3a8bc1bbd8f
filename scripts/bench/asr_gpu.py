"""Benchmark: openai-whisper (the torch engine) on a GPU, float16 against float32, on the
same base weights, over all twelve Korean talks.

The device machines lent to some sessions have PyTorch but no CUDA 12 libraries for
CTranslate2, so the GPU figures are openai-whisper's. It decodes as our engine's plain
setting does (beam 5, best_of 5, temperature fallback 0.0..1.0, condition on previous
text, Korean), with the checkpoint our converter makes from the bundled CTranslate2
weights (pipeline.asr.convert), on each talk as long-form 16 kHz audio
(scripts/bench/asr_quality.py's cache). Reported per precision: wall time (CUDA
synchronised), real-time factor, and CER pooled over the twelve talks
(pipeline.asr.cer); then float16 against float32, measured in the same run.

Two steps, because the device machine reaches nothing and takes at most 64 MiB a call:

  .venv/bin/python scripts/bench/asr_gpu.py prepare   # here: a bundle in parts, .gpu1 ...
  # there, after each part travelled in its own call (carry .gpu1, then .gpu2, ...):
  cat .gpu*/part | tar -x -C /tmp/bundle
  PYTHONPATH=/tmp/bundle/site:. python3 scripts/bench/asr_gpu.py run --bundle /tmp/bundle
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import time
from pathlib import Path

from _common import ROOT, bench_parser, print_table, speech_dir, table_row, write_json

PART_BYTES = 60 * 1024 * 1024  # each call carries at most 64 MiB with the working tree
TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def prepare(parts: int) -> None:
    import numpy as np
    from _asr_quality_audio import clean_audio, corpus_talks

    from pipeline.asr.convert import bundled_conversion

    talks = corpus_talks(speech_dir())
    checkpoint = bundled_conversion(None).checkpoint
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(checkpoint, "base.pt")
        references = {talk.slug: talk.reference for talk in talks}
        _add_bytes(tar, "references.json", json.dumps(references, ensure_ascii=False).encode())
        for talk in talks:  # 16-bit, as the FLAC it came from: half the bytes of float32
            pcm = np.round(clean_audio(talk) * 32768).clip(-32768, 32767).astype("<i2")
            _add_bytes(tar, f"audio/{talk.slug}.pcm", pcm.tobytes())
        for module in ("whisper", "more_itertools"):  # not in the device's image
            found = __import__(module).__file__
            assert found is not None
            tar.add(Path(found).parent, f"site/{module}",
                    filter=lambda t: None if "__pycache__" in t.name else t)
    blob = buffer.getvalue()
    size = -(-len(blob) // parts)
    if size > PART_BYTES:
        raise SystemExit(f"{len(blob)} bytes need more than {parts} parts of {PART_BYTES}")
    for index in range(parts):
        folder = ROOT / f".gpu{index + 1}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        (folder / "part").write_bytes(blob[index * size:(index + 1) * size])
    print(f"{len(blob) / 2**20:.1f} MiB in {parts} parts: .gpu1 .. .gpu{parts}")


def run(bundle: Path, out: Path | None, device_name: str = "cuda", smoke: bool = False,
        reverse: bool = False) -> None:
    import numpy as np
    import torch
    import whisper

    from pipeline.asr.cer import score, total

    references = json.loads((bundle / "references.json").read_text("utf-8"))
    audio = {slug: np.fromfile(bundle / "audio" / f"{slug}.pcm", dtype="<i2")
             .astype(np.float32) / 32768 for slug in references}
    if smoke:  # a check of this script on any machine: one talk's first 20 s
        slug = next(iter(audio))
        audio = {slug: audio[slug][: 20 * 16000]}
    seconds = sum(len(a) for a in audio.values()) / 16000
    model = whisper.load_model(str(bundle / "base.pt"), device=device_name)
    device = torch.cuda.get_device_name(0) if device_name == "cuda" else device_name
    sync = torch.cuda.synchronize if device_name == "cuda" else (lambda: None)
    print(f"{device}; torch {torch.__version__}; openai-whisper {whisper.__version__};"
          f" {len(audio)} talks, {seconds:.1f} s of audio", flush=True)
    rows = {}
    order = ("float32", "float16") if reverse else ("float16", "float32")
    for precision in order if device_name == "cuda" else ("float32",):
        fp16 = precision == "float16"
        first = next(iter(audio.values()))[: 30 * 16000]
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
        write_json(out / "asr_gpu.json", {"device": device, "torch": torch.__version__,
                                          "audio_s": seconds, "rows": rows})


def main() -> None:
    parser = bench_parser(__doc__, paragraph=True)
    commands = parser.add_subparsers(dest="command", required=True)
    ready = commands.add_parser("prepare", help="here: the bundle, in parts")
    ready.add_argument("--parts", type=int, default=4)
    there = commands.add_parser("run", help="on the device machine")
    there.add_argument("--bundle", type=Path, required=True)
    there.add_argument("--out", type=Path)
    there.add_argument("--device", default="cuda")
    there.add_argument("--smoke", action="store_true", help="one talk's first 20 s")
    there.add_argument("--float32-first", action="store_true", help="check the order's effect")
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.parts)
    else:
        run(args.bundle, args.out, args.device, args.smoke, args.float32_first)


if __name__ == "__main__":
    main()
