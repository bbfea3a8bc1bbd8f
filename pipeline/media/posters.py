"""A poster frame for each clip: what the viewer page shows before playback.

The first frame is a poor poster: sessions open on a blank title card or a fade
from black. We look at small greyscale frames spread over the clip (skipping
its first tenth), reject the black and the flat ones (a blank card, a fade),
and take the one with the most detail, measured as the spread of its grey
levels. Each probe seeks on the input and decodes one frame, so a poster costs
about a second whatever the clip's length.
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

from pipeline.errors import MediaError

SAMPLES = 9
BLACK_LUMA = 24.0  # mean grey level (0..255) below which a frame counts as black
FLAT_SPREAD = 10.0  # grey-level standard deviation below which a frame is a flat card
_PROBE_WIDTH = 64


def frame_stats(clip: Path, at: float) -> tuple[float, float] | None:
    """(mean, standard deviation) of the grey levels of the frame at `at` seconds."""
    seek = ["-ss", f"{at:.3f}"] if at > 0 else []  # an image (a poster) has no timeline
    result = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", *seek, "-i", str(clip),
         "-frames:v", "1", "-vf", f"scale={_PROBE_WIDTH}:-2", "-f", "rawvideo",
         "-pix_fmt", "gray", "-"], capture_output=True, check=False)
    pixels = result.stdout
    if result.returncode != 0 or not pixels:
        return None
    mean = sum(pixels) / len(pixels)
    spread = math.sqrt(sum((p - mean) ** 2 for p in pixels) / len(pixels))
    return mean, spread


def choose_time(clip: Path, duration: float) -> float:
    """The most detailed frame that is neither black nor flat; else the middle."""
    best: tuple[float, float] | None = None  # (spread, time)
    for index in range(SAMPLES):
        at = duration * (0.1 + 0.8 * index / max(SAMPLES - 1, 1))
        stats = frame_stats(clip, at)
        if stats is None:
            continue
        mean, spread = stats
        if mean < BLACK_LUMA or spread < FLAT_SPREAD:
            continue
        if best is None or spread > best[0]:
            best = (spread, at)
    return best[1] if best else duration / 2


def make_poster(clip: Path, target: Path, duration: float, width: int = 1280) -> float:
    """Write `target` (JPEG, at most `width` wide) and return the chosen time."""
    at = choose_time(clip, duration)
    partial = target.with_name(target.stem + ".part.jpg")
    result = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-ss", f"{at:.3f}",
         "-i", str(clip), "-frames:v", "1", "-vf", f"scale='min({width},iw)':-2",
         "-q:v", "3", str(partial)], capture_output=True, text=True, check=False)
    if result.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise MediaError(f"cannot make a poster for {clip.name}", result.stderr,
                         hint="check that the clip plays")
    partial.replace(target)
    return at
