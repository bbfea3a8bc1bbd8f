"""Link previews, canonical links and structured data (pipeline.archive.pages.meta)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from pipeline.archive.pages.meta import (
    DESCRIPTION_CHARS,
    PageMeta,
    VideoFacts,
    describe,
    head_tags,
    iso_duration,
    video_object,
)
from pipeline.config.forum import Storage
from pipeline.progress import LogProgress
from pipeline.results import Segment
from pipeline.stages.publish import PublishRequest, publish
from tests.archive_fixtures import FORUM, SESSIONS


class _Head(HTMLParser):
    """The meta and link tags of an HTML fragment, as a parser reads them."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.links: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "meta" and "content" in values:
            self.meta[values.get("property") or values.get("name", "")] = values["content"]
        elif tag == "link" and "rel" in values:
            self.links[values["rel"]] = values["href"]


def parsed(fragment: str) -> _Head:
    head = _Head()
    head.feed(fragment)
    return head


def test_describe_takes_the_opening_lines_and_cuts_at_a_space() -> None:
    lines = [Segment(start=i, end=i + 1, text=f" 공공기관의   사회적 가치 {i}번째 이야기입니다. ")
             for i in range(30)]
    text = describe(lines)
    assert text.startswith("공공기관의 사회적 가치 0번째 이야기입니다. 공공기관의")
    assert len(text) <= DESCRIPTION_CHARS and text.endswith("…")
    assert "  " not in text and text[:-1] == text[:-1].rstrip()
    assert describe([Segment(start=0, end=1, text="짧은 말")]) == "짧은 말"
    assert describe([]) == ""


def test_head_tags_give_open_graph_twitter_and_canonical() -> None:
    meta = PageMeta(title='개회사 "<script>"', description="첫 말씀 & 인사", site_name="기관",
                    url="https://archive.example.org/f/index.html",  # not contacted
                    image="https://archive.example.org/f/p.jpg?v=1", kind="video.other")
    head = parsed(head_tags(meta))
    assert head.meta["og:title"] == '개회사 "<script>"'
    assert head.meta["og:description"] == head.meta["description"] == "첫 말씀 & 인사"
    assert head.meta["og:type"] == "video.other" and head.meta["og:locale"] == "ko_KR"
    assert head.meta["og:url"] == head.links["canonical"] == meta.url
    assert head.meta["og:image"] == head.meta["twitter:image"] == meta.image
    assert head.meta["twitter:card"] == "summary_large_image"
    assert "<script>" not in head_tags(meta)


def test_without_a_public_base_there_is_no_canonical_link() -> None:
    head = parsed(head_tags(PageMeta(title="포럼", description="", site_name="기관")))
    assert "canonical" not in head.links and "og:url" not in head.meta
    assert "description" not in head.meta and head.meta["twitter:card"] == "summary"


def test_iso_durations() -> None:
    assert [iso_duration(s) for s in (0, 59.6, 61, 3723)] == ["PT0S", "PT1M0S", "PT1M1S",
                                                              "PT1H2M3S"]


def test_video_object_is_json_ld_with_a_seek_action_that_cannot_end_its_element() -> None:
    block = video_object(VideoFacts(
        name="기조연설 </script><script>alert(1)</script>", description="",
        upload_date="2021-07-02",
        duration=1800.4, content_url="https://a.example/s/s.mp4",  # not contacted
        page_url="https://a.example/s/index.html", thumbnail=None, language="ko"))
    body = re.fullmatch(r'<script type="application/ld\+json">(.*)</script>\n', block, re.S)
    assert body and "</script>" not in body.group(1)
    data = json.loads(body.group(1))
    assert data["@type"] == "VideoObject" and data["duration"] == "PT30M0S"
    assert data["description"] == data["name"]
    assert data["potentialAction"]["target"] == (  # not contacted: only named
        "https://a.example/s/index.html#t={seek_to_second_number}")


BASE = "https://archive.example.org/sort/"  # not contacted: pages only name it


def head_of(path: Path) -> tuple[_Head, list[Any]]:
    html = path.read_text(encoding="utf-8")
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    return parsed(html.split("</head>", 1)[0]), [json.loads(block) for block in blocks]


def test_published_pages_preview_well_and_name_their_public_address(
        make_request: Callable[[Storage], PublishRequest], tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    publish(make_request(Storage(local=folder, public_base_url=BASE)), LogProgress())
    forum = folder / FORUM.id
    pages = {
        "home": (folder / "index.html", f"{BASE}index.html"),
        "forum": (forum / "index.html", f"{BASE}{FORUM.id}/index.html"),
        "search": (forum / "search.html", f"{BASE}{FORUM.id}/search.html"),
        "session": (forum / "sessions" / SESSIONS[0].slug / "index.html",
                    f"{BASE}{FORUM.id}/sessions/{SESSIONS[0].slug}/index.html"),
    }
    for kind, (path, url) in pages.items():
        head, _ = head_of(path)
        assert head.links["canonical"] == head.meta["og:url"] == url, kind
        assert head.meta["og:title"] and head.meta["og:description"], kind
        assert head.meta["og:locale"] == "ko_KR", kind
    head, data = head_of(pages["session"][0])
    assert head.meta["og:type"] == "video.other"
    assert head.meta["og:description"].startswith("안녕하십니까, 포럼을 시작하겠습니다.")
    video = data[0]
    assert video["@type"] == "VideoObject" and video["uploadDate"] == FORUM.date
    assert re.fullmatch(rf"{re.escape(BASE)}{FORUM.id}/sessions/{SESSIONS[0].slug}/"
                        rf"{SESSIONS[0].slug}\.mp4\?v=[0-9a-f]{{12}}", video["contentUrl"])
    assert video["potentialAction"]["target"] == pages["session"][1] + \
        "#t={seek_to_second_number}"
    assert FORUM.date in head_of(pages["forum"][0])[0].meta["og:description"]
    sitemap = (folder / "sitemap.xml").read_text(encoding="utf-8")
    assert all(f"<loc>{url}</loc>" in sitemap for _, url in pages.values())


def test_without_a_public_address_pages_name_none(
        make_request: Callable[[Storage], PublishRequest], tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    publish(make_request(Storage(local=folder)), LogProgress())
    for path in [folder / "index.html", *sorted((folder / FORUM.id).rglob("*.html"))]:
        head, data = head_of(path)
        assert "canonical" not in head.links and "og:url" not in head.meta, path
        assert head.meta["og:title"], path
        assert all("potentialAction" not in block for block in data), path
    assert not (folder / "sitemap.xml").exists()
