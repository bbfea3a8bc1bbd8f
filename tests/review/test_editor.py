"""`sort-archive review`: the caption editor in Chromium, against its real server.

Each test has its own work folder (tests/review/workfolder.py: two sessions with real
clips and transcripts written by the pipeline's writers) and its own server in a
thread; the module shares one Chromium. The server's API is also called directly
(urllib) for what a browser would not send: no token, a wrong one, another Origin or
Host, bodies that are not what a route takes.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import expect

from pipeline.results import Word
from tests.browser_checks import audit_context, axe_violations, phone_context
from tests.review.workfolder import (
    MARKUP,
    OPENING,
    PANEL,
    Served,
    WorkFolder,
    build_work_folder,
    make_clip,
    review_server,
)
from tests.web_archive import pwned, wait_for


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("review-clip"))


@pytest.fixture
def work(tmp_path: Path, clip: Path) -> WorkFolder:
    return build_work_folder(tmp_path, clip)


@pytest.fixture
def served(work: WorkFolder) -> Iterator[Served]:
    with review_server(work) as server:
        yield server


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    context = audit_context(browser)
    yield context
    context.close()


def open_session(context: Any, served: Served, title: str = OPENING.title) -> Any:
    page = context.new_page()
    page.goto(served.url)
    page.get_by_role("link", name=title).click()
    expect(page.locator("#cues li").first).to_be_visible()
    return page


def play_button(page: Any, cue_id: str) -> Any:
    return page.locator(f"#cue-{cue_id} .cue-play")


def save_with_enter(page: Any, text: str) -> None:
    box = page.locator("#edit-text")
    box.fill(text)
    box.press("Enter")
    expect(page.locator("#status")).to_contain_text("저장했습니다")


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".part")]


def test_an_edit_is_saved_at_once_with_its_history(context: Any, work: WorkFolder,
                                                   served: Served) -> None:
    page = open_session(context, served)
    expect(page.locator("#progress")).to_have_text("검수 0/4")
    play_button(page, "c0002").click()
    box = page.locator("#edit-text")
    expect(box).to_be_focused()
    expect(box).to_have_value("한국 가스공사의 사례입니다")
    save_with_enter(page, "한국가스공사의 사례입니다")
    # Enter saved and moved on to the next cue; the list and the progress follow.
    expect(page.locator("#cue-c0003")).to_have_attribute("aria-current", "true")
    expect(box).to_have_value("음악 소리 음악 소리")
    expect(page.locator("#cue-c0002 .text")).to_have_text("한국가스공사의 사례입니다")
    expect(page.locator("#cue-c0002")).to_contain_text("검수됨")
    expect(page.locator("#progress")).to_have_text("검수 1/4")
    cue = work.review().cues[1]
    assert (cue.text, cue.version, cue.reviewed, cue.asr_text) == (
        "한국가스공사의 사례입니다", 1, True, "한국 가스공사의 사례입니다")
    (entry,) = work.history()
    assert entry.action == "edit" and entry.cues == ("c0002",)
    assert (entry.before[0].text, entry.after[0].text) == (cue.asr_text, cue.text)
    assert entry.at.endswith("+00:00")
    assert leftovers(work.folder()) == []  # written whole, through a renamed temporary
    # Times are edited too; one over the next cue is refused in words, and nothing saved.
    page.locator("#edit-end").fill("8.6")
    page.locator("#edit-end").press("Enter")
    expect(page.locator("#status")).to_contain_text("다음 자막")
    assert work.review().cues[2].end == 8.0
    page.locator("#edit-end").fill("8.4")
    page.locator("#edit-end").press("Enter")
    expect(page.locator("#status")).to_contain_text("저장했습니다")
    assert work.review().cues[2].end == 8.4
    # Transcript text is shown as text, never run.
    expect(page.locator("#cue-c0004 .text")).to_contain_text(MARKUP)
    assert pwned(page) is None
    page.goto(served.url)  # the list shows each session's progress
    expect(page.locator("#sessions li").first).to_contain_text("검수 2/4")
    expect(page.locator("#sessions li").nth(1)).to_contain_text("검수 0/2")


def test_two_tabs_editing_one_cue_get_a_conflict_not_an_overwrite(
        context: Any, work: WorkFolder, served: Served) -> None:
    first, second = open_session(context, served), open_session(context, served)
    for page in (first, second):
        play_button(page, "c0002").click()
    save_with_enter(first, "첫 탭의 수정")
    box = second.locator("#edit-text")
    box.fill("둘째 탭의 수정")
    box.press("Enter")
    alert = second.locator("#conflict")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("첫 탭의 수정")  # what is saved now
    expect(alert).to_contain_text("둘째 탭의 수정")  # and what was not
    review = work.review()
    assert (review.cues[1].text, review.cues[1].version) == ("첫 탭의 수정", 1)
    assert len(work.history()) == 1
    second.get_by_role("button", name="다시 불러오기").click()
    expect(alert).to_be_hidden()
    expect(box).to_have_value("첫 탭의 수정")
    save_with_enter(second, "둘째 탭이 다시 고친 수정")
    assert work.review().cues[1].version == 2 and len(work.history()) == 2


def test_a_tab_killed_mid_edit_loses_no_saved_edit(context: Any, work: WorkFolder,
                                                   served: Served) -> None:
    page = open_session(context, served)
    play_button(page, "c0001").click()
    save_with_enter(page, "저장한 수정")
    page.locator("#edit-text").fill("저장하지 않은 수정")  # now on c0002, not saved
    page.locator("#edit-text").press("Enter")  # a save in flight as the tab dies...
    _crash(page)
    time.sleep(0.3)  # ...which the server finishes, or never received
    review = work.review()  # parses: never half a file
    assert (review.cues[0].text, review.cues[0].version) == ("저장한 수정", 1)
    second = review.cues[1]
    assert (second.text, second.version) in {("한국 가스공사의 사례입니다", 0),
                                             ("저장하지 않은 수정", 1)}
    history = work.history()
    assert len(history) == sum(cue.version for cue in review.cues)  # one entry per change
    assert history[-1].after[0] == next(c for c in review.cues if c.id == history[-1].cues[0])
    assert leftovers(work.folder()) == []


def _crash(page: Any) -> None:
    """Kill the tab's renderer process at once (Chromium's chrome://crash: no unload
    handler, no pending script runs); returns once Playwright has seen it crash. Nothing
    is asked of the dead page after that: a call to a crashed page may never answer."""
    from playwright.sync_api import Error

    # The navigation is aborted by the crash, hence the suppressed error.
    with page.expect_event("crash", timeout=15_000), contextlib.suppress(Error):
        page.goto("chrome://crash", timeout=5000)


ACTIONS = {"edit": {"version": 0, "text": "침입"}, "review": {"version": 0},
           "split": {"version": 0, "offset": 2}, "merge": {"version": 0, "next_version": 0}}


def call(served: Served, path: str, body: Any = None, *, token: str | None = "",
         origin: str | None = "", host: str | None = None, raw: bytes | None = None,
         method: str | None = None) -> tuple[int, dict[str, Any]]:
    """(status, JSON answer) of one API call; "" means the right token or origin."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["X-Review-Token"] = token or served.token
    if origin is not None:
        headers["Origin"] = origin or served.origin
    if host is not None:
        headers["Host"] = host
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(served.base + path, data=data, headers=headers,
                                     method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        text = error.read()
        return error.code, json.loads(text) if text.startswith(b"{") else {}


def files_of(work: WorkFolder) -> dict[str, bytes]:
    return {str(p.relative_to(work.work_dir)): p.read_bytes()
            for p in sorted(work.work_dir.rglob("*")) if p.is_file()}


def test_every_write_needs_the_token_its_origin_and_this_host(work: WorkFolder,
                                                              served: Served) -> None:
    before = files_of(work)
    port = served.base.rsplit(":", 1)[1]
    for action, body in ACTIONS.items():
        path = f"/api/sessions/{OPENING.slug}/cues/c0002/{action}"
        assert call(served, path, body, token=None)[0] == 403, action
        assert call(served, path, body, token="x" * 43)[0] == 403, action
        assert call(served, path, body, token=served.token[:-1])[0] == 403, action
        assert call(served, path, body, origin=None)[0] == 403, action
        # not contacted: the host is only named
        assert call(served, path, body, origin="http://evil.example")[0] == 403, action
        assert call(served, path, body, origin="null")[0] == 403, action
        status, answer = call(served, path, body, host=f"evil.example:{port}",
                              # not contacted: the host is only named
                              origin=f"http://evil.example:{port}")  # DNS rebinding
        assert status == 400 and "127.0.0.1" in answer["error"], action
    for path in ("/api/sessions", f"/api/sessions/{OPENING.slug}"):  # reads need it too
        assert call(served, path, token=None)[0] == 403
        assert call(served, path, token="wrong")[0] == 403
    assert call(served, "/", host="evil.example")[0] == 400
    assert files_of(work) == before and not work.review_file().exists()
    # The same write with the token, from the page's origin (localhost too), is taken.
    status, answer = call(served, f"/api/sessions/{OPENING.slug}/cues/c0002/review",
                          {"version": 0}, host=f"localhost:{port}",
                          origin=f"http://localhost:{port}")
    assert status == 200 and answer["progress"] == [1, 4]
    assert work.review().cues[1].reviewed


def test_in_chromium_a_page_of_another_site_cannot_write(
        context: Any, work: WorkFolder, served: Served, http_root: tuple[Path, str]) -> None:
    """An attacker's page, served from another origin, tries what a browser lets it: a
    cross-site form post (no preflight) and fetches with and without a guessed token.
    None of them writes; the editor without the token in its address writes nothing."""
    folder, base = http_root
    url = f"{served.base}/api/sessions/{OPENING.slug}/cues/c0002/review"
    (folder / "csrf.html").write_text(
        '<!doctype html><html lang="en"><title>x</title><form id="f" method="post" '
        f'enctype="text/plain" action="{url}"><input name=\'{{"version":0,"a":"\' '
        'value=\'"}\'></form>', encoding="utf-8")
    before = files_of(work)
    page = context.new_page()
    page.goto(f"{base}/csrf.html")
    outcomes = page.evaluate("""async (url) => {
        const tries = [{}, {"X-Review-Token": "guessed"}], out = [];
        for (const headers of tries) {
            try {
                const answer = await fetch(url, {method: "POST", body: '{"version":0}',
                    headers: {...headers, "Content-Type": "application/json"}});
                out.push(answer.status);
            } catch (error) { out.push("refused"); }
        }
        return out;
    }""", url)
    assert all(outcome in ("refused", 403) for outcome in outcomes), outcomes
    with page.expect_navigation():
        page.evaluate("document.getElementById('f').submit()")
    assert "403" in page.content() or "token" in page.content().lower()
    tokenless = context.new_page()
    tokenless.goto(f"{served.base}/")
    tokenless.wait_for_timeout(500)
    assert files_of(work) == before and not work.review_file().exists()


def test_bad_input_is_answered_4xx_and_changes_nothing(work: WorkFolder,
                                                       served: Served) -> None:
    edit = f"/api/sessions/{OPENING.slug}/cues/c0002/edit"
    for raw in (b"{", b"[]", b'{"version": "0"}', b'{"version": true}',
                b'{"version": 0, "colour": "red"}', b'{"version": 0, "start": NaN}',
                b'{"version": -1}', b'{"version": 0, "text": 5}', b""):
        status, answer = call(served, edit, raw=raw)
        assert status == 400 and answer["error"], raw
    assert call(served, edit, raw=b'{"version": 0, "text": "' + b"a" * 70_000 + b'"}')[0] == 413
    assert call(served, edit, {"version": 0, "end": 13.0})[0] == 400  # past the 12 s clip
    assert call(served, edit, {"version": 0, "text": "가" * 2001})[0] == 400
    for path in ("/api/sessions/99-nothing/cues/c0002/edit", "/api/sessions/..%2F..%2Fetc",
                 f"/api/sessions/{OPENING.slug}/cues/c0099/edit",
                 f"/api/sessions/{OPENING.slug}/cues/c0002/delete"):
        assert call(served, path, {"version": 0})[0] == 404, path
    assert call(served, edit, method="GET")[0] == 405
    assert not work.review_file().exists()
    assert call(served, edit, {"version": 0, "text": "먼저 저장"})[0] == 200
    status, answer = call(served, edit, {"version": 0, "text": "늦은 수정"})
    assert status == 409 and answer["cue"]["text"] == "먼저 저장" and answer["cue"]["version"] == 1
    # The clip needs no token (a <video> sends no header), but only this host.
    request = urllib.request.Request(f"{served.base}/media/{OPENING.slug}",
                                     headers={"Range": "bytes=0-99"})
    with urllib.request.urlopen(request, timeout=10) as answer_:
        assert answer_.status == 206 and answer_.headers["Content-Type"] == "video/mp4"
    assert call(served, f"/media/{OPENING.slug}", host="evil.example")[0] == 400


def test_an_edited_cue_is_timed_again_off_the_request_path(work: WorkFolder) -> None:
    """The server's worker takes the saved cue, reads its sound from the clip and stores
    the aligner's words, changing no version (the aligner here is a stand-in; the real
    one is tested on speech in test_edits.py)."""
    heard: list[tuple[int, str, float, float]] = []

    def aligner(sound: np.ndarray, text: str, start: float, end: float) -> tuple[Word, ...]:
        heard.append((len(sound), text, start, end))
        return tuple(Word(start=start + i * 0.1, end=start + i * 0.1 + 0.1, word=f" {w}",
                          probability=0.5) for i, w in enumerate(text.split()))

    with review_server(work, aligner) as served:
        path = f"/api/sessions/{OPENING.slug}/cues/c0002/edit"
        assert call(served, path, {"version": 0, "text": "한국가스공사의 사례"})[0] == 200
        assert served.realigner is not None and served.realigner.wait(20)
    (sound, text, start, end), = heard
    assert text == "한국가스공사의 사례" and sound == pytest.approx(2.0 * 16000, abs=400)
    assert (start, end) == pytest.approx((0.5, 1.5))  # the cue, 3-4 s, with 0.5 s around
    cue = work.review().cues[1]
    assert cue.version == 1 and not cue.words_provisional
    assert [(w.start, w.end, w.word) for w in cue.words] == [
        (3.0, 3.1, " 한국가스공사의"), (3.1, 3.2, " 사례")]


def test_keys_replay_the_cue_and_jump_to_the_next_flagged_one(context: Any, work: WorkFolder,
                                                              served: Served) -> None:
    page = open_session(context, served)
    expect(page.locator("#cue-c0003")).to_contain_text("검토 필요")  # in words, not colour
    play_button(page, "c0001").click()
    page.keyboard.press("Alt+N")
    expect(page.locator("#cue-c0003")).to_have_attribute("aria-current", "true")
    expect(page.locator("#edit-text")).to_be_focused()
    page.locator("#edit-text").press("Enter")  # heard, found right: reviewed as it is
    expect(page.locator("#status")).to_contain_text("저장했습니다")
    assert work.review().cues[2].reviewed and work.review().cues[2].text == "음악 소리 음악 소리"
    page.keyboard.press("Alt+N")
    expect(page.locator("#status")).to_contain_text("검토가 필요한 자막이 더 없습니다")
    # Alt+R plays the current cue (3.0-4.0 s) from its start and stops at its end.
    play_button(page, "c0002").click()
    wait_for(page, "document.getElementById('player').paused")
    page.evaluate("document.getElementById('player').currentTime = 10")
    page.locator("#edit-text").press("Alt+R")
    wait_for(page, "(() => { const v = document.getElementById('player');"
                   " return !v.paused && v.currentTime >= 3 && v.currentTime < 4; })()")
    wait_for(page, "document.getElementById('player').paused")
    assert 4.0 <= page.evaluate("document.getElementById('player').currentTime") < 4.5
    # Escape puts back what was saved.
    page.locator("#edit-text").fill("지울 내용")
    page.locator("#edit-text").press("Escape")
    expect(page.locator("#edit-text")).to_have_value("한국 가스공사의 사례입니다")


def test_split_at_the_caret_and_merge_back(context: Any, work: WorkFolder,
                                           served: Served) -> None:
    page = open_session(context, served)
    play_button(page, "c0001").click()
    page.locator("#edit-text").evaluate("box => box.setSelectionRange(7, 7)")  # before 포럼
    page.keyboard.press("Alt+S")
    expect(page.locator("#cue-c0005")).to_have_attribute("aria-current", "true")
    expect(page.locator("#cue-c0001 .text")).to_have_text("안녕하십니까")
    expect(page.locator("#edit-text")).to_have_value("포럼을 시작하겠습니다")
    assert [c.id for c in work.review().cues] == ["c0001", "c0005", "c0002", "c0003", "c0004"]
    play_button(page, "c0001").click()
    page.keyboard.press("Alt+M")
    expect(page.locator("#cue-c0005")).to_have_count(0)
    expect(page.locator("#edit-text")).to_have_value("안녕하십니까 포럼을 시작하겠습니다")
    assert [entry.action for entry in work.history()] == ["split", "merge"]
    assert len(work.review().cues) == 4


def test_the_editor_passes_axe_on_a_desktop_and_a_phone(browser: Any, context: Any,
                                                        served: Served) -> None:
    page = context.new_page()
    page.goto(served.url)
    expect(page.locator("#sessions li")).to_have_count(2)
    assert axe_violations(page) == []
    page = open_session(context, served, PANEL.title)
    play_button(page, "c0001").click()
    assert axe_violations(page) == []
    phone = phone_context(browser)
    try:
        small = open_session(phone, served)
        play_button(small, "c0003").click()
        video = small.locator("#player").bounding_box()
        cues = small.locator("#cues").bounding_box()
        assert cues["y"] >= video["y"] + video["height"]  # stacked, not side by side
        assert axe_violations(small) == []
    finally:
        phone.close()
