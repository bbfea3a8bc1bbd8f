"""Fetch through the real yt-dlp, from file:// and from an HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import wave
from pathlib import Path

import pytest

from pipeline.errors import FetchError
from pipeline.media.source_checks import refuse_unfinished
from pipeline.progress import LogProgress
from pipeline.stages.fetch import FetchRequest, fetch, file_url
from tests.recordings import counter_video, run


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return counter_video(tmp_path_factory.mktemp("src") / "master.mp4", 6, [440, 880])


def _assert_recording_complete(recording, duration: float) -> None:  # type: ignore[no-untyped-def]
    assert recording.video_path.is_file()
    assert abs(recording.duration - duration) < 0.1
    info = json.loads(recording.info_path.read_text(encoding="utf-8"))
    assert info["extractor"] and info["title"] == recording.title
    with wave.open(str(recording.audio_path)) as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (16000, 1)
        assert abs(wav.getnframes() / 16000 - duration) < 0.1


def test_fetches_a_local_file_through_yt_dlp(tmp_path: Path, master: Path) -> None:
    recording = fetch(FetchRequest(url=file_url(master), work_dir=tmp_path), LogProgress())
    _assert_recording_complete(recording, 6.0)
    assert recording.video_path.parent == (tmp_path / "source").resolve()


def test_fetches_over_http_from_loopback(tmp_path: Path, master: Path,
                                         http_root: tuple[Path, str]) -> None:
    folder, base = http_root
    shutil.copy(master, folder / "forum.mp4")
    recording = fetch(FetchRequest(url=f"{base}/forum.mp4", work_dir=tmp_path), LogProgress())
    _assert_recording_complete(recording, 6.0)
    assert recording.source_url.startswith("http://127.0.0.1")


def test_dead_url_is_one_clear_line(tmp_path: Path, http_root: tuple[Path, str]) -> None:
    _, base = http_root
    with pytest.raises(FetchError) as caught:
        fetch(FetchRequest(url=f"{base}/no-such-forum.mp4", work_dir=tmp_path), LogProgress())
    line = caught.value.one_line()
    assert "no-such-forum.mp4" in line and "check the link" in line and "\n" not in line


def test_missing_source_file(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match=r"not found.*source\.file"):
        fetch(FetchRequest(url=file_url(tmp_path / "gone.mp4"), work_dir=tmp_path),
              LogProgress())


def test_recording_without_audio_is_refused(tmp_path: Path) -> None:
    silent = counter_video(tmp_path / "silent.mp4", 2, [440], audio=False)
    with pytest.raises(FetchError, match="no audio track"):
        fetch(FetchRequest(url=file_url(silent), work_dir=tmp_path / "work"), LogProgress())


@pytest.mark.parametrize(("status", "advice"), [
    ("is_live", "after it has ended"), ("is_upcoming", "has not started"),
    ("post_live", "still processing"),
])
def test_unfinished_streams_are_refused_before_download(status: str, advice: str) -> None:
    with pytest.raises(FetchError, match=advice):
        refuse_unfinished({"title": "SORT", "live_status": status})
    refuse_unfinished({"title": "SORT", "live_status": "was_live"})


def test_second_fetch_reuses_the_download(tmp_path: Path, master: Path) -> None:
    first = fetch(FetchRequest(url=file_url(master), work_dir=tmp_path), LogProgress())
    stamp = first.video_path.stat().st_mtime_ns, first.audio_path.stat().st_mtime_ns
    second = fetch(FetchRequest(url=file_url(master), work_dir=tmp_path), LogProgress())
    assert (second.video_path.stat().st_mtime_ns, second.audio_path.stat().st_mtime_ns) == stamp


def test_an_interrupted_download_resumes_where_it_stopped(
        tmp_path: Path, master: Path, http_root: tuple[Path, str]) -> None:
    from tests.conftest import RangeHandler

    folder, base = http_root
    shutil.copy(master, folder / "resume.mp4")
    whole = master.read_bytes()
    half = len(whole) // 2
    source = tmp_path / "source"
    source.mkdir()
    (source / "recording.mp4.part").write_bytes(whole[:half])  # what the interruption left
    RangeHandler.ranges_seen.clear()

    recording = fetch(FetchRequest(url=f"{base}/resume.mp4", work_dir=tmp_path), LogProgress())
    assert recording.video_path.read_bytes() == whole
    assert f"/resume.mp4 bytes={half}-" in RangeHandler.ranges_seen
    assert not (source / "recording.mp4.part").exists()


def test_fetches_what_a_saved_info_json_lists(tmp_path: Path, master: Path,
                                             http_root: tuple[Path, str]) -> None:
    """`source: {info_json: ...}`, as `yt-dlp --load-info-json` reads it: no page is asked
    for, the format's link is downloaded, and the video's own page is the source."""
    folder, base = http_root
    shutil.copy(master, folder / "saved.mp4")
    info = tmp_path / "forum.info.json"
    info.write_text(json.dumps({
        "id": "sort2021", "title": "2021 SORT", "extractor": "youtube",
        "extractor_key": "Youtube",
        "webpage_url": "https://www.youtube.com/watch?v=sort2021",  # not contacted: recorded only
        "live_status": "was_live", "formats": [{"format_id": "18", "url": f"{base}/saved.mp4",
                                               "ext": "mp4", "protocol": "http"}]}))
    recording = fetch(FetchRequest(url=file_url(info), work_dir=tmp_path / "work",
                                   info_json=info, field="source.info_json"), LogProgress())
    _assert_recording_complete(recording, 6.0)
    assert recording.source_url == "https://www.youtube.com/watch?v=sort2021"  # not contacted


def test_a_replaced_source_is_fetched_afresh_after_a_failure(tmp_path: Path,
                                                              master: Path) -> None:
    """A truncated copy fails; once staff copy the whole file over it, the next run must
    not take the bad copy left in the work folder for a finished download."""
    from pipeline.config.loader import load_config
    from pipeline.runner import run_forum
    from pipeline.stage import RunOptions

    local = tmp_path / "master.mp4"  # its index first: readable, and copied, but cut short
    run("-i", str(master), "-c", "copy", "-movflags", "+faststart", str(local))
    local.write_bytes(local.read_bytes()[:local.stat().st_size // 2])
    config_path = tmp_path / "forum.yaml"
    config_path.write_text(
        "id: replaced\ntitle: 시험\ndate: 2021-07-02\norganiser: 기관\n"
        "source: {file: master.mp4}\nsessions: [{id: only, title: 하나, start: 0, end: 6}]\n",
        encoding="utf-8")
    options = RunOptions(work_root=tmp_path / "work", until_stage="fetch")
    with pytest.raises(FetchError, match="is incomplete"):
        run_forum(load_config(config_path), options, LogProgress())
    shutil.copy(master, local)
    report = run_forum(load_config(config_path), options, LogProgress())
    assert report.results["fetch"].recording.duration == pytest.approx(6.0, abs=0.1)
