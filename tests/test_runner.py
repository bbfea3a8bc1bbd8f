"""The runner: stage order, skipping, --from/--only, dry runs and partial failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config.loader import load_config
from pipeline.errors import PartialFailure, UsageError
from pipeline.progress import LogProgress
from pipeline.results import Record, TranscribeResult
from pipeline.runner import PIPELINE, STAGES, RunOptions, run_forum, selected_stages
from pipeline.stage import RunContext, Stage
from tests.forums import forum_text
from tests.recordings import counter_video

FORUM = forum_text("runner-test", "러너 시험", [("one", "첫째", 0, 2), ("two", "둘째", 2, 4)])


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
    assert [o.action for o in first.outcomes] == ["ran"] * len(STAGES)
    assert (tmp_path / "archive" / "runner-test" / "index.html").is_file()
    second = run_forum(config, options(tmp_path), LogProgress())
    assert [(o.stage, o.action) for o in second.outcomes] == [
        (stage, "skipped (up to date)") for stage in STAGES[:-1]] + [("index", "ran")]
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
    run_forum(config, options(tmp_path, only_stage="plan"), LogProgress())
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
    assert [o.action for o in report.outcomes[:4]] == ["ran", "ran", "ran", "ran"]
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


@pytest.fixture
def finished(tmp_path: Path, forum: Path) -> Path:
    """The small forum, archived once."""
    run_forum(load_config(forum), options(tmp_path), LogProgress())
    return forum


def actions(report: object) -> list[tuple[str, str]]:
    return [(o.stage, o.action) for o in report.outcomes]  # type: ignore[attr-defined]


@pytest.mark.parametrize("stage", STAGES)
def test_only_each_stage(tmp_path: Path, finished: Path, stage: str) -> None:
    config = load_config(finished)
    report = run_forum(config, options(tmp_path, only_stage=stage), LogProgress())
    expected = "ran" if stage == "index" else "skipped (up to date)"
    assert actions(report) == [(stage, expected)]
    forced = run_forum(config, options(tmp_path, only_stage=stage, force=True), LogProgress())
    assert actions(forced) == [(stage, "ran")]
    assert (forced.transcribed == 1 * 2) is (stage == "transcribe")


@pytest.mark.parametrize("stage", STAGES)
def test_from_each_stage(tmp_path: Path, finished: Path, stage: str) -> None:
    config = load_config(finished)
    report = run_forum(config, options(tmp_path, from_stage=stage, force=True), LogProgress())
    later = list(STAGES[STAGES.index(stage):])
    assert actions(report) == [(name, "ran") for name in later]


@pytest.mark.parametrize("stage", STAGES)
def test_dry_run_of_each_stage(tmp_path: Path, finished: Path, stage: str) -> None:
    config = load_config(finished)
    state = (tmp_path / "work" / "runner-test" / "state.json").read_bytes()
    only = run_forum(config, options(tmp_path, only_stage=stage, dry_run=True), LogProgress())
    expected = "would run" if stage == "index" else "would skip (up to date)"
    assert actions(only) == [(stage, expected)] and only.outcomes[0].detail
    later = run_forum(config, options(tmp_path, from_stage=stage, dry_run=True), LogProgress())
    assert [o.stage for o in later.outcomes] == list(STAGES[STAGES.index(stage):])
    assert (tmp_path / "work" / "runner-test" / "state.json").read_bytes() == state


class WordCount(Record):
    path: Path
    words: int


class WordCountStage(Stage[WordCount]):
    """A stage this test adds between transcribe and publish: nothing else changes."""

    name = "count"
    result_type = WordCount
    needs = (TranscribeResult,)
    runs = 0

    def inputs(self, ctx: RunContext) -> list[object]:
        return [ctx.checksum(t.files.txt) for t in ctx.get(TranscribeResult).transcripts]

    def outputs(self, result: WordCount) -> list[Path]:
        return [result.path]

    def run(self, ctx: RunContext) -> WordCount:
        WordCountStage.runs += 1
        words = sum(len(t.files.txt.read_text(encoding="utf-8").split())
                    for t in ctx.get(TranscribeResult).transcripts)
        path = ctx.work_dir / "words.txt"
        path.write_text(str(words), encoding="utf-8")
        return WordCount(path=path, words=words)

    def describe(self, ctx: RunContext) -> str:
        return "count the words"


def test_a_new_stage_is_one_entry_in_the_list(tmp_path: Path, forum: Path) -> None:
    config = load_config(forum)
    stages = (*PIPELINE[:4], WordCountStage(), *PIPELINE[4:])
    names = ["fetch", "plan", "split", "transcribe", "count", "publish", "index"]

    plan = run_forum(config, options(tmp_path, dry_run=True), LogProgress(), stages=stages)
    assert [(o.stage, o.detail) for o in plan.outcomes][4] == ("count", "count the words")
    first = run_forum(config, options(tmp_path), LogProgress(), stages=stages)
    assert actions(first) == [(name, "ran") for name in names]
    assert WordCountStage.runs == 1 and (tmp_path / "work" / "runner-test" / "words.txt").is_file()

    again = run_forum(config, options(tmp_path), LogProgress(), stages=stages)
    assert ("count", "skipped (up to date)") in actions(again) and WordCountStage.runs == 1
    (tmp_path / "work" / "runner-test" / "words.txt").unlink()  # a lost output is redone
    only = run_forum(config, options(tmp_path, only_stage="count"), LogProgress(),
                     stages=stages)
    assert actions(only) == [("count", "ran")] and WordCountStage.runs == 2
    later = run_forum(config, options(tmp_path, from_stage="count", dry_run=True),
                      LogProgress(), stages=stages)
    assert [o.stage for o in later.outcomes] == ["count", "publish", "index"]
    with pytest.raises(UsageError, match="unknown stage 'count'"):
        run_forum(config, options(tmp_path, only_stage="count"), LogProgress())


def test_a_damaged_manifest_is_set_aside_with_a_warning(
        tmp_path: Path, finished: Path, caplog: pytest.LogCaptureFixture) -> None:
    state = tmp_path / "work" / "runner-test" / "state.json"
    state.write_text('{"version": 1, "stages": {', encoding="utf-8")
    report = run_forum(load_config(finished), options(tmp_path), LogProgress())
    kept = list(state.parent.glob("state.json.damaged-*"))
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8") == '{"version": 1, "stages": {'
    assert any("damaged" in r.getMessage() and kept[0].name in r.getMessage()
               for r in caplog.records if r.levelname == "WARNING")
    assert actions(report)[:4] == [("fetch", "ran"), ("plan", "ran"), ("split", "ran"),
                                   ("transcribe", "ran")]
    assert json.loads(state.read_text(encoding="utf-8"))["stages"]["index"]


def test_the_manifest_keeps_no_transcript_words(tmp_path: Path, finished: Path) -> None:
    state = json.loads((tmp_path / "work" / "runner-test" / "state.json").read_text("utf-8"))
    stored = state["stages"]["transcribe"]["result"]["transcripts"]
    assert stored and all("segments" not in t for t in stored)
    report = run_forum(load_config(finished), options(tmp_path, only_stage="publish",
                                                      force=True), LogProgress())
    assert actions(report) == [("publish", "ran")]  # words come back from the JSON files


def test_a_session_that_is_mostly_not_speech_is_flagged(tmp_path: Path) -> None:
    counter_video(tmp_path / "master.mp4", 32, [440])
    path = tmp_path / "forum.yaml"
    path.write_text(FORUM.replace("  - {id: one, title: 첫째, start: 0, end: 2}\n"
                                  "  - {id: two, title: 둘째, start: 2, end: 4}\n",
                                  "  - {id: break, title: 휴식, start: 0, end: 32}\n"),
                    encoding="utf-8")
    report = run_forum(load_config(path), options(tmp_path), LogProgress())
    speech = [w for w in report.warnings if "speech" in w]
    assert len(speech) == 1 and speech[0].startswith("01-break: only 0%")
    assert "agenda times" in speech[0]
