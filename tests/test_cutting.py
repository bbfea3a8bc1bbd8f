"""Cutting with real ffmpeg: smart and accurate cuts are frame-exact at both ends (also with
the mp4 edit list ignored), keep the sound in sync, and play; smart re-encodes only the
stretches next to the cut points; copy starts on a keyframe; sources that cannot be joined
fall back to accurate."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from pipeline.cutting import CutReport, cut
from pipeline.errors import SplitError
from tests.media import (
    FPS,
    dominant_frequency,
    expected_luma,
    frame_lumas,
    keyframe_counter_video,
)

TONES = [440.0, 660.0, 880.0, 1100.0]  # one per 7-second quarter of the 28 s source
SECONDS = 28.0
KEYFRAMES = (0.0, 10.0, 20.0)  # keyint 250 at 25 fps
CUTS = [(3.04, 13.52), (11.2, 24.6), (8.56, 24.6)]  # none starts or ends on a keyframe

Clips = dict[tuple[str, float, float], tuple[Path, CutReport]]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return keyframe_counter_video(tmp_path_factory.mktemp("source") / "master.mp4",
                                  SECONDS, TONES)


@pytest.fixture(scope="module")
def clips(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Clips:
    folder = tmp_path_factory.mktemp("clips")
    made: Clips = {}
    for mode in ("smart", "accurate"):
        for start, end in CUTS:
            target = folder / f"{mode}-{start}-{end}.mp4"
            made[mode, start, end] = (target, cut(source, start, end, target, mode))
    return made


def frames_of(clip: Path, first: int, *input_args: str) -> list[int]:
    """The counter frame number of each decoded frame (the luma repeats every 219 frames,
    so each is taken nearest to where it should be: within 12 frames no two look alike)."""
    numbers = []
    for index, luma in enumerate(frame_lumas(clip, *input_args)):
        near = first + index
        numbers.append(min(range(near - 12, near + 13),
                           key=lambda n: abs(expected_luma(n) - luma)))
    return numbers


@pytest.mark.parametrize("mode", ["smart", "accurate"])
@pytest.mark.parametrize(("start", "end"), CUTS)
@pytest.mark.parametrize("input_args", [(), ("-ignore_editlist", "1")],
                         ids=["edit-list", "edit-list-ignored"])
def test_every_frame_is_the_expected_one(clips: Clips, mode: str, start: float, end: float,
                                         input_args: tuple[str, ...]) -> None:
    clip, report = clips[mode, start, end]
    first, stop = round(start * FPS), round(end * FPS)
    assert report.mode == mode and report.fallback_reason is None
    assert report.start == pytest.approx(start) and report.end == pytest.approx(end)
    lumas = frame_lumas(clip, *input_args)
    assert len(lumas) == stop - first
    assert abs(lumas[0] - expected_luma(first)) < 3
    assert abs(lumas[-1] - expected_luma(stop - 1)) < 3
    assert frames_of(clip, first, *input_args) == list(range(first, stop))


@pytest.mark.parametrize("mode", ["smart", "accurate"])
def test_sound_is_the_session_s_and_in_sync(clips: Clips, mode: str) -> None:
    clip, _ = clips[mode, 3.04, 13.52]
    change = 7.0 - 3.04  # where the source's tone goes from 440 to 660 Hz, in the clip
    assert abs(dominant_frequency(clip, 0.1, 0.4) - 440) < 15
    assert abs(dominant_frequency(clip, change - 0.13, 0.1) - 440) < 15
    assert abs(dominant_frequency(clip, change + 0.03, 0.1) - 660) < 15
    assert abs(dominant_frequency(clip, 10.0, 0.4) - 660) < 15


@pytest.mark.parametrize("mode", ["smart", "accurate"])
@pytest.mark.parametrize(("start", "end"), CUTS)
def test_clip_plays_from_start_to_end(clips: Clips, mode: str, start: float,
                                      end: float) -> None:
    clip, _ = clips[mode, start, end]
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                          "stream=codec_type,codec_name,duration", "-of", "csv=p=0", str(clip)],
                         check=True, capture_output=True, text=True).stdout
    streams = {line.split(",")[1]: line.split(",") for line in out.split()}
    assert streams["video"][0] == "h264" and streams["audio"][0] == "aac"
    for kind in ("video", "audio"):
        assert abs(float(streams[kind][2]) - (end - start)) <= 0.05, kind
    boxes = top_level_boxes(clip)
    assert boxes.index(b"moov") < boxes.index(b"mdat")  # fast start: playable while loading
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", str(clip), "-f", "null", "-"],
                             capture_output=True, text=True)
    assert decoded.returncode == 0 and not decoded.stderr


@pytest.mark.parametrize(("start", "end"), CUTS)
def test_smart_re_encodes_only_next_to_the_cut_points(clips: Clips, start: float,
                                                      end: float) -> None:
    _, report = clips["smart", start, end]
    next_key = min(k for k in KEYFRAMES if k >= start)
    # The head up to the next keyframe, and at most one keyframe interval at the end.
    assert report.reencoded_seconds <= next_key - start + 10.0 + 1e-6
    assert report.reencoded_seconds < end - start
    assert set(report.phases) >= {"probe", "head", "copy", "join", "verify"}


def test_smart_copies_the_source_s_packets(clips: Clips, source: Path) -> None:
    clip, report = clips["smart", 8.56, 24.6]
    assert report.reencoded_seconds <= 1.6 + 0.12  # 1.44 s of head, a few tail frames
    ours, theirs = packet_hashes(clip), set(packet_hashes(source))
    copied = sum(1 for digest in ours if digest in theirs)
    # 10.0-24.48 s is copied: every packet but the keyframes (which gain in-band SPS/PPS).
    assert copied >= (24.48 - 10.0) * FPS - 2


def test_smart_clip_decodes_with_the_avcc_parameter_sets_alone(clips: Clips) -> None:
    """Some players (Apple's) read SPS/PPS only from the avcC: strip the in-band ones."""
    clip, _ = clips["smart", 3.04, 13.52]
    stripped = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(clip), "-map", "0:v", "-c", "copy",
         "-bsf:v", "filter_units=remove_types=7|8", "-f", "matroska", "-"],
        check=True, capture_output=True).stdout
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", "-", "-f", "framecrc", "-"],
                             input=stripped, capture_output=True)
    assert decoded.returncode == 0 and not decoded.stderr
    assert len([x for x in decoded.stdout.splitlines() if not x.startswith(b"#")]) == 262


def test_copy_starts_on_the_keyframe_before_the_start(source: Path, tmp_path: Path) -> None:
    report = cut(source, 12.0, 17.5, tmp_path / "copy.mp4", "copy")
    assert report.mode == "copy" and report.reencoded_seconds == 0
    assert report.start == pytest.approx(10.0)
    assert report.end >= 17.5
    lumas = frame_lumas(tmp_path / "copy.mp4")
    assert abs(lumas[0] - expected_luma(250)) < 3
    assert len(lumas) == round((report.end - report.start) * FPS)
    assert abs(lumas[-1] - expected_luma(round(report.end * FPS) - 1)) < 3


@pytest.mark.parametrize(("name", "codec", "reason"), [
    ("mpeg4.mp4", ["-c:v", "mpeg4", "-q:v", "2"], "mpeg4, not H.264"),
    ("vp9.mkv", ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"],
     "vp9, not H.264"),
])
def test_a_source_that_cannot_be_joined_falls_back_to_accurate(
        tmp_path: Path, name: str, codec: list[str], reason: str,
        caplog: pytest.LogCaptureFixture) -> None:
    source = keyframe_counter_video(tmp_path / name, 14.0, TONES[:2], codec=codec)
    with caplog.at_level("WARNING", logger="pipeline.split"):
        report = cut(source, 3.04, 11.52, tmp_path / "clip.mp4", "smart")
    assert report.mode == "accurate" and reason in (report.fallback_reason or "")
    assert reason in caplog.text
    first = round(report.start * FPS)
    assert frames_of(tmp_path / "clip.mp4", 76) == list(range(76, 288))
    assert first == 76


X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-x264-params"]


@pytest.mark.parametrize(("rate", "codec", "extra", "mode", "reason"), [
    # NTSC's 29.97 fps in a 90 kHz time scale: frames are not whole milliseconds apart.
    ("30000/1001", [*X264, "b-adapt=0"], ("-video_track_timescale", "90000"), "smart", None),
    # An open GOP: the keyframes are I-frames whose leading B-frames need the GOP before.
    ("25", [*X264, "b-adapt=0:open-gop=1"], (), "accurate", "open GOP"),
], ids=["ntsc-90khz", "open-gop"])
def test_other_sources_are_cut_frame_exact(tmp_path: Path, rate: str, codec: list[str],
                                           extra: tuple[str, ...], mode: str,
                                           reason: str | None) -> None:
    source = keyframe_counter_video(tmp_path / "source.mp4", 14.0, TONES[:2], keyint=150,
                                    codec=codec, rate=rate, extra=extra)
    report = cut(source, 2.32, 13.08, tmp_path / "clip.mp4", "smart")
    assert report.mode == mode and (reason or "") in (report.fallback_reason or "")
    fps = float(Fraction(rate))
    first, stop = round(2.32 * fps), round(13.08 * fps)
    assert frames_of(tmp_path / "clip.mp4", first) == list(range(first, stop))
    assert frames_of(tmp_path / "clip.mp4", first, "-ignore_editlist", "1") == list(
        range(first, stop))


def test_a_session_without_a_keyframe_is_re_encoded(source: Path, tmp_path: Path) -> None:
    report = cut(source, 20.6, 27.0, tmp_path / "late.mp4", "smart")
    assert report.mode == "accurate" and "no keyframe" in (report.fallback_reason or "")
    assert frames_of(tmp_path / "late.mp4", 515) == list(range(515, 675))


def test_nothing_is_left_behind_after_success_or_failure(source: Path, tmp_path: Path) -> None:
    cut(source, 9.0, 11.0, tmp_path / "ok.mp4", "smart")
    with pytest.raises(SplitError, match="inside the recording"):
        cut(source, 30.0, 32.0, tmp_path / "late.mp4", "smart")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.mp4"]


def packet_hashes(path: Path) -> list[str]:
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v", "-c", "copy",
                          "-f", "framemd5", "-"], check=True, capture_output=True, text=True)
    return [line.rsplit(",", 1)[-1].strip() for line in out.stdout.splitlines()
            if line and not line.startswith("#")]


def top_level_boxes(path: Path) -> list[bytes]:
    kinds, data = [], path.read_bytes()
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos:pos + 4], "big")
        kinds.append(data[pos + 4:pos + 8])
        if size == 1:
            size = int.from_bytes(data[pos + 8:pos + 16], "big")
        pos += size if size >= 8 else len(data)
    return kinds
