"""Benchmark: the whole run (`sort-archive run`, serial) against plain faster-whisper alone.

(The issue's `scripts/bench/pipeline.py`: named so that it does not shadow the `pipeline`
package for the scripts beside it.)

The plain figure is faster-whisper decoding the same recording's sound, nothing else.

Workloads:
- `forum`: the 14-minute three-talk forum of scripts/bench/pipeline_cut.py (1280x720 25 fps,
  libx264 veryfast CRF 23, a keyframe every 10 s, real Korean speech from the corpus'
  first four talks; three timed sessions of about 4.5 minutes), built once into
  build/bench-pipeline-cut/ (with --seconds S, a recording S seconds long built the same
  way into build/bench-pipeline/, its session times scaled to it: for smoke tests);
- `stream`: the long stream-like recording (pipeline/demo/stream.py, LONG_STREAM, built
  once into build/stream-long/ as scripts/bench/plan.py builds it): its sessions carry
  titles and speakers but no times, so the plan stage finds them.

Whole run: the real CLI, `sort-archive run CONFIG --executor serial --work-dir ...
--catalogue ...` with default settings (the bundled Whisper base model, int8), a fresh work
folder, archive (the config's local storage) and catalogue each run, in a temporary folder
under build/bench-pipeline/. It is one wall-clock time from starting the process to its
end (Python's start-up and the model load included). Each stage's time is read from the
run's own summary ("  split       ran in 12.3 s (x21.9 real time)"); what no stage covers
(start-up, imports, the manifest) is "other"; split runs beside transcribe, so its time is
counted inside transcribe's. Each stage's share is its part of the whole.

Plain faster-whisper, in the same script run: `WhisperModel(<bundled base model folder>,
device="cpu", compute_type="int8", cpu_threads=os.cpu_count())`, then
`model.transcribe(audio, language="ko")` with its defaults, its segments consumed to the
end, over the whole recording's sound (decoded by ffmpeg to 16 kHz mono float32
beforehand). Neither decoding the sound nor loading the model is timed: the plain figure
is decoding alone, so the comparison is against the plain decoder's best case.

With --runs N each workload runs N rounds (the whole run, then the plain decode, so both
see the same load); the figures are the medians, and the stages are those of the median
run. Goal: the whole run in at most 0.6x the plain decode's time. The figures are written
to build/bench-pipeline/results.json; each run's output to build/bench-pipeline/*.log.

Usage: .venv/bin/python scripts/bench/whole_run.py [--runs N] [--no-stream] [--seconds S]
       [--keep]
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    ROOT,
    add_keep,
    add_runs,
    bench_parser,
    counter_recording,
    ffmpeg_mono,
    machine,
    print_table,
    write_json,
)
from pipeline_cut import BUILD as CUT_BUILD
from pipeline_cut import SECONDS as FORUM_SECONDS
from pipeline_cut import SESSIONS as FORUM_SESSIONS
from pipeline_cut import forum_config, speech_list
from pipeline_cut import recording as forum_recording

BUILD = ROOT / "build" / "bench-pipeline"
CLI = ROOT / ".venv" / "bin" / "sort-archive"
GOAL = 0.6  # the whole run's time against the plain decode's, at most
RATE = 16_000
# "  split       ran in 12.3 s (x21.9 real time)": pipeline/commands/display.py print_report
STAGE_LINE = re.compile(r"^  (\S+)\s+ran in (\d+(?:\.\d+)?) s\b")


@dataclass(frozen=True)
class Workload:
    name: str
    recording: Path
    config: Callable[[Path], Path]  # the forum config file it writes into a run's folder


@dataclass
class Figures:
    name: str
    seconds: float  # the recording's length
    runs: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    plain: list[float] = field(default_factory=list)

    def median_run(self) -> tuple[float, dict[str, float]]:
        wall = statistics.median_low(wall for wall, _ in self.runs)
        return next(run for run in self.runs if run[0] == wall)

    def whole(self) -> float:
        return statistics.median(wall for wall, _ in self.runs)

    def decode(self) -> float:
        return statistics.median(self.plain)


# --- the workloads ------------------------------------------------------------------------

def whisper_lines(batch: int) -> list[str]:
    """The configs' `whisper:` section for --batch (1: none, the sequential default)."""
    return [] if batch == 1 else ["whisper:", f"  batch_size: {batch}"]


def forum_workload(seconds: int, batch: int) -> Workload:
    """The 14-minute forum of pipeline_cut.py, or one `seconds` long with its sessions'
    times scaled to it."""
    if seconds == FORUM_SECONDS:
        master = forum_recording()
    else:
        CUT_BUILD.mkdir(parents=True, exist_ok=True)  # speech_list() writes its list there
        master = counter_recording(
            BUILD / f"forum-{seconds}s.mp4", seconds,
            lambda: ["-f", "concat", "-safe", "0", "-i", str(speech_list())],
            sound_filter=(";[2:a]aresample=48000,aformat=channel_layouts=stereo,apad,"
                          f"atrim=0:{seconds}[a]"),
            sound_map="[a]", output=["-t", str(seconds)])
    scale = seconds / FORUM_SECONDS
    sessions = [(name, round(start * scale, 2), round(end * scale, 2))
                for name, start, end in FORUM_SESSIONS]

    def config(folder: Path) -> Path:
        return forum_config(folder, master, forum_id="bench-pipeline",
                            title="벤치마크 포럼: 전체 실행", sessions=sessions,
                            extra=whisper_lines(batch))

    return Workload("forum", master, config)


def stream_workload(batch: int) -> Workload:
    """The long stream-like recording, its config's storage pointed into the run's folder."""
    from pipeline.demo import LONG_STREAM, build_stream_forum, render_stream_config
    from pipeline.progress import LogProgress
    from pipeline.settings import Settings

    stream = build_stream_forum(ROOT / "build" / f"stream-{LONG_STREAM.name}", LONG_STREAM,
                                speech_dir=Settings.from_environ().speech_dir,
                                progress=LogProgress())

    def config(folder: Path) -> Path:
        path = folder / f"stream-{LONG_STREAM.name}.yaml"
        path.write_text(render_stream_config(LONG_STREAM, source_file=str(stream.video_path),
                                             storage_local=str(folder / "archive"))
                        + "".join(f"{line}\n" for line in whisper_lines(batch)),
                        encoding="utf-8")
        return path

    return Workload("stream", stream.video_path, config)


# --- the two timings ----------------------------------------------------------------------

def whole_run(workload: Workload, index: int, keep: bool) -> tuple[float, dict[str, float]]:
    """One `sort-archive run` in a fresh folder: its wall time and each stage's seconds
    from its summary ("other": what no stage covers)."""
    folder = Path(tempfile.mkdtemp(prefix=f"run-{workload.name}-", dir=BUILD))
    try:
        config = workload.config(folder)
        args = [str(CLI), "run", str(config), "--executor", "serial",
                "--work-dir", str(folder / "work"),
                "--catalogue", str(folder / "catalogue.sqlite")]
        started = time.perf_counter()
        done = subprocess.run(args, capture_output=True, text=True, cwd=folder,
                              stdin=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        (BUILD / f"{workload.name}-{index + 1}.log").write_text(
            done.stdout + "\n--- stderr ---\n" + done.stderr, encoding="utf-8")
        if done.returncode != 0:
            print(done.stdout[-3000:] + done.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"the {workload.name} run failed with exit code {done.returncode}")
        stages: dict[str, float] = {}
        for line in done.stdout.splitlines():
            match = STAGE_LINE.match(line)
            if match:
                stages[match[1]] = stages.get(match[1], 0.0) + float(match[2])
        if not stages:
            print(done.stdout, file=sys.stderr)
            raise SystemExit(f"no 'STAGE ran in N s' line in the {workload.name} run's summary")
        # Split runs beside transcribe (pipeline.runner): its time lies inside transcribe's.
        beside = min(stages.get("split", 0.0), stages.get("transcribe", 0.0))
        stages["other"] = wall - sum(stages.values()) + beside
        return wall, stages
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def plain_decode(model: Any, audio: Any) -> float:
    """Plain faster-whisper over the whole sound, its defaults, segments consumed."""
    started = time.perf_counter()
    segments, _info = model.transcribe(audio, language="ko")
    for _segment in segments:
        pass
    return time.perf_counter() - started


# --- the report ---------------------------------------------------------------------------

def report(results: list[Figures]) -> None:
    print()
    print_table(("workload", "recording", "whole run", "plain faster-whisper decode",
                 f"run / plain (goal <= {GOAL})", "whole run real-time factor"),
                [(f.name, f"{f.seconds / 60:.1f} min", f"{f.whole():.1f} s",
                  f"{f.decode():.1f} s", f"**{f.whole() / f.decode():.2f}**"
                  if f.whole() / f.decode() <= GOAL else f"{f.whole() / f.decode():.2f}",
                  f"x{f.seconds / f.whole():.1f}") for f in results])
    print()
    rows = []
    for figures in results:
        wall, stages = figures.median_run()
        rows += [(figures.name, stage, f"{seconds:.1f} s", f"{100 * seconds / wall:.0f}%")
                 for stage, seconds in stages.items()]
        rows.append((figures.name, "whole run", f"{wall:.1f} s", "100%"))
    print_table(("workload", "stage", "time", "share of the whole run"), rows)


def as_json(results: list[Figures], runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {"machine": machine("faster-whisper (base, int8)"), "runs": runs,
                           "goal_run_over_plain": GOAL, "workloads": {}}
    for figures in results:
        wall, stages = figures.median_run()
        ratio = figures.whole() / figures.decode()
        out["workloads"][figures.name] = {
            "recording_seconds": round(figures.seconds, 2),
            "whole_run_seconds": round(figures.whole(), 2),
            "plain_decode_seconds": round(figures.decode(), 2),
            "run_over_plain": round(ratio, 3), "meets_goal": ratio <= GOAL,
            "run_real_time_factor": round(figures.seconds / figures.whole(), 2),
            "stages_of_median_run": {stage: {"seconds": round(seconds, 2),
                                             "share": round(seconds / wall, 4)}
                                     for stage, seconds in stages.items()},
            "all_runs": [{"wall": round(w, 2), "stages": {k: round(v, 2) for k, v in s.items()}}
                         for w, s in figures.runs],
            "all_plain_decodes": [round(p, 2) for p in figures.plain],
        }
    return out


def main() -> None:
    parser = bench_parser(__doc__)
    add_runs(parser, 1, help="rounds per workload; the figures are the medians (default 1)")
    parser.add_argument("--no-stream", action="store_true",
                        help="the forum only, not the long stream-like recording")
    parser.add_argument("--seconds", type=int, default=FORUM_SECONDS,
                        help=f"the forum recording's length (default {FORUM_SECONDS}: "
                             "the 14-minute forum); shorter for smoke tests")
    add_keep(parser, help="keep each run's work folder, archive and catalogue")
    parser.add_argument("--batch", type=int, default=1,
                        help="whisper.batch_size in the configs (default 1: sequential)")
    args = parser.parse_args()
    if args.seconds < 30:
        parser.error("--seconds must be at least 30")
    BUILD.mkdir(parents=True, exist_ok=True)
    workloads = [forum_workload(args.seconds, args.batch)]
    if not args.no_stream:
        workloads.append(stream_workload(args.batch))

    from faster_whisper import WhisperModel

    from pipeline.asr.weights import resolve_model
    from pipeline.settings import Settings

    print(f"machine: {machine('faster-whisper (base, int8)')}")
    model_path = resolve_model("base", Settings.from_environ().model_dir)
    loaded = time.perf_counter()
    model = WhisperModel(model_path, device="cpu", compute_type="int8",
                         cpu_threads=os.cpu_count() or 0)
    print(f"plain faster-whisper: {model_path}, loaded in {time.perf_counter() - loaded:.1f} s "
          "(not timed)")
    results = []
    for workload in workloads:
        audio = ffmpeg_mono(["-i", str(workload.recording)], rate=RATE)  # not timed
        figures = Figures(workload.name, len(audio) / RATE)
        print(f"{workload.name}: {workload.recording} ({figures.seconds / 60:.1f} min)")
        for index in range(max(1, args.runs)):
            wall, stages = whole_run(workload, index, args.keep)
            figures.runs.append((wall, stages))
            figures.plain.append(plain_decode(model, audio))
            print(f"  round {index + 1}: whole run {wall:.1f} s ("
                  + ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in stages.items())
                  + f"); plain decode {figures.plain[-1]:.1f} s; "
                  f"ratio {wall / figures.plain[-1]:.2f}")
        results.append(figures)
    report(results)
    write_json(BUILD / "results.json", as_json(results, max(1, args.runs)))
    print(f"\nfigures: {BUILD / 'results.json'}")


if __name__ == "__main__":
    main()
