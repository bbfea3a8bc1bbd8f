"""Stages that run side by side: a stage that takes the sessions of the one before as they
are finished (transcribe after split) starts on the first while the others are still
being made, and what each stage records is what it would record alone.

The two stages here are written for the test, as `WordCountStage` is in test_runner: the
runner's mechanism is what is tested, with real threads, a real manifest and executor.
The real split and transcribe run side by side in every end-to-end test.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from pipeline.config.loader import load_config
from pipeline.errors import DiskFullError
from pipeline.executors.serial import SerialExecutor
from pipeline.progress import LogProgress
from pipeline.results import Record
from pipeline.runner import RunOptions, run_forum
from pipeline.stage import RunContext, Stage
from tests.forums import forum_text

SESSIONS = ["one", "two", "three"]
WAIT_S = 20.0  # far longer than the handing on takes: only a runner that waits fails


class Made(Record):
    names: list[str]


class Taken(Record):
    names: list[str]
    first_before_last_made: bool


class MakeStage(Stage[Made]):
    """Makes one item per session; hands the first on, then waits for the next stage to
    have taken it before making the others (which would never happen one after another)."""

    name = "make"
    result_type = Made
    taken_first = threading.Event()
    fail_after_first = False

    def inputs(self, ctx: RunContext) -> list[object]:
        return [SESSIONS]

    def outputs(self, result: Made) -> list[Path]:
        return []

    def run(self, ctx: RunContext) -> Made:
        made = []
        for name in SESSIONS:
            made.append(name)
            ctx.deliver(Made, name)
            if name == SESSIONS[0]:
                MakeStage.taken_first.wait(WAIT_S)
                if MakeStage.fail_after_first:
                    raise DiskFullError("no space left on the device (test)", "free space")
        return Made(names=made)

    def describe(self, ctx: RunContext) -> str:
        return "make"


class TakeStage(Stage[Taken]):
    name = "take"
    result_type = Taken
    needs = (Made,)
    takes_sessions_from = Made

    def inputs(self, ctx: RunContext) -> list[object]:
        return [ctx.get(Made).names]

    def outputs(self, result: Taken) -> list[Path]:
        return []

    def run(self, ctx: RunContext) -> Taken:
        arriving = ctx.arriving(Made)
        names = list(ctx.get(Made).names) if arriving is None else []
        early = False
        for name in arriving or ():
            names.append(name)
            if name == SESSIONS[0]:
                early = not ctx.has(Made)  # the maker has not finished yet
                MakeStage.taken_first.set()
        return Taken(names=names, first_before_last_made=early)

    def describe(self, ctx: RunContext) -> str:
        return "take"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "master.mp4").write_bytes(b"")  # not read: these stages make their own
    path = tmp_path / "forum.yaml"
    path.write_text(forum_text("overlap-test", "겹침 시험", [("one", "첫째", 0, 2)]),
                    encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def fresh_events() -> None:
    MakeStage.taken_first = threading.Event()
    MakeStage.fail_after_first = False


def test_the_next_stage_takes_each_session_while_the_first_still_works(
        tmp_path: Path, config: Path) -> None:
    options = RunOptions(work_root=tmp_path / "work", catalogue=tmp_path / "c.sqlite")
    report = run_forum(load_config(config), options, LogProgress(), SerialExecutor(),
                       stages=(MakeStage(), TakeStage()))
    taken = report.results["take"]
    assert isinstance(taken, Taken)
    assert taken.names == SESSIONS and taken.first_before_last_made
    assert [(o.stage, o.action) for o in report.outcomes] == [("make", "ran"), ("take", "ran")]
    again = run_forum(load_config(config), options, LogProgress(), SerialExecutor(),
                      stages=(MakeStage(), TakeStage()))  # both recorded as if alone
    assert [o.action for o in again.outcomes] == ["skipped (up to date)"] * 2


def test_alone_the_next_stage_reads_the_finished_result(tmp_path: Path, config: Path) -> None:
    options = RunOptions(work_root=tmp_path / "work", catalogue=tmp_path / "c.sqlite")
    run_forum(load_config(config), options, LogProgress(), stages=(MakeStage(), TakeStage()))
    MakeStage.taken_first.set()
    only = run_forum(load_config(config), RunOptions(
        work_root=tmp_path / "work", catalogue=tmp_path / "c.sqlite", only_stage="take",
        force=True), LogProgress(), stages=(MakeStage(), TakeStage()))
    taken = only.results["take"]
    assert isinstance(taken, Taken)
    assert taken.names == SESSIONS and not taken.first_before_last_made


def test_a_failure_of_the_first_stops_the_run_and_records_neither(
        tmp_path: Path, config: Path) -> None:
    MakeStage.fail_after_first = True
    options = RunOptions(work_root=tmp_path / "work", catalogue=tmp_path / "c.sqlite")
    with pytest.raises(DiskFullError):
        run_forum(load_config(config), options, LogProgress(),
                  stages=(MakeStage(), TakeStage()))
    MakeStage.fail_after_first = False
    MakeStage.taken_first.set()
    again = run_forum(load_config(config), options, LogProgress(),
                      stages=(MakeStage(), TakeStage()))
    assert [o.action for o in again.outcomes] == ["ran", "ran"]  # nothing half recorded


def test_a_real_run_publishes_a_session_before_the_last_is_transcribed(
        tmp_path: Path, small_demo: Any) -> None:
    """The real split, transcribe and publish side by side, on the small demo forum (three
    sessions of real speech) into a local archive: the first session's clip is in the
    archive before the last session's transcript is written, and the run is complete."""
    text = small_demo.config_path.read_text(encoding="utf-8").replace(
        'local: "./archive"', f'local: "{tmp_path / "archive"}"')
    config = small_demo.config_path.with_name(f"overlap-{tmp_path.name}.yaml")
    config.write_text(text, encoding="utf-8")
    try:
        options = RunOptions(work_root=tmp_path / "work", catalogue=tmp_path / "c.sqlite")
        report = run_forum(load_config(config), options, LogProgress())
    finally:
        config.unlink()
    assert [o.action for o in report.outcomes] == ["ran"] * 6
    assert report.transcribed == 3 and report.uploaded > 0
    slugs = sorted(path.name for path in (report.work_dir / "sessions").iterdir())
    published = next((tmp_path / "archive").rglob(f"{slugs[0]}.mp4"))
    last_transcript = next((report.work_dir / "sessions" / slugs[-1]).glob("*.json"))
    assert published.stat().st_mtime < last_transcript.stat().st_mtime, (
        published, last_transcript)
    assert len(list((tmp_path / "archive").rglob("*.mp4"))) == 3
    assert next((tmp_path / "archive").rglob("forum.json")).stat().st_mtime >= \
        last_transcript.stat().st_mtime  # the manifest still comes last
