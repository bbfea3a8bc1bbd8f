"""The picture of a stream-like forum recording (see `pipeline.demo.stream`): flat-colour
cards with Korean text, each drawn once as a PNG, held for its frames, and encoded the way
a livestream is: H.264 High with B-frames and an open GOP."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipeline.demo.render import ffmpeg

FPS = 25
IDR_EVERY = 10 * FPS  # frames between IDR frames with idr="every-10s"
Idr = Literal["every-10s", "start-only"]
IDR_CHOICES: tuple[Idr, ...] = ("every-10s", "start-only")


@dataclass(frozen=True)
class Line:
    text: str
    size: float  # font size as a share of the picture's height
    y: float  # top of the text as a share of the picture's height
    color: str = "white"


@dataclass(frozen=True)
class Card:
    """One still picture: a flat background, an optional band across the top, text."""

    color: str
    lines: tuple[Line, ...]
    band: str | None = None  # the band's colour (slides)


@dataclass(frozen=True)
class Scene:
    card: Card
    frames: int


def _draw(card: Card, index: int, work: Path, size: tuple[int, int], font: bool) -> Path:
    """The card as a PNG. Texts go through files: no Korean text needs escaping."""
    width, height = size
    filters = []
    if card.band:
        filters.append(f"drawbox=x=0:y=0:w={width}:h={round(height * 0.14)}:"
                       f"color={card.band}:t=fill")
    for number, line in enumerate(card.lines if font else ()):
        name = f"card-{index}-{number}.txt"
        (work / name).write_text(line.text, encoding="utf-8")
        filters.append(f"drawtext=fontfile=font.ttf:textfile={name}:expansion=none:"
                       f"fontsize={max(6, round(line.size * height))}:fontcolor={line.color}:"
                       f"x=(w-text_w)/2:y={round(line.y * height)}")
    path = work / f"card-{index}.png"
    graph = ["-vf", ",".join(filters)] if filters else []
    ffmpeg(["-f", "lavfi", "-i", f"color=c={card.color}:s={width}x{height}:d=1", *graph,
            "-frames:v", "1", "-update", "1", path.name], f"drawing card {index}", cwd=work)
    return path


def _graph(scenes: list[Scene], cards: dict[Card, int]) -> str:
    """Each card converted once, split among the scenes that show it, held for each
    scene's frames by `loop` (no PNG is decoded per frame), the scenes concatenated."""
    users = {index: [n for n, s in enumerate(scenes) if cards[s.card] == index]
             for index in cards.values()}
    chains = [f"[{index}:v]format=yuv420p,split={len(numbers)}"
              + "".join(f"[c{n}]" for n in numbers) for index, numbers in users.items()]
    chains += [f"[c{n}]loop=loop={scene.frames - 1}:size=1:start=0,settb=1/{FPS},setpts=N[s{n}]"
               for n, scene in enumerate(scenes)]
    labels = "".join(f"[s{n}]" for n in range(len(scenes)))
    return ";".join([*chains, f"{labels}concat=n={len(scenes)}:v=1:a=0[v]"])


def encode_stream(scenes: list[Scene], sound: Path, work: Path, out: Path, *,
                  size: tuple[int, int], font: bool, idr: Idr) -> None:
    """The scenes one after another, with `sound` as AAC 44.1 kHz stereo 128k.

    x264's keyint=50 with open-gop=1 gives a recovery-point I-frame every 2 s whose
    leading B-frames reference the previous GOP; idr="every-10s" forces an IDR frame
    every 250 frames, "start-only" leaves the first frame the only IDR frame.
    """
    cards: dict[Card, int] = {}
    inputs: list[str] = []
    for scene in scenes:
        if scene.card not in cards:
            cards[scene.card] = len(cards)
            inputs += ["-i", _draw(scene.card, cards[scene.card], work, size, font).name]
    keys = (["-force_key_frames", f"expr:eq(mod(n,{IDR_EVERY}),0)", "-forced-idr", "1"]
            if idr == "every-10s" else [])
    ffmpeg([*inputs, "-i", str(sound), "-filter_complex", _graph(scenes, cards),
            "-map", "[v]", "-map", f"{len(cards)}:a", "-c:v", "libx264", "-profile:v", "high",
            "-preset", "superfast", "-tune", "stillimage", "-pix_fmt", "yuv420p",
            "-x264-params", "keyint=50:min-keyint=50:open-gop=1:scenecut=0:bframes=3",
            *keys, "-r", str(FPS), "-c:a", "aac", "-b:a", "128k",
            "-ar", "44100", "-ac", "2", "-movflags", "+faststart", str(out)],
           "encoding the stream recording", cwd=work)
