"""The series home page (`index.html` at the archive root) in Chromium: the forums newest
first, a search across all of them over HTTP, its file:// fallback, axe-core, the
keyboard and a phone.

Two forums with 12-second counter videos and posters are published once for the
module by the publish stage into one local folder, and served over HTTP (conftest's
server on 127.0.0.1, as from a bucket). The newer forum's titles and lines carry
markup that would set `window.__pwned` if any page let it run (tests/web_archive.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from pipeline.archive.pages.home import FILE_MESSAGE
from pipeline.config.forum import Storage
from pipeline.progress import LogProgress
from pipeline.results import Clip, Segment, SessionPlan, SpeakerRef
from pipeline.stages.publish import PublishRequest, publish
from tests.archive_fixtures import write_transcript
from tests.browser_checks import (
    axe_violations,
    horizontal_overflow,
    phone_context,
)
from tests.recordings import counter_video, run
from tests.web_archive import (
    CLIP_SECONDS,
    FORUM,
    SCRIPT_LINE,
    SEGMENTS,
    SESSIONS,
    pwned,
    served_at,
    video_time,
    wait_for,
)

OLDER = FORUM.model_copy(update={"id": "web-2024", "title": "2024 포럼", "date": "2024-06-01"})
OLDER_SESSIONS = [SessionPlan(number=1, id="keynote", title="기조 발표", start=0.0,
                              end=CLIP_SECONDS, speakers=(SpeakerRef(name="박서연"),))]
OLDER_SEGMENTS = [(Segment(start=0.0, end=2.0, text="지난해 포럼에 오신 것을 환영합니다."),
                   Segment(start=8.3, end=11.0, text="사회적 가치 측정 결과를 공유합니다."))]
WORD = "가치"  # said in both: the newer forum's opening at 3.0 s, the older one's at 8.3 s


def publish_forum(work: Path, folder: Path, video: Path, poster: Path, forum: Any,
                  plans: list[SessionPlan], segments: list[tuple[Segment, ...]]) -> None:
    work.mkdir(parents=True)
    clips, transcripts = [], []
    for plan, said in zip(plans, segments, strict=True):
        path = Path(shutil.copy(video, work / f"{plan.slug}.mp4"))
        clips.append(Clip(session=plan, path=path, duration=CLIP_SECONDS,
                          poster=Path(shutil.copy(poster, work / f"{plan.slug}.jpg"))))
        transcripts.append(write_transcript(work, plan, said))
    publish(PublishRequest(forum=forum, clips=clips, transcripts=transcripts, materials=[],
                           storage=Storage(local=folder)), LogProgress())


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The archive folder, the older forum published last."""
    root = tmp_path_factory.mktemp("home")
    video = counter_video(root / "counter.mp4", CLIP_SECONDS, [440.0])
    poster = root / "poster.jpg"
    run("-i", str(video), "-frames:v", "1", str(poster))
    folder = root / "archive"
    publish_forum(root / "work-2025", folder, video, poster, FORUM, SESSIONS, SEGMENTS)
    publish_forum(root / "work-2024", folder, video, poster, OLDER, OLDER_SESSIONS,
                  OLDER_SEGMENTS)
    return folder


@pytest.fixture(scope="module")
def served(archive: Path, http_root: tuple[Path, str]) -> str:
    return served_at(http_root, "home-page", archive)


@pytest.fixture(scope="module")
def phone(browser: Any) -> Iterator[Any]:
    context = phone_context(browser)
    yield context
    context.close()


def fetched(page: Any) -> list[str]:
    """The search indexes `page` asks for from now on."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url.rsplit("/", 2)[-2])
            if "search-index.json" in request.url else None)
    return urls


def search(page: Any, query: str) -> list[dict[str, Any]]:
    page.fill("#q", query)
    page.press("#q", "Enter")
    wait_for(page, "(() => { const s = document.getElementById('status').textContent; "
                   "return s !== '' && s !== '찾는 중…'; })()")
    return page.evaluate("""() => Array.from(document.querySelectorAll('#hits li')).map(li => ({
        href: li.querySelector('a').getAttribute('href'),
        about: Array.from(li.querySelectorAll('.meta')).map(m => m.textContent).join(''),
        marks: Array.from(li.querySelectorAll('mark')).map(m => m.textContent)}))""")


def posters(page: Any) -> list[tuple[str, int]]:
    """Each poster's src and its loaded width (0 when it did not load)."""
    wait_for(page, "Array.from(document.images).every(i => i.complete)")
    return page.evaluate("Array.from(document.images).map(i => "
                         "[i.getAttribute('src'), i.naturalWidth])")


def test_the_forums_newest_first_with_posters_and_no_index_loaded(browser: Any,
                                                                  served: str) -> None:
    page = browser.new_page()
    asked = fetched(page)
    page.goto(f"{served}/index.html")
    headings = page.locator(".forum h3 a")
    assert headings.all_inner_texts() == [FORUM.title, OLDER.title]
    assert [headings.nth(i).get_attribute("href") for i in range(2)] == [
        f"{FORUM.id}/index.html", f"{OLDER.id}/index.html"]
    shown = posters(page)
    assert [src.split("?v=")[0] for src, _ in shown] == [
        f"{forum}/sessions/01-{plan}/poster.jpg"
        for forum, plan in ((FORUM.id, "opening"), (OLDER.id, "keynote"))]
    assert all(width == 160 for _, width in shown)
    page.locator(".sessions a").first.click()
    page.wait_for_url(f"**/{FORUM.id}/sessions/01-opening/index.html")
    assert asked == [] and pwned(page) is None  # the home page alone fetches nothing
    page.close()


def test_series_search_finds_each_forum_and_opens_the_session_at_its_second(
        browser: Any, served: str) -> None:
    page = browser.new_page()
    asked = fetched(page)
    page.goto(f"{served}/index.html")
    hits = search(page, WORD)
    assert [(h["href"], h["marks"]) for h in hits] == [
        (f"{FORUM.id}/sessions/01-opening/index.html#t=3", ["가치"]),
        (f"{OLDER.id}/sessions/01-keynote/index.html#t=8", ["가치"])]
    assert hits[1]["about"] == f" · 박서연 · {OLDER.title} ({OLDER.date})"
    assert page.locator("#status").inner_text() == "2건"
    assert sorted(asked) == sorted([FORUM.id, OLDER.id])
    assert [h["href"] for h in search(page, "측정 지표")] == [
        f"{FORUM.id}/sessions/02-panel/index.html#t=6"]
    assert search(page, "없는말입니다") == []
    assert len(asked) == 2  # each index fetched once, then kept
    search(page, WORD)
    page.click(f'a[href="{OLDER.id}/sessions/01-keynote/index.html#t=8"]')
    page.wait_for_url(f"**/{OLDER.id}/sessions/01-keynote/index.html#t=8")
    assert video_time(page) == pytest.approx(8.3, abs=1.0)
    page.close()


def test_no_injected_markup_runs_and_it_shows_as_written(browser: Any, served: str) -> None:
    page = browser.new_page()
    page.goto(f"{served}/index.html?q={quote('지역 협력')}")  # ?q= searches at once
    page.wait_for_selector("#hits li")
    assert page.locator("#hits li p").inner_text() == f"지역 협력 {SCRIPT_LINE} 사례를 보겠습니다."
    assert SESSIONS[0].title in page.locator(".forum").first.inner_text()
    assert page.locator("#hits img, #hits script, .forum script").count() == 0
    assert pwned(page) is None
    page.close()


def test_from_the_disk_it_sends_the_search_to_each_forums_own_page(browser: Any,
                                                                   archive: Path) -> None:
    page = browser.new_page()
    page.goto((archive / "index.html").as_uri() + f"?q={quote(WORD)}")
    wait_for(page, "document.querySelectorAll('#elsewhere a').length")
    assert page.locator("#status").inner_text() == FILE_MESSAGE
    links = page.locator("#elsewhere a")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [
        f"{forum}/search.html?q={quote(WORD)}" for forum in (FORUM.id, OLDER.id)]
    assert all(width == 160 for _, width in posters(page))  # posters show from the disk too
    links.nth(1).click()
    page.wait_for_selector("#hits li")  # the forum's own page works from the disk
    assert page.locator("#hits a").get_attribute("href") == (
        "sessions/01-keynote/index.html#t=8")
    page.close()


def test_axe_the_keyboard_and_a_phone_find_nothing_wrong(phone: Any, served: str) -> None:
    page = phone.new_page()
    page.goto(f"{served}/index.html")
    assert axe_violations(page) == []
    assert horizontal_overflow(page) == 0
    for _ in range(5):  # the skip link, then the search field
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "q":
            break
    assert page.evaluate("document.activeElement.id") == "q"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.type(WORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("#hits li")
    assert axe_violations(page) == [] and horizontal_overflow(page) == 0
    page.keyboard.press("Tab")  # from the field: the button, then the first hit
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == f"{FORUM.id}/sessions/01-opening/index.html#t=3"
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/{FORUM.id}/sessions/01-opening/index.html#t=3")
    page.close()
