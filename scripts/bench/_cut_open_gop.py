"""The open-GOP sources of scripts/bench/cut.py: two more masters with its master's 10-minute
1280x720 counter picture, but written as many cameras and streaming encoders write: open
GOPs (libx264 open-gop=1), a keyframe every 2 s, each keyframe but the IDR frames an
I-frame whose leading B-frames refer to the GOP before it, and sound AAC 44.1 kHz stereo.
On one an IDR frame comes every 10 s (-force_key_frames, -forced-idr), on the other only
at the start. A smart cut's copy starts only at an IDR frame with no leading pictures, so on
the first its head runs to the next IDR frame (up to 10 s), and on the second it falls back
to accurate, with the reason listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from _common import FPS, counter_recording, print_table

OPEN_KEYINT = 2 * FPS  # a keyframe every 2 s
IDR_EVERY = 10 * FPS  # an IDR frame every 10 s, on the first open-GOP master
OPEN_MODES = ("smart", "accurate")


@dataclass(frozen=True)
class OpenSource:
    """An open-GOP master: its name in the tables, its file, and how often it has an IDR
    frame (in frames; None: only the first frame)."""

    name: str
    file: str
    idr_every: int | None


SOURCES = (
    OpenSource("open GOP, IDR every 10 s", "master-720p-open-gop-idr-10s.mp4", IDR_EVERY),
    OpenSource("open GOP, IDR only at the start", "master-720p-open-gop-one-idr.mp4", None),
)


def open_gop_recording(source: OpenSource, folder: Path, seconds: int) -> Path:
    """The master, built once into `folder` (a few minutes of libx264 on two cores)."""
    idr = (["-force_key_frames", f"expr:eq(mod(n,{source.idr_every}),0)", "-forced-idr", "1"]
           if source.idr_every else [])
    return counter_recording(
        folder / source.file, seconds,
        lambda: ["-f", "lavfi", "-i", f"sine=f=440:sample_rate=44100:d={seconds}"],
        output=["-ac", "2", "-ar", "44100", *idr], keyint=OPEN_KEYINT,
        x264_params="open-gop=1:scenecut=0")


class Measured(Protocol):
    """What scripts/bench/cut.py's Tally holds of one source's cuts."""

    seconds: dict[str, float]
    cpu: dict[str, float]
    errors: dict[str, list[tuple[int, int]]]
    counts_ok: dict[str, bool]
    sound_lag: dict[str, int]
    fallbacks: list[str]
    reencoded: float


def worst(errors: list[tuple[int, int]]) -> tuple[int, int]:
    """The largest error, in frames, at the first and at the last frame (signed)."""
    return (max((e[0] for e in errors), key=abs, default=0),
            max((e[1] for e in errors), key=abs, default=0))


def summarise_open_gop(results: Sequence[tuple[OpenSource, Measured]], total: float) -> None:
    """Per open-GOP source: wall and CPU time per mode, the smart/accurate ratios (of this
    run), the frame error at the first and last frame, and whether smart stayed smart."""
    print()
    print_table(("source", "mode", "wall", "CPU", "smart vs accurate (wall, CPU)",
                 "frame error, worst (first, last)", "frame count", "sound offset, worst",
                 "re-encoded"))
    for source, tally in results:
        seconds, cpu = tally.seconds, tally.cpu
        for mode in OPEN_MODES:
            first, last = worst(tally.errors[mode])
            ratio = (f"x{seconds['accurate'] / seconds['smart']:.2f}, "
                     f"x{cpu['accurate'] / cpu['smart']:.2f}" if mode == "smart" else "")
            reencoded = (f"{tally.reencoded:.1f} s of {total:.0f} s" if mode == "smart"
                         else f"{total:.0f} s")
            print(f"| {source.name} | {mode} | {seconds[mode]:.1f} s | {cpu[mode]:.1f} s "
                  f"| {ratio or '-'} | {first:+d}, {last:+d} "
                  f"| {'exact' if tally.counts_ok[mode] else 'WRONG'} "
                  f"| {tally.sound_lag[mode]} samples | {reencoded} |")
    for source, tally in results:
        cuts = len(tally.errors["smart"])
        stayed = cuts - len(tally.fallbacks)
        print()
        print(f"{source.name}: {stayed} of {cuts} smart cuts stayed smart"
              + (":" if tally.fallbacks else ""))
        for reason in tally.fallbacks:
            print(f"  fell back to accurate: {reason}")
