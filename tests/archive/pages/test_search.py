"""The forum's own search page (search.html): search in the browser, with no server.

The archive is published by the publish stage into a local folder
(tests/web_archive.py) and opened in Debian's Chromium over HTTP, as from a
bucket, and straight from the disk (file://).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from pipeline.archive.pages.search import SearchSession, search_page
from tests.archive_fixtures import Tags
from tests.web_archive import (
    FORUM,
    IMG_NAME,
    MEASURE,
    SCRIPT_LINE,
    SCRIPT_TITLE,
    SEGMENTS,
    SESSIONS,
    WebArchive,
    build_archive,
    pwned,
    served_at,
    video_time,
)

_INDEX = re.compile(r'<script type="application/json" id="search-index">(.*?)</script>', re.S)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> WebArchive:
    return build_archive(tmp_path_factory.mktemp("search-page"))


@pytest.fixture(scope="module")
def served(archive: WebArchive, http_root: tuple[Path, str]) -> str:
    """The forum's folder over HTTP (conftest's server on 127.0.0.1): its base URL."""
    return f"{served_at(http_root, 'search-page', archive.folder)}/{FORUM.id}"


def embedded(html: str) -> Any:
    found = _INDEX.search(html)
    assert found is not None
    return json.loads(found[1])


def search(page: Any, query: str) -> list[dict[str, Any]]:
    """Type `query`, press Enter; each hit's link, its text and its marked words."""
    page.fill("#q", query)
    page.press("#q", "Enter")
    page.wait_for_function("document.getElementById('status').textContent !== ''")
    return page.evaluate("""() => Array.from(document.querySelectorAll('#hits li')).map(li => ({
        href: li.querySelector('a').getAttribute('href'),
        label: li.querySelector('a').textContent,
        text: li.querySelector('p').textContent,
        marks: Array.from(li.querySelectorAll('mark')).map(m => m.textContent)}))""")


def test_publish_writes_the_page_lists_it_and_links_it(archive: WebArchive) -> None:
    forum_page = (archive.forum / "index.html").read_text("utf-8")
    assert [a["href"] for a in Tags(forum_page).all("a") if a.get("rel") == "search"] == [
        "search.html"]
    manifest = json.loads((archive.forum / "forum.json").read_text("utf-8"))
    assert f"{FORUM.id}/search.html" in {o["key"] for o in manifest["objects"]}


def test_the_index_in_the_page_is_every_segment_folded(archive: WebArchive) -> None:
    html = (archive.forum / "search.html").read_text("utf-8")
    block = _INDEX.search(html)
    assert block is not None and "<" not in block[1] and "&" not in block[1]
    data = embedded(html)
    assert data["forum"] == {"id": FORUM.id, "title": FORUM.title, "date": FORUM.date}
    assert [(s["title"], s["href"]) for s in data["sessions"]] == [
        (plan.title, f"sessions/{plan.slug}/index.html") for plan in SESSIONS]
    said = [[(seg["start"], seg["text"]) for seg in s["segments"]] for s in data["sessions"]]
    assert said == [[(seg.start, seg.text) for seg in segments] for segments in SEGMENTS]
    norms = {seg["text"]: seg["norm"] for s in data["sessions"] for seg in s["segments"]}
    assert (norms["오늘은 공공기관의 사회적 가치를 이야기합니다."]
            == "오늘은공공기관의사회적가치를이야기합니다.")
    assert norms["ESG 평가는 어떻게 바뀌어야 할까요?"] == "esg평가는어떻게바뀌어야할까요?"


def test_a_page_with_no_sessions_is_still_a_page() -> None:
    html = search_page(FORUM, [])
    assert embedded(html)["sessions"] == []
    one = search_page(FORUM, [SearchSession(SESSIONS[1], "sessions/x/index.html")])
    assert embedded(one)["sessions"][0]["segments"] == []


def test_a_hit_opens_the_session_video_at_its_second(browser: Any, served: str) -> None:
    page = browser.new_page()
    page.goto(f"{served}/index.html")
    page.click("a[rel=search]")
    hits = search(page, MEASURE)
    assert hits == [{"href": "sessions/02-panel/index.html#t=6",
                     "label": "[0:06] 2. 패널 토론",
                     "text": "한국가스공사의 성과 측정 지표를 소개합니다.",
                     "marks": ["측정", "지표"]}]
    assert page.locator("#status").inner_text() == "1건"
    page.click("#hits a")
    page.wait_for_url("**/02-panel/index.html#t=6")
    assert video_time(page) == pytest.approx(6.2, abs=1.0)
    page.close()


def test_spacing_and_case_do_not_matter_and_every_word_must_match(browser: Any,
                                                                  served: str) -> None:
    page = browser.new_page()
    page.goto(f"{served}/search.html")
    hits = search(page, "사회적가치")
    assert [(h["href"], h["marks"]) for h in hits] == [
        ("sessions/01-opening/index.html#t=3", ["사회적 가치"])]
    assert [h["marks"] for h in search(page, "esg 평가")] == [["ESG", "평가"]]
    assert search(page, "측정 없는말") == []
    assert page.locator("#status").inner_text() == "일치하는 발언이 없습니다."
    # A word in the session's title or speakers counts, with one said in the segment...
    assert [h["href"] for h in search(page, "김민지 가치")] == [
        "sessions/01-opening/index.html#t=3"]
    # ...and a title alone is one hit at the session's start.
    assert [h["href"] for h in search(page, "패널 토론")] == ["sessions/02-panel/index.html#t=0"]
    page.close()


def test_no_injected_markup_runs_and_it_shows_as_written(browser: Any, served: str) -> None:
    page = browser.new_page()
    page.goto(f"{served}/search.html?q={quote('지역 협력')}")  # ?q= searches at once
    page.wait_for_selector("#hits li")
    hit = page.evaluate("""() => { const li = document.querySelector('#hits li');
        return {label: li.querySelector('a').textContent, text: li.querySelector('p').textContent,
                who: li.querySelector('.meta').textContent}; }""")
    assert hit == {"label": f"[0:07] 1. 개회사 {SCRIPT_TITLE}",
                   "text": f"지역 협력 {SCRIPT_LINE} 사례를 보겠습니다.",
                   "who": f" · 김민지{IMG_NAME} (행정안전부)"}
    assert page.title() == f"녹취록 검색 - {FORUM.title}"
    assert search(page, "window pwned")  # the markup is text: it can even be found
    assert page.locator("#hits img, #hits script").count() == 0
    assert pwned(page) is None
    page.close()


def test_it_works_opened_from_the_disk(browser: Any, archive: WebArchive) -> None:
    page = browser.new_page()
    page.goto((archive.forum / "search.html").as_uri() + f"?q={quote(MEASURE)}")
    page.wait_for_selector("#hits li")
    page.click("#hits a")
    page.wait_for_url("file://**/02-panel/index.html#t=6")
    assert video_time(page) == pytest.approx(6.2, abs=1.0)
    page.close()
