"""Benchmark: cutting one session out of the master recording.

Baseline: a full re-encode that decodes from the start of the recording
(`-ss` after `-i`). Ours: seek on the input, then re-encode only the session
(`-ss` before `-i`), which is frame-exact as well. For reference: a stream copy,
the fastest, which can only start on a keyframe. Each row prints the speed
ratio against the baseline and how far the clip's length is from the session's.

Usage: .venv/bin/python scripts/bench/bench_split.py [--runs 3]
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from _common import add_runs, bench_parser, best_of, demo_forum, machine

from pipeline.config.loader import load_config
from pipeline.cutting.cut import VIDEO

X264 = ["-c:v", "libx264", "-preset", str(VIDEO["preset"]), "-crf", str(VIDEO["crf"]),
        "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart"]


def cut(master: Path, out: Path, start: float, length: float, mode: str) -> float:
    base = ["ffmpeg", "-loglevel", "error", "-y"]
    if mode == "output-seek":
        args = [*base, "-i", str(master), "-ss", f"{start}", "-t", f"{length}", *X264]
    elif mode == "input-seek":
        args = [*base, "-ss", f"{start}", "-t", f"{length}", "-i", str(master), *X264]
    else:
        args = [*base, "-ss", f"{start}", "-t", f"{length}", "-i", str(master), "-c", "copy"]
    subprocess.run([*args, str(out)], check=True)
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                            "-of", "csv=p=0", str(out)], capture_output=True, text=True,
                           check=True)
    return float(probe.stdout)


def main() -> None:
    parser = bench_parser(__doc__)
    add_runs(parser, 3)
    args = parser.parse_args()
    demo = demo_forum()
    session = load_config(demo.config_path).session_plans()[-1]  # the last: longest seek
    print(f"machine: {machine()}")
    print(f"workload: session '{session.slug}' ({session.duration:.0f} s) starting at "
          f"{session.start:.0f} s of a {demo.layout.total_seconds:.0f} s 1280x720 master")
    baseline = None
    with tempfile.TemporaryDirectory() as tmp:
        for label, mode in [("full decode, output seek (baseline)", "output-seek"),
                            ("input seek + re-encode (ours)", "input-seek"),
                            ("stream copy (keyframe-bound)", "copy")]:
            out = Path(tmp) / f"{mode}.mp4"
            seconds, length = best_of(args.runs, lambda out=out, mode=mode: cut(
                demo.master_path, out, session.start, session.duration, mode))
            baseline = baseline or seconds
            print(f"{label:<37} {seconds:6.2f} s  speed vs baseline x{baseline / seconds:5.2f}"
                  f"  length error {abs(length - session.duration) * 1000:5.0f} ms")


if __name__ == "__main__":
    main()
