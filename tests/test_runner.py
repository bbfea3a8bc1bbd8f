"""The runner: stage order, skipping, --from/--only, dry runs and partial failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.errors import PartialFailure, UsageError
from pipeline.progress import LogProgress
from pipeline.runner import STAGES, RunOptions, run_forum, selected_stages
from tests.media import counter_video

FORUM = """\
id: runner-test
title: 러너 시험
date: 2021-07-02
organiser: 한국사회적기업진흥원
source: {file: master.mp4}
sessions:
  - {id: one, title: 첫째, start: 0, end: 2}
  - {id: two, title: 둘째, start: 2, end: 4}
storage: {local: ./archive}
"""


@pytest.fixture
def forum(tmp_path: Path) -> Path:
    counter_video(tmp_path / "master.mp4", 4, [440, 880])
    path = tmp_path / "forum.yaml"
    path.write_text(FORUM, encoding="utf-8")
    return path


def options(tmp_path: Path, **changes: object) -> RunOptions:
    return RunOptions(work_root=tmp_path / "work", catalogue=tmp_path / "catalogue.sqlite",
                      **changes)  # type: ignore[arg-type]


def test_stage_selection() -> None:
    assert selected_stages(RunOptions(work_root=Path())) == list(STAGES)
    assert selected_stages(RunOptions(work_root=Path(), from_stage="transcribe")) == [
        "transcribe", "publish", "index"]
    assert selected_stages(RunOptions(work_root=Path(), only_stage="split")) == ["split"]
    with pytest.raises(UsageError, match="unknown stage"):
        selected_stages(RunOptions(work_root=Path(), only_stage="upload"))


def test_full_run_then_rerun_skips_every_stage(tmp_path: Path, forum: Path) -> None:
    config = load_config(forum)
    first = run_forum(config, options(tmp_path), LogProgress())
    assert [o.action for o in first.outcomes] == ["ran"] * 5
    assert (tmp_path / "archive" / "runner-test" / "index.html").is_file()
    second = run_forum(config, options(tmp_path), LogProgress())
    assert [(o.stage, o.action) for o in second.outcomes] == [
        (stage, "skipped (up to date)") for stage in STAGES[:4]] + [("index", "ran")]
    assert (second.transcribed, second.uploaded) == (0, 0)


def test_dry_run_plans_without_touching_anything(tmp_path: Path, forum: Path) -> None:
    report = run_forum(load_config(forum), options(tmp_path, dry_run=True), LogProgress())
    assert [(o.stage, o.action) for o in report.outcomes] == [
        (stage, "would run") for stage in STAGES]
    details = {o.stage: o.detail for o in report.outcomes}
    assert details["fetch"] == "master.mp4" and details["split"] == "2 session(s)"
    assert details["publish"] == f"to {tmp_path / 'archive'}"
    assert not (tmp_path / "work").exists() and not (tmp_path / "archive").exists()


def test_only_a_later_stage_needs_the_earlier_ones(tmp_path: Path, forum: Path) -> None:
    config = load_config(forum)
    with pytest.raises(UsageError, match="--from fetch"):
        run_forum(config, options(tmp_path, only_stage="split"), LogProgress())
    run_forum(config, options(tmp_path, only_stage="fetch"), LogProgress())
    report = run_forum(config, options(tmp_path, only_stage="split"), LogProgress())
    assert [(o.stage, o.action) for o in report.outcomes] == [("split", "ran")]
    assert not (tmp_path / "archive").exists()  # --only split stops after split


def test_one_failed_session_does_not_sink_the_batch(tmp_path: Path, forum: Path) -> None:
    config = load_config(forum)
    blocker = tmp_path / "work" / "runner-test" / "sessions" / "02-two"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the session's folder should be")
    with pytest.raises(PartialFailure) as caught:
        run_forum(config, options(tmp_path), LogProgress())
    assert set(caught.value.failures) == {"02-two"}
    assert caught.value.exit_code == 8
    finished = tmp_path / "work" / "runner-test" / "sessions" / "01-one"
    assert (finished / "01-one.mp4").is_file() and (finished / "01-one.ko.vtt").is_file()
    assert (tmp_path / "archive" / "runner-test" / "sessions" / "01-one" / "01-one.mp4").is_file()
    stamp = (finished / "01-one.mp4").stat().st_mtime_ns

    blocker.unlink()
    report = run_forum(config, options(tmp_path), LogProgress())
    assert report.transcribed == 1  # only the session that failed
    assert (finished / "01-one.mp4").stat().st_mtime_ns == stamp
    assert (blocker / "02-two.mp4").is_file()


def test_a_replaced_recording_is_cut_again(tmp_path: Path, forum: Path) -> None:
    config = load_config(forum)
    run_forum(config, options(tmp_path), LogProgress())
    clip = tmp_path / "work" / "runner-test" / "sessions" / "01-one" / "01-one.mp4"
    before = clip.read_bytes()
    counter_video(tmp_path / "master.mp4", 4, [660, 1100])  # same length, new content
    report = run_forum(config, options(tmp_path), LogProgress())
    assert [o.action for o in report.outcomes[:3]] == ["ran", "ran", "ran"]
    assert clip.read_bytes() != before


def test_materials_given_by_url_are_downloaded_and_published(
        tmp_path: Path, forum: Path, http_root: tuple[Path, str]) -> None:
    folder, base = http_root
    (folder / "slides.pdf").write_bytes(b"%PDF-1.4 slides of the keynote\n")
    text = forum.read_text(encoding="utf-8").replace(
        "storage:", f"materials:\n  - {{url: '{base}/slides.pdf', kind: slides}}\nstorage:")
    forum.write_text(text, encoding="utf-8")
    run_forum(load_config(forum), options(tmp_path), LogProgress())
    published = tmp_path / "archive" / "runner-test" / "materials" / "slides.pdf"
    assert published.read_bytes() == b"%PDF-1.4 slides of the keynote\n"
    assert "slides.pdf" in (tmp_path / "archive" / "runner-test" / "index.html").read_text(
        encoding="utf-8")


def test_a_dead_material_url_names_its_field(tmp_path: Path, forum: Path,
                                             http_root: tuple[Path, str]) -> None:
    from pipeline.errors import FetchError

    _, base = http_root
    text = forum.read_text(encoding="utf-8").replace(
        "storage:", f"materials:\n  - {{url: '{base}/gone.pdf'}}\nstorage:")
    forum.write_text(text, encoding="utf-8")
    with pytest.raises(FetchError, match=r"gone\.pdf.*materials\[0\]\.url"):
        run_forum(load_config(forum), options(tmp_path), LogProgress())
