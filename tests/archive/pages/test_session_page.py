"""The session page's player in Chromium: following, find, the link to a moment, keys,
captions, the page without JavaScript, axe-core and a phone.

Two pages, served over HTTP (Chromium loads subtitle tracks only there): a session of
the small published archive (tests/web_archive.py: 12-second counter videos, three
lines), and a long page written by `session_page` itself beside it, 120 lines over the
same 12-second video (one every 0.1 s), so that following and find have to scroll.
One archive, one HTTP folder and one browser for the module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.archive.pages.document import Link
from pipeline.archive.pages.viewer import session_page
from pipeline.results import Segment, SessionPlan
from tests.browser_checks import (
    audit_context,
    axe_violations,
    horizontal_overflow,
    phone_context,
)
from tests.web_archive import FORUM, SEGMENTS, SESSIONS, build_archive, wait_for

OPENING = SESSIONS[0]
CONTROLS = ["rate", "audio-only", "copy-link", "letter-keys", "find", "find-prev",
            "find-next", "follow", "to-current"]
LONG_LINES = 120
LONG_TITLE = "공공기관의사회적가치실현을위한지역사회협력방안과성과측정지표개발에관한기조발표" * 2
MARKUP_LINE = 77  # its text holds markup, which find must show as text


def long_segments() -> list[Segment]:
    """One line every 0.1 s; every 30th says 측정 지표; one holds markup."""
    def text(n: int) -> str:
        if n == MARKUP_LINE:
            return "<b>굵게</b> & 측정은 글자 그대로"
        said = "성과 측정 지표를 봅니다." if n % 30 == 5 else "협력합니다."
        return f"{n}번째 발언입니다. {said}"
    return [Segment(start=n / 10, end=(n + 1) / 10, text=text(n)) for n in range(LONG_LINES)]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, http_root: tuple[Path, str]) -> str:
    """The archive and the long page over HTTP; the base URL of this module's folder."""
    archive = build_archive(tmp_path_factory.mktemp("session-page"))
    folder, base = http_root
    root = folder / "session-page"
    root.mkdir()
    (root / "archive").symlink_to(archive.folder, target_is_directory=True)
    clip = f"../archive/{FORUM.id}/sessions/{OPENING.slug}/{OPENING.slug}.mp4"
    for name, title in (("long", "긴 세션"), ("title", LONG_TITLE)):
        plan = SessionPlan(number=9, id=name, title=title, start=0.0, end=12.0, speakers=())
        html = session_page(FORUM, plan, duration=12.0, files={"video": clip},
                            language="ko", segments=long_segments(),
                            forum_href="../index.html", previous=Link(title, "../x.html"))
        (root / name).mkdir()
        (root / name / "index.html").write_text(html, encoding="utf-8")
    return f"{base}/session-page"


def page_url(served: str, session: SessionPlan = OPENING) -> str:
    return f"{served}/archive/{FORUM.id}/sessions/{session.slug}/index.html"


@pytest.fixture(scope="module")
def context(browser: Any) -> Iterator[Any]:
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    yield context
    context.close()


def opened(context: Any, url: str) -> Any:
    page = context.new_page()
    page.goto(url)
    wait_for(page, "document.getElementById('player').readyState >= 1")
    return page


def seek(page: Any, seconds: float) -> None:
    page.evaluate(f"document.getElementById('player').currentTime = {seconds}")
    wait_for(page, "(() => { const v = document.getElementById('player'); "
                   f"return !v.seeking && Math.abs(v.currentTime - {seconds}) < 0.05; }})()")


def current_lines(page: Any) -> list[dict[str, Any]]:
    """The lines marked current: their index, text and aria-current."""
    return list(page.evaluate("""() => Array.from(document.querySelectorAll(
        '#transcript > li')).map((li, index) => ({index, text: li.textContent,
            current: li.classList.contains('current'), aria: li.getAttribute('aria-current')}))
        .filter(line => line.current || line.aria !== null)"""))


def in_sight(page: Any, selector: str) -> bool:
    """Whether the element is inside the transcript box's visible part."""
    return bool(page.evaluate("""(selector) => {
        const box = document.getElementById('transcript').getBoundingClientRect();
        const line = document.querySelector(selector).getBoundingClientRect();
        return line.top >= box.top - 1 && line.bottom <= box.bottom + 1; }""", selector))


def test_the_transcript_follows_the_player(context: Any, served: str) -> None:
    page = opened(context, page_url(served))
    assert current_lines(page) == [{"index": 0, "text": f"0:00 {SEGMENTS[0][0].text}",
                                    "current": True, "aria": "true"}]
    seek(page, 4.0)  # the second line: 3.0-6.5
    assert [(line["index"], line["aria"]) for line in current_lines(page)] == [(1, "true")]
    page.evaluate("() => { const v = document.getElementById('player'); v.muted = true; "
                  "v.currentTime = 7.0; return v.play(); }")
    wait_for(page, "document.querySelector('#transcript > li:nth-child(3).current')")
    page.evaluate("document.getElementById('player').pause()")
    lines = current_lines(page)
    assert [(line["index"], line["aria"]) for line in lines] == [(2, "true")]
    assert "사례를 보겠습니다" in lines[0]["text"]
    page.close()


def test_following_scrolls_until_the_viewer_scrolls_away(context: Any, served: str) -> None:
    page = opened(context, f"{served}/long/index.html")
    seek(page, 11.05)
    assert [line["index"] for line in current_lines(page)] == [110]
    assert in_sight(page, "#transcript > li.current")
    page.hover("#transcript")
    page.mouse.wheel(0, -50_000)  # the viewer scrolls back to the top
    wait_for(page, "document.getElementById('transcript').scrollTop === 0")
    seek(page, 6.05)
    assert [line["index"] for line in current_lines(page)] == [60]
    assert not in_sight(page, "#transcript > li.current")  # left where the viewer is
    assert page.evaluate("document.getElementById('to-current').classList.contains('away')")
    page.click("#to-current")
    assert in_sight(page, "#transcript > li.current")
    page.uncheck("#follow")
    seek(page, 1.05)
    assert [line["index"] for line in current_lines(page)] == [10]
    assert not in_sight(page, "#transcript > li.current")  # 자동 스크롤 is off
    page.close()


def test_find_highlights_every_match_and_jumps_to_each(context: Any, served: str) -> None:
    page = opened(context, f"{served}/long/index.html")
    page.fill("#find", "측정 지표")
    assert page.text_content("#find-count") == "1/4"
    assert page.locator("#transcript mark").all_inner_texts() == ["측정 지표"] * 4
    page.click("#find-next")
    assert page.text_content("#find-count") == "2/4"
    current = "#transcript mark.current"
    assert page.locator(current).count() == 1
    assert page.evaluate(f"document.querySelector('{current}').closest('li').textContent"
                         ).startswith("0:03 35번째")
    assert in_sight(page, current)
    page.press("#find", "Enter")
    assert page.text_content("#find-count") == "3/4" and in_sight(page, current)
    page.press("#find", "Shift+Enter")
    page.press("#find", "Shift+Enter")
    page.press("#find", "Shift+Enter")
    assert page.text_content("#find-count") == "4/4" and in_sight(page, current)

    page.fill("#find", "<B>굵게</b>")  # case folded; markup in a line is text
    assert page.text_content("#find-count") == "1/1"
    line = page.locator(f"#transcript > li:nth-child({MARKUP_LINE + 1})")
    assert line.locator("mark").inner_text() == "<b>굵게</b>"
    assert line.locator("b").count() == 0 and page.locator("#transcript mark").count() == 1
    page.fill("#find", "")
    assert page.locator("#transcript mark").count() == 0
    assert page.text_content("#find-count") == ""
    assert line.inner_text() == "0:07 <b>굵게</b> & 측정은 글자 그대로"
    page.close()


def test_the_copied_link_opens_at_its_second(context: Any, served: str) -> None:
    page = opened(context, page_url(served))
    page.click('a[href="#t=7.4"]')
    wait_for(page, "(() => { const v = document.getElementById('player'); "
                   "return !v.seeking && Math.abs(v.currentTime - 7.4) < 0.05; })()")
    page.click("#copy-link")
    wait_for(page, "document.getElementById('player-status').textContent === '링크를 복사했습니다'")
    link = page.evaluate("navigator.clipboard.readText()")
    assert link == page_url(served) + "#t=7"
    assert page.input_value("#share-link") == link
    other = opened(context, link)
    assert wait_for(other, "(() => { const v = document.getElementById('player'); "
                           "return !v.seeking && v.currentTime; })()") == pytest.approx(7.0)
    other.close()
    page.close()


def test_without_the_clipboard_api_the_link_is_selected_and_copied(context: Any,
                                                                    served: str) -> None:
    """As on a plain-http origin, where `navigator.clipboard` is missing."""
    page = context.new_page()
    page.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    page.goto(page_url(served) + "#t=3")
    wait_for(page, "document.getElementById('player').currentTime === 3")
    page.click("#copy-link")
    link = page_url(served) + "#t=3"
    assert page.is_visible("#share-link") and page.input_value("#share-link") == link
    selected = page.evaluate("""() => { const f = document.activeElement;
        return f.id === 'share-link' && f.value.slice(f.selectionStart, f.selectionEnd); }""")
    assert selected == link
    assert page.text_content("#player-status") == "링크를 복사했습니다"
    reader = context.new_page()
    reader.goto(page_url(served))
    reader.bring_to_front()
    assert reader.evaluate("navigator.clipboard.readText()") == link
    reader.close()
    page.close()


def focused(page: Any) -> dict[str, Any]:
    return dict(page.evaluate("""() => { const e = document.activeElement;
        const style = getComputedStyle(e);
        return {id: e.id, tag: e.tagName, ring: style.outlineStyle !== 'none'
                && parseFloat(style.outlineWidth) >= 2}; }"""))


def tab_to(page: Any, target: str, limit: int = 40) -> None:
    """Tab until the element with id `target` has focus (with `#t=` links: the first
    transcript link); its focus ring must show."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        here = focused(page)
        on_link = target == "#t=" and page.evaluate(
            "(document.activeElement.getAttribute('href') || '').startsWith('#t=')")
        if here["id"] == target or on_link:
            assert here["ring"], here
            return
    raise AssertionError(f"Tab never reached {target}")


def player(page: Any, expression: str) -> Any:
    return page.evaluate(f"(() => {{ const v = document.getElementById('player'); "
                         f"return {expression}; }})()")


def test_every_control_works_from_the_keyboard(context: Any, served: str) -> None:
    page = opened(context, page_url(served))
    stops = []
    for _ in range(40):
        page.keyboard.press("Tab")
        stops.append(focused(page))
    reached = [stop["id"] for stop in stops]
    assert all(control in reached for control in CONTROLS), reached
    assert all(stop["ring"] for stop in stops if stop["id"] in CONTROLS), stops

    page.evaluate("document.getElementById('player').muted = true")
    tab_to(page, "#t=")  # on a link the letters and Space are the player's
    page.keyboard.press("k")
    wait_for(page, "!document.getElementById('player').paused")
    page.keyboard.press("k")
    wait_for(page, "document.getElementById('player').paused")
    page.keyboard.press("Space")
    wait_for(page, "!document.getElementById('player').paused")
    page.keyboard.press("Space")
    wait_for(page, "document.getElementById('player').paused")
    before = player(page, "v.currentTime")
    page.keyboard.press("l")
    wait_for(page, f"Math.abs(document.getElementById('player').currentTime - {before + 10})"
                   " < 0.5")
    page.keyboard.press("ArrowLeft")
    wait_for(page, f"document.getElementById('player').currentTime < {before + 1}")
    page.keyboard.press(">")
    assert player(page, "v.playbackRate") == 1.25
    page.keyboard.press("<")
    assert player(page, "v.playbackRate") == 1

    tab_to(page, "rate")
    page.keyboard.press("ArrowDown")
    assert player(page, "v.playbackRate") == 1.25
    tab_to(page, "audio-only")
    page.keyboard.press("Space")
    assert player(page, "v.parentNode.classList.contains('audio-only') && "
                        "v.getBoundingClientRect().height < 80")
    tab_to(page, "copy-link")
    page.keyboard.press("Enter")
    wait_for(page, "document.getElementById('player-status').textContent === '링크를 복사했습니다'")
    tab_to(page, "find")
    page.keyboard.type("니다")
    assert page.text_content("#find-count") == "1/3"
    page.keyboard.press("Enter")
    assert page.text_content("#find-count") == "2/3"
    tab_to(page, "find-prev")
    page.keyboard.press("Enter")
    assert page.text_content("#find-count") == "1/3"
    tab_to(page, "follow")
    page.keyboard.press("Space")
    assert not page.is_checked("#follow")
    tab_to(page, "to-current")
    page.keyboard.press("Enter")

    tab_to(page, "letter-keys")  # one-letter keys off (KWCAG 2.1.4): k does nothing
    page.keyboard.press("Space")
    assert not page.is_checked("#letter-keys")
    tab_to(page, "#t=")
    page.keyboard.press("k")
    page.wait_for_timeout(300)
    assert player(page, "v.paused")
    page.keyboard.press("Space")  # not a character key: still plays
    wait_for(page, "!document.getElementById('player').paused")
    page.close()


def test_captions_are_showing_by_default(context: Any, served: str) -> None:
    page = opened(context, page_url(served, SESSIONS[1]))
    cues = wait_for(page, "(() => { const t = document.getElementById('player').textTracks[0];"
                          " return t.mode === 'showing' && t.cues && t.cues.length; })()")
    assert cues == len(SEGMENTS[1])
    page.close()


def test_without_javascript_the_transcript_and_its_links_remain(browser: Any,
                                                                 served: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(page_url(served))
    links = page.locator("#transcript a")
    assert links.count() == len(SEGMENTS[0])
    assert [links.nth(n).get_attribute("href") for n in range(3)] == ["#t=0", "#t=3", "#t=7.4"]
    assert links.all_inner_texts() == ["0:00", "0:03", "0:07"]
    assert page.locator("#transcript li").nth(1).inner_text().endswith(SEGMENTS[0][1].text)
    for control in [*CONTROLS, "share-link"]:
        assert page.locator(f"#{control}").count() == 1 and not page.is_visible(f"#{control}")
    assert not page.locator(".keys").is_visible()
    assert page.locator("video#player track[default]").count() == 1
    context.close()


def test_axe_and_a_phone_find_nothing_wrong(browser: Any, served: str) -> None:
    """With a line current and matches marked; on a phone also with a long title."""
    context = audit_context(browser)
    page = opened(context, page_url(served))
    seek(page, 4.0)
    page.fill("#find", "니다")
    page.click("#copy-link")
    assert axe_violations(page) == []
    context.close()
    phone = phone_context(browser)
    for url in (page_url(served), f"{served}/title/index.html"):
        page = opened(phone, url)
        page.fill("#find", "측정")
        page.check("#audio-only")
        page.click("#copy-link")
        assert horizontal_overflow(page) == 0, url
        assert axe_violations(page) == [], url
    phone.close()
