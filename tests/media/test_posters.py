"""Posters: never the black or blank title card, always a detailed frame."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.media.posters import BLACK_LUMA, FLAT_SPREAD, choose_time, frame_stats, make_poster
from tests.recordings import run


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 s black, 4 s of a flat blue title card, then 12 s of a detailed test pattern."""
    path = tmp_path_factory.mktemp("poster") / "clip.mp4"
    run("-f", "lavfi", "-i", "color=c=black:s=320x180:r=25:d=4",
        "-f", "lavfi", "-i", "color=c=0x2050a0:s=320x180:r=25:d=4",
        "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=12",
        "-filter_complex", "[0:v][1:v][2:v]concat=n=3:v=1:a=0",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path))
    return path


def test_black_and_flat_frames_are_recognised(clip: Path) -> None:
    black, card, pattern = (frame_stats(clip, t) for t in (1.0, 6.0, 12.0))
    assert black is not None and black[0] < BLACK_LUMA
    assert card is not None and card[0] >= BLACK_LUMA and card[1] < FLAT_SPREAD
    assert pattern is not None and pattern[1] >= FLAT_SPREAD


def test_the_poster_comes_from_the_detailed_part(clip: Path, tmp_path: Path) -> None:
    assert choose_time(clip, 20.0) >= 8.0
    poster = tmp_path / "poster.jpg"
    at = make_poster(clip, poster, 20.0)
    assert at >= 8.0 and poster.read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG
    stats = frame_stats(poster, 0.0)
    assert stats is not None and stats[1] >= FLAT_SPREAD


def test_a_clip_with_nothing_but_a_card_falls_back_to_the_middle(tmp_path: Path) -> None:
    flat = tmp_path / "flat.mp4"
    run("-f", "lavfi", "-i", "color=c=black:s=160x90:r=25:d=5", "-c:v", "libx264",
        "-pix_fmt", "yuv420p", str(flat))
    assert choose_time(flat, 5.0) == pytest.approx(2.5)
    make_poster(flat, tmp_path / "p.jpg", 5.0)
    assert (tmp_path / "p.jpg").is_file() and not (tmp_path / "p.part.jpg").exists()
