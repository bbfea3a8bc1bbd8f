"""The command line as staff meet it: one-line errors, exit codes, no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import build_parser
from pipeline.errors import ExitCode
from tests.forums import write_forum
from tests.recordings import counter_video

ROOT = Path(__file__).resolve().parents[1]


def sort_archive(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, **(env or {})}, timeout=120)


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int,
                          *words: str) -> None:
    assert result.returncode == code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("sort-archive:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def forum_yaml(tmp_path: Path, source: str, storage: str = "{local: ./archive}") -> Path:
    return write_forum(tmp_path, "cli-test", "시험", [("only", "유일한 세션", 0, 2)],
                       source=source, storage=storage)


def test_version() -> None:
    result = sort_archive("--version")
    assert result.returncode == 0 and result.stdout.startswith("sort-archive ")


def test_malformed_config(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\ntitle: [unclosed\n", encoding="utf-8")
    assert_one_line_error(sort_archive("run", str(path)), ExitCode.CONFIG, str(path), "line")


def test_overlapping_sessions(tmp_path: Path) -> None:
    path = forum_yaml(tmp_path, "{file: master.mp4}")
    path.write_text(path.read_text(encoding="utf-8").replace(
        "sessions:\n", "sessions:\n  - {id: early, title: 앞, start: 1, end: 3}\n"),
        encoding="utf-8")
    assert_one_line_error(sort_archive("validate", str(path)), ExitCode.CONFIG, "overlap")


def test_missing_source_file(tmp_path: Path) -> None:
    path = forum_yaml(tmp_path, "{file: no-such-master.mp4}")
    assert_one_line_error(sort_archive("run", str(path)), ExitCode.SOURCE,
                          "no-such-master.mp4", "source.file")


def test_missing_bucket_fails_before_any_work(tmp_path: Path, s3_endpoint: str) -> None:
    counter_video(tmp_path / "master.mp4", 3, [440])
    storage = (f"{{s3: {{bucket: no-such-bucket, endpoint_url: '{s3_endpoint}', "
               "region: us-east-1, addressing_style: path}}")
    path = forum_yaml(tmp_path, "{file: master.mp4}", storage)
    result = sort_archive("run", str(path), "--work-dir", str(tmp_path / "work"))
    assert_one_line_error(result, ExitCode.PUBLISH, "no-such-bucket")
    assert not (tmp_path / "work" / "cli-test" / "sessions").exists()


def test_session_past_the_end_of_the_recording(tmp_path: Path) -> None:
    counter_video(tmp_path / "master.mp4", 1.5, [440])
    path = forum_yaml(tmp_path, "{file: master.mp4}")
    result = sort_archive("run", str(path), "--work-dir", str(tmp_path / "work"))
    assert_one_line_error(result, ExitCode.CONFIG, "sessions[0].end", "past the end")


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    counter_video(tmp_path / "master.mp4", 3, [440])
    path = forum_yaml(tmp_path, "{file: master.mp4}")
    result = sort_archive("run", str(path), "--dry-run", "--work-dir", str(tmp_path / "work"))
    assert result.returncode == 0, result.stderr
    assert "fetch" in result.stdout and "would run" in result.stdout
    assert not (tmp_path / "work" / "cli-test" / "source").exists()


def test_search_without_catalogue(tmp_path: Path) -> None:
    result = sort_archive("search", "사회적", "--catalogue", str(tmp_path / "none.sqlite"))
    assert_one_line_error(result, ExitCode.INDEX, "none.sqlite")


def test_unknown_stage(tmp_path: Path) -> None:
    path = forum_yaml(tmp_path, "{file: master.mp4}")
    assert_one_line_error(sort_archive("run", str(path), "--only", "upload"), ExitCode.CONFIG,
                          "unknown stage", "publish")


@pytest.mark.parametrize("command", sorted(
    build_parser()._subparsers._group_actions[0].choices))  # type: ignore[union-attr]
def test_every_command_has_help_and_an_example(command: str) -> None:
    sub = build_parser()._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
    assert sub.description and sub.epilog and "example" in sub.epilog
    assert f"sort-archive {command}" in sub.epilog
    assert command in (ROOT / "README.md").read_text(encoding="utf-8")


def test_full_disk_is_reported_and_finished_work_is_kept(tmp_path: Path) -> None:
    """/dev/full answers every write with ENOSPC, exactly as a full disk does."""
    counter_video(tmp_path / "master.mp4", 3, [440])
    path = forum_yaml(tmp_path, "{file: master.mp4}")
    source = tmp_path / "work" / "cli-test" / "source"
    source.mkdir(parents=True)
    (source / "audio.wav.part.wav").symlink_to("/dev/full")
    args = ("run", str(path), "--work-dir", str(tmp_path / "work"), "--only", "fetch")
    assert_one_line_error(sort_archive(*args), ExitCode.DISK_FULL, "no space left",
                          "finished work is kept")
    downloaded = source / "recording.mp4"
    assert downloaded.is_file()
    stamp = downloaded.stat().st_mtime_ns

    (source / "audio.wav.part.wav").unlink()  # space freed
    result = sort_archive(*args)
    assert result.returncode == 0, result.stderr
    assert downloaded.stat().st_mtime_ns == stamp  # the download was not redone
    assert (source / "audio.wav").is_file()


def test_a_model_that_cannot_load_is_exit_5_not_a_partial_failure(tmp_path: Path) -> None:
    counter_video(tmp_path / "master.mp4", 3, [440])
    path = forum_yaml(tmp_path, "{file: master.mp4}")
    result = sort_archive("run", str(path), "--work-dir", str(tmp_path / "work"),
                          "--model", "no-such-model", env={"HF_HUB_OFFLINE": "1"})
    assert_one_line_error(result, ExitCode.TRANSCRIBE, "no-such-model")
    assert (tmp_path / "work" / "cli-test" / "sessions" / "01-only" / "01-only.mp4").is_file()
