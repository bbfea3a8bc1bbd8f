"""Benchmark: the whole pipeline with accurate cuts ("before") against smart cuts ("after").

Workload: a 14-minute 1280x720 25 fps recording with a keyframe every 10 s (libx264
veryfast CRF 23, B-frames; a moving test pattern with a frame-counter box, as in
scripts/bench/cut.py) whose sound is real Korean speech: the fragments of the corpus'
first four talks (shared/korean-speech, read where they are, never copied into the
repository) in transcript order, looped to 14 minutes, as 48 kHz stereo AAC 128k. It is
built once into build/bench-pipeline-cut/. A forum config with three sessions (about
4.5 minutes each, cut at times that are not keyframes) and local storage is written next
to it.

The real pipeline (`sort-archive run CONFIG`: fetch, plan, split, transcribe, publish,
index, with the bundled Whisper base model) runs twice, each time with a fresh work folder,
archive and catalogue: `--cut-mode accurate`, then `--cut-mode smart`. Each stage is timed
from the run's own log: the CLI runs with -v in a pipe, so it prints a plain log line when
each stage's progress task starts and ends ("cut sessions ...", "cut sessions done"), and
the script stamps every line as it arrives (the stamped logs are kept in
build/bench-pipeline-cut/MODE.log). It prints each run's total wall time, each stage's
time and the split stage's share, and the clips' frame counts.

Usage: .venv/bin/python scripts/bench/pipeline_cut.py [--keep] [--only-build]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    FPS,
    KEYINT,
    ROOT,
    add_keep,
    bench_parser,
    counter_recording,
    machine,
    print_table,
    speech_dir,
    transcript,
)

from pipeline.demo import DEMO_SESSIONS

BUILD = ROOT / "build" / "bench-pipeline-cut"
SECONDS = 840
SESSIONS = [("opening", 12.36, 281.48), ("keynote", 287.72, 558.16),
            ("panel", 563.44, 831.92)]
MODES = ("accurate", "smart")
CLI = ROOT / ".venv" / "bin" / "sort-archive"


def speech_list() -> Path:
    """An ffconcat list of the first four talks' fragments, in transcript order, repeated
    until it lasts longer than the recording (the files stay in the corpus folder)."""
    speech = speech_dir()
    files: list[Path] = []
    for session in DEMO_SESSIONS:
        talk = speech / session.talk_dir
        trans = sorted(talk.glob("*.trans.txt"))[0]
        files += [talk / f"{fragment}.flac" for fragment, _text in transcript(trans)]
    listing = BUILD / "speech.ffconcat"
    # The four talks last about 15 minutes; twice over is plenty for 14.
    listing.write_text("ffconcat version 1.0\n" + "".join(
        f"file '{path}'\n" for path in files * 2), encoding="utf-8")
    return listing


def recording() -> Path:
    return counter_recording(
        BUILD / "master-720p-speech.mp4", SECONDS,
        lambda: ["-f", "concat", "-safe", "0", "-i", str(speech_list())],
        sound_filter=(";[2:a]aresample=48000,aformat=channel_layouts=stereo,apad,"
                      f"atrim=0:{SECONDS}[a]"),
        sound_map="[a]", output=["-t", str(SECONDS)])


def forum_config(folder: Path, master: Path, *, forum_id: str = "bench-cut",
                 title: str = "벤치마크 포럼: 자르기",
                 sessions: list[tuple[str, float, float]] = SESSIONS,
                 extra: list[str] | None = None) -> Path:
    """`folder/{forum_id}.yaml`: the sessions of `master`, archived in `folder/archive`;
    `extra` lines are appended (whole_run.py's `whisper:` section)."""
    lines = [f"id: {forum_id}", f'title: "{title}"', "date: 2021-07-02",
             'organiser: "벤치마크"', "language: ko", "source:", f'  file: "{master}"',
             "sessions:"]
    for name, start, end in sessions:
        lines += [f"  - id: {name}", f'    title: "{name}"', f"    start: {start}",
                  f"    end: {end}"]
    lines += ["storage:", f'  local: "{folder / "archive"}"', *(extra or [])]
    config = folder / f"{forum_id}.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def run_pipeline(config: Path, mode: str, folder: Path) -> tuple[float, list[tuple[float, str]]]:
    """Run the whole pipeline; return its wall time and its log lines, each stamped with
    the seconds since the start at which it arrived."""
    args = [str(CLI), "run", str(config), "--cut-mode", mode, "--work-dir", str(folder / "work"),
            "--catalogue", str(folder / "catalogue.sqlite"), "-v"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env, cwd=folder)
    assert process.stdout is not None
    lines = [(time.perf_counter() - started, line.rstrip()) for line in process.stdout]
    code = process.wait()
    wall = time.perf_counter() - started
    if code != 0:
        print("\n".join(line for _, line in lines[-30:]), file=sys.stderr)
        raise SystemExit(f"the {mode} run failed with exit code {code}")
    return wall, lines


STAGE_TASKS = {"fetch": ("download", "extract audio", "download materials"),
               "split": ("cut sessions",), "transcribe": ("transcribe",),
               "publish": ("upload",), "index": ("index",)}


def stage_times(lines: list[tuple[float, str]], wall: float) -> dict[str, float]:
    """Seconds per stage, from the log: each stage's progress tasks log "TASK ..." when they
    start and "TASK done" when they end (the split stage's task cuts every session, posters
    included). What no task covers (starting up, the plan, the manifest, the web pages) is
    "other"."""
    started: dict[str, float] = {}
    spent: dict[str, float] = {}
    for at, line in lines:
        message = line.split(": ", 1)[-1].strip()
        for tasks in STAGE_TASKS.values():
            for task in tasks:
                if message == f"{task} ...":
                    started[task] = at
                elif message == f"{task} done" and task in started:
                    spent[task] = spent.get(task, 0.0) + at - started.pop(task)
    times = {stage: sum(spent.get(task, 0.0) for task in tasks)
             for stage, tasks in STAGE_TASKS.items()}
    times["other"] = wall - sum(times.values())
    return times


def frame_counts(folder: Path) -> list[int]:
    counts = []
    for clip in sorted((folder / "work").glob("*/sessions/*/*.mp4")):
        out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0",
                              "-show_entries", "stream=nb_frames", "-of", "json", str(clip)],
                             check=True, capture_output=True, text=True).stdout
        counts.append(int(json.loads(out)["streams"][0]["nb_frames"]))
    return counts


def main() -> None:
    parser = bench_parser(__doc__)
    add_keep(parser)
    parser.add_argument("--only-build", action="store_true", help="build the recording, stop")
    args = parser.parse_args()
    master = recording()
    if args.only_build:
        return
    print(f"machine: {machine()}")
    total = sum(end - start for _, start, end in SESSIONS)
    print(f"workload: {SECONDS} s 1280x720 {FPS} fps recording, keyframe every "
          f"{KEYINT // FPS} s, real Korean speech; {len(SESSIONS)} sessions, {total:.0f} s "
          "in all")
    results: dict[str, tuple[float, dict[str, float], list[int]]] = {}
    for mode in MODES:
        folder = Path(tempfile.mkdtemp(prefix=f"run-{mode}-", dir=BUILD))
        try:
            config = forum_config(folder, master)
            wall, lines = run_pipeline(config, mode, folder)
            (BUILD / f"{mode}.log").write_text(
                "".join(f"{at:8.2f} {line}\n" for at, line in lines), encoding="utf-8")
            times = stage_times(lines, wall)
            results[mode] = (wall, times, frame_counts(folder))
            fallbacks = [line for _, line in lines if "cannot cut smart" in line]
            for line in fallbacks:
                print(f"  {mode}: {line}")
            if not times["split"]:
                print("\n".join(line for _, line in lines), file=sys.stderr)
                raise SystemExit("no 'cut sessions' task in the log: cannot time the split")
            print(f"  {mode}: {wall:.1f} s; " + ", ".join(
                f"{stage} {seconds:.1f} s" for stage, seconds in times.items()))
        finally:
            if not args.keep:
                shutil.rmtree(folder, ignore_errors=True)
    expected = [round(end * FPS) - round(start * FPS) for _, start, end in SESSIONS]
    print()
    print_table(("run", "total wall", "split stage", "split share", "fetch", "transcribe",
                 "publish", "index", "other", "clips' frames"))
    for mode, label in (("accurate", "before: --cut-mode accurate"),
                        ("smart", "after: --cut-mode smart")):
        wall, times, counts = results[mode]
        split = times["split"]
        exact = "exact" if sorted(counts) == sorted(expected) else f"{counts} != {expected}"
        print(f"| {label} | {wall:.1f} s | {split:.1f} s | {100 * split / wall:.0f}% | "
              + " | ".join(f"{times[stage]:.1f} s" for stage in
                           ("fetch", "transcribe", "publish", "index", "other"))
              + f" | {exact} |")
    before, after = results["accurate"][0], results["smart"][0]
    split_before = results["accurate"][1]["split"]
    split_after = results["smart"][1]["split"]
    print()
    print(f"whole run x{before / after:.2f} faster ({before - after:.1f} s saved); split stage "
          f"x{split_before / max(split_after, 1e-9):.1f} faster")


if __name__ == "__main__":
    main()
