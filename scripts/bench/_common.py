"""What the benchmarks in scripts/bench share: their command lines' common parts, the machine
they ran on, timing, percentiles, markdown tables, the speech corpus, the demo forum as a
workload, the frame-counter recording, decoded sound and written results.

Only the standard library is imported at the top: asr_gpu.py runs on a device machine
whose image lacks most of the project's dependencies.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import numpy as np

    from pipeline.demo import DemoForum, DemoLayout

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


# --- command lines ----------------------------------------------------------------------

def bench_parser(doc: str | None, *, paragraph: bool = False,
                 **options: Any) -> argparse.ArgumentParser:
    """A benchmark's parser, described by its docstring's first line (or first paragraph)."""
    text = doc or ""
    description = text.split("\n\n")[0] if paragraph else text.splitlines()[0]
    return argparse.ArgumentParser(description=description, **options)


def add_runs(parser: argparse.ArgumentParser, default: int, help: str | None = None) -> None:
    parser.add_argument("--runs", type=int, default=default, help=help)


def add_keep(parser: argparse.ArgumentParser, help: str = "keep the work folders") -> None:
    parser.add_argument("--keep", action="store_true", help=help)


# --- the machine ------------------------------------------------------------------------

def machine(*tools: str, ffmpeg: bool = True) -> str:
    """CPU model, cores, Python, then `tools` (e.g. "boto3 1.36") and ffmpeg's version."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    parts = [cpu, f"{os.cpu_count()} cores", f"Python {platform.python_version()}", *tools]
    if ffmpeg:
        version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout
        parts.append(version.splitlines()[0] if version else "ffmpeg ?")
    return ", ".join(parts)


# --- timing -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float  # CPU seconds by the clock the run was timed with

    def __add__(self, other: Timing) -> Timing:
        return Timing(self.wall + other.wall, self.cpu + other.cpu)

    def __sub__(self, other: Timing) -> Timing:
        return Timing(self.wall - other.wall, self.cpu - other.cpu)


def children_cpu() -> float:
    """CPU seconds of this process's finished children (ffmpeg, pool workers, ...)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def all_cpu() -> float:
    """CPU seconds of this process's threads and of its finished children."""
    return time.process_time() + children_cpu()


def run_timed(work: Callable[[], T], cpu: Callable[[], float] = all_cpu) -> tuple[Timing, T]:
    """One run of `work`: its wall time and its CPU time by the clock `cpu`, and its result."""
    wall, before = time.perf_counter(), cpu()
    result = work()
    return Timing(time.perf_counter() - wall, cpu() - before), result


def repeat_timed(runs: int, work: Callable[[], T],
                 cpu: Callable[[], float] = all_cpu) -> tuple[list[Timing], T]:
    """Every run's timing, and the last run's result."""
    done = [run_timed(work, cpu) for _ in range(max(1, runs))]
    return [timing for timing, _ in done], done[-1][1]


def timed(runs: int, work: Callable[[], T],
          cpu: Callable[[], float] = all_cpu) -> tuple[Timing, T]:
    """The fastest of `runs` runs (by wall time), with its CPU time, and a result."""
    timings, result = repeat_timed(runs, work, cpu)
    return min(timings, key=lambda timing: timing.wall), result


def best_of(runs: int, work: Callable[[], T]) -> tuple[float, T]:
    """Fastest wall time of `runs` runs (the least disturbed by other load) and a result."""
    best, result = timed(runs, work, time.process_time)
    return best.wall, result


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value with `share` of them at or below it."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


# --- tables -----------------------------------------------------------------------------

def table_row(*cells: str) -> str:
    """A markdown table row; an empty cell is written `| |`."""
    return "|" + "|".join(f" {cell} " if cell else " " for cell in cells) + "|"


def print_table(header: Sequence[str], rows: Iterable[Sequence[str]] = ()) -> None:
    """A markdown table: the header, its rule and `rows` (more rows may follow it)."""
    print(table_row(*header))
    print("|" + "---|" * len(header))
    for row in rows:
        print(table_row(*row))


# --- the speech corpus and the demo forum -----------------------------------------------

def speech_dir() -> Path:
    """The speech corpus (shared/korean-speech, or $SORT_ARCHIVE_SPEECH_DIR)."""
    from pipeline.demo import find_speech_dir
    from pipeline.settings import Settings

    return find_speech_dir(Settings.from_environ().speech_dir)


def transcript(trans: Path) -> list[tuple[str, str]]:
    """A *.trans.txt file's (fragment id, text) pairs in file order ("" for no text)."""
    lines = [line.split(" ", 1) for line in trans.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    return [(parts[0], parts[1] if len(parts) > 1 else "") for parts in lines]


def corpus_texts(speech: Path | None = None) -> list[list[str]]:
    """Every talk's non-empty reference sentences (stripped), talks in path order."""
    folder = speech_dir() if speech is None else speech
    return [[text.strip() for _fid, text in transcript(path) if text.strip()]
            for path in sorted(folder.glob("data/*/*/*.trans.txt"))]


def demo_forum(folder: Path | None = None, layout: DemoLayout | None = None,
               speech: Path | None = None) -> DemoForum:
    """The demo forum (by default the 3-minute one in build/demo), built once, reused."""
    from pipeline.demo import FULL_LAYOUT, build_demo_forum
    from pipeline.progress import LogProgress

    return build_demo_forum(ROOT / "build" / "demo" if folder is None else folder,
                            FULL_LAYOUT if layout is None else layout, speech_dir=speech,
                            progress=LogProgress())


# --- media ------------------------------------------------------------------------------

FPS, KEYINT, BOX = 25, 250, 96  # frame rate, keyframe interval, counter box's side
LUMA_STEP, LUMA_SPAN = 7, 219  # the counter's luma steps per frame, repeating every span


def counter_recording(path: Path, seconds: int, sound: Callable[[], list[str]], *,
                      sound_filter: str = "", sound_map: str = "2:a",
                      output: Sequence[str] = (), keyint: int = KEYINT,
                      x264_params: str = "") -> Path:
    """A 1280x720 moving test pattern with a frame-counter box in its top-left corner,
    libx264 veryfast CRF 23 with a keyframe every `keyint` frames, AAC 128k, built once into
    `path`. `sound()` gives the ffmpeg input of its sound (input 2), `sound_filter` a
    filter graph chain after the video's, `output` options after the audio codec's,
    `x264_params` more libx264 settings (say "open-gop=1")."""
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part.mp4")
    counter = (f"color=c=black:s={BOX}x{BOX}:r={FPS}:d={seconds},"
               f"geq=lum='16+mod(N*{LUMA_STEP},{LUMA_SPAN})':cb=128:cr=128")
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=s=1280x720:r={FPS}:d={seconds}",
         "-f", "lavfi", "-i", counter, *sound(),
         "-filter_complex", "[0:v][1:v]overlay=0:0,format=yuv420p[v]" + sound_filter,
         "-map", "[v]", "-map", sound_map, "-c:v", "libx264", "-preset", "veryfast",
         "-crf", "23", "-g", str(keyint), "-keyint_min", str(keyint), "-sc_threshold", "0",
         *(["-x264-params", x264_params] if x264_params else []),
         "-c:a", "aac", "-b:a", "128k", *output, "-movflags", "+faststart", str(partial)],
        check=True)
    partial.replace(path)
    return path


def ffmpeg_mono(args: Sequence[str], *, rate: int | None = None,
                sample_format: str = "f32le") -> np.ndarray:
    """The mono sound ffmpeg decodes from `args` (inputs and their options), at `rate` (the
    source's without one), as float32 (f32le) or int16 (s16le) samples."""
    import numpy as np

    raw = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", *args, "-ac", "1",
                          *(["-ar", str(rate)] if rate else []), "-f", sample_format, "-"],
                         capture_output=True, check=True).stdout
    dtype = np.int16 if sample_format == "s16le" else np.float32
    return np.frombuffer(raw, dtype=dtype).copy()


# --- results ----------------------------------------------------------------------------

def write_json(path: Path, data: Any) -> None:
    """Results as readable JSON (UTF-8, Hangul as is)."""
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
