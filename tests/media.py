"""Builders of small real media for the tests (seconds long, made by ffmpeg)."""

from __future__ import annotations

import subprocess
from pathlib import Path

FPS = 25
LUMA_STEP = 7  # grey level added per frame, so a frame's brightness tells its number
LUMA_SPAN = 219  # studio-range luma (16..235), which ffmpeg stretches to 0..255 on output


def expected_luma(frame: int) -> float:
    """What `first_frame_luma` reads for frame number `frame` of a counter video."""
    return (frame * LUMA_STEP % LUMA_SPAN) * 255 / LUMA_SPAN


def run(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def counter_video(path: Path, seconds: float, tones: list[float], *, audio: bool = True) -> Path:
    """H.264/AAC mp4 whose frame N is a flat grey that encodes N (see expected_luma), and
    whose sound is a different sine tone in each equal part (one per entry of `tones`)."""
    part = seconds / len(tones)
    freq = "+".join(
        f"{f}*between(t,{i * part},{(i + 1) * part - 1e-6})" for i, f in enumerate(tones)
    )
    args = ["-f", "lavfi", "-i", f"color=c=black:s=160x120:r={FPS}:d={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i",
                 f"aevalsrc='0.5*sin(2*PI*({freq})*t)':s=48000:d={seconds}"]
    args += ["-vf", f"geq=lum='16+mod(N*{LUMA_STEP},{LUMA_SPAN})':cb=128:cr=128",
             "-c:v", "libx264", "-preset", "veryfast", "-qp", "0", "-pix_fmt", "yuv420p",
             "-g", "50"]
    if audio:
        args += ["-c:a", "aac", "-shortest"]
    run(*args, "-t", str(seconds), str(path))
    return path


def first_frame_luma(path: Path) -> float:
    raw = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(path), "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        check=True, capture_output=True,
    ).stdout
    return sum(raw) / len(raw)


def dominant_frequency(path: Path, start: float = 0.2, length: float = 0.5) -> float:
    import numpy as np

    raw = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-ss", str(start), "-t", str(length),
         "-i", str(path), "-vn", "-ac", "1", "-ar", "16000", "-f", "s16le", "-"],
        check=True, capture_output=True,
    ).stdout
    samples = np.frombuffer(raw, dtype=np.int16).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / 16000)[int(spectrum.argmax())])


def duration(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
         str(path)], check=True, capture_output=True, text=True,
    ).stdout
    return float(out.strip())


def speech_counter_video(path: Path, speech: list[Path], seconds: float) -> Path:
    """A counter video (see `counter_video`) whose sound is the given speech files, one
    after another, padded with silence to `seconds`."""
    listing = path.with_suffix(".list.txt")
    listing.write_text("".join(f"file '{f}'\n" for f in speech), encoding="utf-8")
    run("-f", "lavfi", "-i", f"color=c=black:s=160x120:r={FPS}:d={seconds}",
        "-f", "concat", "-safe", "0", "-i", str(listing),
        "-vf", f"geq=lum='16+mod(N*{LUMA_STEP},{LUMA_SPAN})':cb=128:cr=128",
        "-af", f"apad,atrim=0:{seconds}",
        "-c:v", "libx264", "-preset", "veryfast", "-qp", "0", "-pix_fmt", "yuv420p", "-g", "50",
        "-c:a", "aac", "-ar", "48000", "-t", str(seconds), str(path))
    return path


def frame_hashes(path: Path) -> list[str]:
    """The MD5 of every decoded video frame: equal lists mean frame-identical clips."""
    out = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(path), "-map", "0:v",
         "-f", "framemd5", "-"], check=True, capture_output=True, text=True).stdout
    return [line.rsplit(",", 1)[-1].strip() for line in out.splitlines()
            if line and not line.startswith("#")]
