"""The viewer pages in a real browser: a search hit opens the clip at the right second.

Playwright drives Debian's Chromium (/usr/bin/chromium, installed by `make setup`); it never
downloads a browser. The archive is the embedded default, a local folder, so hits are
file:// links, which Chromium can seek in.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pipeline.archive.pages.document import script_hash
from pipeline.archive.pages.player import PLAYER_JS
from pipeline.archive.pages.viewer import session_page
from pipeline.catalogue import SearchQuery, search
from pipeline.cli import main
from pipeline.results import ForumSummary, Segment, SessionPlan
from pipeline.web.policy import PLAYER_SCRIPT, SESSION_POLICY
from tests.archive_fixtures import Tags

pytestmark = pytest.mark.slow
@pytest.fixture(scope="module")
def local_archive(small_demo: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo archived into its default local folder; returns the catalogue."""
    state = tmp_path_factory.mktemp("viewer")
    catalogue = state / "catalogue.sqlite"
    code = main(["run", str(small_demo.config_path), "--work-dir", str(state / "work"),
                 "--catalogue", str(catalogue), "--quiet"])
    assert code == 0
    return catalogue


def player_state(page: Any) -> dict[str, Any]:
    page.wait_for_function("document.getElementById('player').readyState >= 1",
                           timeout=20_000)
    page.wait_for_function("document.getElementById('player').seeking === false")
    return page.evaluate("""() => {
        const video = document.getElementById('player');
        const track = video.textTracks[0];
        if (track) { track.mode = 'hidden'; }
        return {time: video.currentTime, duration: video.duration,
                tracks: video.textTracks.length, language: track ? track.language : null};
    }""")


def test_search_hit_opens_the_clip_at_its_second(browser: Any, local_archive: Path) -> None:
    hits = search(local_archive, SearchQuery("사람들")).hits
    assert hits
    hit = hits[0]
    assert hit.url and hit.url.startswith("file://")
    page = browser.new_page()
    page.goto(hit.url)
    state = player_state(page)
    assert state["time"] == pytest.approx(int(hit.start), abs=0.05)
    assert state["duration"] > hit.start
    assert (state["tracks"], state["language"]) == (1, "ko")
    page.close()


def test_over_http_transcript_links_seek_and_subtitles_load(
        browser: Any, local_archive: Path, small_demo: Any, http_root: tuple[Path, str]) -> None:
    """Served over HTTP, as from a bucket: Chromium loads subtitles only there, not file://."""
    folder, base = http_root
    served = folder / "viewer"
    if not served.exists():
        served.symlink_to(small_demo.config_path.parent / "archive", target_is_directory=True)
    hit = search(local_archive, SearchQuery("사람들")).hits[0]
    relative = hit.url.split("/archive/", 1)[1].split("#")[0]
    page = browser.new_page()
    page.goto(f"{base}/viewer/{relative}")
    assert player_state(page)["time"] == 0
    link = page.locator('a[href^="#t="]').nth(2)
    target = float(link.get_attribute("href").removeprefix("#t="))
    link.click()
    page.wait_for_function(f"Math.abs(document.getElementById('player').currentTime - {target})"
                           " < 0.05", timeout=10_000)
    page.wait_for_function("document.getElementById('player').textTracks[0].cues"
                           " && document.getElementById('player').textTracks[0].cues.length > 0",
                           timeout=10_000)
    cues = page.evaluate("Array.from(document.getElementById('player').textTracks[0].cues)"
                         ".map(c => c.text).join(' ')")
    assert hit.text.split()[0] in cues
    page.close()


def test_forum_page_links_every_session_and_the_proceedings(browser: Any,
                                                            local_archive: Path) -> None:
    hit = search(local_archive, SearchQuery("사람들")).hits[0]
    forum_page = hit.url.split("sessions/")[0] + "index.html"
    page = browser.new_page()
    page.goto(forum_page)
    sessions = page.locator('a[href*="sessions/"]')
    assert sessions.count() == 3
    assert page.locator('a[href*=".pdf?v="]').count() == 1  # versioned: cached for a year
    assert page.locator('a[href^="materials.zip?v="]').count() == 1
    sessions.first.click()
    page.wait_for_load_state()
    assert "01-keynote" in page.url and page.locator("video#player").count() == 1
    page.close()


def test_the_player_shows_a_poster_that_is_not_the_title_card(
        browser: Any, local_archive: Path, small_demo: Any, http_root: tuple[Path, str]) -> None:
    from pipeline.media.posters import FLAT_SPREAD, frame_stats

    folder, base = http_root
    served = folder / "viewer"
    if not served.exists():
        served.symlink_to(small_demo.config_path.parent / "archive", target_is_directory=True)
    hit = search(local_archive, SearchQuery("사람들")).hits[0]
    relative = hit.url.split("/archive/", 1)[1].split("#")[0]
    page = browser.new_page()
    page.goto(f"{base}/viewer/{relative}")
    poster = page.evaluate("document.getElementById('player').poster")
    assert poster.split("?v=")[0].endswith("/poster.jpg")
    loaded = page.evaluate("""async (src) => { const img = new Image(); img.src = src;
        await img.decode(); return [img.naturalWidth, img.naturalHeight]; }""", poster)
    assert loaded[0] > 0 and loaded[1] > 0
    page.close()
    session_folder = (small_demo.config_path.parent / "archive" / relative).parent
    stats = frame_stats(session_folder / "poster.jpg", 0.0)
    first = frame_stats(session_folder / f"{session_folder.name}.mp4", 0.0)
    # The clip opens on the dark title card; the poster is the light speaker slide.
    assert stats is not None and first is not None and stats[1] >= FLAT_SPREAD
    assert stats[0] > first[0] + 40, (stats, first)


# ----- the session page's HTML, without a browser -----

PLAYER_CONTROLS = ("rate", "audio-only", "copy-link", "share-link", "find", "find-prev",
                   "find-next", "follow", "to-current")


def plain_session_page(title: str, segments: tuple[Segment, ...]) -> str:
    forum = ForumSummary(id="f", title="포럼", date="2025-11-20", organiser="기관",
                         language="ko")
    plan = SessionPlan(number=1, id="s", title=title, start=0.0, end=12.0, speakers=())
    return session_page(forum, plan, duration=12.0,
                        files={"video": "s.mp4?v=1", "vtt": "s.ko.vtt?v=1"}, language="ko",
                        segments=segments, forum_href="../../index.html")


LINES = (Segment(start=0.0, end=2.0, text="안녕하십니까."),
         Segment(start=3.25, end=5.0, text="<script>window.x = 1</script> & 측정"))


def test_the_session_pages_script_is_one_constant_the_policy_allows() -> None:
    """No page data inside the script: every session page carries the same one, the one
    whose hash the web app's policy names."""
    pages = [plain_session_page("가", LINES), plain_session_page("나 </script>", LINES[:1])]
    scripts = [re.findall(r"<script>(.*?)</script>", html, flags=re.S) for html in pages]
    assert scripts == [["\n" + PLAYER_JS + "\n"]] * 2
    assert script_hash("\n" + PLAYER_JS + "\n") == PLAYER_SCRIPT
    assert f"script-src {PLAYER_SCRIPT};" in SESSION_POLICY


def test_controls_that_need_the_script_are_hidden_and_labelled() -> None:
    html = plain_session_page("가", LINES)
    tags = Tags(html)
    labelled = {attrs["for"] for attrs in tags.all("label") if attrs.get("for")}
    for control in PLAYER_CONTROLS:
        assert html.count(f'id="{control}"') == 1, control
        wrapped = re.search(rf'<label class="check"><input type="checkbox" id="{control}"[^>]*>'
                            r" [가-힣 ]+</label>", html)
        button = re.search(rf'<button type="button" id="{control}">[가-힣 ]+</button>', html)
        assert control in labelled or wrapped or button, control
    needs_script = [attrs for _, attrs in tags.tags if "data-player" in attrs]
    assert len(needs_script) == 3 and all("hidden" in attrs for attrs in needs_script)
    assert 'id="share" class="share" hidden' in html
    [track] = tags.all("track")
    assert "default" in track and track["srclang"] == "ko"


def test_each_line_has_its_time_link_and_its_text_escaped() -> None:
    html = plain_session_page("가", LINES)
    assert '<li><a href="#t=0">0:00</a> <span>안녕하십니까.</span></li>' in html
    assert ('<li><a href="#t=3.25">0:03</a> <span>&lt;script&gt;window.x = 1&lt;/script&gt;'
            " &amp; 측정</span></li>") in html
    without = plain_session_page("가", ())
    assert 'id="transcript"' not in without and 'id="find"' not in without
    assert 'id="copy-link"' in without  # the player's own controls stay
