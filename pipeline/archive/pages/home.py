"""The series home page, `[prefix/]index.html`: every forum, newest first, and a search
across all of them that needs no server.

A pure function of what it is handed (`HomeForum`s, built from the forums' forum.json
by `pipeline.archive.root`); every link in it is relative to the archive root and
every text is escaped.

**Series search.** A bucket runs nothing, so the search runs in the browser, as on
each forum's search.html, with the same matching (`search.MATCH_JS`, inside this
page's own script). The page itself stays light: it embeds only the list of forums,
and fetches a forum's index (`{forum}/search-index.json`, the data search.html
embeds, linked with `?v=` so a browser keeps it until it changes) only when a search
runs, once per page view. A hit opens the session page at its second
(`{forum}/sessions/{slug}/index.html#t=SECONDS`).

**file://.** Chromium refuses `fetch` from a page opened from the disk, and a page of
one file cannot carry every forum's transcripts without making the home page as
heavy as all of them together. So over file:// the page does not try: it says that
series search needs the archive served over http(s) (a web server, a bucket, a CDN)
and links each forum's own search.html, which embeds its index and works from the
disk, with the query already in it. An index that cannot be fetched over http(s)
(gone, or a presigned page whose neighbours are not signed) gets the same links.

**Safety.** As on search.html: the data go in as JSON with `<`, `>` and `&`
escaped, the script writes text with `textContent` and text nodes only (never
`innerHTML`), and a Content-Security-Policy lets this one script run (by its
sha256), fetch from the archive's own origin and show its posters, nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from pipeline.archive.pages.document import document, embedded_json, page_script_hash
from pipeline.archive.pages.search import MATCH_JS, MAX_SHOWN
from pipeline.results import ForumSummary

PAGE_NAME = "index.html"
SITE_TITLE = "공공부문 사회적 가치 포럼(SORT) 아카이브"
FILE_MESSAGE = ("전체 포럼 검색은 아카이브를 웹 서버(http 또는 https)로 열었을 때만 작동합니다. "
                "디스크에서 바로 연 페이지는 다른 파일을 불러올 수 없으니, 아래 각 포럼의 "
                "녹취록 검색을 이용해 주세요.")
FAILED_MESSAGE = ("다음 포럼의 검색 색인을 불러오지 못했습니다. "
                  "각 포럼의 녹취록 검색을 이용해 주세요.")

_EXTRA_CSS = """
form { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
input[type=search] { flex: 1; min-width: 0; width: 12rem; font-size: 1.1rem;
                     padding: .3rem .5rem; }
button { font-size: 1rem; padding: .3rem .8rem; }
.hits { padding-left: 1.5rem; }
.hits li { margin: .8rem 0; }
.hits p { margin: .2rem 0; }
mark { background: #fff3a3; padding: 0 .1em; }
.forums { list-style: none; padding: 0; }
.forum { display: flex; flex-wrap: wrap; gap: 1rem; padding: 1rem 0;
         border-top: 1px solid #ddd; }
.forum > div { flex: 1 1 18rem; min-width: 0; }
.forum h3 { margin: 0 0 .2rem; }
.forum p { margin: 0 0 .4rem; }
.poster { flex: 0 1 14rem; width: 14rem; max-width: 100%; height: auto; align-self: flex-start; }
.sessions { list-style: none; padding: 0; margin: 0; }
.sessions li { margin: .2rem 0; }
""".strip()

# The page's own script: the shared matching over indexes fetched when a search runs.
HOME_JS = r"""
(function () {
  "use strict";
  var forums = JSON.parse(document.getElementById("forums-data").textContent);
  var form = document.getElementById("search-form");
  var input = document.getElementById("q");
  var status = document.getElementById("status");
  var list = document.getElementById("hits");
  var elsewhere = document.getElementById("elsewhere");
  var MAX_SHOWN = __MAX_SHOWN__;
  var FILE_MESSAGE = __FILE_MESSAGE__;
  var FAILED_MESSAGE = __FAILED_MESSAGE__;
  var loaded = {};  // forum folder -> the promise of its index, kept for the page's life
  var latest = 0;

__MATCH_JS__
  function load(forum) {
    if (!forum.index) { return Promise.resolve(null); }
    if (!loaded[forum.base]) {
      loaded[forum.base] = fetch(forum.index).then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      });
      loaded[forum.base].catch(function () { delete loaded[forum.base]; });
    }
    return loaded[forum.base].catch(function () { return null; });
  }
  function offer(which, query, message) {
    if (message) {
      var note = document.createElement("p");
      note.textContent = message;
      elsewhere.appendChild(note);
    }
    var links = document.createElement("ul");
    which.forEach(function (forum) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = forum.search + (query ? "?q=" + encodeURIComponent(query) : "");
      link.textContent = forum.title + " (" + forum.date + ") 녹취록 검색";
      item.appendChild(link);
      links.appendChild(item);
    });
    elsewhere.appendChild(links);
  }
  function shown(query, ws, indexes) {
    var hits = [], failed = [];
    indexes.forEach(function (data, i) {
      if (!data) { failed.push(forums[i]); return; }
      find(data.sessions, ws).forEach(function (hit) {
        hit.forum = forums[i];
        hits.push(hit);
      });
    });
    status.textContent = hits.length === 0 ? "일치하는 발언이 없습니다."
      : hits.length > MAX_SHOWN ? hits.length + "건 중 처음 " + MAX_SHOWN + "건"
      : hits.length + "건";
    hits.slice(0, MAX_SHOWN).forEach(function (hit) {
      list.appendChild(hitItem(hit, ws, hit.forum.base,
                               hit.forum.title + " (" + hit.forum.date + ")"));
    });
    var searchable = failed.filter(function (forum) { return forum.search; });
    if (searchable.length) { offer(searchable, query, FAILED_MESSAGE); }
  }
  function show(query) {
    var mine = ++latest;
    list.replaceChildren();
    elsewhere.replaceChildren();
    var ws = words(query);
    if (ws.length === 0) { status.textContent = ""; return; }
    if (location.protocol === "file:") {
      status.textContent = FILE_MESSAGE;
      offer(forums.filter(function (forum) { return forum.search; }), query, "");
      return;
    }
    status.textContent = "찾는 중…";
    Promise.all(forums.map(load)).then(function (indexes) {
      if (mine === latest) { shown(query, ws, indexes); }
    });
  }
  wire(form, input, show, 300);
})();
""".strip()
HOME_JS = (HOME_JS.replace("__MAX_SHOWN__", str(MAX_SHOWN))
           .replace("__FILE_MESSAGE__", json.dumps(FILE_MESSAGE, ensure_ascii=False))
           .replace("__FAILED_MESSAGE__", json.dumps(FAILED_MESSAGE, ensure_ascii=False))
           .replace("__MATCH_JS__", MATCH_JS))
# The policies name the script by the hash of what `document` writes.
HOME_SCRIPT = page_script_hash(HOME_JS)
POLICY = (f"default-src 'none'; script-src {HOME_SCRIPT}; style-src 'unsafe-inline'; "
          "img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'")


@dataclass(frozen=True)
class HomeSession:
    number: int
    title: str
    href: str  # the session page, relative to the archive root


@dataclass(frozen=True)
class HomeForum:
    """One forum as the home page shows it; every link relative to the archive root."""

    forum: ForumSummary
    href: str  # {forum}/index.html
    sessions: tuple[HomeSession, ...]
    poster: str | None = None  # the first session's poster, versioned
    search_page: str | None = None  # {forum}/search.html
    search_index: str | None = None  # {forum}/search-index.json?v=...


def _forum_item(entry: HomeForum) -> str:
    forum = entry.forum
    poster = (f'<img class="poster" src="{escape(entry.poster)}" alt="" loading="lazy">\n'
              if entry.poster else "")
    sessions = "\n".join(
        f'<li>{session.number}. <a href="{escape(session.href)}">{escape(session.title)}</a>'
        "</li>" for session in entry.sessions)
    return (
        f'<li class="forum">\n{poster}<div>\n'
        f'<h3><a href="{escape(entry.href)}">{escape(forum.title)}</a></h3>\n'
        f'<p class="meta"><time datetime="{escape(forum.date)}">{escape(forum.date)}</time>'
        f" · {escape(forum.organiser)}</p>\n"
        + (f'<ul class="sessions">\n{sessions}\n</ul>\n'
           if sessions else "<p>공개된 세션이 없습니다.</p>\n")
        + "</div>\n</li>"
    )


def _search_data(forums: Sequence[HomeForum]) -> list[dict[str, str | None]]:
    """What the script needs of each forum: its folder, its index and its search page."""
    return [{"title": entry.forum.title, "date": entry.forum.date,
             "base": entry.href.rsplit("/", 1)[0] + "/", "index": entry.search_index,
             "search": entry.search_page}
            for entry in forums]


_SEARCH_BLOCK = (
    '<section aria-labelledby="search-title">\n'
    '<h2 id="search-title">전체 녹취록 검색</h2>\n'
    '<form id="search-form" role="search">\n'
    '<label for="q">검색어</label>\n'
    '<input id="q" name="q" type="search" autocomplete="off">\n'
    '<button type="submit">검색</button>\n</form>\n'
    '<p class="meta">모든 포럼의 발언을 글자 그대로 찾습니다. 띄어쓰기와 대소문자는 가리지 '
    "않고, 모든 낱말이 들어 있는 발언을 보여 줍니다. 누르면 그 시각부터 영상이 "
    "재생됩니다.</p>\n"
    '<noscript><p>검색에는 자바스크립트가 필요합니다.</p></noscript>\n'
    '<p id="status" role="status" aria-live="polite"></p>\n'
    '<ol id="hits" class="hits"></ol>\n'
    '<div id="elsewhere"></div>\n'
    "</section>\n"
)


def home_page(forums: Sequence[HomeForum], feed_href: str = "feed.xml",
              language: str = "ko", meta: str = "") -> str:
    """index.html at the archive root: `forums` in the order given (newest first);
    `meta` is its link preview tags (`pages.meta.head_tags`)."""
    sessions = sum(len(entry.sessions) for entry in forums)
    items = "\n".join(_forum_item(entry) for entry in forums)
    listing = (f'<ol class="forums">\n{items}\n</ol>\n' if forums
               else "<p>아직 게시된 포럼이 없습니다.</p>\n")
    body = (
        f"<header>\n<h1>{escape(SITE_TITLE)}</h1>\n"
        f'<p class="meta">포럼 {len(forums)}회 · 세션 {sessions}개 · '
        f'<a href="{escape(feed_href)}" type="application/atom+xml">새 소식 구독 (Atom)</a>'
        "</p>\n</header>\n"
        f"<main>\n{_SEARCH_BLOCK}"
        '<section aria-labelledby="forums-title">\n'
        f'<h2 id="forums-title">포럼 목록</h2>\n{listing}</section>\n</main>\n'
        '<script type="application/json" id="forums-data">'
        f"{embedded_json(_search_data(forums))}</script>"
    )
    head = (f'<meta http-equiv="Content-Security-Policy" content="{escape(POLICY)}">\n'
            f'<link rel="alternate" type="application/atom+xml" '
            f'title="{escape(SITE_TITLE)}" href="{escape(feed_href)}">\n'
            f"<style>\n{_EXTRA_CSS}\n</style>\n{meta}")
    return document(SITE_TITLE, language, body, HOME_JS, head)
