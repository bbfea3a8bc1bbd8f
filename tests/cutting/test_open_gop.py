"""Cutting open-GOP sources (as many cameras and streaming encoders write them: a keyframe
every 2 s, each an I-frame whose leading B-frames refer to the GOP before it, and an IDR
frame now and then). With an IDR frame every 10 s a smart cut stays smart: its copy starts
at the first IDR frame in the session (past the recovery-point I-frames), it may stop inside
an open GOP, and the clip is frame-exact (the copied frames bit-exact), consecutive across
its joins with and without the edit list, decodes without an error, and keeps its sound to
the sample. With an IDR frame only at the start no copy can start cleanly, so smart falls
back to accurate and says why; the clip is still frame-exact."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from pipeline.cutting import h264
from pipeline.cutting.cut import CutReport, cut
from tests.recordings import (
    FPS,
    dominant_frequency,
    expected_luma,
    frame_hashes,
    frame_lumas,
    open_gop_counter_video,
)

TONES = [440.0, 660.0, 880.0, 1100.0]  # one per 10-second quarter of the 40 s sources
SECONDS = 40.0
RATE = 44100  # the sources' sound: AAC 44.1 kHz stereo
IDRS = (0.0, 10.0, 20.0, 30.0)  # the IDR frames of `idr10`; the other keyframes: every 2 s
# None starts or ends on a keyframe; in `idr10`:
CUTS = [
    (10.04, 25.96),  # from a frame after an IDR frame; it ends on the second of the three
    # leading pictures of the I-frame at 26.0 s (inside its open GOP, just before it)
    (12.0, 26.08),  # from a recovery-point I-frame with leading pictures; it ends two
    # frames after the I-frame at 26.0 s
    (22.0, 33.52),  # from an I-frame with no leading pictures that is not an IDR frame
    (3.04, 37.92),  # it ends on the first leading picture of the I-frame at 38.0 s
]
FALLBACK_CUTS = [(3.04, 17.96), (12.0, 26.08)]  # in `one_idr`
EDIT_LIST = pytest.mark.parametrize("input_args", [(), ("-ignore_editlist", "1")],
                                    ids=["edit-list", "edit-list-ignored"])

Clips = dict[tuple[float, float], tuple[Path, CutReport]]


@pytest.fixture(scope="module")
def idr10(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return open_gop_counter_video(tmp_path_factory.mktemp("idr10") / "idr10.mp4",
                                  SECONDS, TONES, idr_every=250)


@pytest.fixture(scope="module")
def one_idr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return open_gop_counter_video(tmp_path_factory.mktemp("one-idr") / "one-idr.mp4",
                                  SECONDS, TONES, idr_every=None)


def cut_each(source: Path, cuts: Sequence[tuple[float, float]], folder: Path) -> Clips:
    """Each (start, end) of `source` cut smart into `folder`, with its report."""
    return {(start, end): (folder / f"{start}-{end}.mp4",
                           cut(source, start, end, folder / f"{start}-{end}.mp4", "smart"))
            for start, end in cuts}


@pytest.fixture(scope="module")
def smart_clips(idr10: Path, tmp_path_factory: pytest.TempPathFactory) -> Clips:
    return cut_each(idr10, CUTS, tmp_path_factory.mktemp("smart"))


@pytest.fixture(scope="module")
def fallback_clips(one_idr: Path, tmp_path_factory: pytest.TempPathFactory) -> Clips:
    return cut_each(one_idr, FALLBACK_CUTS, tmp_path_factory.mktemp("fallback"))


@pytest.fixture(scope="module")
def source_hashes(idr10: Path) -> list[str]:
    return frame_hashes(idr10)


def keyframes(path: Path) -> list[tuple[float, bool, bool]]:
    """Each keyframe's time, whether it is an IDR frame, and whether it has leading
    pictures (frames decoded after it but shown before it)."""
    source = h264.probe_source(path)
    packets = h264.packets_near(path, source, 0.0, SECONDS)
    return [(round(source.seconds(p.pts), 3), bool(h264.is_idr(path, p, source.extradata)),
             h264.leading_pictures(packets, index))
            for index, p in enumerate(packets) if p.key]


def frames_of(clip: Path, first: int, *input_args: str) -> list[int]:
    """The counter frame number of each decoded frame, read from the counter box (its luma
    repeats every 219 frames: each is taken nearest to where it should be, and within 12
    frames no two look alike)."""
    numbers = []
    for index, luma in enumerate(frame_lumas(clip, *input_args, box=True)):
        near = first + index
        numbers.append(min(range(near - 12, near + 13),
                           key=lambda n: abs(expected_luma(n) - luma)))
    return numbers


def sound(path: Path, *args: str) -> np.ndarray:
    """The decoded sound, one channel of 16-bit samples at 44.1 kHz (`args` go before -i)."""
    raw = subprocess.run(["ffmpeg", "-v", "error", *args, "-i", str(path), "-vn", "-ac", "1",
                          "-f", "s16le", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.int16).astype(np.int32)


def next_idr(start: float) -> float:
    return min(t for t in IDRS if t >= start)


def test_the_sources_have_open_gops(idr10: Path, one_idr: Path) -> None:
    """What the cuts below rely on: a keyframe every 2 s; IDR frames only every 10 s (or
    only the first), and the other keyframes recovery-point I-frames, most of them with
    leading pictures (those at 12.0, 26.0 and 38.0 s among them, not that at 22.0 s)."""
    found = keyframes(idr10)
    assert [t for t, _, _ in found] == [2.0 * n for n in range(20)]
    assert [t for t, idr, _ in found if idr] == list(IDRS)
    assert not any(leading for _, idr, leading in found if idr)
    leading = {t for t, _, lead in found if lead}
    assert {12.0, 26.0, 38.0} <= leading and 22.0 not in leading
    assert [t for t, idr, _ in keyframes(one_idr) if idr] == [0.0]


@pytest.mark.parametrize(("start", "end"), CUTS)
def test_smart_stays_smart_and_re_encodes_up_to_the_next_idr_frame(
        smart_clips: Clips, start: float, end: float) -> None:
    _, report = smart_clips[start, end]
    assert report.mode == "smart" and report.fallback_reason is None
    assert report.start == pytest.approx(start) and report.end == pytest.approx(end)
    head = next_idr(start) - start  # the head runs to the first IDR frame: at most 10 s
    assert head <= 10.0
    assert head - 1e-6 <= report.reencoded_seconds <= head + 0.2  # and a tail of a few frames
    assert "audio" not in report.phases  # the sound is copied


@pytest.mark.parametrize(("start", "end"), CUTS)
@EDIT_LIST
def test_every_frame_is_the_source_s(smart_clips: Clips, source_hashes: list[str],
                                     start: float, end: float,
                                     input_args: tuple[str, ...]) -> None:
    """Every frame in its place, consecutive across the joins; the copied frames (from the
    first IDR frame to the tail) decode to exactly the source's pictures."""
    clip, report = smart_clips[start, end]
    first, stop = round(start * FPS), round(end * FPS)
    assert frames_of(clip, first, *input_args) == list(range(first, stop))
    lumas = frame_lumas(clip, *input_args, box=True)
    assert abs(lumas[0] - expected_luma(first)) < 3
    assert abs(lumas[-1] - expected_luma(stop - 1)) < 3
    head = round((next_idr(start) - start) * FPS)
    tail = round(report.reencoded_seconds * FPS) - head
    hashes = frame_hashes(clip, *input_args)
    assert len(hashes) == stop - first
    assert hashes[head:len(hashes) - tail] == source_hashes[first + head:stop - tail]


@pytest.mark.parametrize(("start", "end"), CUTS)
@EDIT_LIST
def test_the_clip_decodes_without_an_error(smart_clips: Clips, start: float, end: float,
                                           input_args: tuple[str, ...]) -> None:
    clip, _ = smart_clips[start, end]
    decoded = subprocess.run(["ffmpeg", "-v", "error", *input_args, "-i", str(clip),
                              "-f", "null", "-"], capture_output=True, text=True)
    assert decoded.returncode == 0 and not decoded.stderr


@pytest.mark.parametrize(("start", "end"), CUTS)
def test_the_sound_is_the_source_s_to_the_sample(smart_clips: Clips, idr10: Path,
                                                 start: float, end: float) -> None:
    """The source's own AAC packets behind an edit list: decoded, the source's sound from
    its first sample on (see test_cut.py's test_smart_copies_the_sound_sample_exact), and
    the tone changes where the source's does."""
    clip, _ = smart_clips[start, end]
    ours, theirs = sound(clip), sound(idr10, "-ss", f"{start}", "-t", f"{end - start}")
    assert len(theirs) == round((end - start) * RATE)
    assert 0 <= len(ours) - len(theirs) < 1024
    assert np.abs(ours[:len(theirs)] - theirs).max() <= 64
    for change in (10.0, 20.0, 30.0):
        if start + 0.2 < change < end - 0.2:
            before, after = TONES[int(change // 10) - 1], TONES[int(change // 10)]
            assert abs(dominant_frequency(clip, change - start - 0.13, 0.1) - before) < 15
            assert abs(dominant_frequency(clip, change - start + 0.03, 0.1) - after) < 15


@pytest.mark.parametrize(("start", "end"), FALLBACK_CUTS)
def test_with_an_idr_frame_only_at_the_start_smart_falls_back_to_accurate(
        fallback_clips: Clips, start: float, end: float) -> None:
    clip, report = fallback_clips[start, end]
    assert report.mode == "accurate"
    assert report.fallback_reason is not None
    assert report.fallback_reason.startswith("open GOP: none of the session's ")
    assert "is an IDR frame with no leading pictures" in report.fallback_reason
    first, stop = round(start * FPS), round(end * FPS)
    for input_args in ((), ("-ignore_editlist", "1")):
        assert frames_of(clip, first, *input_args) == list(range(first, stop))
        decoded = subprocess.run(["ffmpeg", "-v", "error", *input_args, "-i", str(clip),
                                  "-f", "null", "-"], capture_output=True, text=True)
        assert decoded.returncode == 0 and not decoded.stderr
    change = 10.0 if start < 10.0 else 20.0  # the tone changes there, in sync
    assert abs(dominant_frequency(clip, change - start - 0.13, 0.1)
               - TONES[int(change // 10) - 1]) < 15
    assert abs(dominant_frequency(clip, change - start + 0.03, 0.1)
               - TONES[int(change // 10)]) < 15


def test_with_an_idr_frame_only_at_the_start_a_cut_from_it_is_smart(
        one_idr: Path, tmp_path: Path) -> None:
    """The first frame is an IDR frame: a session that starts there is copied from it."""
    clip = tmp_path / "clip.mp4"
    report = cut(one_idr, 0.0, 13.52, clip, "smart")
    assert report.mode == "smart" and report.fallback_reason is None
    assert report.reencoded_seconds < 0.2  # a tail of a few frames only
    assert frames_of(clip, 0) == list(range(338))


def test_a_session_from_the_start_to_before_twelve_seconds_is_cut_smart(
        idr10: Path, tmp_path: Path) -> None:
    """The packets around the start and the end are read as one window when they meet (two
    windows read from the file's start once shared a packet, and the end's held no
    keyframe)."""
    for start, end in ((0.0, 6.0), (0.0, 11.5), (0.52, 11.96)):
        report = cut(idr10, start, end, tmp_path / "clip.mp4", "smart")
        assert report.fallback_reason is None and report.mode == "smart", (start, end)
