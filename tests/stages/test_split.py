"""Split with real ffmpeg: each clip starts on the right frame, with the right sound."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.manifest import ItemCache, Manifest
from pipeline.progress import LogProgress
from pipeline.results import Chapter, Recording, SessionPlan
from pipeline.stages.plan import sessions_from_chapters
from pipeline.stages.split import SplitRequest, split
from tests.recordings import (
    FPS,
    counter_video,
    dominant_frequency,
    duration,
    expected_luma,
    first_frame_luma,
)

TONES = [440.0, 660.0, 880.0, 1100.0]  # one per 3-second quarter of the 12 s master


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    folder = tmp_path_factory.mktemp("master")
    video = counter_video(folder / "master.mp4", 12, TONES)
    return Recording(video_path=video, audio_path=folder / "unused.wav",
                     info_path=folder / "info.json", duration=12.0, title="t",
                     source_url="file:///master.mp4")


def plans() -> list[SessionPlan]:
    return [
        SessionPlan(number=1, id="opening", title="개회", start=0.0, end=2.5),
        SessionPlan(number=2, id="keynote", title="기조강연", start=3.0, end=5.6),
        SessionPlan(number=3, id="talk", title="발표", start=9.04, end=11.0),
    ]


def run_split(recording: Recording, work: Path, sessions: list[SessionPlan],
              force: bool = False):  # type: ignore[no-untyped-def]
    cache = ItemCache(Manifest(work), "split", force=force)
    return split(SplitRequest(recording=recording, sessions=sessions, work_dir=work,
                              cache=cache), LogProgress())


def test_each_clip_starts_on_its_first_frame_with_its_own_tone(
        tmp_path: Path, recording: Recording) -> None:
    from tests.recordings import first_frame_luma

    result = run_split(recording, tmp_path, plans())
    assert not result.failures
    assert [c.path.name for c in result.clips] == ["01-opening.mp4", "02-keynote.mp4",
                                                   "03-talk.mp4"]
    for clip in result.clips:
        session = clip.session
        assert abs(duration(clip.path) - session.duration) <= 0.1
        assert abs(clip.duration - session.duration) <= 0.1
        frame = round(session.start * FPS)
        assert abs(first_frame_luma(clip.path) - expected_luma(frame)) < 3, session.slug
        tone = TONES[int(session.start // 3)]
        assert abs(dominant_frequency(clip.path, 0.1, 0.4) - tone) < 15, session.slug


def test_clips_are_fast_start_mp4(tmp_path: Path, recording: Recording) -> None:
    result = run_split(recording, tmp_path, plans()[:1])
    head = result.clips[0].path.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and head.find(b"moov") < max(head.find(b"mdat"), 4096)


def test_rerun_cuts_nothing_and_redoes_a_damaged_clip(tmp_path: Path,
                                                      recording: Recording) -> None:
    first = run_split(recording, tmp_path, plans())
    stamps = {c.path: c.path.stat().st_mtime_ns for c in first.clips}
    second = run_split(recording, tmp_path, plans())
    assert {c.path: c.path.stat().st_mtime_ns for c in second.clips} == stamps

    damaged = first.clips[1].path
    damaged.write_bytes(b"not a video")
    third = run_split(recording, tmp_path, plans())
    assert abs(duration(damaged) - plans()[1].duration) <= 0.1
    unchanged = [c.path for c in third.clips if c.path != damaged]
    assert all(p.stat().st_mtime_ns == stamps[p] for p in unchanged)


def test_a_failed_session_does_not_sink_the_others(tmp_path: Path,
                                                   recording: Recording) -> None:
    past_the_end = SessionPlan(number=4, id="late", title="늦은 세션", start=20.0, end=22.0)
    result = run_split(recording, tmp_path, [plans()[0], past_the_end])
    assert [c.session.id for c in result.clips] == ["opening"]
    assert set(result.failures) == {"04-late"}
    assert "inside the recording" in result.failures["04-late"]
    assert "\n" not in result.failures["04-late"]


def test_sessions_from_chapters_make_ascii_slugs() -> None:
    chapters = (Chapter(title="Opening 개회", start=0, end=60),
                Chapter(title="기조강연", start=60, end=120))
    sessions = sessions_from_chapters(chapters)
    assert [s.slug for s in sessions] == ["01-opening", "02-chapter"]
    assert sessions[1].start == 60 and sessions[1].title == "기조강연"


@pytest.fixture(scope="module")
def long_gop(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """A 24 s source with keyframes only every 10 s and B-frames, as a YouTube recording."""
    from tests.recordings import keyframe_counter_video

    folder = tmp_path_factory.mktemp("gop")
    video = keyframe_counter_video(folder / "master.mp4", 24, [440, 660, 880, 1100])
    return Recording(video_path=video, audio_path=folder / "unused.wav",
                     info_path=folder / "info.json", duration=24.0, title="t",
                     source_url="file:///master.mp4")


def test_smart_is_the_default_and_frame_exact_through_the_stage(
        tmp_path: Path, long_gop: Recording) -> None:
    from tests.recordings import frame_lumas

    session = SessionPlan(number=1, id="talk", title="발표", start=3.04, end=13.52)
    result = split(SplitRequest(recording=long_gop, sessions=[session], work_dir=tmp_path,
                                cache=ItemCache(Manifest(tmp_path), "split")), LogProgress())
    clip = result.clips[0]
    assert (clip.cut_mode, clip.fallback_reason) == ("smart", None)
    lumas = frame_lumas(clip.path, "-ignore_editlist", "1")
    first, last = round(3.04 * FPS), round(13.52 * FPS) - 1
    assert len(lumas) == last - first + 1
    assert abs(lumas[0] - expected_luma(first)) < 3 and abs(lumas[-1] - expected_luma(last)) < 3
    assert clip.poster is not None and clip.poster.is_file()


def test_copy_mode_clips_and_their_times_start_on_a_keyframe(
        tmp_path: Path, long_gop: Recording) -> None:
    session = SessionPlan(number=1, id="talk", title="발표", start=12.0, end=20.0)
    cache = ItemCache(Manifest(tmp_path), "split")
    result = split(SplitRequest(recording=long_gop, sessions=[session], work_dir=tmp_path,
                                cache=cache, mode="copy"), LogProgress())
    clip = result.clips[0]
    assert clip.cut_mode == "copy" and clip.session.start == pytest.approx(10.0, abs=0.05)
    assert abs(first_frame_luma(clip.path) - expected_luma(250)) < 3
    again = split(SplitRequest(recording=long_gop, sessions=[session], work_dir=tmp_path,
                               cache=cache, mode="copy"), LogProgress())
    assert again.clips[0] == clip  # reused, with the achieved times it recorded
    stamp = clip.path.stat().st_mtime_ns
    smart = split(SplitRequest(recording=long_gop, sessions=[session], work_dir=tmp_path,
                               cache=cache, mode="smart"), LogProgress())
    assert smart.clips[0].session.start == 12.0  # the mode is part of the fingerprint
    assert clip.path.stat().st_mtime_ns != stamp
