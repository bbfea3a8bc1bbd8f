"""Every kind of archive page, audited in Chromium: axe-core, the keyboard, a phone.

KWCAG 2.2 (the Korean public sector's web accessibility standard, after WCAG) asks for
what these tests check by machine: text alternatives and labels, the language set,
contrast, focus that shows, keyboard operation, and a layout that holds at 390 px.
The README's "Accessibility" section lists each item and how the pages meet it.

One archive (tests/web_archive.py: two sessions, a 자료집, titles full of markup) is
published once for the module and served over HTTP, as from a bucket.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser_checks import (
    audit_context,
    axe_violations,
    horizontal_overflow,
    phone_context,
)
from tests.web_archive import (
    FORUM,
    MEASURE,
    SESSIONS,
    WebArchive,
    build_archive,
    served_at,
    wait_for,
)

pytestmark = pytest.mark.slow

PAGES = {  # under the archive root
    "home": "index.html",
    "forum": f"{FORUM.id}/index.html",
    "search": f"{FORUM.id}/search.html",
    "session": f"{FORUM.id}/sessions/{SESSIONS[0].slug}/index.html",
}


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> WebArchive:
    return build_archive(tmp_path_factory.mktemp("a11y"))


@pytest.fixture(scope="module")
def served(archive: WebArchive, http_root: tuple[Path, str]) -> str:
    return served_at(http_root, "a11y", archive.folder)


@pytest.fixture(scope="module")
def context(browser: Any) -> Iterator[Any]:
    context = audit_context(browser)
    yield context
    context.close()


@pytest.fixture(scope="module")
def phone(browser: Any) -> Iterator[Any]:
    context = phone_context(browser)
    yield context
    context.close()


def opened(context: Any, url: str) -> Any:
    """The page at `url`, loaded, with its autofocus (search.html's box) applied: Chromium
    focuses an `autofocus` element at a rendering update after load, so a test that
    reads the focus or presses Tab straight away would race it."""
    page = context.new_page()
    page.goto(url)
    page.wait_for_load_state("load")
    wait_for(page, "(() => { const box = document.querySelector('[autofocus]');"
                   " return !box || document.activeElement === box; })()")
    return page


@pytest.mark.parametrize("kind", sorted(PAGES))
def test_axe_finds_no_violations(context: Any, served: str, kind: str) -> None:
    page = opened(context, f"{served}/{PAGES[kind]}")
    assert page.evaluate("document.documentElement.lang") == "ko"
    assert axe_violations(page) == []
    page.close()


def test_axe_finds_no_violations_on_search_results(context: Any, served: str) -> None:
    page = opened(context, f"{served}/{FORUM.id}/search.html")
    page.fill("#q", MEASURE)
    page.press("#q", "Enter")
    page.wait_for_selector("#hits li")
    assert axe_violations(page) == []
    page.close()


@pytest.mark.parametrize("kind", sorted(PAGES))
def test_a_phone_never_scrolls_sideways(phone: Any, served: str, kind: str,
                                        tmp_path: Path) -> None:
    page = opened(phone, f"{served}/{PAGES[kind]}")
    page.screenshot(path=str(tmp_path / f"{kind}-390.png"), full_page=True)
    assert horizontal_overflow(page) == 0
    page.close()


def focused(page: Any) -> dict[str, Any]:
    """The focused element: what it is and whether its focus ring shows."""
    return dict(page.evaluate("""() => {
        const e = document.activeElement, style = getComputedStyle(e);
        return {tag: e.tagName.toLowerCase(), id: e.id, text: (e.textContent || '').trim(),
                href: e.getAttribute('href') || '',
                ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2};
    }"""))


def tab_through(page: Any, limit: int = 60) -> list[dict[str, Any]]:
    """Every stop of the Tab key from the top of the page, once round; the element
    focused on load (autofocus) first."""
    start = focused(page)
    stops: list[dict[str, Any]] = [] if start["tag"] == "body" else [start]
    for _ in range(limit):
        page.keyboard.press("Tab")
        here = focused(page)
        if here["tag"] == "body" or (stops and here == stops[0]):
            break
        stops.append(here)
    return stops


def test_the_keyboard_reaches_every_link_of_the_forum_page_with_a_visible_ring(
        context: Any, served: str) -> None:
    page = opened(context, f"{served}/{FORUM.id}/index.html")
    links = page.evaluate("Array.from(document.querySelectorAll('a[href]'))"
                          ".map(a => a.getAttribute('href'))")
    stops = tab_through(page)
    assert [stop["href"] for stop in stops] == links
    assert all(stop["ring"] for stop in stops)
    page.close()


@pytest.mark.parametrize("kind", sorted(PAGES))
def test_the_first_tab_stop_skips_to_the_content(context: Any, served: str,
                                                  kind: str) -> None:
    page = opened(context, f"{served}/{PAGES[kind]}")
    if page.evaluate("document.activeElement !== document.body"):
        # search.html puts the focus in its box, inside <main>, already
        assert page.evaluate("document.querySelector('main').contains(document.activeElement)")
        return
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "본문 바로가기" and focused(page)["ring"]
    page.keyboard.press("Enter")
    assert focused(page)["tag"] == "main"
    page.close()


def test_the_search_page_works_from_the_keyboard_alone(context: Any, served: str) -> None:
    page = opened(context, f"{served}/{FORUM.id}/search.html")
    stops = tab_through(page)
    assert [stop["id"] for stop in stops if stop["tag"] in ("input", "button")] == ["q", ""]
    assert all(stop["ring"] for stop in stops)
    page.close()
    page = opened(context, f"{served}/{FORUM.id}/search.html")
    assert focused(page)["id"] == "q"  # autofocus: type straight away
    page.keyboard.type(MEASURE)
    page.keyboard.press("Enter")
    page.wait_for_selector("#hits li a")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # past the button, to the first hit
    assert focused(page)["href"].endswith("#t=6")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/sessions/{SESSIONS[1].slug}/index.html#t=6")
    page.close()
