"""The forum's own search page, `{forum}/search.html`: search with no server at all.

A bucket or a CDN serves files and runs nothing, so the archive carries its own
search. Publish writes search.html beside the forum page, with the forum's
transcripts in it as JSON (the index) and a small inline script that looks
through them in the browser:

- **The index** lists every session (number, title, speakers, the relative link
  to its page) and its segments (start, end, text, and `norm`: the text as
  compared, NFC, case-folded and without spaces: `pipeline.transcripts.text.fold`,
  which also folds query fragments for the catalogue's vocabulary).
- **Inside the page, not beside it.** A page opened from a local folder
  (file://) may not fetch a sibling file, and a presigned link signs the page
  alone; one object also means the page and its index always come from the same
  publish and are listed, verified and cached together (forum.json, no-cache).
  The same index is also published beside it, as `search-index.json`
  (`index_text`), for the series home page, which fetches it only when a search
  runs there (`pipeline.archive.pages.home`); search.html never reads it.
- **Matching.** Each word of the query, folded the same way, must occur in a
  segment's `norm` or in its session's title or speakers, and at least one of
  them in what was said; a session whose title or speakers alone hold every word
  is one hit at its start, as in the catalogue. Hits come in programme order.
  There is no morphology (Kiwi does not run in a browser): 가치 finds
  사회적가치를 and 사회적 가치 finds 사회적가치, but 만들다 does not find 만든, and
  materials are not searched; `sort-archive search` and `sort-archive serve` do both.
- **Safety.** The data go in as JSON inside `<script type="application/json">`
  with `<`, `>` and `&` written as `\\u003c`, `\\u003e` and `\\u0026`, so no text
  can end the element; the script puts text on the page with `textContent` and
  text nodes only, never `innerHTML`; and a Content-Security-Policy lets only
  this one script run (by its sha256).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from pipeline.archive.pages.document import (
    document,
    embedded_json,
    page_script_hash,
    speakers_text,
)
from pipeline.results import ForumSummary, Segment, SessionPlan
from pipeline.transcripts.text import fold

PAGE_NAME = "search.html"
INDEX_NAME = "search-index.json"  # the same index as a file, for the series home page
INDEX_VERSION = 1
MAX_SHOWN = 100  # hits listed at once; the count says how many there are

_EXTRA_CSS = """
form { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
input[type=search] { flex: 1; min-width: 12rem; font-size: 1.1rem; padding: .3rem .5rem; }
button { font-size: 1rem; padding: .3rem .8rem; }
.hits { padding-left: 1.5rem; }
.hits li { margin: .8rem 0; }
.hits p { margin: .2rem 0; }
mark { background: #fff3a3; padding: 0 .1em; }
""".strip()

# The matching and the showing, shared by search.html and the series home page
# (`pipeline.archive.pages.home`), which put it inside their own script. Everything it
# shows goes in through textContent or text nodes: a transcript line is text, whatever
# it contains. `fold` must stay the JavaScript twin of text.fold (upper then lower case
# stands in for Python's casefold: ß becomes ss in both). `find` takes an index's
# sessions (`search_index`) and the folded words; `hitItem` is one hit as a list item,
# its links made relative to the page by `base` (the forum's folder), and `about` (the
# forum, on the home page) said after the speakers. `wire` runs `show` as the viewer
# types (after `pause` ms), on Enter (keeping `?q=` in the address) and for a `?q=`.
MATCH_JS = r"""
  function fold(text) {
    return text.normalize("NFC").toUpperCase().toLowerCase().normalize("NFC")
      .replace(/\s+/g, "");
  }
  function words(query) {
    return query.split(/\s+/).map(fold).filter(function (w) { return w.length > 0; });
  }
  function has(texts, word) {
    return texts.some(function (t) { return t.indexOf(word) >= 0; });
  }
  function find(sessions, ws) {
    var hits = [];
    sessions.forEach(function (session) {
      var byTitle = ws.every(function (w) { return has(session.about, w); });
      session.segments.forEach(function (segment, index) {
        var said = false, all = true;
        ws.forEach(function (w) {
          if (segment.norm.indexOf(w) >= 0) { said = true; }
          else if (!has(session.about, w)) { all = false; }
        });
        if ((said && all) || (byTitle && index === 0)) {
          hits.push({session: session, segment: segment});
        }
      });
      if (byTitle && session.segments.length === 0) {
        hits.push({session: session, segment: null});
      }
    });
    return hits;
  }
  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), r = s % 60;
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    return h ? h + ":" + two(m) + ":" + two(r) : m + ":" + two(r);
  }
  function pattern(word) {
    var chars = Array.from(word).map(function (c) {
      return c.replace(/[\\^$.*+?()[\]{}|\/]/g, "\\$&");
    });
    return new RegExp(chars.join("\\s*"), "giu");
  }
  function marked(element, text, ws) {
    var spans = [];
    ws.forEach(function (w) {
      var re = pattern(w), m;
      while ((m = re.exec(text)) !== null) {
        if (m[0].length === 0) { re.lastIndex += 1; continue; }
        spans.push([m.index, m.index + m[0].length]);
      }
    });
    spans.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
    var cursor = 0;
    spans.forEach(function (span) {
      if (span[1] <= cursor) { return; }
      var start = Math.max(span[0], cursor);
      element.appendChild(document.createTextNode(text.slice(cursor, start)));
      var mark = document.createElement("mark");
      mark.textContent = text.slice(start, span[1]);
      element.appendChild(mark);
      cursor = span[1];
    });
    element.appendChild(document.createTextNode(text.slice(cursor)));
  }
  function meta(item, text) {
    var span = document.createElement("span");
    span.className = "meta";
    span.textContent = " · " + text;
    item.appendChild(span);
  }
  function hitItem(hit, ws, base, about) {
    var item = document.createElement("li");
    var link = document.createElement("a");
    var start = hit.segment ? hit.segment.start : 0;
    link.href = base + hit.session.href + (hit.segment ? "#t=" + Math.floor(start) : "");
    link.textContent = "[" + clock(start) + "] " + hit.session.number + ". "
      + hit.session.title;
    item.appendChild(link);
    if (hit.session.speakers) { meta(item, hit.session.speakers); }
    if (about) { meta(item, about); }
    var line = document.createElement("p");
    marked(line, hit.segment ? hit.segment.text : "", ws);
    item.appendChild(line);
    return item;
  }
  function wire(form, input, show, pause) {
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { show(input.value); }, pause);
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearTimeout(timer);
      show(input.value);
      try {
        history.replaceState(null, "", "?q=" + encodeURIComponent(input.value));
      } catch (e) { /* a file:// page may refuse; the search still shows */ }
    });
    var given = new URLSearchParams(location.search).get("q");
    if (given) { input.value = given; show(given); }
  }
""".strip("\n")

# search.html's own script: the shared functions over the index embedded in the page.
SEARCH_JS = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("search-index").textContent);
  var form = document.getElementById("search-form");
  var input = document.getElementById("q");
  var status = document.getElementById("status");
  var list = document.getElementById("hits");
  var MAX_SHOWN = __MAX_SHOWN__;

__MATCH_JS__
  function show(query) {
    list.replaceChildren();
    var ws = words(query);
    if (ws.length === 0) { status.textContent = ""; return; }
    var hits = find(data.sessions, ws);
    status.textContent = hits.length === 0 ? "일치하는 발언이 없습니다."
      : hits.length > MAX_SHOWN ? hits.length + "건 중 처음 " + MAX_SHOWN + "건"
      : hits.length + "건";
    hits.slice(0, MAX_SHOWN).forEach(function (hit) {
      list.appendChild(hitItem(hit, ws, "", ""));
    });
  }
  wire(form, input, show, 150);
})();
""".strip().replace("__MAX_SHOWN__", str(MAX_SHOWN)).replace("__MATCH_JS__", MATCH_JS)


@dataclass(frozen=True)
class SearchSession:
    """One session as the search page knows it: its plan, the relative link to its
    page (the caller owns the layout), and what was said."""

    plan: SessionPlan
    href: str
    segments: Sequence[Segment] = ()


def search_index(forum: ForumSummary, sessions: Sequence[SearchSession]) -> dict[str, Any]:
    """The page's data: the forum, and each session with its segments and folded forms."""
    return {
        "version": INDEX_VERSION,
        "forum": {"id": forum.id, "title": forum.title, "date": forum.date},
        "sessions": [
            {
                "number": s.plan.number, "slug": s.plan.slug, "title": s.plan.title,
                "speakers": speakers_text(s.plan.speakers), "href": s.href,
                "about": [fold(s.plan.title)] + [fold(p.name) for p in s.plan.speakers],
                "segments": [
                    {"start": round(seg.start, 2), "end": round(seg.end, 2),
                     "text": seg.text.strip(), "norm": fold(seg.text)}
                    for seg in s.segments if seg.text.strip()
                ],
            }
            for s in sessions
        ],
    }


def index_text(forum: ForumSummary, sessions: Sequence[SearchSession]) -> str:
    """`search-index.json`: `search_index` as compact JSON (served as application/json
    with nosniff, so it needs none of `embedded_json`'s escapes)."""
    return json.dumps(search_index(forum, sessions), ensure_ascii=False,
                      separators=(",", ":"))


def search_page(forum: ForumSummary, sessions: Sequence[SearchSession],
                forum_href: str = "index.html", head: str = "") -> str:
    """search.html: the form, an empty list for hits, the index and the script; `head`
    is its link preview tags (`pages.meta.head_tags`)."""
    policy = (f"default-src 'none'; script-src {page_script_hash(SEARCH_JS)}; "
              "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'")
    body = (
        f'<nav aria-label="포럼">\n<ul>\n<li><a href="{escape(forum_href)}">'
        f"{escape(forum.title)}</a></li>\n</ul>\n</nav>\n"
        f"<header>\n<h1>녹취록 검색</h1>\n"
        f'<p class="meta">{escape(forum.title)} · {escape(forum.date)}</p>\n</header>\n'
        "<main>\n"
        '<form id="search-form" role="search">\n'
        '<label for="q">검색어</label>\n'
        '<input id="q" name="q" type="search" autocomplete="off" autofocus>\n'
        '<button type="submit">검색</button>\n</form>\n'
        '<p class="meta">발언을 글자 그대로 찾습니다. 띄어쓰기와 대소문자는 가리지 않고, '
        "모든 낱말이 들어 있는 발언을 보여 줍니다. 누르면 그 시각부터 영상이 재생됩니다.</p>\n"
        '<noscript><p>검색에는 자바스크립트가 필요합니다.</p></noscript>\n'
        '<p id="status" role="status" aria-live="polite"></p>\n'
        '<ol id="hits" class="hits"></ol>\n'
        "</main>\n"
        f'<script type="application/json" id="search-index">'
        f"{embedded_json(search_index(forum, sessions))}</script>"
    )
    head = (f'<meta http-equiv="Content-Security-Policy" content="{escape(policy)}">\n'
            + head)
    return document(f"녹취록 검색 - {forum.title}", forum.language, body, SEARCH_JS,
                    style=_EXTRA_CSS, head=head)
