"""Rendering the demo recording: its soundtrack, assembled to the sample in Python, and its
picture (title cards and slides with Korean text), encoded with ffmpeg.

See `pipeline.demo.forum` for what the demo forum is and why it is built at run time.
"""

from __future__ import annotations

import random
import subprocess
import sys
import wave
from array import array
from dataclasses import dataclass
from pathlib import Path

from pipeline.demo.layout import DemoLayout
from pipeline.errors import MediaError
from pipeline.progress import Progress

SAMPLE_RATE = 48_000
FPS = 25
NOISE_AMPLITUDE = round(0.002 * 32767)  # room tone in the gaps, about -54 dBFS
PDF_TITLE = "2021년 제1회 공공부문의 사회적 가치 포럼(SORT) — 데모"


@dataclass(frozen=True)
class Fragment:
    id: str
    text: str
    path: Path
    samples: int  # at SAMPLE_RATE


def ffmpeg(args: list[str], what: str, cwd: Path | None = None) -> bytes:
    try:
        done = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-y", *args],
                              capture_output=True, cwd=cwd, check=False)
    except FileNotFoundError:
        raise MediaError(f"{what}: ffmpeg is not found", hint="apt-get install ffmpeg") from None
    if done.returncode != 0:
        tail = "\n".join(done.stderr.decode("utf-8", "replace").splitlines()[-5:])
        raise MediaError(f"{what} failed", tail)
    return done.stdout


def _decode(fragments: list[Fragment], work: Path, name: str) -> bytes:
    """The fragments back to back as 16-bit mono PCM at SAMPLE_RATE."""
    listing = work / f"{name}.txt"
    listing.write_text("".join("file '{}'\n".format(str(f.path).replace("'", "'\\''"))
                               for f in fragments), encoding="utf-8")
    return ffmpeg(["-f", "concat", "-safe", "0", "-i", str(listing), "-f", "s16le",
                    "-ac", "1", "-ar", str(SAMPLE_RATE), "-"], f"decoding the talk for {name}")


def render_soundtrack(layout: DemoLayout, talks: list[list[Fragment]], work: Path,
                progress: Progress) -> Path:
    """Assemble the soundtrack in Python, so that every boundary is exact to the sample."""
    def zeros(seconds: float) -> bytes:
        return bytes(2 * round(seconds * SAMPLE_RATE))

    pcm = bytearray()
    with progress.task("demo: soundtrack", total=len(talks)) as task:
        for index, (session, fragments) in enumerate(zip(layout.sessions, talks, strict=True)):
            speech = _decode(fragments, work, session.id)[: len(zeros(layout.speech_seconds))]
            pcm += zeros(layout.card_seconds) + speech
            pcm += zeros(layout.speech_seconds)[len(speech):]
            rng = random.Random(index)  # seeded, so that a rebuild gives the same sound
            noise = array("h", (rng.randint(-NOISE_AMPLITUDE, NOISE_AMPLITUDE)
                                for _ in range(round(layout.gap_seconds * SAMPLE_RATE))))
            if sys.byteorder == "big":  # WAV is little-endian
                noise.byteswap()
            pcm += noise.tobytes()
            task.advance()
    path = work / "soundtrack.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(bytes(pcm))
    return path


def _video_graph(layout: DemoLayout, work: Path) -> str:
    """The picture as a filter graph: coloured backgrounds, then Korean text on top.

    Backgrounds are `color` sources joined by concat: full-frame drawbox fills cost
    about 20 s per demo, flat sources nearly nothing. Texts go through files, so no
    Korean text needs filter escaping.
    """
    w, h, band = layout.width, layout.height, 2 * round(layout.height * 0.07)
    sources: list[str] = []
    texts: list[str] = []

    def bg(color: str, seconds: float, height: int = h) -> str:
        label = f"b{len(sources)}"
        sources.append(f"color=c={color}:s={w}x{height}:r={FPS}:d={seconds:.3f}[{label}]")
        return f"[{label}]"

    def text(value: str, size: float, y: str, color: str, a: float, b: float) -> None:
        name = f"text-{len(texts)}.txt"
        (work / name).write_text(value, encoding="utf-8")
        # Half-open, unlike between(): a frame on a boundary belongs to one scene only.
        texts.append(f"drawtext=fontfile=font.ttf:textfile={name}:expansion=none:"
                     f"fontsize={round(size)}:fontcolor={color}:x=(w-text_w)/2:y={y}:"
                     f"enable='gte(t,{a:.3f})*lt(t,{b:.3f})'")

    scenes = []
    for number, session in enumerate(layout.sessions, start=1):
        start, end = layout.bounds(number - 1)
        card, speech = start + layout.card_seconds, layout.speech_seconds
        scenes.append(bg("0x1f3a5f", layout.card_seconds))
        sources.append(f"{bg('0x1f3a5f', speech, band)}{bg('0xeef1f5', speech, h - band)}"
                       f"vstack[s{number}]")
        scenes += [f"[s{number}]", bg("0x101216", layout.gap_seconds)]
        text(f"세션 {number}", h / 16, "h*0.28", "0xc8d6e8", start, card)
        text(session.title, h / 11, "h*0.42", "white", start, card)
        text(PDF_TITLE, h / 30, "h*0.82", "0xc8d6e8", start, card)
        text(session.title, h / 26, "h*0.045", "white", card, end)
        text(session.speaker, h / 12, "h*0.42", "0x1f2933", card, end)
        text(session.organisation, h / 26, "h*0.58", "0x52606d", card, end)
    joined = "".join(scenes) + f"concat=n={len(scenes)}:v=1:a=0,format=yuv420p"
    return ";".join([*sources, ",".join([joined, *texts]) + "[v]"])


def encode_recording(layout: DemoLayout, soundtrack: Path, work: Path, out: Path) -> None:
    total = f"{layout.total_seconds:.3f}"
    # Key frames on every session boundary let the cutter copy streams without re-encoding.
    keys = ",".join(f"{t:.3f}" for i in range(len(layout.sessions)) for t in layout.bounds(i))
    ffmpeg(["-i", str(soundtrack), "-filter_complex", _video_graph(layout, work),
             "-map", "[v]", "-map", "0:a", "-c:v", "libx264", "-preset", "veryfast",
             "-tune", "stillimage", "-pix_fmt", "yuv420p", "-r", str(FPS), "-g", str(2 * FPS),
             "-force_key_frames", keys, "-c:a", "aac", "-b:a", "128k",
             "-ar", str(SAMPLE_RATE), "-t", total, "-movflags", "+faststart", str(out)],
            "encoding the demo recording", cwd=work)
