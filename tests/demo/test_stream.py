"""The stream-like forum recording, against real ffmpeg, espeak-ng and the real Korean
speech corpus.

The SHORT layout (about 2.5 minutes, 320x180) is built once per module with IDR frames
every 10 s, and once more with only the first frame IDR; each test then checks one
property of what came out: the ground truth's order, the encoding (H.264 High, B-frames,
an open GOP, AAC 44.1 kHz stereo) and the sound where the truth places it.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.config.loader import load_config
from pipeline.demo import (
    SHORT_STREAM,
    StreamForum,
    StreamTruth,
    build_stream_forum,
    read_truth,
)
from pipeline.settings import Settings

RATE = 44_100


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> StreamForum:
    return build_stream_forum(tmp_path_factory.mktemp("stream"), SHORT_STREAM,
                              speech_dir=Settings.from_environ().speech_dir)


@pytest.fixture(scope="module")
def start_only(tmp_path_factory: pytest.TempPathFactory) -> StreamForum:
    return build_stream_forum(tmp_path_factory.mktemp("stream-start-only"), SHORT_STREAM,
                              idr="start-only", speech_dir=Settings.from_environ().speech_dir)


@pytest.fixture(scope="module")
def sound(stream: StreamForum) -> np.ndarray:
    """The recording's sound as decoded, mono, at 44.1 kHz."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(stream.video_path),
                          "-vn", "-ac", "1", "-ar", str(RATE), "-f", "f32le", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.float32)


def level(sound: np.ndarray, start: float, end: float) -> float:
    """RMS level in dBFS between `start` and `end` seconds."""
    part = sound[round(start * RATE):round(end * RATE)].astype(np.float64)
    return float(10 * np.log10(np.mean(part ** 2) + 1e-12))


def probe(path: Path, *args: str) -> dict[str, Any]:
    out = subprocess.run(["ffprobe", "-v", "error", *args, "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return dict(json.loads(out))


def idr_frames(path: Path) -> int:
    """NAL units of type 5 (IDR slices; x264 writes one slice a frame)."""
    out = subprocess.run(["ffmpeg", "-v", "info", "-nostdin", "-i", str(path), "-map", "0:v",
                          "-c", "copy", "-bsf:v", "trace_headers", "-f", "null", "-"],
                         capture_output=True, text=True, check=True).stderr
    return len(re.findall(r"nal_unit_type\s+\d+ = 5\s*$", out, flags=re.MULTILINE))


def timeline(truth: StreamTruth) -> list[float]:
    """Every time of the truth in the order the recording plays them."""
    times = [0.0, truth.waiting_end]
    for number, talk in enumerate(truth.talks, start=1):
        times += [talk.mc_start, talk.mc_end, talk.card_start, talk.card_end,
                  talk.speech_start]
        times += [talk.closing_start] if talk.closing_start is not None else []
        times.append(talk.speech_end)
        if talk.applause_start is not None and talk.applause_end is not None:
            times += [talk.applause_start, talk.applause_end]
        if number == truth.break_after:
            times += [truth.break_mc_start, truth.break_mc_end, truth.break_start,
                      truth.break_end]
    return [*times, truth.closing_mc_start, truth.closing_mc_end, truth.end_card_start,
            truth.duration]


def test_the_truth_runs_in_order(stream: StreamForum) -> None:
    truth = stream.truth
    times = timeline(truth)
    assert all(a < b for a, b in pairwise(times)), times
    assert [t.session_id for t in truth.talks] == [s.talk.id for s in SHORT_STREAM.slots]
    assert 120 < truth.duration < 200
    assert truth.waiting_end == SHORT_STREAM.waiting_seconds
    assert truth.break_end - truth.break_start == pytest.approx(SHORT_STREAM.break_seconds)
    for talk in truth.talks:
        assert talk.card_end - talk.card_start == pytest.approx(4.0)
        assert talk.speech_end - talk.speech_start > 15  # about 25 s of speech
    # each talk's speech lies inside its slot: after its card, before what follows it
    for talk, after in zip(truth.talks, [t.mc_start for t in truth.talks[1:]]
                           + [truth.closing_mc_start], strict=True):
        assert talk.card_end < talk.speech_start < talk.speech_end < after


def test_closing_lines_and_applause_follow_the_layout(stream: StreamForum) -> None:
    talks = stream.truth.talks
    closing = [t.closing_start is not None for t in talks]
    assert closing == [s.closing for s in SHORT_STREAM.slots] == [True, False, True]
    assert not any(t.closing_skipped for t in talks)
    for talk in talks:
        if talk.closing_start is not None:
            assert talk.text.endswith("감사합니다")
            assert 0.3 < talk.speech_end - talk.closing_start < 3
    assert [t.applause_end is not None for t in talks] == [True, False, True]
    for talk in talks:
        if talk.applause_start is not None and talk.applause_end is not None:
            assert 3.0 <= talk.applause_end - talk.applause_start <= 5.0


def test_truth_json_and_forum_config_are_written(stream: StreamForum) -> None:
    assert read_truth(stream.truth_path) == stream.truth
    config = load_config(stream.config_path)
    forum = config.forum
    assert forum.source.file is not None
    assert config.base_dir / forum.source.file == stream.video_path
    assert [(s.id, s.title, s.speakers[0].name) for s in forum.sessions] == [
        (s.talk.id, s.talk.title, s.talk.speaker) for s in SHORT_STREAM.slots]
    assert all(s.start is None and s.end is None for s in forum.sessions)


def test_a_matching_build_is_reused(stream: StreamForum) -> None:
    again = build_stream_forum(stream.video_path.parent, SHORT_STREAM,
                               speech_dir=Settings.from_environ().speech_dir)
    assert not again.built
    assert again.truth == stream.truth


def test_video_is_h264_high_with_b_frames(stream: StreamForum) -> None:
    streams = probe(stream.video_path, "-show_streams")["streams"]
    video = next(s for s in streams if s["codec_type"] == "video")
    audio = next(s for s in streams if s["codec_type"] == "audio")
    assert (video["codec_name"], video["profile"]) == ("h264", "High")
    assert video["has_b_frames"] > 0
    assert (video["width"], video["height"], video["r_frame_rate"]) == (320, 180, "25/1")
    assert (audio["codec_name"], audio["sample_rate"], audio["channels"]) == ("aac", "44100", 2)
    assert float(video["duration"]) == pytest.approx(stream.truth.duration, abs=0.05)
    assert float(audio["duration"]) == pytest.approx(stream.truth.duration, abs=0.05)


def test_the_gop_is_open(stream: StreamForum) -> None:
    """A keyframe followed, in decode order, by a frame shown before it: a leading
    B-frame that references the previous GOP."""
    packets = probe(stream.video_path, "-select_streams", "v",
                    "-show_entries", "packet=pts,flags")["packets"]
    leading = [i for i, (key, after) in enumerate(pairwise(packets))
               if "K" in key["flags"] and int(after["pts"]) < int(key["pts"])]
    assert leading, "no keyframe with leading pictures"


def test_idr_frames_every_10_s(stream: StreamForum) -> None:
    assert idr_frames(stream.video_path) == math.ceil(stream.truth.duration / 10)


def test_idr_only_at_the_start(start_only: StreamForum) -> None:
    assert start_only.truth.idr == "start-only"
    assert idr_frames(start_only.video_path) == 1


def test_the_mc_is_heard_where_the_truth_says(stream: StreamForum, sound: np.ndarray) -> None:
    truth = stream.truth
    room = level(sound, truth.talks[0].card_start + 0.5, truth.talks[0].card_end - 0.5)
    assert -60 < room < -48  # room tone, not digital silence
    lines = [(t.mc_start, t.mc_end) for t in truth.talks]
    lines += [(truth.break_mc_start, truth.break_mc_end),
              (truth.closing_mc_start, truth.closing_mc_end)]
    for start, end in lines:
        assert level(sound, start, end) > room + 20, (start, end)
        assert level(sound, start - 0.4, start - 0.05) < room + 6, start  # quiet before


def test_speech_and_applause_are_heard(stream: StreamForum, sound: np.ndarray) -> None:
    for talk in stream.truth.talks:
        assert level(sound, talk.speech_start, talk.speech_end) > -40
        assert level(sound, talk.speech_start - 0.3, talk.speech_start - 0.05) < -45
        if talk.applause_start is not None and talk.applause_end is not None:
            assert level(sound, talk.applause_start, talk.applause_end) > -30
        else:  # about 2 s of room tone instead
            assert level(sound, talk.speech_end + 0.3, talk.speech_end + 2.0) < -48


def test_the_waiting_screen_and_the_break_have_music(stream: StreamForum,
                                                     sound: np.ndarray) -> None:
    """Loud, and tonal: the strongest frequencies are notes of the C major scale."""
    truth = stream.truth
    c_major = {0, 2, 4, 5, 7, 9, 11}
    for start, end in ((1.0, truth.waiting_end - 1.0), (truth.break_start + 1.0,
                                                        truth.break_end - 1.0)):
        assert level(sound, start, end) > -30
        part = sound[round(start * RATE):round(end * RATE)].astype(np.float64)
        spectrum = np.abs(np.fft.rfft(part * np.hanning(len(part))))
        freqs = np.fft.rfftfreq(len(part), 1 / RATE)
        for peak in freqs[np.argsort(spectrum)[-5:]]:
            note = 69 + 12 * math.log2(peak / 440)
            assert abs(note - round(note)) < 0.1 and round(note) % 12 in c_major, peak
