"""The plan stage: config times, a reviewed plan.yaml, chapters; and `sort-archive plan`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pipeline.config.loader import load_config
from pipeline.errors import ConfigError
from pipeline.progress import LogProgress
from pipeline.runner import RunOptions, run_forum
from tests.recordings import counter_video, duration
from tests.test_cli import assert_one_line_error, sort_archive

FORUM = """\
id: plan-test
title: 계획 시험
date: 2021-07-02
organiser: 한국사회적기업진흥원
source: {file: master.mp4}
sessions:
  - {id: opening, title: 개회, start: 0, end: 3}
  - {id: keynote, title: 기조강연, start: 4, end: 9}
storage: {local: ./archive}
"""
UNTIMED = FORUM.replace("start: 0, end: 3", "duration_hint: 3").replace(
    "start: 4, end: 9", "duration_hint: 5")


@pytest.fixture
def master(tmp_path: Path) -> Path:
    return counter_video(tmp_path / "master.mp4", 10, [440, 880])


def options(tmp_path: Path, **changes: object) -> RunOptions:
    return RunOptions(work_root=tmp_path / "work", catalogue=tmp_path / "c.sqlite",
                      **changes)  # type: ignore[arg-type]


def test_config_times_are_the_plan_and_gaps_are_reported(tmp_path: Path, master: Path) -> None:
    config = tmp_path / "forum.yaml"
    config.write_text(FORUM, encoding="utf-8")
    result = sort_archive("plan", str(config), "--work-dir", str(tmp_path / "work"), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["sessions"] == [
        {"id": "opening", "title": "개회", "start": 0.0, "end": 3.0, "source": "config",
         "confidence": 1.0},
        {"id": "keynote", "title": "기조강연", "start": 4.0, "end": 9.0, "source": "config",
         "confidence": 1.0}]
    assert document["gaps"] == [[3.0, 4.0], [9.0, 10.0]]  # the last second is no session's
    written = yaml.safe_load((tmp_path / "work" / "plan-test" / "plan.yaml").read_text("utf-8"))
    assert [s["id"] for s in written["sessions"]] == ["opening", "keynote"]
    table = sort_archive("plan", str(config), "--work-dir", str(tmp_path / "work"))
    assert "keynote" in table.stdout and "config" in table.stdout and "gap" in table.stdout


def test_a_reviewed_plan_yaml_gives_the_missing_times_and_edits_recut(
        tmp_path: Path, master: Path) -> None:
    config_path = tmp_path / "forum.yaml"
    config_path.write_text(UNTIMED, encoding="utf-8")
    plan_file = tmp_path / "work" / "plan-test" / "plan.yaml"
    plan_file.parent.mkdir(parents=True)
    plan_file.write_text(yaml.safe_dump({"sessions": [
        {"id": "opening", "start": 0.5, "end": 3.0},
        {"id": "keynote", "start": 4.0, "end": 9.0}]}), encoding="utf-8")
    config = load_config(config_path)
    report = run_forum(config, options(tmp_path, until_stage="split"), LogProgress())
    assert [(o.stage, o.action) for o in report.outcomes] == [
        ("fetch", "ran"), ("plan", "ran"), ("split", "ran")]
    clips = tmp_path / "work" / "plan-test" / "sessions"
    assert duration(clips / "01-opening" / "01-opening.mp4") == pytest.approx(2.5, abs=0.1)
    sources = {s["id"]: s["source"] for s in yaml.safe_load(plan_file.read_text())["sessions"]}
    assert sources == {"opening": "plan.yaml", "keynote": "plan.yaml"}

    again = run_forum(config, options(tmp_path, until_stage="split"), LogProgress())
    assert [o.action for o in again.outcomes] == ["skipped (up to date)"] * 3
    keynote_stamp = (clips / "02-keynote" / "02-keynote.mp4").stat().st_mtime_ns
    edited = yaml.safe_load(plan_file.read_text(encoding="utf-8"))
    edited["sessions"][0]["end"] = 2.0  # staff correct one time
    plan_file.write_text(yaml.safe_dump(edited, allow_unicode=True), encoding="utf-8")
    third = run_forum(config, options(tmp_path, until_stage="split"), LogProgress())
    assert [o.action for o in third.outcomes][1:] == ["ran", "ran"]
    assert duration(clips / "01-opening" / "01-opening.mp4") == pytest.approx(1.5, abs=0.1)
    assert (clips / "02-keynote" / "02-keynote.mp4").stat().st_mtime_ns == keynote_stamp


def test_an_overlapping_plan_is_a_one_line_error(tmp_path: Path, master: Path) -> None:
    config_path = tmp_path / "forum.yaml"
    config_path.write_text(UNTIMED, encoding="utf-8")
    plan_file = tmp_path / "work" / "plan-test" / "plan.yaml"
    plan_file.parent.mkdir(parents=True)
    plan_file.write_text(yaml.safe_dump({"sessions": [
        {"id": "opening", "start": 0, "end": 5}, {"id": "keynote", "start": 4, "end": 9}]}))
    with pytest.raises(ConfigError, match="overlap"):
        run_forum(load_config(config_path), options(tmp_path, until_stage="plan"),
                  LogProgress())
    result = sort_archive("plan", str(config_path), "--work-dir", str(tmp_path / "work"))
    assert_one_line_error(result, 2, "sessions[1]", "overlap")


def test_sort_archive_plan_detects_untimed_sessions_within_two_seconds(tmp_path: Path) -> None:
    from pipeline.demo import DEMO_SESSIONS, find_speech_dir
    from pipeline.settings import Settings
    from tests.recordings import forum_recording

    speech = find_speech_dir(Settings.from_environ().speech_dir)
    talks = DEMO_SESSIONS[:3]
    truth = forum_recording(tmp_path / "master.mp4", [speech / s.talk_dir for s in talks],
                            speech_seconds=30.0)
    sessions = "".join(f"  - {{id: {s.id}, title: '{s.title}', "
                       f"speakers: [{{name: {s.speaker}}}]}}\n" for s in talks)
    config = tmp_path / "forum.yaml"
    config.write_text(FORUM.split("sessions:\n")[0] + "sessions:\n" + sessions
                      + "storage: {local: ./archive}\n", encoding="utf-8")
    result = sort_archive("plan", str(config), "--work-dir", str(tmp_path / "work"), "--json")
    assert result.returncode == 0, result.stderr
    planned = json.loads(result.stdout)["sessions"]
    assert [p["id"] for p in planned] == [s.id for s in talks]
    assert {p["source"] for p in planned} == {"detected"}
    for item, (card, _speech, end) in zip(planned, truth, strict=True):
        end += 4.0  # each session closes with its applause (forum_recording's 4 s)
        assert abs(item["start"] - card) <= 2.0 and abs(item["end"] - end) <= 2.0, (item, card,
                                                                                  end)
        assert 0.0 < item["confidence"] <= 1.0
    gaps = json.loads(result.stdout)["gaps"]
    # The applause and gap between each pair of talks, and after the last one.
    assert len(gaps) == 3 and gaps[-1][1] == pytest.approx(truth[-1][2] + 7.0, abs=0.1)


def test_the_run_summary_lists_every_boundary_to_review(tmp_path: Path) -> None:
    """What the plan is unsure of reaches the run summary (`check:` lines), naming the
    file to review, whether the stage ran or was reused."""
    from pipeline.results import PlannedSession, PlanResult, SessionPlan
    from pipeline.stage import RunReport
    from pipeline.stages.plan import PlanStage

    result = PlanResult(
        sessions=(PlannedSession(plan=SessionPlan(number=1, id="a", title="A", start=0, end=9),
                                 source="detected", confidence=0.4),),
        review=("a: confidence 0.40; check its start and end",),
        plan_file=tmp_path / "plan.yaml")
    for ran in (True, False):
        report = RunReport(forum_id="f", work_dir=tmp_path)
        PlanStage().summarise(result, ran, report)
        assert report.warnings == [
            f"plan: a: confidence 0.40; check its start and end ({tmp_path / 'plan.yaml'})"]
