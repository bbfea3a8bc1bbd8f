"""Benchmark: smart cuts against full re-encodes (accurate) and stream copies (copy).

Workload: a 10-minute 1280x720 25 fps recording with a keyframe every 10 s (libx264
veryfast, B-frames, AAC; built once into build/bench-cut/). A moving test pattern fills
the picture, and a grey box in its corner encodes the frame number (its luma steps by 7
levels per frame, as in tests/recordings.py), so each clip's first and last frames can be read
back. Five sessions are cut at times that are not keyframes, each with `copy`, `smart` and
`accurate` in turn (interleaved, so a change in the machine's load hits all three alike).
It prints each mode's total wall time and the CPU time of its ffmpeg processes (steadier
than wall time on a loaded machine), the ratios, where the smart cut's time goes, how many
seconds it re-encoded, how far each clip's first and last frames are from the requested
ones (in frames; `copy` starts on the keyframe before the start by design) and whether its
sound starts on the requested sample (cross-checked against the source's sound, decoded
from the same time), the keyframe lookup's time on a 3-hour recording, and a projection
onto a 3-hour forum.

Then the same five sessions are cut with `smart` and `accurate` on two open-GOP masters
(_cut_open_gop.py): the same picture, a keyframe every 2 s, an IDR frame every 10 s or only
at the start, AAC 44.1 kHz stereo. Per master it prints each mode's wall and CPU time, the
smart/accurate ratios, the worst frame error at the first and last frame, and whether every
smart cut stayed smart (the fallbacks listed with their reasons).

Usage: .venv/bin/python scripts/bench/cut.py [--keep]
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from _common import (
    BOX,
    FPS,
    KEYINT,
    LUMA_SPAN,
    LUMA_STEP,
    ROOT,
    add_keep,
    bench_parser,
    children_cpu,
    counter_recording,
    ffmpeg_mono,
    machine,
    print_table,
    run_timed,
)
from _cut_open_gop import OPEN_MODES, SOURCES, OpenSource, open_gop_recording, summarise_open_gop

from pipeline.cutting.cut import cut

BUILD = ROOT / "build" / "bench-cut"
SECONDS = 600
SESSIONS = [(13.44, 131.72), (131.72, 247.36), (247.36, 368.12), (368.12, 482.84),
            (482.84, 597.16)]
MODES = ("copy", "smart", "accurate")


def recording() -> Path:
    """The 10-minute master, built once (a few minutes of libx264 on two cores)."""
    return counter_recording(
        BUILD / "master-720p.mp4", SECONDS,
        lambda: ["-f", "lavfi", "-i", f"sine=f=440:sample_rate=48000:d={SECONDS}"],
        output=["-ac", "2"])


def long_recording() -> Path:
    """A 3-hour recording, tiny (64x48, built in well under a minute), for the keyframe
    lookup: its index (moov) is as long as a real 3-hour recording's."""
    path = BUILD / "three-hours-64x48.mp4"
    if not path.is_file():
        hours = 3 * 3600
        subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
             "-f", "lavfi", "-i", f"color=c=gray:s=64x48:r={FPS}:d={hours}",
             "-f", "lavfi", "-i", f"sine=f=440:sample_rate=16000:d={hours}",
             "-c:v", "libx264", "-preset", "ultrafast", "-bf", "3", "-g", str(KEYINT),
             "-keyint_min", str(KEYINT), "-sc_threshold", "0", "-c:a", "aac", "-b:a", "24k",
             "-ac", "1", str(path.with_suffix(".part.mp4"))], check=True)
        path.with_suffix(".part.mp4").replace(path)
    return path


def keyframe_lookup(out: Path) -> None:
    """The probe phase of smart cuts near the start and near the end of 3 hours."""
    long = long_recording()
    times = []
    for start in (100.52, 9000.52):
        report = cut(long, start, start + 30.0, out / "long.mp4", "smart")
        times.append(f"{report.phases['probe']:.2f} s at {start:.0f} s")
    print(f"keyframe lookup (probe phase) on a 3-hour recording: {', '.join(times)}")


def frame_numbers(clip: Path, near: tuple[int, int]) -> tuple[int, int, int]:
    """First and last frame numbers of a clip (read from the counter box, the nearest to
    the expected ones), and its frame count."""
    raw = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(clip), "-map", "0:v",
         "-vf", f"crop={BOX - 16}:{BOX - 16}:8:8,scale=8:8", "-fps_mode", "passthrough",
         "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        check=True, capture_output=True).stdout
    size = 64
    lumas = [sum(raw[i:i + size]) / size for i in range(0, len(raw), size)]

    def number(luma: float, expected: int) -> int:
        # The box's luma repeats every 219 frames, and within 12 frames no two look alike.
        candidates = range(expected - 12, expected + 13)
        return min(candidates, key=lambda n: abs(
            (n * LUMA_STEP % LUMA_SPAN) * 255 / LUMA_SPAN - luma))

    return number(lumas[0], near[0]), number(lumas[-1], near[1]), len(lumas)


def sound_offset(clip: Path, master: Path, start: float) -> int:
    """How many samples the clip's sound is late against the source's sound decoded from
    the session's start (0: sample-exact), over its first half second."""
    import numpy as np

    def pcm(*args: str) -> np.ndarray:
        return ffmpeg_mono([*args, "-t", "0.6", "-vn"], sample_format="s16le").astype(np.float64)

    ours, theirs = pcm("-i", str(clip)), pcm("-ss", f"{start:.6f}", "-i", str(master))
    window = 24000
    lag = min(range(-48, 49), key=lambda k: float(np.abs(
        ours[48 + k:48 + k + window] - theirs[48:48 + window]).mean()))
    return lag


@dataclass
class Tally:
    """What the cuts measured, per mode, summed over the sessions."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    cpu: dict[str, float] = field(  # CPU seconds of ffmpeg/ffprobe: load-proof
        default_factory=lambda: defaultdict(float))
    phases: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    reencoded: float = 0.0
    worst: dict[str, tuple[int, int]] = field(default_factory=lambda: defaultdict(lambda: (0, 0)))
    sound_lag: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    counts_ok: dict[str, bool] = field(default_factory=lambda: defaultdict(lambda: True))
    errors: dict[str, list[tuple[int, int]]] = field(  # per cut: (first, last) frame error
        default_factory=lambda: defaultdict(list))
    fallbacks: list[str] = field(default_factory=list)  # smart's, with their reasons


def cut_session(master: Path, out: Path, number: int, start: float, end: float, mode: str,
                tally: Tally) -> None:
    """One session cut with one mode: timed, its frames and sound checked, and printed."""
    want = (round(start * FPS), round(end * FPS) - 1)
    clip = out / f"{number}-{mode}.mp4"
    timing, report = run_timed(
        lambda c=clip, s=start, e=end, m=mode: cut(master, s, e, c, m), children_cpu)
    spent = timing.wall
    tally.seconds[mode] += spent
    tally.cpu[mode] += timing.cpu
    achieved = (round(report.start * FPS), round(report.end * FPS) - 1)
    first, last, count = frame_numbers(clip, achieved)
    if mode == "smart":
        tally.reencoded += report.reencoded_seconds
        for name, phase_seconds in report.phases.items():
            tally.phases[name] += phase_seconds
        if report.fallback_reason:
            print(f"  session {number}: smart fell back: {report.fallback_reason}")
            tally.fallbacks.append(f"session {number}: {report.fallback_reason}")
    offsets = (first - want[0], last - want[1])
    lag = sound_offset(clip, master, report.start)
    print(f"  session {number} {mode:<8} {spent:7.2f} s  "
          f"first frame {offsets[0]:+d}, last frame {offsets[1]:+d}, "
          f"{count} frames, sound {lag:+d} samples "
          f"(achieved {report.start:.2f}-{report.end:.2f} s)")
    tally.sound_lag[mode] = max(tally.sound_lag[mode], abs(lag), key=abs)
    tally.errors[mode].append(offsets)
    if mode != "copy":
        tally.worst[mode] = max(tally.worst[mode], (abs(offsets[0]), abs(offsets[1])))
        tally.counts_ok[mode] &= count == want[1] - want[0] + 1


def summarise(tally: Tally, total: float) -> None:
    """The modes' table and where the smart cut's time went."""
    seconds, cpu, worst = tally.seconds, tally.cpu, tally.worst
    print()
    print_table(("mode", "wall", "vs accurate", "vs copy", "CPU", "CPU vs accurate",
                 "frame-exact (first, last, count)", "sound offset, worst"))
    for mode in MODES:
        exact = ("keyframe-bound" if mode == "copy" else
                 "yes" if worst[mode] == (0, 0) and tally.counts_ok[mode] else
                 f"no: off by up to {worst[mode]} frames")
        print(f"| {mode} | {seconds[mode]:.1f} s | x{seconds['accurate'] / seconds[mode]:.1f} "
              f"| x{seconds['copy'] / seconds[mode]:.2f} | {cpu[mode]:.1f} s "
              f"| x{cpu['accurate'] / cpu[mode]:.1f} | {exact} "
              f"| {'n/a' if mode == 'copy' else f'{tally.sound_lag[mode]} samples'} |")
    print()
    print(f"smart re-encoded {tally.reencoded:.1f} s of {total:.0f} s "
          f"({100 * tally.reencoded / total:.1f}%); its phases (head, tail and copy run side by "
          "side, so they add up to more than the total):")
    for name, spent in tally.phases.items():
        print(f"  {name:<7} {spent:6.2f} s  {100 * spent / seconds['smart']:4.0f}%")


def main() -> None:
    parser = bench_parser(__doc__)
    add_keep(parser, "keep the clips in build/")
    args = parser.parse_args()
    master = recording()
    open_masters = [(source, open_gop_recording(source, BUILD, SECONDS)) for source in SOURCES]
    print(f"machine: {machine()}")
    total = sum(end - start for start, end in SESSIONS)
    print(f"workload: {len(SESSIONS)} sessions, {total:.0f} s in all, out of a {SECONDS} s "
          f"1280x720 {FPS} fps recording with a keyframe every {KEYINT // FPS} s")
    out = Path(tempfile.mkdtemp(prefix="bench-cut-", dir=BUILD))
    tally = Tally()
    try:
        for number, (start, end) in enumerate(SESSIONS, start=1):
            for mode in MODES:
                cut_session(master, out, number, start, end, mode, tally)
        keyframe_lookup(out)
        summarise(tally, total)
        project(tally.seconds, tally.phases, total)
        open_gop(open_masters, out, total)
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)


def open_gop(masters: list[tuple[OpenSource, Path]], out: Path, total: float) -> None:
    """The five sessions cut smart and accurate (interleaved) on each open-GOP master."""
    results: list[tuple[OpenSource, Tally]] = []
    for source, master in masters:
        print()
        print(f"{source.name} ({master.name}: keyframe every 2 s, AAC 44.1 kHz stereo):")
        folder, tally = out / master.stem, Tally()
        folder.mkdir()
        for number, (start, end) in enumerate(SESSIONS, start=1):
            for mode in OPEN_MODES:
                cut_session(master, folder, number, start, end, mode, tally)
        results.append((source, tally))
    summarise_open_gop(results, total)


def project(seconds: dict[str, float], phases: dict[str, float], total: float) -> None:
    """Scale the measured costs to a 3-hour forum cut into six 30-minute sessions. Per
    second of session, smart pays the copy and the join (the middle's packets and the sound's
    packets go through both); everything else is paid per cut whatever the session's length:
    the probe, the head and tail encodes, and the verifying decode, which covers the joins
    only (the count of the clip's packets that it reads grows with the length, but reads no
    more than the join writes). The per-cut cost is the measured wall time less the per-second
    part (the phases overlap: head, tail and copy run side by side). Accurate pays its encode
    per second of session."""
    cuts = len(SESSIONS)
    per_second = {name: phases.get(name, 0.0) / total for name in ("copy", "join")}
    fixed = (seconds["smart"] - total * sum(per_second.values())) / cuts
    accurate = seconds["accurate"] / total
    length, sessions = 1800.0, 6
    smart = fixed + length * sum(per_second.values())
    reencoded = KEYINT / FPS / 2
    print()
    minutes = accurate * length * sessions / 60
    print(f"projection, 6 sessions of 30 min (3 h): accurate {minutes:.0f} min, "
          f"smart {smart * sessions / 60:.1f} min (x{accurate * length / smart:.0f}); video "
          f"re-encoded per session: about {reencoded:.0f} s of {length:.0f} s "
          f"(x{length / reencoded:.0f} less than accurate)")
    print("  per second of session: accurate "
          f"{accurate:.3f} s; smart " + ", ".join(f"{name} {value:.4f} s"
                                                  for name, value in per_second.items())
          + f"; smart per cut, fixed: {fixed:.2f} s")


if __name__ == "__main__":
    main()
