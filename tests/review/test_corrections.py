"""Corrections that carry over: a replacement reviewers made in two cues is suggested, and
once accepted it is in the forum's config (or the series' file) and applied to the other
sessions' unreviewed cues, flagged for review.

A real work folder as the pipeline leaves it (transcripts written by the transcribe
stage's writers), reviews saved as the editor saves them, and `sort-archive corrections`
run in-process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.asr.job import transcript_files, write_files
from pipeline.cli import main
from pipeline.config.loader import load_config
from pipeline.errors import ConfigError
from pipeline.results import Segment, SessionPlan
from pipeline.review.corrections import forum_corrections, replacements
from pipeline.review.document import (
    HistoryEntry,
    ReviewDocument,
    load_review,
    now,
    read_history,
    review_path,
    save_review,
)
from pipeline.review.reviews import start_review
from tests.forums import forum_text

FORUM_ID = "series-2025"
WRONG, RIGHT = "한국 가스공사", "한국가스공사"
LINES = {  # session -> its cues, as Whisper heard them
    "opening": ["한국 가스공사 사장은 말했습니다", "다음 순서입니다"],
    "panel": ["오늘 한국 가스공사 발표를 듣겠습니다"],
    "closing": ["한국 가스공사 그대로 두세요", "한국 가스공사 에서 왔습니다"],
    "extra": ["저는 한국 가스공사 직원입니다"],  # never opened in the editor
}
EDITS = {"opening": {0: "한국가스공사 사장은 말했습니다"},
         "panel": {0: "오늘 한국가스공사 발표를 듣겠습니다"},
         "closing": {0: None}}  # None: confirmed as it is


@dataclass(frozen=True)
class Forum:
    config: Path
    work_root: Path

    def review(self, number: int, session: str) -> Path:
        slug = f"{number:02d}-{session}"
        return review_path(self.work_root / FORUM_ID / "sessions" / slug / f"{slug}.json")

    def document(self, number: int, session: str) -> ReviewDocument:
        document = load_review(self.review(number, session))
        assert document is not None
        return document

    def run(self, *extra: str) -> int:
        return main(["corrections", str(self.config), "--work-dir", str(self.work_root),
                     *extra])


def _reviewed(document: ReviewDocument, index: int, text: str | None
              ) -> tuple[ReviewDocument, HistoryEntry]:
    cue = document.cues[index]
    after = cue.model_copy(update={"text": cue.text if text is None else text,
                                   "reviewed": True, "version": cue.version + 1})
    cues = (*document.cues[:index], after, *document.cues[index + 1:])
    return document.model_copy(update={"cues": cues}), HistoryEntry(
        at=now(), session=document.session, action="review" if text is None else "edit",
        cues=(cue.id,), before=(cue,), after=(after,))


@pytest.fixture
def forum(tmp_path: Path) -> Forum:
    sessions = [(name, name, 10.0 * n, 10.0 * n + 10) for n, name in enumerate(LINES)]
    config = tmp_path / "configs" / "forum.yaml"
    config.parent.mkdir()
    config.write_text("# the forum's own notes stay\n" + forum_text(FORUM_ID, "포럼", sessions),
                      encoding="utf-8")
    forum = Forum(config, tmp_path / "work")
    for number, (name, lines) in enumerate(LINES.items(), start=1):
        plan = SessionPlan(number=number, id=name, title=name, start=10.0 * (number - 1),
                           end=10.0 * number)
        folder = forum.work_root / FORUM_ID / "sessions" / plan.slug
        folder.mkdir(parents=True)
        files = transcript_files(folder, plan.slug, "ko")
        segments = tuple(Segment(start=2.0 * i, end=2.0 * i + 1.5, text=line)
                         for i, line in enumerate(lines))
        write_files(files, plan, "ko", "base", segments, {"low_confidence": []})
        if name in EDITS:
            document, history = start_review(files.json_path, files.quality), []
            for index, text in EDITS[name].items():
                document, entry = _reviewed(document, index, text)
                history.append(entry)
            save_review(review_path(files.json_path), document, history)
    return forum


def test_replacements_are_whole_words() -> None:
    assert replacements("저는 한국 가스공사 직원입니다", "저는 한국가스공사 직원입니다") == [
        ("한국 가스공사", "한국가스공사")]
    assert replacements("같은 문장", "같은 문장") == []
    assert replacements("하나 둘", "하나 셋 둘") == []  # an insertion replaces nothing


def test_a_replacement_made_twice_is_suggested(forum: Forum,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert forum.run() == 0
    out = capsys.readouterr().out
    assert f'"{WRONG}" -> "{RIGHT}"  (2 cues: 01-opening c0001, 02-panel c0001)' in out, out
    assert "--accept" in out
    assert forum.run("--at-least", "3") == 0
    assert RIGHT not in capsys.readouterr().out


def test_accepting_writes_the_config_and_flags_the_other_cues(
        forum: Forum, capsys: pytest.CaptureFixture[str]) -> None:
    assert forum.run("--accept") == 0
    out = capsys.readouterr().out
    assert "applied to 2 unreviewed cue(s) in 2 session(s)" in out, out
    text = forum.config.read_text(encoding="utf-8")
    assert text.startswith("# the forum's own notes stay\n")  # comments kept
    assert load_config(forum.config).forum.corrections == {WRONG: RIGHT}

    closing = forum.document(3, "closing")
    assert closing.cues[0].text == "한국 가스공사 그대로 두세요"  # a person's choice stays
    changed = closing.cues[1]
    assert (changed.text, changed.reviewed, changed.flagged) == (
        "한국가스공사 에서 왔습니다", False, True)
    assert changed.asr_text == "한국 가스공사 에서 왔습니다"
    last = read_history(forum.review(3, "closing"))[-1]
    assert (last.action, last.cues, last.after) == ("correction", (changed.id,), (changed,))
    extra = forum.document(4, "extra")  # a review started for it
    assert [(c.text, c.reviewed, c.flagged) for c in extra.cues] == [
        ("저는 한국가스공사 직원입니다", False, True)]
    assert forum.document(1, "opening").cues[1].version == 0  # nothing to correct there

    assert forum.run() == 0  # now known: no longer suggested
    assert f'"{WRONG}"' not in capsys.readouterr().out


def test_accepting_into_a_series_file_the_configs_name(
        forum: Forum, capsys: pytest.CaptureFixture[str]) -> None:
    series = forum.config.parent / "sort.corrections.yaml"
    assert forum.run("--accept", "--series", str(series)) == 0
    config = load_config(forum.config)
    assert config.forum.corrections_file == Path("sort.corrections.yaml")
    assert config.forum.corrections == {}  # the config's own stay empty
    assert forum_corrections(config) == {WRONG: RIGHT}
    assert "corrections_file:" in forum.config.read_text(encoding="utf-8")

    outside = forum.config.parent.parent / "elsewhere.yaml"
    capsys.readouterr()
    assert forum.run("--accept", "--series", str(outside)) == 2
    assert "not inside" in capsys.readouterr().err


@pytest.mark.parametrize("given", ["../shared.yaml", "/etc/corrections.yaml"])
def test_a_series_file_path_must_stay_in_the_config_folder(tmp_path: Path, given: str) -> None:
    config = tmp_path / "forum.yaml"
    config.write_text(forum_text(FORUM_ID, "포럼", [("a", "a", 0, 10)])
                      + f"corrections_file: {given}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="inside the config's folder"):
        load_config(config)


def test_a_series_file_linked_from_outside_is_refused(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    (tmp_path / "outside.yaml").write_text(f"corrections: {{{WRONG}: {RIGHT}}}\n",
                                           encoding="utf-8")
    folder = tmp_path / "configs"
    folder.mkdir()
    os.symlink(tmp_path / "outside.yaml", folder / "series.yaml")
    config = folder / "forum.yaml"
    config.write_text(forum_text(FORUM_ID, "포럼", [("a", "a", 0, 10)])
                      + "corrections_file: series.yaml\n", encoding="utf-8")
    assert main(["validate", str(config)]) == 2
    assert "leads outside" in capsys.readouterr().err
