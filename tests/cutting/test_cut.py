"""Cutting with real ffmpeg: smart and accurate cuts are frame-exact at both ends (also with
the mp4 edit list ignored), keep the sound in sync, and play; smart re-encodes only the
stretches next to the cut points, copies the sound's AAC packets and trims them sample-exact
with an edit list, and verifies the clip by decoding around its joins, so a damaged join
falls back to accurate; copy starts on a keyframe; sources that cannot be joined fall back
to accurate."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.cutting import cut as cutting
from pipeline.cutting import join_check as cut_verify
from pipeline.cutting.cut import CutReport, cut
from pipeline.errors import SplitError
from tests.recordings import (
    FPS,
    dominant_frequency,
    duration,
    expected_luma,
    frame_lumas,
    keyframe_counter_video,
    run,
    variable_rate_video,
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


@pytest.mark.parametrize("mode", ["smart", "accurate"])
def test_a_variable_frame_rate_is_cut_by_time(tmp_path: Path, mode: str) -> None:
    """Counting frames on r_frame_rate's grid would cut 0-2 s almost twice too long."""
    source = variable_rate_video(tmp_path / "vfr.mp4")
    report = cut(source, 0.0, 2.0, tmp_path / "clip.mp4", mode)
    assert report.mode == "accurate" and duration(tmp_path / "clip.mp4") == pytest.approx(2.0)
    if mode == "smart":
        assert report.fallback_reason == "the source has a variable frame rate"


def test_a_session_without_a_keyframe_is_re_encoded(source: Path, tmp_path: Path) -> None:
    report = cut(source, 20.6, 27.0, tmp_path / "late.mp4", "smart")
    assert report.mode == "accurate" and "no keyframe" in (report.fallback_reason or "")
    assert frames_of(tmp_path / "late.mp4", 515) == list(range(515, 675))


def test_nothing_is_left_behind_after_success_or_failure(source: Path, tmp_path: Path) -> None:
    cut(source, 9.0, 11.0, tmp_path / "ok.mp4", "smart")
    with pytest.raises(SplitError, match="inside the recording"):
        cut(source, 30.0, 32.0, tmp_path / "late.mp4", "smart")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.mp4"]


SAME = 64  # 16-bit levels (-54 dBFS): the same sound, decoded from another point


def sound(path: Path, *args: str) -> np.ndarray:
    """The decoded sound, one channel of 16-bit samples at 48 kHz (`args` go before -i)."""
    raw = subprocess.run(["ffmpeg", "-v", "error", *args, "-i", str(path), "-vn", "-ac", "1",
                          "-f", "s16le", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.int16).astype(np.int32)


@pytest.mark.parametrize(("start", "end"), [*CUTS, (0.0, 6.0)])
def test_smart_copies_the_sound_sample_exact(clips: Clips, source: Path, tmp_path: Path,
                                             start: float, end: float) -> None:
    """The sound is the source's own AAC packets behind an edit list: decoded, it is the
    source's sound from the first sample to the last, to the sample (off by one sample, a
    tone here would differ by hundreds of levels; what differs is the decoder's noise
    substitution, whose random state depends on where decoding began). The edit list ends
    on the last sample too, but ffmpeg 5.1 plays the last AAC frame whole: up to 1023
    samples (21 ms) more."""
    if (start, end) in CUTS:
        clip, report = clips["smart", start, end]
    else:  # from the very start: the first packet is the source's priming packet
        clip, report = tmp_path / "first.mp4", cut(source, start, end, tmp_path / "first.mp4")
    assert report.mode == "smart" and "audio" not in report.phases  # copied, not encoded
    ours, theirs = sound(clip), sound(source, "-ss", f"{start}", "-t", f"{end - start}")
    assert len(theirs) == round((end - start) * 48000)
    assert 0 <= len(ours) - len(theirs) < 1024
    assert np.abs(ours[:len(theirs)] - theirs).max() <= SAME
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                          "stream=duration", "-of", "csv=p=0", str(clip)],
                         check=True, capture_output=True, text=True).stdout
    assert float(out) == pytest.approx(end - start, abs=0.001)  # the edit's length


def test_smart_sound_with_the_edit_list_ignored_starts_under_two_aac_frames_early(
        clips: Clips, source: Path) -> None:
    """A player that ignores the edit list plays the packet before the first sample's (the
    decoder's pre-roll) and the first one whole: at most 2047 samples early (42.6 ms)."""
    for start, end in CUTS:
        clip, _ = clips["smart", start, end]
        raw, theirs = sound(clip, "-ignore_editlist", "1"), sound(
            source, "-ss", f"{start}", "-t", f"{end - start}")
        early = next(skip for skip in range(2048)
                     if np.abs(raw[skip:skip + 4800] - theirs[:4800]).max() <= SAME)
        assert 1024 <= early < 2048, (start, early)
        assert np.abs(raw[early:early + len(theirs)] - theirs).max() <= SAME


def test_a_session_that_outlasts_the_sound_is_still_cut_smart(tmp_path: Path) -> None:
    """The last session of a recording whose sound stops 0.3 s before its picture: the clip
    keeps all the sound there is, from the first sample on, and the picture to the end."""
    source = tmp_path / "short-sound.mp4"
    run("-f", "lavfi", "-i", f"color=c=black:s=160x120:r={FPS}:d=14",
        "-f", "lavfi", "-i", "aevalsrc='0.5*sin(2*PI*(440+220*gte(t,7))*t)':s=48000:d=13.7",
        "-vf", "geq=lum='16+mod(N*7,219)':cb=128:cr=128", "-c:v", "libx264", "-preset",
        "veryfast", "-crf", "18", "-x264-params", "b-adapt=0", "-pix_fmt", "yuv420p",
        "-g", "250", "-keyint_min", "250", "-sc_threshold", "0", "-c:a", "aac",
        str(source))
    clip = tmp_path / "clip.mp4"
    report = cut(source, 8.56, 14.0, clip, "smart")
    assert report.mode == "smart" and report.fallback_reason is None
    assert "audio" not in report.phases
    assert frames_of(clip, 214) == list(range(214, 350))
    ours, theirs = sound(clip), sound(source, "-ss", "8.56")
    assert 0 <= len(ours) - len(theirs) < 1024 and len(theirs) < 5.44 * 48000
    assert np.abs(ours[:len(theirs)] - theirs).max() <= SAME


def test_a_sound_that_is_not_aac_is_re_encoded(tmp_path: Path) -> None:
    source = keyframe_counter_video(tmp_path / "mp3.mp4", 14.0, TONES[:2],
                                    extra=("-c:a", "libmp3lame"))
    report = cut(source, 3.04, 13.52, tmp_path / "clip.mp4", "smart")
    assert report.mode == "smart" and "audio" in report.phases
    clip = tmp_path / "clip.mp4"
    assert frames_of(clip, 76) == list(range(76, 338))
    change = 7.0 - 3.04  # 440 Hz to 660 Hz
    assert abs(dominant_frequency(clip, change - 0.13, 0.1) - 440) < 15
    assert abs(dominant_frequency(clip, change + 0.03, 0.1) - 660) < 15


def garble(part: Path, picture: int) -> None:
    """Garble the slice data of one picture (in decode order: 0 the first, -1 the last) of
    an mp4 part, as a bad join or a bad disk might: the clip then fails to decode there."""
    data = bytearray(part.read_bytes())
    pos = 0
    while data[pos + 4:pos + 8] != b"mdat":
        pos += int.from_bytes(data[pos:pos + 4], "big")
    end, pos, slices = pos + int.from_bytes(data[pos:pos + 4], "big"), pos + 8, []
    while pos + 4 <= end:  # the samples lie one after another: length-prefixed NAL units
        size = int.from_bytes(data[pos:pos + 4], "big")
        if data[pos + 4] & 0x1F in (1, 5):
            slices.append((pos + 4, size))
        pos += 4 + size
    at, size = slices[picture]
    for i in range(at + 1, at + size):
        data[i] ^= 0x5A
    part.write_bytes(bytes(data))


@pytest.mark.parametrize(("part", "picture"), [
    ("head", 0), ("head", -1),  # the first picture, and the last before the head/copy join
    ("copy", 0), ("copy", -1),  # the copied keyframe after the join, the last copied picture
    ("tail", -1),
])
def test_a_damaged_join_is_caught_and_cut_accurate(
        source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, part: str,
        picture: int) -> None:
    encode, copy_part = cutting._encode, cutting._copy_part

    def encode_garbled(plan: Any, first: Fraction, frames: int, out: Path,
                       set_id: int) -> Any:
        sets = encode(plan, first, frames, out, set_id)
        if out.stem == part:
            garble(out, picture)
        return sets

    def copy_garbled(plan: Any, key: int, frames: int, out: Path) -> None:
        copy_part(plan, key, frames, out)
        if part == "copy":
            garble(out, picture)

    monkeypatch.setattr(cutting, "_encode", encode_garbled)
    monkeypatch.setattr(cutting, "_copy_part", copy_garbled)
    report = cut(source, 8.56, 24.6, tmp_path / "clip.mp4", "smart")
    assert report.mode == "accurate"
    assert "does not decode cleanly" in (report.fallback_reason or "")
    assert frames_of(tmp_path / "clip.mp4", 214) == list(range(214, 615))


def test_a_copy_one_frame_short_is_caught(source: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    copy_part = cutting._copy_part
    monkeypatch.setattr(cutting, "_copy_part", lambda plan, key, frames, out: copy_part(
        plan, key, frames - 1, out))
    report = cut(source, 8.56, 24.6, tmp_path / "clip.mp4", "smart")
    assert report.mode == "accurate" and "frames" in (report.fallback_reason or "")
    assert frames_of(tmp_path / "clip.mp4", 214) == list(range(214, 615))


def test_smart_decodes_only_around_the_joins(source: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The check decodes from the start to 1 s past the head (1.44 s here), and from the
    last copied IDR frame (20.0 s in the source) to the end; the middle, the source's own
    packets, is only counted (in the clip's index)."""
    probes: list[list[str]] = []
    probe: Callable[[Path, list[str]], Any] = cut_verify.probe_checked


    def recorded(clip: Path, args: list[str]) -> Any:
        probes.append(args)
        return probe(clip, args)

    monkeypatch.setattr(cut_verify, "probe_checked", recorded)
    report = cut(source, 8.56, 24.6, tmp_path / "clip.mp4", "smart")
    assert report.mode == "smart" and report.fallback_reason is None
    decoded = {args[args.index("-read_intervals") + 1] for args in probes
               if "-show_frames" in args}
    starts = [float(w[1:]) for w in decoded if w.startswith("%")]
    ends = [float(w[:-1]) for w in decoded if w.endswith("%")]
    assert len(decoded) == 2 and len(starts) == len(ends) == 1
    assert 1.44 + 1.0 <= starts[0] <= 1.44 + 1.0 + 0.26  # to the join + 1 s, and a margin
    # A quarter frame after the last copied IDR frame (20.0 s in the source, 11.44 s in the
    # clip), so the decoding starts there, never at the tail's first frame: 8.56 + 2.94 to
    # 20.0 s is not decoded.
    assert ends[0] == pytest.approx(20.0 - 8.56 + 0.01, abs=1e-6)
    assert all("-show_frames" in args for args in probes)  # nothing else is decoded


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
