"""Reviewed text wins, and reaches the archive: the whole pipeline on the small demo forum.

One run archives the demo (real ffmpeg, the bundled Whisper base model, a local archive
folder, a real SQLite catalogue). Then a reviewer corrects a line of one session and
confirms the rest, as the editor saves it (`pipeline.review.document`), and the next
run rewrites that session from the review without Whisper, publishes only what changed
and indexes the corrected word at its second. `--discard-reviews` is refused without a
terminal unless `--yes` says so, and then moves the review aside for Whisper's text.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import expect

from pipeline.catalogue import SearchQuery, search
from pipeline.cli import main
from pipeline.review.document import (
    HistoryEntry,
    ReviewDocument,
    history_path,
    load_review,
    now,
    review_path,
    save_review,
)
from pipeline.review.reviews import start_review
from pipeline.web.review import create_review_app
from pipeline.web.review_work import Workspace
from pipeline.web.server import server_config
from tests.browser_checks import audit_context, axe_violations
from tests.web.threaded import uvicorn_in_thread

pytestmark = pytest.mark.slow

SESSION = "02-measurement"
CORRECTED = "마이너리티"  # the reviewer's word: Whisper heard "마이너로"
FORUM = "demo-sort"


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file under `folder`: (mtime in ns, sha256): a rewrite changes the first."""
    return {str(path.relative_to(folder)): (path.stat().st_mtime_ns,
                                            hashlib.sha256(path.read_bytes()).hexdigest())
            for path in sorted(folder.rglob("*")) if path.is_file()}


def edit(document: ReviewDocument, index: int, text: str | None) -> tuple[ReviewDocument,
                                                                        HistoryEntry]:
    """The cue at `index` saved by a reviewer, with new `text` or as it is (None)."""
    cue = document.cues[index]
    after = cue.model_copy(update={"text": cue.text if text is None else text,
                                   "reviewed": True, "version": cue.version + 1})
    cues = (*document.cues[:index], after, *document.cues[index + 1:])
    entry = HistoryEntry(at=now(), session=document.session,
                         action="edit" if text is not None else "review", cues=(cue.id,),
                         before=(cue,), after=(after,))
    return document.model_copy(update={"cues": cues}), entry


@pytest.fixture(scope="module")
def forum(small_demo: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo archived once into a folder of this module's own."""
    state = tmp_path_factory.mktemp("reviewed")
    raw = yaml.safe_load(small_demo.config_path.read_text(encoding="utf-8"))
    raw["storage"] = {"local": str(state / "archive")}
    config = small_demo.config_path.with_name("demo-reviewed.yaml")
    config.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False),
                      encoding="utf-8")
    args = ["run", str(config), "--work-dir", str(state / "work"),
            "--catalogue", str(state / "catalogue.sqlite"), "--quiet"]
    assert main(args) == 0
    folder = state / "work" / FORUM / "sessions" / SESSION
    return {"state": state, "config": config, "args": args, "folder": folder,
            "archive": state / "archive", "catalogue": state / "catalogue.sqlite",
            "whisper": (folder / f"{SESSION}.json").read_text(encoding="utf-8")}


def review_in_browser(browser: Any, work_dir: Path, slug: str, lines: int | None,
                      fix: Callable[[int, str], str]) -> None:
    """A reviewer in `sort-archive review`'s editor (the real server, in Chromium): the
    session's first `lines` cues (None: all) each saved with Enter, as `fix` rewrites
    them (index, text -> text)."""
    token = secrets.token_urlsafe(32)
    app = create_review_app(Workspace(work_dir), token, forum_title="demo")
    config = server_config(app, log_level="warning", forwarded_allow_ips=None)
    with uvicorn_in_thread(config, start_within=20) as base:
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{base}/#token={token}")
        page.locator(f'#sessions a[href*="{slug}"]').click()
        cues = page.locator("#cues li")
        expect(cues.first).to_be_visible()
        cues.first.locator(".cue-play").click()
        box = page.locator("#edit-text")
        for index in range(cues.count() if lines is None else lines):
            expect(cues.nth(index)).to_have_attribute("aria-current", "true")
            box.fill(fix(index, box.input_value()))
            box.press("Enter")
            expect(page.locator("#status")).to_contain_text("저장했습니다")
        context.close()


@pytest.fixture(scope="module")
def edited(forum: dict[str, Any], browser: Any) -> dict[str, Any]:
    """A reviewer corrects the second line of one session in the editor and confirms
    the others; then the pipeline runs again."""

    def fix(index: int, text: str) -> str:
        if index != 1:
            return text
        assert "마이너로" in text, text
        return text.replace("마이너로", CORRECTED)

    review_in_browser(browser, forum["folder"].parent.parent, SESSION, None, fix)
    document = load_review(review_path(forum["folder"] / f"{SESSION}.json"))
    assert document is not None and document.complete
    before = snapshot(forum["archive"])
    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = main(forum["args"])
    return {"before": before, "after": snapshot(forum["archive"]), "code": code,
            "out": out.getvalue(), "cue": document.cues[1], "document": document}


def test_an_edit_rewrites_and_republishes_only_its_session(
        forum: dict[str, Any], edited: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    out = edited["out"]
    assert edited["code"] == 0, out
    assert "transcribed 0 session(s)" in out, out  # no Whisper
    assert "review:      rewrote 1 session(s) from reviews" in out, out
    assert f"review:      {SESSION}: 3 of 3 cue(s) reviewed (검수 완료)" in out, out

    after = edited["after"]
    changed = {key for key in after if after[key] != edited["before"].get(key)}
    in_sessions = {key for key in changed if "/sessions/" in key}
    folder = f"{FORUM}/sessions/{SESSION}"
    assert in_sessions == {f"{folder}/{SESSION}.ko.vtt", f"{folder}/{SESSION}.ko.srt",
                           f"{folder}/{SESSION}.json", f"{folder}/{SESSION}.txt",
                           f"{folder}/index.html"}, sorted(changed)
    # beside it only the forum's own pages and lists, and the series' root pages
    assert {f"{FORUM}/forum.json", f"{FORUM}/index.html", f"{FORUM}/search-index.json"} \
        <= changed - in_sessions <= {f"{FORUM}/forum.json", f"{FORUM}/index.html",
                                     f"{FORUM}/search-index.json", f"{FORUM}/search.html",
                                     "index.html", "feed.xml", "sitemap.xml"}, sorted(changed)

    published = forum["archive"] / folder
    assert CORRECTED in (published / f"{SESSION}.ko.vtt").read_text(encoding="utf-8")
    segments = json.loads((published / f"{SESSION}.json").read_text(encoding="utf-8"))[
        "segments"]
    assert segments[1]["text"] == edited["cue"].text
    assert segments[1]["raw_text"] == edited["cue"].asr_text  # Whisper's, kept
    manifest = json.loads((forum["archive"] / FORUM / "forum.json").read_text(
        encoding="utf-8"))
    reviews = {s["slug"]: s.get("review") for s in manifest["sessions"]}
    assert reviews[SESSION] == {"reviewed": 3, "total": 3, "complete": True}
    assert [slug for slug, review in reviews.items() if review is not None] == [SESSION]

    # and once it is all written, nothing is done again
    capsys.readouterr()
    assert main(forum["args"]) == 0
    assert "uploaded 0 object(s)" in capsys.readouterr().out
    assert snapshot(forum["archive"]) == after


def test_search_finds_the_corrected_word_at_its_second(forum: dict[str, Any],
                                                       edited: dict[str, Any]) -> None:
    hits = search(forum["catalogue"], SearchQuery(CORRECTED)).hits
    assert [(hit.session_id, hit.start) for hit in hits] == [
        ("measurement", pytest.approx(edited["cue"].start, abs=0.01))]
    assert hits[0].url and hits[0].url.endswith(f"#t={int(edited['cue'].start)}")


def test_the_reviewed_badge_is_text_and_passes_axe(forum: dict[str, Any],
                                                   edited: dict[str, Any],
                                                   browser: Any) -> None:
    forum_page = forum["archive"] / FORUM / "index.html"
    session_page = forum["archive"] / FORUM / "sessions" / SESSION / "index.html"
    other_page = forum["archive"] / FORUM / "sessions" / "01-keynote" / "index.html"
    assert "검수 완료" in session_page.read_text(encoding="utf-8")
    assert "검수 완료" not in other_page.read_text(encoding="utf-8")
    context = audit_context(browser)
    for page_file in (session_page, forum_page):
        page = context.new_page()
        page.goto(page_file.as_uri())
        badges = page.locator(".badge")
        assert badges.count() == 1 and badges.inner_text() == "검수 완료"
        assert axe_violations(page) == []
        page.close()
    context.close()


def test_verify_names_a_damaged_review_file(forum: dict[str, Any], edited: dict[str, Any],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    review = review_path(forum["folder"] / f"{SESSION}.json")
    kept = review.read_bytes()
    verify = ["verify", str(forum["config"]), "--work-dir", str(forum["state"] / "work")]
    assert main(verify) == 0
    try:
        review.write_text('{"format": 1, "session": "02-measurement"', encoding="utf-8")
        capsys.readouterr()
        assert main(verify) == 12
        lines = capsys.readouterr().out.splitlines()
        damaged = [line for line in lines if line.startswith("review: ")]
        assert len(damaged) == 1 and str(review) in damaged[0], lines
    finally:
        review.write_bytes(kept)


def test_discard_reviews_asks_and_without_a_terminal_needs_yes(
        forum: dict[str, Any], edited: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    review = review_path(forum["folder"] / f"{SESSION}.json")
    capsys.readouterr()
    assert main([*forum["args"], "--discard-reviews"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("sort-archive: error: ") and "--yes" in error
    assert "\n" not in error and "Traceback" not in error
    assert main([*forum["args"], "--yes"]) == 2  # --yes alone confirms nothing
    assert load_review(review) == edited["document"]  # nothing moved


def test_discard_reviews_with_yes_moves_them_aside_for_whisper(
        forum: dict[str, Any], edited: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    review = review_path(forum["folder"] / f"{SESSION}.json")
    capsys.readouterr()
    assert main([*forum["args"], "--discard-reviews", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "transcribed 1 session(s)" in out, out  # Whisper again, for that session alone
    assert not review.exists() and not history_path(review).exists()
    [aside] = forum["folder"].glob(f"{SESSION}.review.discarded-*.json")
    assert load_review(aside) == edited["document"]  # kept, not deleted
    assert list(forum["folder"].glob(f"{SESSION}.review-history.discarded-*.jsonl"))
    transcript = (forum["folder"] / f"{SESSION}.json").read_text(encoding="utf-8")
    assert transcript == forum["whisper"]  # Whisper's text, as before the review
    assert CORRECTED not in (forum["folder"] / f"{SESSION}.ko.vtt").read_text(
        encoding="utf-8")
    assert search(forum["catalogue"], SearchQuery(CORRECTED)).hits == []


def test_confirming_every_cue_alone_republishes_only_the_pages(
        forum: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    """Cues confirmed as Whisper wrote them change no transcript file: the next run
    writes none, and publishes the session's page (its badge) and the forum's lists."""
    slug = "03-collaboration"
    folder = forum["folder"].parent / slug
    document = start_review(folder / f"{slug}.json", folder / f"{slug}.quality.json")
    history = []
    for index in range(len(document.cues)):
        document, entry = edit(document, index, None)
        history.append(entry)
    save_review(review_path(folder / f"{slug}.json"), document, history)
    before = snapshot(forum["archive"])
    capsys.readouterr()
    assert main(forum["args"]) == 0
    out = capsys.readouterr().out
    assert "transcribed 0 session(s)" in out and f"{slug}: 3 of 3 cue(s) reviewed" in out, out
    after = snapshot(forum["archive"])
    changed = {key for key in after if after[key] != before.get(key)}
    assert {key for key in changed if "/sessions/" in key} == {
        f"{FORUM}/sessions/{slug}/index.html"}, sorted(changed)
    assert {f"{FORUM}/forum.json", f"{FORUM}/index.html"} <= changed


def test_a_model_change_keeps_the_reviewed_cues(forum: dict[str, Any], browser: Any,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Last in the module: a line corrected in the editor survives Whisper running again
    over the whole forum with other decoding options (beam 1)."""
    slug = sorted(path.name for path in forum["folder"].parent.iterdir())[0]
    line = "검수자가 고친 첫 줄입니다"
    review_in_browser(browser, forum["folder"].parent.parent, slug, 1, lambda i, text: line)
    raw = yaml.safe_load(forum["config"].read_text(encoding="utf-8"))
    raw["whisper"] = {**(raw.get("whisper") or {}), "beam_size": 1}
    forum["config"].write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False),
                               encoding="utf-8")
    capsys.readouterr()
    assert main(forum["args"]) == 0
    out = capsys.readouterr().out
    assert "transcribed 3 session(s)" in out, out  # Whisper ran again for every session
    assert f"kept 1 reviewed cue(s) in {slug}" in out, out
    folder = forum["folder"].parent / slug
    document = load_review(review_path(folder / f"{slug}.json"))
    assert document is not None and document.cues[0].text == line
    assert document.cues[0].reviewed
    assert line in (folder / f"{slug}.ko.vtt").read_text(encoding="utf-8")
    published = forum["archive"] / FORUM / "sessions" / slug / f"{slug}.ko.vtt"
    assert line in published.read_text(encoding="utf-8")
