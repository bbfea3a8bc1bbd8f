"""`sort-archive serve`: the search page and /api/search, as a real server and a real browser.

The app runs as staff start it (`python -m pipeline serve --port 0`, a subprocess on
127.0.0.1) over a catalogue and a local archive that the publish and index stages
wrote (tests/web_archive.py). Chromium is Debian's, driven by Playwright.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from pipeline.archive.pages.document import script_hash
from pipeline.cli import build_parser, main
from pipeline.web.policy import archive_headers, archive_type, page_policy
from tests.archive_fixtures import Tags
from tests.web_archive import (
    FORUM,
    HTML_MATERIAL,
    IMG_NAME,
    MATERIAL_PAGE,
    MEASURE,
    SCRIPT_LINE,
    SCRIPT_TITLE,
    SEGMENTS,
    SVG_MATERIAL,
    WebArchive,
    build_archive,
    pwned,
    video_time,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> WebArchive:
    return build_archive(tmp_path_factory.mktemp("web"))


def serving(folder: Path, *args: str) -> Generator[str, None, None]:
    """`sort-archive serve --port 0 ARGS` in a subprocess; yields its base URL."""
    out, err = folder / "stdout.txt", folder / "stderr.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--port", "0",
                                    *args], stdout=stdout, stderr=stderr, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while "http://" not in out.read_text():
            assert process.poll() is None, err.read_text()
            assert time.monotonic() < deadline, err.read_text()
            time.sleep(0.1)
        found = re.search(r"(http://[^/\s]+)/", out.read_text())
        assert found is not None
        yield found[1]
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def app(archive: WebArchive, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serving(tmp_path_factory.mktemp("serve"), "--catalogue", str(archive.catalogue),
                       "--archive", str(archive.folder))


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def api(app: str, **params: str) -> tuple[int, Any, bytes]:
    return get(f"{app}/api/search?{urlencode(params)}")


@pytest.mark.parametrize(("query", "options"), [
    (MEASURE, {}),
    ("사회적", {"speaker": "김민지"}),
    ("선언문", {}),
    ("포럼", {"forum": FORUM.id, "since": "2025-01-01", "limit": "1"}),
    ("포럼", {"since": "2026-01-01"}),
    ("없는말입니다", {}),
])
def test_the_api_answers_what_search_json_prints(
        app: str, archive: WebArchive, capsys: pytest.CaptureFixture[str], query: str,
        options: dict[str, str]) -> None:
    status, headers, body = api(app, q=query, **options)
    flags = [part for name, value in options.items() for part in (f"--{name}", value)]
    assert main(["search", query, "--json", "--catalogue", str(archive.catalogue), *flags]) == 0
    printed = capsys.readouterr().out
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert body == printed.removesuffix("\n").encode("utf-8")  # byte for byte


def test_the_api_keeps_markup_as_text_and_says_where_the_next_page_is(app: str) -> None:
    hit = json.loads(api(app, q="지역 협력")[2])["hits"][0]
    assert (hit["text"], hit["session_title"], hit["forum_title"]) == (
        f"지역 협력 {SCRIPT_LINE} 사례를 보겠습니다.", f"개회사 {SCRIPT_TITLE}", FORUM.title)

    every = json.loads(api(app, q="포럼", limit="100")[2])["hits"]
    assert len(every) >= 2
    _, headers, body = api(app, q="포럼", limit="1")
    assert json.loads(body)["hits"] == every[:1]
    assert headers["Link"] == '<?q=%ED%8F%AC%EB%9F%BC&limit=1&offset=1>; rel="next"'
    _, headers, body = api(app, q="포럼", limit="1", offset=str(len(every) - 1))
    assert json.loads(body)["hits"] == every[-1:] and "Link" not in headers


@pytest.mark.parametrize(("params", "message"), [
    ({"q": "가치", "since": "2024-13-01"}, "not a date: '2024-13-01' (use YYYY-MM-DD)"),
    ({"q": "가치", "limit": "0"}, "limit must be a whole number from 1 to 100, not '0'"),
    ({"q": "가치", "limit": "101"}, "limit must be a whole number from 1 to 100, not '101'"),
    ({"q": "가치", "limit": "ten"}, "limit must be a whole number from 1 to 100, not 'ten'"),
    ({"q": "가치", "offset": "-1"}, "offset must be a whole number from 0 to 10000, not '-1'"),
    ({"q": "가치", "offset": "9" * 30}, "offset must be a whole number from 0 to 10000"),
    ({"q": "가" * 201}, "the query is 201 characters long; give at most 200"),
])
def test_a_bad_request_is_a_400_with_one_line(app: str, params: dict[str, str],
                                              message: str) -> None:
    status, _, body = api(app, **params)
    assert status == 400
    error = json.loads(body)["error"]
    assert message in error and "\n" not in error

    status, _, body = get(f"{app}/?{urlencode(params)}")
    html = body.decode("utf-8")
    assert status == 400 and "Traceback" not in html
    alert = html.split('role="alert">', 1)[1].split("</p>", 1)[0]
    assert message.replace("'", "&#x27;") in alert
    assert 'name="q"' in html  # the form is there to fix the query


def test_control_characters_in_a_query_are_spaces(app: str) -> None:
    """A NUL (or any control character) in ?q= is a space, not a damaged catalogue."""
    status, _, body = api(app, q="지역\x00협력")
    assert status == 200 and json.loads(body)["query"] == "지역 협력"
    assert json.loads(body)["hits"] == json.loads(api(app, q="지역 협력")[2])["hits"]


def test_the_api_wants_words_and_the_page_without_them_is_the_form(app: str) -> None:
    status, _, body = api(app)
    assert (status, json.loads(body)) == (400, {"error": "give the words to find: "
                                                         "/api/search?q=..."})
    status, headers, body = get(f"{app}/")
    assert status == 200 and b'role="search"' in body and b"<li>" not in body
    assert "script-src" not in headers["Content-Security-Policy"]  # none runs: default-src


def test_a_missing_or_damaged_catalogue_is_a_clear_error_without_its_path(
        tmp_path: Path) -> None:
    """The catalogue's messages reach the browser with "the catalogue" for its file: no
    path on the server in any answer; the server's log keeps the whole message."""
    catalogue = tmp_path / "nowhere" / "catalogue.sqlite"
    server = serving(tmp_path, "--catalogue", str(catalogue))
    app = next(server)

    def no_path(body: bytes) -> str:
        text = body.decode("utf-8")
        for path in (catalogue, catalogue.parent, tmp_path, tmp_path.resolve()):
            assert str(path) not in text
        assert "/tmp" not in text and "Traceback" not in text
        return text

    try:
        assert "no catalogue at" in (tmp_path / "stderr.txt").read_text()
        status, _, body = api(app, q="가치")
        assert status == 503
        assert json.loads(no_path(body)) == {
            "error": "no catalogue at the server's catalogue path yet; run `sort-archive run "
                     "CONFIG` first, or set SORT_ARCHIVE_CATALOGUE"}
        status, _, body = get(f"{app}/?{urlencode({'q': '가치'})}")
        assert status == 503 and "no catalogue at the server&#x27;s catalogue path yet" in (
            no_path(body))
        status, _, body = get(f"{app}/")
        assert status == 503 and 'role="alert"' in no_path(body)  # said at once

        catalogue.parent.mkdir()
        catalogue.write_bytes(b"not a catalogue at all " * 100)
        status, _, body = api(app, q="가치")
        error = json.loads(no_path(body))["error"]
        assert status == 503 and "the catalogue" in error, error
        status, _, body = get(f"{app}/?{urlencode({'q': '가치'})}")
        assert status == 503 and "the catalogue" in no_path(body)
        for path in ("/archive/x.pdf", "/nothing", "/api/nothing"):  # no archive: 404s
            status, _, body = get(f"{app}{path}")
            assert status == 404 and no_path(body) == "Not Found"
    finally:
        server.close()
    log = (tmp_path / "stderr.txt").read_text()
    assert f"cannot search: no catalogue at {catalogue} yet" in log  # the log says where


def test_filters_forum_speaker_and_since(app: str) -> None:
    def segments(**params: str) -> list[str]:
        html = get(f"{app}/?{urlencode(params)}")[2].decode("utf-8")
        return [a["href"] or "" for a in Tags(html).all("a") if "#t=" in (a["href"] or "")]

    assert segments(q="사회적") == [f"archive/{FORUM.id}/sessions/01-opening/index.html#t=3"]
    assert segments(q="사회적", speaker="윤태범") == []
    assert segments(q="평가", speaker="윤태범", forum=FORUM.id, since=FORUM.date) == [
        f"archive/{FORUM.id}/sessions/02-panel/index.html#t=0"]
    assert segments(q="평가", since="2025-11-21") == []
    assert segments(q="평가", forum="another-forum") == []


def test_every_link_is_relative_so_a_proxy_may_mount_the_app_anywhere(app: str) -> None:
    def links(**params: str) -> list[str]:
        tags = Tags(get(f"{app}/?{urlencode(params)}")[2].decode("utf-8"))
        return ([a["href"] or "" for a in tags.all("a")]
                + [f["action"] or "" for f in tags.all("form")])

    first, second = links(q="포럼", limit="1"), links(q="포럼", limit="1", offset="1")
    assert "?q=%ED%8F%AC%EB%9F%BC&limit=1&offset=1" in first  # next
    assert "?q=%ED%8F%AC%EB%9F%BC&limit=1" in second  # previous: the first page
    assert [h for h in first + second if h.startswith("archive/")]
    assert not [h for h in first + second if h.startswith("/")]


def test_the_archive_is_served_as_storage_serves_it(app: str) -> None:
    html = get(f"{app}/?{urlencode({'q': '선언문'})}")[2].decode("utf-8")
    hrefs = [a["href"] or "" for a in Tags(html).all("a")]
    pdf = next(h for h in hrefs if ".pdf" in h)
    assert pdf.startswith(f"archive/{FORUM.id}/materials/") and pdf.endswith(
        f"#page={MATERIAL_PAGE}")
    status, headers, body = get(f"{app}/{pdf.split('#')[0]}")
    assert (status, headers["Content-Type"], body[:5]) == (200, "application/pdf", b"%PDF-")

    clip = f"{app}/archive/{FORUM.id}/sessions/02-panel/02-panel.mp4"
    status, headers, body = get(clip, {"Range": "bytes=100-199"})  # how a player seeks
    assert (status, headers["Content-Type"], len(body)) == (206, "video/mp4", 100)
    status, headers, body = get(f"{app}/archive/{FORUM.id}/sessions/02-panel/02-panel.ko.vtt")
    assert (status, headers["Content-Type"]) == (200, "text/vtt; charset=utf-8")
    assert get(f"{app}/archive/../catalogue.sqlite")[0] == 404


def inline_script_hashes(html: str) -> set[str]:
    """The CSP sources of the page's inline scripts (not its JSON data)."""
    return {script_hash(found) for found in
            re.findall(r"<script>(.*?)</script>", html, flags=re.S)}


def test_our_pages_have_their_own_policies(app: str) -> None:
    """Each page allows its own inline script (by its hash) and nothing else runs; the
    forum and search pages are in an opaque origin; the session page keeps its origin
    (for its subtitles) but is sandboxed too."""
    folder = f"{app}/archive/{FORUM.id}"
    for path, scripts, same_origin in [("index.html", 0, False), ("search.html", 1, False),
                                       ("sessions/02-panel/index.html", 1, True)]:
        status, headers, body = get(f"{folder}/{path}")
        policy = headers["Content-Security-Policy"]
        assert status == 200 and headers["X-Content-Type-Options"] == "nosniff", path
        assert policy.startswith("default-src 'none';") and "; sandbox" in policy, path
        assert ("allow-same-origin" in policy) is same_origin, path
        assert "unsafe-eval" not in policy and "Content-Disposition" not in headers, path
        hashes = inline_script_hashes(body.decode("utf-8"))
        assert len(hashes) == scripts and all(h in policy for h in hashes), path
        script_src = re.search(r"script-src ([^;]*)", policy)
        assert (script_src[1].split() if script_src else []) == sorted(hashes), path


def test_every_other_archive_answer_is_strict(app: str) -> None:
    """Materials and media are shown but nothing in them runs; markup is saved, not
    opened, whatever it is called; 404s and 304s carry the policy too."""
    folder = f"{app}/archive/{FORUM.id}"
    cases = {  # path: (Content-Type, Content-Disposition)
        f"materials/{quote('자료집.pdf')}": ("application/pdf", None),
        f"materials/{SVG_MATERIAL}": ("image/svg+xml", f'attachment; filename="{SVG_MATERIAL}"'),
        f"materials/{HTML_MATERIAL}": ("text/html; charset=utf-8",
                                       f'attachment; filename="{HTML_MATERIAL}"'),
        "sessions/02-panel/02-panel.ko.vtt": ("text/vtt; charset=utf-8", None),
        "forum.json": ("application/json", None),
    }
    for path, (content_type, disposition) in cases.items():
        status, headers, _ = get(f"{folder}/{path}")
        assert (status, headers["Content-Type"]) == (200, content_type), path
        assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Content-Disposition"] == disposition, path

    status, headers, _ = get(f"{folder}/sessions/02-panel/02-panel.mp4")
    policy = headers["Content-Security-Policy"]  # the browser's player fetches it again
    assert status == 200 and policy.startswith("default-src 'none'; media-src 'self';")
    assert "sandbox" in policy and "allow-scripts" not in policy

    etag = get(f"{folder}/index.html")[1]["ETag"]
    for status, headers in [get(f"{folder}/materials/nothing.svg")[:2],
                            get(f"{app}/archive/")[:2],
                            get(f"{folder}/index.html", {"If-None-Match": etag})[:2]]:
        assert status in (404, 304) and headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in headers["Content-Security-Policy"]


def test_a_hit_opens_the_session_video_at_its_second(browser: Any, app: str) -> None:
    page = browser.new_page()
    page.goto(f"{app}/")
    page.fill("input[name=q]", MEASURE)
    page.press("input[name=q]", "Enter")
    page.wait_for_selector(".hits li")
    hit = page.locator(".hits li a").first
    assert "패널 토론" in hit.inner_text()
    assert page.locator(".hits li mark").all_inner_texts() == ["측정", "지표"]
    hit.click()
    page.wait_for_url("**/02-panel/index.html#t=6")
    assert video_time(page) == pytest.approx(6.2, abs=1.0)
    page.close()


def test_no_injected_markup_runs_anywhere(browser: Any, app: str) -> None:
    page = browser.new_page()
    page.goto(f"{app}/?{urlencode({'q': '지역 협력'})}")
    assert page.locator(".snippet").inner_text() == f"지역 협력 {SCRIPT_LINE} 사례를 보겠습니다."
    assert page.locator(".hits li a").inner_text() == f"[0:07] 개회사 {SCRIPT_TITLE}"
    meta = page.locator(".hits li .meta").inner_text()
    assert FORUM.title in meta and IMG_NAME in meta
    assert FORUM.title in page.locator("select[name=forum]").inner_text()
    assert pwned(page) is None

    page.goto(f"{app}/?{urlencode({'q': SCRIPT_LINE, 'speaker': IMG_NAME})}")
    assert page.input_value("input[name=q]") == SCRIPT_LINE
    assert page.input_value("input[name=speaker]") == IMG_NAME
    assert page.title().startswith(SCRIPT_LINE)
    assert pwned(page) is None

    page.goto(f"{app}/api/search?{urlencode({'q': '지역 협력'})}")
    shown = json.loads(page.locator("body").inner_text())
    assert shown["hits"][0]["text"] == f"지역 협력 {SCRIPT_LINE} 사례를 보겠습니다."
    assert pwned(page) is None

    page.goto(f"{app}/archive/{FORUM.id}/sessions/01-opening/index.html")
    assert SCRIPT_TITLE in page.locator("h1").inner_text()
    assert pwned(page) is None
    page.close()


def refusals(page: Any) -> list[str]:
    """What the browser refuses on `page` from now on (CSP, cross-origin loads), as said
    on its console."""
    said: list[str] = []
    page.on("console", lambda message: said.append(message.text)
            if "Content Security Policy" in message.text or "Unsafe attempt" in message.text
            else None)
    return said


def test_a_session_page_plays_and_seeks_under_its_policy(browser: Any, app: str) -> None:
    page = browser.new_page()
    refused = refusals(page)
    response = page.goto(f"{app}/archive/{FORUM.id}/sessions/02-panel/index.html")
    assert "sandbox allow-scripts" in response.all_headers()["content-security-policy"]
    wait_for(page, "document.getElementById('player').readyState >= 1")  # the video
    cues = wait_for(page, "(() => { const t = document.querySelector('track'); "
                          "return t.readyState === 2 && t.track.cues.length; })()")
    assert cues == len(SEGMENTS[1])  # the subtitles, from the page's own origin
    for second in (6.2, 0.5):  # a transcript line's time seeks the video
        page.click(f'a[href="#t={second}"]')
        wait_for(page, "(() => { const v = document.getElementById('player'); return "
                       f"!v.seeking && Math.abs(v.currentTime - {second}) < 0.5; }})()")
    assert refused == [] and pwned(page) is None
    page.click("a[rel=prev]")  # the sandbox lets its links navigate
    page.wait_for_url("**/01-opening/index.html")
    assert SCRIPT_TITLE in page.locator("h1").inner_text() and pwned(page) is None
    page.close()


def test_the_forum_and_search_pages_work_under_their_policies(browser: Any, app: str) -> None:
    page = browser.new_page(accept_downloads=True)
    refused = refusals(page)
    page.goto(f"{app}/archive/{FORUM.id}/index.html")
    with page.expect_download() as download:  # a sandboxed page may still start one
        page.click("a[download]")
    assert download.value.suggested_filename == "materials.zip"
    page.click("a[rel=search]")
    page.fill("#q", MEASURE)
    page.press("#q", "Enter")
    hit = wait_for(page, "(() => { const a = document.querySelector('#hits li a'); "
                         "return a && a.getAttribute('href'); })()")
    assert hit == "sessions/02-panel/index.html#t=6"
    assert refused == [] and pwned(page) is None
    page.close()


def test_the_series_home_feed_and_index_are_served_by_place(app: str) -> None:
    """The home page runs its script and may fetch from the app's origin; the feed is
    shown as Atom, not saved; a search index is JSON; anything else so named is not ours."""
    status, headers, body = get(f"{app}/archive/index.html")
    policy = headers["Content-Security-Policy"]
    assert status == 200 and headers["X-Content-Type-Options"] == "nosniff"
    assert policy.startswith("default-src 'none';") and "unsafe-eval" not in policy
    [script] = inline_script_hashes(body.decode("utf-8"))
    assert f"script-src {script};" in policy
    assert "connect-src 'self'" in policy and "img-src 'self'" in policy
    assert policy.endswith("sandbox allow-scripts allow-forms allow-same-origin")
    status, headers, body = get(f"{app}/archive/feed.xml")
    assert (status, headers["Content-Type"]) == (200, "application/atom+xml")
    assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert "Content-Disposition" not in headers and body.startswith(b"<?xml")
    status, headers, _ = get(f"{app}/archive/{FORUM.id}/search-index.json")
    assert (status, headers["Content-Type"]) == (200, "application/json")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert archive_type("sitemap.xml", "text/xml") == "application/xml"
    assert archive_headers(f"{FORUM.id}/materials/feed.xml", "text/xml")[
        "Content-Disposition"] == 'attachment; filename="feed.xml"'  # a material: saved
    assert page_policy(f"{FORUM.id}/materials/index.html") is None


def test_the_series_home_searches_under_its_policy(browser: Any, app: str) -> None:
    page = browser.new_page()
    refused = refusals(page)
    page.goto(f"{app}/archive/index.html")
    page.fill("#q", MEASURE)
    page.press("#q", "Enter")
    hit = wait_for(page, "(() => { const a = document.querySelector('#hits li a'); "
                         "return a && a.getAttribute('href'); })()")
    assert hit == f"{FORUM.id}/sessions/02-panel/index.html#t=6"
    page.click("#hits a")
    page.wait_for_url(f"**/{FORUM.id}/sessions/02-panel/index.html#t=6")
    assert video_time(page) == pytest.approx(6.2, abs=1.0)
    assert refused == [] and pwned(page) is None
    page.close()


def without_headers(*names: str) -> Any:
    """A Playwright route handler that fetches the answer and drops these headers."""
    def handle(route: Any) -> None:
        response = route.fetch()
        kept = {k: v for k, v in response.headers.items() if k.lower() not in names}
        route.fulfill(response=response, headers=kept)
    return handle


@pytest.mark.parametrize("name", [SVG_MATERIAL, HTML_MATERIAL])
def test_a_markup_material_never_runs_on_the_apps_origin(browser: Any, app: str,
                                                         name: str) -> None:
    url = f"{app}/archive/{FORUM.id}/materials/{name}"
    page = browser.new_page(accept_downloads=True)
    with page.expect_download() as download, pytest.raises(Exception, match="Download"):
        page.goto(url)  # saved, not opened
    assert download.value.suggested_filename == name and pwned(page) is None
    page.close()

    # Opened after all (a browser that ignored the attachment): the policy stops the script.
    page = browser.new_page()
    page.route("**/materials/*", without_headers("content-disposition"))
    page.goto(url)
    assert pwned(page) is None
    page.close()
    # The check itself: without the policy too, the same file's script runs.
    page = browser.new_page()
    page.route("**/materials/*", without_headers("content-disposition",
                                                 "content-security-policy"))
    page.goto(url)
    assert pwned(page) == name.split(".")[-1]
    page.close()


def test_a_pdf_material_still_opens_in_the_browsers_viewer(browser: Any, app: str) -> None:
    """The strict policy leaves Chromium's PDF viewer working (the hits link there)."""
    page = browser.new_page()
    response = page.goto(f"{app}/archive/{FORUM.id}/materials/{quote('자료집.pdf')}"
                         f"#page={MATERIAL_PAGE}")
    assert response.all_headers()["content-security-policy"] == "default-src 'none'; sandbox"
    deadline = time.monotonic() + 20
    while not [f for f in page.frames if f.url.startswith("chrome-extension://")]:
        assert time.monotonic() < deadline, [f.url for f in page.frames]
        page.wait_for_timeout(100)
    page.close()


def test_serve_needs_the_web_extra_and_nothing_else_does(archive: WebArchive) -> None:
    def without_web(*args: str) -> subprocess.CompletedProcess[str]:
        code = ("import sys; sys.modules['starlette'] = sys.modules['uvicorn'] = None; "
                "from pipeline.cli import main; sys.exit(main(sys.argv[1:]))")
        return subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                              text=True, cwd=ROOT, timeout=120)

    result = without_web("serve", "--port", "0", "--catalogue", str(archive.catalogue))
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "pip install -e '.[web]'" in result.stderr
    result = without_web("search", MEASURE, "--catalogue", str(archive.catalogue))
    assert result.returncode == 0 and "02-panel" in result.stdout, result.stderr


def test_a_port_in_use_or_a_missing_archive_is_one_line(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = str(busy.getsockname()[1])
        result = subprocess.run([sys.executable, "-m", "pipeline", "serve", "--port", port],
                                capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith(f"sort-archive: error: cannot listen on 127.0.0.1:{port}")
    assert result.stderr.count("\n") == 1
    result = subprocess.run([sys.executable, "-m", "pipeline", "serve", "--archive",
                             str(tmp_path / "nothing")], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 2 and "no such folder" in result.stderr


def test_serve_binds_to_loopback_and_is_documented() -> None:
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr, index]
    assert sub.description and sub.epilog and "sort-archive serve" in sub.epilog
    args = parser.parse_args(["serve"])
    assert (args.host, args.port, args.archive) == ("127.0.0.1", 8000, None)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "sort-archive serve" in readme and "proxy_pass http://127.0.0.1:8000" in readme
