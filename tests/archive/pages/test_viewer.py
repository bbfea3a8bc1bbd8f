"""The viewer pages in a real browser: a search hit opens the clip at the right second.

Playwright drives Debian's Chromium (/usr/bin/chromium, installed by `make setup`); it never
downloads a browser. The archive is the embedded default, a local folder, so hits are
file:// links, which Chromium can seek in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.catalogue import SearchQuery, search
from pipeline.cli import main

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
