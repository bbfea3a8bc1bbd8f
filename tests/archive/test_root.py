"""The series' root pages (home page, feed.xml, sitemap.xml), written by every publish
from the forum.json files in storage, and by `sort-archive index --rebuild`.

Real publishes of small real inputs (tests/archive_fixtures.py) into a local folder and
into moto's S3 server. Two publishes at once are made to interleave the bad way on
purpose: the first one lists the forums, then waits until the second has finished
(written its forum.json and the root pages) before writing its own stale root pages.
"""

from __future__ import annotations

import dataclasses
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from pipeline.archive import root
from pipeline.cli import main
from pipeline.config.forum import Storage
from pipeline.stages.publish import PublishRequest, publish
from pipeline.storage.forum import public_base
from tests.archive_fixtures import FORUM, SESSIONS, Tags, s3_storage
from tests.catalogue.published import publish_request
from tests.progress_recorder import RecordingProgress

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
OLDER = FORUM.model_copy(update={"id": "sort-2024", "title": "2024 포럼 <첫 회> & 모임",
                                 "date": "2024-06-01"})
MakeRequest = Callable[[Storage], PublishRequest]


def both(make_request: MakeRequest, storage: Storage) -> tuple[PublishRequest, PublishRequest]:
    newer = make_request(storage)
    return newer, dataclasses.replace(newer, forum=OLDER)


def forum_links(html: str) -> list[str]:
    """The home page's links to forum pages, in the order shown."""
    return [a["href"] or "" for a in Tags(html).all("a")
            if (a["href"] or "").count("/") == 1 and (a["href"] or "").endswith("/index.html")]


def test_the_home_page_lists_every_forum_newest_first(
    tmp_path: Path, make_request: MakeRequest,
) -> None:
    folder = tmp_path / "archive"
    newer, older = both(make_request, Storage(local=folder))
    publish(newer, RecordingProgress())
    first = (folder / "index.html").read_text("utf-8")
    assert forum_links(first) == ["sort-2025/index.html"]
    progress = RecordingProgress()
    publish(older, progress)  # an older forum, published later, still comes second

    html = (folder / "index.html").read_text("utf-8")
    assert forum_links(html) == ["sort-2025/index.html", "sort-2024/index.html"]
    hrefs = [a["href"] for a in Tags(html).all("a")]
    for forum in ("sort-2025", "sort-2024"):
        assert [h for h in hrefs if h and h.startswith(f"{forum}/sessions/")] == [
            f"{forum}/sessions/{plan.slug}/index.html" for plan in SESSIONS]
    assert "2024 포럼 &lt;첫 회&gt; &amp; 모임" in html and "<첫 회>" not in html
    assert '<html lang="ko">' in html
    [feed] = [link for link in Tags(html).all("link") if link.get("rel") == "alternate"]
    assert (feed["type"], feed["href"]) == ("application/atom+xml", "feed.xml")
    assert any("home page and feed list 2 forum(s)" in note and "no sitemap.xml" in note
               for note in progress.notes)
    # Every link leads to a file that is there; the search indexes carry their version.
    data = root.read_snapshot(root_backend(folder), "")
    entries = [root.home_forum(published, "") for published in data.forums]
    for entry in entries:
        assert entry.search_index and entry.search_index.startswith(
            f"{entry.forum.id}/search-index.json?v=")
        for href in [entry.href, entry.search_page or "",
                     *(s.href for s in entry.sessions)]:
            assert (folder / href).is_file(), href
    assert not (folder / "sitemap.xml").exists()  # no public URL: no sitemap


def root_backend(folder: Path) -> Any:
    from pipeline.storage.local import LocalBackend

    return LocalBackend(folder)


def test_the_feed_is_atom_with_every_session_newest_forum_first(
    tmp_path: Path, make_request: MakeRequest,
) -> None:
    folder = tmp_path / "archive"
    for request in both(make_request, Storage(local=folder)):
        publish(request, RecordingProgress())

    feed = ET.fromstring((folder / "feed.xml").read_bytes())
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{required}") is not None, required
    assert feed.findtext(f"{ATOM}updated") == "2025-11-20T00:00:00+09:00"
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
    assert links == {"self": "feed.xml", "alternate": "index.html"}
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        f"tag:sort-archive,2021:{forum}/{plan.slug}"
        for forum in ("sort-2025", "sort-2024") for plan in SESSIONS]
    for entry in entries:
        for required in ("id", "title", "updated"):
            assert entry.findtext(f"{ATOM}{required}"), required
        href = entry.find(f"{ATOM}link").get("href")  # type: ignore[union-attr]
        assert (folder / href).is_file()  # relative to the feed
    first = entries[0]
    assert first.findtext(f"{ATOM}title") == f"{FORUM.title} · 1. {SESSIONS[0].title}"
    assert first.findtext(f"{ATOM}summary") == (
        "안녕하십니까, 포럼을 시작하겠습니다. 사회적 가치 측정에 대해 말씀드리겠습니다.")
    assert entries[-1].findtext(f"{ATOM}title") == (
        "2024 포럼 <첫 회> & 모임 · 2. 패널 토론: <사회적 가치> & 공공기관")


def sitemap_urls(data: bytes) -> list[str]:
    tree = ET.fromstring(data)
    assert tree.tag == f"{SITEMAP}urlset"
    return [loc.text or "" for loc in tree.iter(f"{SITEMAP}loc")]


def test_a_sitemap_needs_a_public_base_url_and_lists_absolute_urls(
    tmp_path: Path, make_request: MakeRequest, s3_endpoint: str, s3: Any, bucket: str,
) -> None:
    # not contacted: the host is only named
    storage = Storage(local=tmp_path / "archive", public_base_url="https://archive.example.org/")
    publish(make_request(storage), RecordingProgress())
    base = "https://archive.example.org/"  # not contacted
    assert sitemap_urls((tmp_path / "archive" / "sitemap.xml").read_bytes()) == [
        f"{base}index.html", f"{base}sort-2025/index.html", f"{base}sort-2025/search.html",
        *(f"{base}sort-2025/sessions/{plan.slug}/index.html" for plan in SESSIONS)]

    in_bucket = s3_storage(s3_endpoint, bucket, prefix="/시리즈/forums/",
                           public_base_url="https://cdn.example.org/sort")  # not contacted
    assert public_base(in_bucket) == ("https://cdn.example.org/sort/"
                                      "%EC%8B%9C%EB%A6%AC%EC%A6%88/forums/")
    publish(make_request(in_bucket), RecordingProgress())
    got = s3.get_object(Bucket=bucket, Key="시리즈/forums/sitemap.xml")
    assert got["ContentType"] == "application/xml" and got["CacheControl"] == "no-cache"
    urls = sitemap_urls(got["Body"].read())
    assert urls[0] == f"{public_base(in_bucket)}index.html" and len(urls) == 5
    feed = s3.head_object(Bucket=bucket, Key="시리즈/forums/feed.xml")
    assert (feed["ContentType"], feed["CacheControl"]) == ("application/atom+xml", "no-cache")


def test_public_base_url_belongs_to_the_bucket_for_s3() -> None:
    with pytest.raises(ValidationError, match=r"s3\.public_base_url"):
        # not contacted: the host is only named
        Storage.model_validate({"s3": {"bucket": "b"}, "public_base_url": "https://x.org/"})
    with pytest.raises(ValidationError, match="public_base_url"):  # a URL, with its scheme
        Storage.model_validate({"local": "a", "public_base_url": "archive.example.org"})
    assert public_base(Storage(local=Path("a"))) is None
    # not contacted: the host is only named
    assert public_base(Storage(local=Path("a"), public_base_url="https://x.org/a")) == (
        "https://x.org/a/")  # not contacted


def race(monkeypatch: pytest.MonkeyPatch, first: Callable[[], Any],
         second: Callable[[], Any]) -> None:
    """Run `first` in a thread until it has listed the forums, then all of `second`,
    then let `first` go on with what it listed: the interleaving that loses a forum."""
    real = root.read_snapshot
    listed, done = threading.Event(), threading.Event()

    def gated(backend: Any, folder: str) -> root.Snapshot:
        snapshot = real(backend, folder)
        if threading.current_thread().name == "first" and not listed.is_set():
            listed.set()
            assert done.wait(60)
        return snapshot

    monkeypatch.setattr(root, "read_snapshot", gated)
    failed: list[BaseException] = []

    def run() -> None:
        try:
            first()
        except BaseException as exc:
            failed.append(exc)
            listed.set()

    thread = threading.Thread(target=run, name="first")
    thread.start()
    try:
        assert listed.wait(60)
        second()
    finally:
        done.set()
        thread.join(60)
    assert not failed, failed


@pytest.mark.parametrize("rounds", [root.MAX_ROUNDS, 1])
def test_two_publishes_at_once_both_end_up_on_the_home_page(
    tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch, rounds: int,
) -> None:
    """With one round (no second look) the forced interleaving loses the other forum:
    the check that the test really races."""
    monkeypatch.setattr(root, "MAX_ROUNDS", rounds)
    folder = tmp_path / "archive"
    newer, older = both(make_request, Storage(local=folder))
    progress = RecordingProgress()
    race(monkeypatch, lambda: publish(older, progress),
         lambda: publish(newer, RecordingProgress()))

    html = (folder / "index.html").read_text("utf-8")
    feed = (folder / "feed.xml").read_text("utf-8")
    if rounds == 1:
        assert forum_links(html) == ["sort-2024/index.html"]
        assert any("kept changing" in note for note in progress.notes)
        return
    assert forum_links(html) == ["sort-2025/index.html", "sort-2024/index.html"]
    assert "sort-2025/01-opening" in feed and "sort-2024/01-opening" in feed
    assert not any("kept changing" in note for note in progress.notes)


def test_two_publishes_at_once_into_a_bucket(
    s3_endpoint: str, s3: Any, bucket: str, make_request: MakeRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    newer, older = both(make_request, s3_storage(s3_endpoint, bucket, prefix="series"))
    race(monkeypatch, lambda: publish(newer, RecordingProgress()),
         lambda: publish(older, RecordingProgress()))

    html = s3.get_object(Bucket=bucket, Key="series/index.html")["Body"].read().decode()
    assert forum_links(html) == ["sort-2025/index.html", "sort-2024/index.html"]


def test_an_unreadable_forum_json_is_left_off_with_a_note(
    tmp_path: Path, make_request: MakeRequest,
) -> None:
    folder = tmp_path / "archive"
    newer, older = both(make_request, Storage(local=folder))
    publish(older, RecordingProgress())
    (folder / "sort-2024" / "forum.json").write_text("{not json", encoding="utf-8")
    (folder / "Not_A_Forum").mkdir()  # not a forum id publish could write: not looked at
    (folder / "Not_A_Forum" / "forum.json").write_text("{}", encoding="utf-8")
    progress = RecordingProgress()
    publish(newer, progress)

    assert forum_links((folder / "index.html").read_text("utf-8")) == ["sort-2025/index.html"]
    assert [note for note in progress.notes if "left off" in note] == [
        "publish: sort-2024/forum.json is left off the archive's home page: not valid JSON "
        "(Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"]


def test_index_rebuild_rewrites_the_root_pages(
    tmp_path: Path, clip_file: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "archive"
    for forum in (FORUM, OLDER):  # transcripts as the catalogue reads them
        publish(publish_request(tmp_path, clip_file, forum, Storage(local=folder)),
                RecordingProgress())
    before = {name: (folder / name).read_bytes() for name in ("index.html", "feed.xml")}
    (folder / "index.html").unlink()
    (folder / "feed.xml").write_text("stale", encoding="utf-8")

    assert main(["index", "--rebuild", "--storage", str(folder), "--catalogue",
                 str(tmp_path / "catalogue.sqlite"), "-q"]) == 0
    out = capsys.readouterr().out
    assert f"home page and feed rewritten: {folder} (2 forum(s))" in out
    assert {name: (folder / name).read_bytes() for name in before} == before
